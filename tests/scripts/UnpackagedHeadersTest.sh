#!/usr/bin/env bash
# The build reads no file under /usr/local/: every header comes from a Debian package (which
# check-install-list.sh checks) or from the torch wheel's environment. A developer or CI machine with the
# CUDA toolkit links the toolkit's headers into /usr/local/include, and a build that finds one there
# compiles on that machine and fails on a user's laptop: it did, for crt/host_config.h, which CUDA 13
# ships in PyPI's nvidia-cuda-crt (scripts/cuda_headers_package.py).
#   UnpackagedHeadersTest.sh BUILD_DIR
set -euo pipefail
build=$1
deps=$(ninja -C "$build" -t deps)
found=$(grep -E '^[[:space:]]+/usr/local/' <<<"$deps" | sed 's/^[[:space:]]*//' | sort -u || true)
if [ -n "$found" ]; then
  echo "the build in $build read these files from /usr/local/ (neither a Debian package nor the torch wheel):"
  echo "$found"
  exit 1
fi
echo "no file under /usr/local/ among the $(grep -E '^[[:space:]]+/' <<<"$deps" | sort -u | wc -l) files the build recorded it read"
