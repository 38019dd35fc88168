#!/usr/bin/env bash
# Sets everything up (Debian packages, PyPI's torch wheel, the dev build: Debug, warnings as errors),
# checks that setup's package list and torch pin cover what the build used, then runs the whole test
# suite through ctest. The build is the one every machine gets: LibTorch with CUDA, run on the CPU
# here; the CUDA tests skip without a GPU.
# Extra arguments go to ctest (e.g. -R Trainer).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh dev
# Every Debian package the build and its tests use must come from setup.sh's list (and LibTorch from the
# pinned wheel): a package installed here by hand would otherwise keep this green while a new user's
# build fails.
scripts/check-install-list.sh build/dev
ctest --preset dev --parallel "$(nproc)" "$@"
echo "test.sh: set up, built and tested in $(( $(date +%s) - start )) s"
