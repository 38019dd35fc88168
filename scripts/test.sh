#!/usr/bin/env bash
# Sets everything up (Debian packages, the dev build: Debug, warnings as errors), checks that setup.sh's
# package list covers what the build used, runs the whole test suite through ctest, then checks that the
# headless targets build against PyPI's CUDA LibTorch.
# Extra arguments go to ctest (e.g. -R Trainer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# Every Debian package the build and its tests use must come from setup.sh's list: a package installed
# here by hand would otherwise keep this green while a new user's build fails.
scripts/check-install-list.sh build/dev
ctest --preset dev --parallel "$(nproc)" "$@"
# The same code against a CUDA LibTorch 2.x: compiled and linked, not run (scripts/check-cuda-build.sh).
scripts/check-cuda-build.sh
