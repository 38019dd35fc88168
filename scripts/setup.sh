#!/usr/bin/env bash
# Sets samscape up on Debian 12: installs the Debian packages it needs when they are missing, then
# LibTorch (below), then configures and builds the given CMake preset. Used by run.sh and test.sh; safe
# to run again.
#   scripts/setup.sh PRESET [TARGET...]
# LibTorch is the one inside PyPI's `torch` wheel, the version in cmake/torch.version (the one place it
# is pinned), for the CPU and the GPU alike. It is installed once into a virtual environment outside the
# source tree, ${XDG_CACHE_HOME:-$HOME/.cache}/samscape/torch-<version>/, which later checkouts and CI
# runs reuse (about 5 GB with the CUDA libraries the wheel depends on; a GPU is not needed to use it).
# SAMSCAPE_PYTHON=/path/to/python3 uses a Python that already has torch >= 2 instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:?usage: scripts/setup.sh PRESET [TARGET...]}
shift

# Everything the build, the tests and the default job need, by Debian package name.
packages=(
  g++ cmake ninja-build pkg-config
  ccache                # later clean builds (a CI clone) reuse the objects of earlier ones
  python3-venv          # the virtual environment PyPI's torch wheel (LibTorch) is installed into
  libgloo-dev           # c10d's ProcessGroupGloo.hpp includes gloo's headers (the wheel ships none)
  libeigen3-dev         # analysis
  libspectra-dev        # analysis: Lanczos eigensolver (Spectra 1.0, header-only)
  libgtest-dev          # tests
  libcli11-dev nlohmann-json3-dev zlib1g-dev
  libsqlite3-dev        # the run store (workspace database)
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev  # viz/ and the desktop app (Qt 6)
  libvtk9-dev           # viz/: loss landscapes (VTK 9.1)
  xvfb xauth libgl1-mesa-dri  # GUI tests, benchmark and screenshots: an X display with Mesa's OpenGL
  dataset-fashion-mnist # the embedded default dataset
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# LibTorch: a Python with torch >= 2, SAMSCAPE_PYTHON's or the pinned wheel's in the cache.
torch_version=$(head -n 1 cmake/torch.version)
if [ -n "${SAMSCAPE_PYTHON:-}" ]; then
  "$SAMSCAPE_PYTHON" -c 'import sys, torch; sys.exit(int(torch.__version__.split(".")[0]) < 2)' 2>/dev/null || {
    echo "setup: SAMSCAPE_PYTHON=$SAMSCAPE_PYTHON has no torch >= 2 (unset it to install torch $torch_version)" >&2
    exit 1
  }
  python=$SAMSCAPE_PYTHON
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/samscape
  venv=$cache/torch-$torch_version
  python=$venv/bin/python3
  mkdir -p "$cache"
  # One installation at a time (a CI run and a developer's build may start together); a download that
  # fails or is killed leaves no half environment behind: it is built aside and renamed when complete.
  exec 9>"$cache/setup.lock"
  flock 9
  if ! "$python" -c "import torch; assert torch.__version__.split('+')[0] == '$torch_version'" 2>/dev/null; then
    echo "setup: installing PyPI's torch $torch_version (LibTorch, with its CUDA libraries: about 5 GB, once) into $venv" >&2
    rm -rf "$venv.partial" "$venv"
    python3 -m venv "$venv.partial"
    "$venv.partial/bin/python3" -m pip install --quiet --no-input --disable-pip-version-check "torch==$torch_version"
    mv "$venv.partial" "$venv"
  fi
  # The wheel's CUDA runtime headers (nvidia/cu13/include) include crt/host_config.h, which CUDA 13 ships
  # in a package of its own that torch does not depend on: without it, the NCCL backend's translation
  # unit does not compile on a machine without the CUDA toolkit. Its version is the runtime's.
  crt=$("$python" scripts/cuda_headers_package.py)
  if [ -n "$crt" ]; then
    echo "setup: installing $crt (the CUDA runtime headers' crt/ folder) into $venv" >&2
    "$python" -m pip install --quiet --no-input --disable-pip-version-check "$crt"
  fi
  flock -u 9
fi

cmake --preset "$preset" -DSAMSCAPE_PYTHON="$python" >/dev/null
jobs=$(nproc)
if (($#)); then
  cmake --build --preset "$preset" --parallel "$jobs" --target "$@"
else
  cmake --build --preset "$preset" --parallel "$jobs"
fi
