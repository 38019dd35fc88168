#!/usr/bin/env bash
# Does scripts/setup.sh's package list really cover what samscape uses? A machine that already had a
# package (installed by hand, or by another project) hides a missing install step from every build and
# test run on it; this check finds it there, before a new user does.
#   scripts/check-install-list.sh BUILD_DIR [SETUP_SCRIPT]
# What the build in BUILD_DIR used, mapped to its Debian package with `dpkg -S`:
#   - every system header its objects included (ninja's dependency log);
#   - every shared library its executables and shared objects load (ldd);
#   - its toolchain (the compilers, CMake and Ninja of its CMakeCache.txt);
#   - the programs its tests run (the first word of each ctest command: xvfb-run, ...), and the Python
#     it took LibTorch from (SAMSCAPE_PYTHON).
# LibTorch comes from PyPI's torch wheel, no Debian package: every file the build used from that
# Python's site-packages must belong to torch at the version cmake/torch.version pins, or to a package
# torch depends on.
# Each such package must be named in SETUP_SCRIPT's `packages=( ... )` list (default scripts/setup.sh) or
# be pulled in by one that is (apt's dependency closure: Depends and Pre-Depends, no Recommends, as
# setup installs with --no-install-recommends), or be part of every Debian system (Essential, required,
# important). Prints what is not, one file each needs; exits 1 when there is any, 2 on bad arguments.
set -euo pipefail
build=${1:?usage: scripts/check-install-list.sh BUILD_DIR [SETUP_SCRIPT]}
setup=${2:-$(dirname "$0")/setup.sh}
[ -f "$build/build.ninja" ] || { echo "check-install-list: $build: not a ninja build directory (no build.ninja)" >&2; exit 2; }
[ -f "$build/CMakeCache.txt" ] || { echo "check-install-list: $build: no CMakeCache.txt" >&2; exit 2; }
[ -f "$setup" ] || { echo "check-install-list: $setup: no such file" >&2; exit 2; }
for tool in dpkg dpkg-query apt-cache ninja ldd; do
  command -v "$tool" >/dev/null || { echo "check-install-list: needs '$tool' (a Debian system with the build's tools)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The packages the setup script names: the words inside `packages=( ... )`, comments dropped.
sed 's/#.*//' "$setup" | sed -n '/^[[:space:]]*packages=(/,/)/p' | sed 's/packages=(//; s/)//' | tr -s ' \t' '\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u >"$tmp/listed" || true
[ -s "$tmp/listed" ] || { echo "check-install-list: $setup: found no packages=( ... ) list" >&2; exit 2; }

# 1. System headers the objects included.
ninja -C "$build" -t deps 2>/dev/null | awk '$1 ~ /^\/usr\// {print $1}' >"$tmp/files"
# 2. Shared libraries of the executables and shared objects (a virtual environment in the tree is not ours).
find "$build" -name '*-venv' -prune -o -type f -perm -u+x -print 2>/dev/null | while read -r f; do
  [ "$(head -c 4 "$f" | tail -c 3)" = ELF ] && ldd "$f" 2>/dev/null | awk '$3 ~ /^\// {print $3}'
done >>"$tmp/files"
# 3. The toolchain the build was configured with.
resolve_program() {  # an absolute path, or a name on PATH, to the real file
  local found
  found=$(command -v "$1" 2>/dev/null) || return 0
  [ -n "$found" ] && [ -e "$found" ] && readlink -f "$found"
}
for key in CMAKE_CXX_COMPILER CMAKE_C_COMPILER CMAKE_MAKE_PROGRAM CMAKE_COMMAND; do
  value=$(sed -n "s/^$key:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1)
  [ -n "$value" ] && resolve_program "$value"
done >>"$tmp/files"
# 4. The programs ctest runs first in each test's command (xvfb-run for the display tests, ...).
if command -v ctest >/dev/null; then
  ctest --test-dir "$build" --show-only=json-v1 2>/dev/null >"$tmp/tests.json" || true
  if [ -s "$tmp/tests.json" ] && command -v python3 >/dev/null; then
    python3 -c 'import json, sys
for test in json.load(open(sys.argv[1])).get("tests", []):
    command = test.get("command") or []
    if command: print(command[0])' "$tmp/tests.json" | sort -u | while read -r program; do
      resolve_program "$program"
    done >>"$tmp/files"
  fi
fi
# 5. The Python the build took LibTorch from (SAMSCAPE_PYTHON in CMakeCache.txt; the bench's test runs
#    the PyTorch reference with it too): its interpreter is a Debian package's.
samscape_python=$(sed -n 's/^SAMSCAPE_PYTHON:[A-Z]*=//p' "$build/CMakeCache.txt" | head -n 1)
[ -n "$samscape_python" ] && resolve_program "$samscape_python" >>"$tmp/files"
xargs -r -a "$tmp/files" readlink -f 2>/dev/null | sort -u >"$tmp/resolved" || true
sort -u "$tmp/files" "$tmp/resolved" -o "$tmp/files"

# 6. PyPI's torch wheel is no Debian package: checked the same way against its pin. Every file the build
#    used from that Python's site-packages must belong to torch at the version of cmake/torch.version
#    (what setup.sh installs) or to a package torch depends on (its nvidia CUDA libraries).
wheel_problems=""
if [ -n "$samscape_python" ] && [ -x "$samscape_python" ]; then
  pinned=$(head -n 1 "${SAMSCAPE_TORCH_VERSION_FILE:-$(dirname "$0")/../cmake/torch.version}")
  wheel_problems=$("$samscape_python" - "$tmp/files" "$pinned" <<'PY' 2>/dev/null
import os, re, sys, sysconfig
from importlib import metadata
files, pinned = sys.argv[1], sys.argv[2]
site = os.path.realpath(sysconfig.get_paths()["purelib"]) + "/"
used = {os.path.realpath(line.strip()) for line in open(files) if line.strip()}
used = sorted(path for path in used if path.startswith(site))
owner = {}
for dist in metadata.distributions():
    for f in dist.files or []:
        owner[os.path.realpath(dist.locate_file(f))] = dist
def key(name):
    return re.sub(r"[-_.]+", "-", name).lower()
# torch and everything it requires, following extras ("cuda-toolkit[cublas,cudart]" brings the
# requirements of cuda-toolkit marked extra == "cublas" or "cudart").
allowed, pending = set(), [("torch", frozenset())]
while pending:
    name, extras = pending.pop()
    allowed.add(key(name))
    try:
        requirements = metadata.distribution(name).requires or []
    except metadata.PackageNotFoundError:
        continue
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        wanted = set(re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker))
        if wanted and not wanted & extras:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
        if match and key(match.group(1)) not in allowed:
            pending.append((match.group(1), frozenset(e.strip() for e in (match.group(2) or "").split(",") if e.strip())))
torch = metadata.distribution("torch")
if torch.version.split("+")[0] != pinned:
    print(f"  torch {torch.version} (cmake/torch.version pins {pinned}; scripts/setup.sh installs it)")
for path in used:
    dist = owner.get(path)
    if dist is None:
        print(f"  {path}: from no installed package")
    elif key(dist.metadata["Name"]) not in allowed:
        print(f"  {path}: from {dist.metadata['Name']} {dist.version}, which torch does not depend on")
PY
  ) || wheel_problems="  $samscape_python: cannot read its installed packages"
fi

# Owner package of each file. dpkg -S knows a path as the package installed it: a file reached through
# a symlinked directory (/lib vs /usr/lib on a merged-/usr system) is asked for in its other spelling.
: >"$tmp/owners"
xargs -r -a "$tmp/files" dpkg -S 2>/dev/null | sed 's/: /\t/' >>"$tmp/owners" || true
cut -f2 "$tmp/owners" | sort -u >"$tmp/owned"
comm -23 "$tmp/files" "$tmp/owned" | while read -r f; do
  alt=${f#/usr}
  [ "$alt" != "$f" ] && dpkg -S "$alt" 2>/dev/null | sed 's/: /\t/' | sed "s|\t.*|\t$f|"
done >>"$tmp/owners" || true
cut -f1 "$tmp/owners" | tr ',' '\n' | sed 's/:.*//; s/^ *//' | grep -v '^$' | sort -u >"$tmp/needed"

# What installing the list brings: its closure over Depends and Pre-Depends (what apt installs without
# recommends), and what every Debian system has anyway.
# shellcheck disable=SC2046
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances $(cat "$tmp/listed") 2>/dev/null | grep -vE '^ ' | sed 's/:.*//; s/[<>]//g' | sort -u >"$tmp/closure" || true
dpkg-query -W -f='${Package} ${Priority} ${Essential}\n' 2>/dev/null |
  awk '$2 == "required" || $2 == "important" || $3 == "yes" {print $1}' | sed 's/:.*//' | sort -u >"$tmp/base"
sort -u "$tmp/closure" "$tmp/base" "$tmp/listed" >"$tmp/covered"

missing=$(comm -23 "$tmp/needed" "$tmp/covered")
if [ -z "$missing" ] && [ -z "$wheel_problems" ]; then
  echo "check-install-list: every package the build in $build used ($(wc -l <"$tmp/needed")) is installed by $setup," \
       "and its LibTorch is the pinned torch wheel's"
  exit 0
fi
if [ -n "$missing" ]; then
  echo "check-install-list: $setup does not install these packages, which the build in $build used:"
  for p in $missing; do
    example=$(awk -F'\t' -v p="$p" '{n = split($1, a, /, /); for (i = 1; i <= n; i++) {sub(/:.*/, "", a[i]); if (a[i] == p) {print $2; exit}}}' "$tmp/owners")
    echo "  $p (e.g. $example)"
  done
fi
if [ -n "$wheel_problems" ]; then
  echo "check-install-list: the build in $build used Python packages that scripts/setup.sh does not install:"
  echo "$wheel_problems"
fi
exit 1
