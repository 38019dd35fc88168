#!/usr/bin/env bash
# The package check (scripts/check-install-list.sh) can fail: on a copy of scripts/setup.sh without
# libgloo-dev, whose headers DistributedGroup.cpp includes through ProcessGroupGloo.hpp, it must exit 1
# naming libgloo-dev and a gloo header; with torch pinned at another version it must exit 1 naming
# torch; on the real setup.sh and pin it must pass.
#   InstallListCheckTest.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
source_dir=${1:?usage: InstallListCheckTest.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: InstallListCheckTest.sh SOURCE_DIR BUILD_DIR}
check="$source_dir/scripts/check-install-list.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

grep -qE '^[[:space:]]*libgloo-dev\b' "$source_dir/scripts/setup.sh" ||
  { echo "FAIL: scripts/setup.sh does not list libgloo-dev"; exit 1; }
sed '/^[[:space:]]*libgloo-dev\b/d' "$source_dir/scripts/setup.sh" >"$tmp/setup-without-gloo.sh"
output=$("$check" "$build" "$tmp/setup-without-gloo.sh" 2>&1)
code=$?
if [ "$code" -ne 1 ] || ! grep -qE '^  libgloo-dev \(e\.g\. /usr/include/gloo/' <<<"$output"; then
  echo "FAIL: without libgloo-dev the check exited $code and printed:"; echo "$output"; failed=1
fi
# Only libgloo-dev is missing: its own dependencies come with the other packages.
if [ "$(grep -c '^  ' <<<"$output")" -ne 1 ]; then
  echo "FAIL: expected exactly one missing package, got:"; echo "$output"; failed=1
fi

# The torch wheel is checked against its pin the same way: another pinned version fails, naming torch.
echo "0.0.1" >"$tmp/torch.version"
output=$(SAMSCAPE_TORCH_VERSION_FILE="$tmp/torch.version" "$check" "$build" "$source_dir/scripts/setup.sh" 2>&1)
code=$?
if [ "$code" -ne 1 ] || ! grep -qE '^  torch [0-9.]+.* \(cmake/torch.version pins 0\.0\.1' <<<"$output"; then
  echo "FAIL: with torch pinned at 0.0.1 the check exited $code and printed:"; echo "$output"; failed=1
fi

output=$("$check" "$build" "$source_dir/scripts/setup.sh" 2>&1)
code=$?
if [ "$code" -ne 0 ]; then
  echo "FAIL: the real scripts/setup.sh does not cover the build (exit $code):"; echo "$output"; failed=1
fi
[ "$failed" -eq 0 ] && echo "the check names libgloo-dev when the list lacks it, and passes the real list"
exit "$failed"
