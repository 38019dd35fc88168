# LibTorch: the one inside PyPI's `torch` wheel, for the CPU and the GPU alike, found through a Python
# that has it. The same build runs on a CPU-only laptop and, unchanged, on a GPU machine.
#
#   SAMSCAPE_PYTHON  a Python whose torch (>= 2) to build against (cache variable, or the environment
#                    variable of that name); default: the virtual environment scripts/setup.sh makes,
#                    ${XDG_CACHE_HOME:-$HOME/.cache}/samscape/torch-<version>/bin/python3, <version>
#                    being cmake/torch.version (the one place the version is pinned).
#
# The wheel is a CUDA build, and its CMake package (Caffe2's public/cuda.cmake) would look for a CUDA
# toolkit (nvcc) to describe torch::cudart, and stop where there is none: most users' laptops. The
# wheel's own dependencies already hold what that target stands for (nvidia/cu13: the CUDA runtime's
# library and headers; nvidia/nccl: NCCL's). So torch::cudart is defined here from them, before
# find_package(Torch); cuda.cmake returns at once when the target exists (its include guard), and no
# toolkit is needed, or used where there is one: every machine builds the same way.

file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/torch.version" SAMSCAPE_TORCH_VERSION LIMIT_COUNT 1)
if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_samscape_cache "$ENV{XDG_CACHE_HOME}")
else()
  set(_samscape_cache "$ENV{HOME}/.cache")
endif()
set(_samscape_default_python "${_samscape_cache}/samscape/torch-${SAMSCAPE_TORCH_VERSION}/bin/python3")
if(NOT SAMSCAPE_PYTHON AND DEFINED ENV{SAMSCAPE_PYTHON} AND NOT "$ENV{SAMSCAPE_PYTHON}" STREQUAL "")
  set(SAMSCAPE_PYTHON "$ENV{SAMSCAPE_PYTHON}" CACHE FILEPATH "A Python whose torch (>= 2) samscape builds against")
endif()
if(NOT SAMSCAPE_PYTHON)
  set(SAMSCAPE_PYTHON "${_samscape_default_python}" CACHE FILEPATH "A Python whose torch (>= 2) samscape builds against")
endif()
if(NOT EXISTS "${SAMSCAPE_PYTHON}")
  message(FATAL_ERROR "samscape: no Python at SAMSCAPE_PYTHON=${SAMSCAPE_PYTHON}. Run scripts/setup.sh (it installs "
                      "torch ${SAMSCAPE_TORCH_VERSION} there), or point SAMSCAPE_PYTHON at a Python that has torch >= 2.")
endif()

execute_process(
  COMMAND "${SAMSCAPE_PYTHON}" -c
    "import sysconfig, torch, torch.utils; print(torch.utils.cmake_prefix_path); print(torch.__version__.split('+')[0]); print(torch.version.cuda or ''); print(sysconfig.get_paths()['purelib'])"
  RESULT_VARIABLE _samscape_result OUTPUT_VARIABLE _samscape_output ERROR_VARIABLE _samscape_error
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _samscape_result EQUAL 0)
  message(FATAL_ERROR "samscape: ${SAMSCAPE_PYTHON} cannot import torch:\n${_samscape_error}\n"
                      "Run scripts/setup.sh, or point SAMSCAPE_PYTHON at a Python that has torch >= 2.")
endif()
string(REPLACE "\n" ";" _samscape_output "${_samscape_output}")
list(GET _samscape_output 0 _samscape_torch_prefix)
list(GET _samscape_output 1 SAMSCAPE_FOUND_TORCH_VERSION)
list(GET _samscape_output 2 SAMSCAPE_TORCH_CUDA)
list(GET _samscape_output 3 _samscape_site)
if(SAMSCAPE_FOUND_TORCH_VERSION VERSION_LESS 2.0)
  message(FATAL_ERROR "samscape: ${SAMSCAPE_PYTHON} has torch ${SAMSCAPE_FOUND_TORCH_VERSION}; samscape needs torch >= 2 "
                      "(scripts/setup.sh installs ${SAMSCAPE_TORCH_VERSION})")
endif()
if(NOT SAMSCAPE_FOUND_TORCH_VERSION VERSION_EQUAL SAMSCAPE_TORCH_VERSION)
  message(STATUS "samscape: building against torch ${SAMSCAPE_FOUND_TORCH_VERSION} of ${SAMSCAPE_PYTHON} "
                 "(the pinned version is ${SAMSCAPE_TORCH_VERSION})")
endif()
list(PREPEND CMAKE_PREFIX_PATH "${_samscape_torch_prefix}")

if(SAMSCAPE_TORCH_CUDA AND NOT TARGET torch::cudart)
  file(GLOB _samscape_cudart "${_samscape_site}/nvidia/cu[0-9]*/lib/libcudart.so.*" "${_samscape_site}/nvidia/cuda_runtime/lib/libcudart.so.*")
  file(GLOB _samscape_cuda_includes LIST_DIRECTORIES true "${_samscape_site}/nvidia/cu[0-9]*/include"
       "${_samscape_site}/nvidia/cuda_runtime/include" "${_samscape_site}/nvidia/nccl/include")
  if(NOT _samscape_cudart)
    message(FATAL_ERROR "samscape: torch ${SAMSCAPE_FOUND_TORCH_VERSION} of ${SAMSCAPE_PYTHON} is a CUDA ${SAMSCAPE_TORCH_CUDA} "
                        "build but its nvidia packages hold no libcudart.so under ${_samscape_site}/nvidia")
  endif()
  # cuda_runtime.h includes crt/host_config.h, which CUDA 13 puts in a package torch does not depend on
  # (nvidia-cuda-crt); a machine with the CUDA toolkit in /usr/local/include would hide its absence.
  set(_samscape_crt_found FALSE)
  foreach(_dir IN LISTS _samscape_cuda_includes)
    if(EXISTS "${_dir}/cuda_runtime.h" AND EXISTS "${_dir}/crt/host_config.h")
      set(_samscape_crt_found TRUE)
    endif()
  endforeach()
  if(NOT _samscape_crt_found)
    execute_process(COMMAND "${SAMSCAPE_PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/../scripts/cuda_headers_package.py"
                    OUTPUT_VARIABLE _samscape_crt_package OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT _samscape_crt_package)
      set(_samscape_crt_package "nvidia-cuda-crt")
    endif()
    message(FATAL_ERROR "samscape: the CUDA runtime headers of ${SAMSCAPE_PYTHON}'s torch lack crt/host_config.h "
                        "(under ${_samscape_site}/nvidia). Install them with: ${SAMSCAPE_PYTHON} -m pip install "
                        "'${_samscape_crt_package}' (scripts/setup.sh does this for its own environment)")
  endif()
  list(GET _samscape_cudart 0 _samscape_cudart)
  add_library(torch::cudart INTERFACE IMPORTED)
  set_target_properties(torch::cudart PROPERTIES
    INTERFACE_LINK_LIBRARIES "${_samscape_cudart}"
    INTERFACE_INCLUDE_DIRECTORIES "${_samscape_cuda_includes}")
endif()

# The linker resolves libtorch_cuda.so's own dependencies (cuBLAS, cuDNN, NCCL, ...) from the wheel's
# nvidia packages, as the loader does through their RPATH; a system NCCL would otherwise be taken.
file(GLOB _samscape_nvidia_libs LIST_DIRECTORIES true "${_samscape_site}/nvidia/*/lib")
foreach(_dir IN LISTS _samscape_nvidia_libs)
  add_link_options("LINKER:-rpath-link,${_dir}")
endforeach()

find_package(Torch REQUIRED)
message(STATUS "samscape: LibTorch ${SAMSCAPE_FOUND_TORCH_VERSION} (CUDA: ${SAMSCAPE_TORCH_CUDA}) from ${SAMSCAPE_PYTHON}")
