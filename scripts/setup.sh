#!/usr/bin/env bash
# Sets samscape up on Debian 12: installs the Debian packages it needs when they are missing, then
# configures and builds the given CMake preset. Used by run.sh and test.sh; safe to run again.
#   scripts/setup.sh PRESET [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:?usage: scripts/setup.sh PRESET [TARGET...]}
shift

# Everything the build, the tests and the default job need, by Debian package name.
packages=(
  g++ cmake ninja-build pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU)
  libgloo-dev           # c10d's ProcessGroupGloo.hpp includes gloo's headers (multi-process training)
  libeigen3-dev         # analysis
  libspectra-dev        # analysis: Lanczos eigensolver (Spectra 1.0, header-only)
  libgtest-dev          # tests
  libcli11-dev nlohmann-json3-dev zlib1g-dev
  libsqlite3-dev        # the run store (workspace database)
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev  # viz/ and the desktop app (Qt 6)
  libvtk9-dev           # viz/: loss landscapes (VTK 9.1)
  xvfb xauth libgl1-mesa-dri  # GUI tests, benchmark and screenshots: an X display with Mesa's OpenGL
  python3-venv          # check-cuda-build.sh: a virtual environment for PyPI's CUDA torch
  python3-torch         # samscape-bench --pytorch-reference: the same steps in PyTorch (its test too)
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

cmake --preset "$preset" >/dev/null
jobs=$(nproc)
if (($#)); then
  cmake --build --preset "$preset" --parallel "$jobs" --target "$@"
else
  cmake --build --preset "$preset" --parallel "$jobs"
fi
