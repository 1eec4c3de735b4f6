# Finds LibTorch and makes sure its headers and libraries come from one installation.
#
# Which LibTorch, in order:
#   1. -DTorch_DIR=<dir with TorchConfig.cmake> (Debian's: /usr/lib/x86_64-linux-gnu/cmake/Torch);
#   2. a prefix in CMAKE_PREFIX_PATH holding Torch/TorchConfig.cmake (torch.utils.cmake_prefix_path,
#      an unpacked libtorch archive's share/cmake);
#   3. the project's virtualenv .venv/ (scripts/test.sh and scripts/demo.sh install the
#      torch 2.13.0 CPU wheel there), so a plain `cmake -S . -B build` finds it;
#   4. whatever find_package(Torch) finds on the system.
#
# Why the checks: TorchConfig.cmake looks for its libraries with
# find_library(... PATHS <prefix>/lib), and find_library searches the system directories
# before PATHS. With Debian's libtorch-dev installed beside a wheel, the wheel's headers
# would be paired with Debian's 1.13 libraries (seen: "Found Torch:
# /usr/lib/x86_64-linux-gnu/libtorch.so" for the wheel's config). For a LibTorch outside
# /usr, the system directories are therefore left out of the search.

if(NOT Torch_DIR)
  foreach(prefix ${CMAKE_PREFIX_PATH})
    if(EXISTS "${prefix}/Torch/TorchConfig.cmake")
      set(Torch_DIR "${prefix}/Torch" CACHE PATH "Directory of TorchConfig.cmake")
      break()
    endif()
  endforeach()
endif()
if(NOT Torch_DIR)
  file(GLOB ATTNHOOK_VENV_TORCH
       "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch/share/cmake/Torch")
  if(ATTNHOOK_VENV_TORCH)
    list(GET ATTNHOOK_VENV_TORCH 0 ATTNHOOK_VENV_TORCH)
    set(Torch_DIR "${ATTNHOOK_VENV_TORCH}" CACHE PATH "Directory of TorchConfig.cmake")
  endif()
endif()

set(ATTNHOOK_TORCH_OUTSIDE_SYSTEM FALSE)
if(Torch_DIR)
  get_filename_component(ATTNHOOK_TORCH_REAL "${Torch_DIR}" REALPATH)
  if(NOT ATTNHOOK_TORCH_REAL MATCHES "^/usr/")
    set(ATTNHOOK_TORCH_OUTSIDE_SYSTEM TRUE)
  endif()
endif()

if(ATTNHOOK_TORCH_OUTSIDE_SYSTEM)
  set(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH FALSE)
  set(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH FALSE)
endif()
find_package(Torch REQUIRED)
unset(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH)
unset(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH)

# The library found must sit in the installation whose headers we compile against.
get_filename_component(ATTNHOOK_TORCH_LIBRARY_DIR "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(ATTNHOOK_TORCH_LIBRARY_DIR "${ATTNHOOK_TORCH_LIBRARY_DIR}" REALPATH)
get_filename_component(ATTNHOOK_TORCH_PREFIX "${TORCH_INSTALL_PREFIX}" REALPATH)
if(ATTNHOOK_TORCH_OUTSIDE_SYSTEM AND NOT ATTNHOOK_TORCH_LIBRARY_DIR MATCHES "^${ATTNHOOK_TORCH_PREFIX}")
  message(FATAL_ERROR "LibTorch from ${Torch_DIR} found its library at ${TORCH_LIBRARY}, "
                      "outside ${TORCH_INSTALL_PREFIX}: headers and libraries would not match")
endif()

set(ATTNHOOK_TORCH_VERSION "${Torch_VERSION}")  # from TorchConfigVersion.cmake
string(REGEX MATCH "^[0-9]+" ATTNHOOK_TORCH_VERSION_MAJOR "${ATTNHOOK_TORCH_VERSION}")
message(STATUS "attnhook: LibTorch ${ATTNHOOK_TORCH_VERSION} from ${Torch_DIR} (library ${TORCH_LIBRARY})")
