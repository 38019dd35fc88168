"""Prints the PyPI requirement that completes the CUDA runtime headers of this Python's torch wheel, or
nothing when they are complete (or there are none: torch is a CPU build).

CUDA 13's runtime headers (nvidia-cuda-runtime: nvidia/cu13/include/cuda_runtime.h) include
crt/host_config.h, which lives in the separate nvidia-cuda-crt package of the same version; torch's
wheel does not depend on it because Python never compiles against those headers. samscape's C++ does
(LibTorch's ProcessGroupNCCL.hpp includes cuda_runtime.h), so scripts/setup.sh installs it and
cmake/SamscapeTorch.cmake refuses a Python whose headers lack it.
"""
import glob
import importlib.metadata
import sysconfig

site = sysconfig.get_paths()["purelib"]
runtime_headers = glob.glob(f"{site}/nvidia/cu[0-9]*/include/cuda_runtime.h")
crt_headers = glob.glob(f"{site}/nvidia/cu[0-9]*/include/crt/host_config.h")
if runtime_headers and not crt_headers:
    try:
        print(f"nvidia-cuda-crt=={importlib.metadata.version('nvidia-cuda-runtime')}")
    except importlib.metadata.PackageNotFoundError:
        pass  # not the CUDA 13 layout; CMake says what is missing if anything is
