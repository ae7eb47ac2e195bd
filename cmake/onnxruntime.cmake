# Finds the ONNX Runtime C/C++ SDK and guarantees the target onnxruntime::onnxruntime.
#
# Order: a CMake package CMake finds by itself (system install, CMAKE_PREFIX_PATH,
# onnxruntime_DIR), then the prefix that scripts/install-deps.sh assembles in
# <repo>/.deps/onnxruntime or $ENV{TYPEFORMER_DEPS}/onnxruntime.
#
# The target is an imported shared library with an absolute IMPORTED_LOCATION,
# so CMake puts its directory in the build-tree RPATH of everything that links
# it: tests run without LD_LIBRARY_PATH.
include_guard(GLOBAL)

if(NOT TARGET onnxruntime::onnxruntime)
  find_package(onnxruntime CONFIG QUIET)
endif()

if(NOT TARGET onnxruntime::onnxruntime)
  set(_typeformer_ort_hints
    "${CMAKE_CURRENT_LIST_DIR}/../.deps/onnxruntime"
    "${PROJECT_SOURCE_DIR}/.deps/onnxruntime")
  if(DEFINED ENV{TYPEFORMER_DEPS} AND NOT "$ENV{TYPEFORMER_DEPS}" STREQUAL "")
    list(PREPEND _typeformer_ort_hints "$ENV{TYPEFORMER_DEPS}/onnxruntime")
  endif()
  find_package(onnxruntime CONFIG QUIET HINTS ${_typeformer_ort_hints})
  unset(_typeformer_ort_hints)
endif()

if(NOT TARGET onnxruntime::onnxruntime AND TARGET onnxruntime)
  # Some builds of ONNX Runtime export the target without the namespace.
  add_library(onnxruntime::onnxruntime ALIAS onnxruntime)
endif()

if(NOT TARGET onnxruntime::onnxruntime)
  message(FATAL_ERROR
    "ONNX Runtime (C/C++ SDK) not found. Run scripts/install-deps.sh: it installs "
    "the prerequisites and puts ONNX Runtime in .deps/onnxruntime, where this file "
    "looks (or point CMAKE_PREFIX_PATH / onnxruntime_DIR at another install).")
endif()

message(STATUS "ONNX Runtime ${onnxruntime_VERSION}: ${onnxruntime_DIR}")
