#!/usr/bin/env bash
# Keeps the CUDA build honest: configures and builds samscape's headless targets (libraries, CLI,
# benchmark, test executables) against the CUDA LibTorch of PyPI's `torch` wheel, into
# build/cuda-check/, so that the code behind --device cuda, NCCL and the CUDA tests compiles and links
# on every change. It runs nothing: the tests run on Debian's CPU LibTorch (scripts/test.sh).
# The wheel lives in a virtual environment: $SAMSCAPE_TORCH_CUDA_VENV, else /opt/torch-cuda-venv
# when it holds torch, else build/torch-cuda-venv (created with `pip install torch` when missing).
# Needs the CUDA toolkit (nvcc, cuDNN) that the wheel's CMake package looks for, and PyPI.
# SAMSCAPE_CUDA_CHECK: unset (the default) runs the check where the CUDA toolkit is installed and says
# it skipped it where not (a new user's Debian machine: the CPU build and its tests are what it needs);
# 1 requires it (CI, whose machines have the toolkit: a missing toolkit then fails); 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
mode=${SAMSCAPE_CUDA_CHECK:-auto}
case "$mode" in
  0) echo "check-cuda-build: skipped (SAMSCAPE_CUDA_CHECK=0)" >&2; exit 0 ;;
  1 | auto) ;;
  *) echo "check-cuda-build: SAMSCAPE_CUDA_CHECK=$mode: expected 0, 1 or unset" >&2; exit 2 ;;
esac
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  if [ "$mode" = auto ]; then
    echo "check-cuda-build: skipped: no CUDA toolkit (nvcc) here, so the CUDA build was not checked (the CPU" >&2
    echo "build and its tests above are complete; SAMSCAPE_CUDA_CHECK=1 makes a missing toolkit an error)" >&2
    exit 0
  fi
  echo "check-cuda-build: no CUDA toolkit (nvcc) found, and SAMSCAPE_CUDA_CHECK=1 requires the check" >&2
  exit 1
fi

venv=${SAMSCAPE_TORCH_CUDA_VENV:-}
if [ -z "$venv" ]; then
  if /opt/torch-cuda-venv/bin/python3 -c 'import torch' 2>/dev/null; then
    venv=/opt/torch-cuda-venv
  else
    venv=$PWD/build/torch-cuda-venv
  fi
fi
python="$venv/bin/python3"
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "check-cuda-build: installing PyPI's torch (CUDA) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch
fi

site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
# The wheel's libtorch_cuda.so needs the wheel's own NCCL, cuDNN, ... (the toolkit's NCCL is older):
# let the linker find them where the wheel put them.
linker_flags=""
for lib in "$site"/nvidia/*/lib; do
  [ -d "$lib" ] && linker_flags+=" -Wl,-rpath-link,$lib"
done

cmake -S . -B build/cuda-check -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DSAMSCAPE_BUILD_TESTS=ON -DSAMSCAPE_BUILD_BENCHMARKS=ON -DSAMSCAPE_WARNINGS_AS_ERRORS=ON -DSAMSCAPE_BUILD_GUI=OFF \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_EXE_LINKER_FLAGS="${linker_flags# }" >/tmp/samscape-cuda-configure.$$.log 2>&1 ||
  { cat /tmp/samscape-cuda-configure.$$.log >&2; exit 1; }
rm -f /tmp/samscape-cuda-configure.$$.log  # TorchConfig's warnings (kineto, CUDA architectures) are noise here

# Headless targets only (no Qt/VTK), of those this tree has.
wanted=(samscape-cli samscape-bench samscape_core_tests samscape_cli_tests samscape_launch_tests
        samscape_analysis_tests samscape_store_tests samscape_store_cli_tests samscape_bench_tests
        samscape_session_tests samscape_fuzz_tests)
available=$(cmake --build build/cuda-check --target help | sed -n 's/^\([^:]*\): .*/\1/p')
targets=()
for target in "${wanted[@]}"; do
  grep -qx "$target" <<<"$available" && targets+=("$target")
done
cmake --build build/cuda-check --parallel "$(nproc)" --target "${targets[@]}"

# NCCL must really be in: the multi-process code's CUDA path is compiled only where LibTorch has it.
grep -q -- "-DUSE_C10D_NCCL" build/cuda-check/compile_commands.json ||
  { echo "check-cuda-build: this LibTorch has no NCCL (USE_C10D_NCCL): the NCCL path was not compiled" >&2; exit 1; }
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
echo "check-cuda-build: built ${targets[*]} against torch $torch_version (CUDA) in $(( $(date +%s) - start )) s"
