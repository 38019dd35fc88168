#!/usr/bin/env bash
# Sets everything up (Debian packages, the dev build: Debug, warnings as errors) and runs the whole
# test suite through ctest, then checks that the headless targets build against PyPI's CUDA LibTorch.
# Extra arguments go to ctest (e.g. -R Trainer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
ctest --preset dev --parallel "$(nproc)" "$@"
# The same code against a CUDA LibTorch 2.x: compiled and linked, not run (scripts/check-cuda-build.sh).
scripts/check-cuda-build.sh
