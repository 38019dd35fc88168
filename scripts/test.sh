#!/usr/bin/env bash
# Sets everything up (Debian packages, the dev build: Debug, warnings as errors) and runs the whole
# test suite through ctest. Extra arguments go to ctest (e.g. -R Trainer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
ctest --preset dev --parallel "$(nproc)" "$@"
