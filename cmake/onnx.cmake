# Finds ONNX, the C++ library (the graph's protobuf classes, the checker and
# shape inference), and guarantees the targets ONNX::onnx and ONNX::onnx_proto.
#
# typeformer targets opsets up to 23, so it needs ONNX 1.18 or later, built with
# ONNX_ML=1 and ONNX_NAMESPACE=onnx. Order: a CMake package CMake finds by
# itself (CMAKE_PREFIX_PATH, ONNX_DIR), then the prefix that
# scripts/install-deps.sh builds in $ENV{TYPEFORMER_DEPS}/onnx or
# <repo>/.deps/onnx, then the system's. An older ONNX (Debian bookworm's
# libonnx-dev is 1.12, opsets up to 17) is passed over wherever it is.
include_guard(GLOBAL)

set(TYPEFORMER_ONNX_MIN_VERSION 1.18)

if(NOT TARGET ONNX::onnx)
  set(_typeformer_onnx_hints
    "${CMAKE_CURRENT_LIST_DIR}/../.deps/onnx"
    "${PROJECT_SOURCE_DIR}/.deps/onnx")
  if(DEFINED ENV{TYPEFORMER_DEPS} AND NOT "$ENV{TYPEFORMER_DEPS}" STREQUAL "")
    list(PREPEND _typeformer_onnx_hints "$ENV{TYPEFORMER_DEPS}/onnx")
  endif()
  find_package(ONNX ${TYPEFORMER_ONNX_MIN_VERSION} CONFIG QUIET HINTS ${_typeformer_onnx_hints})
  unset(_typeformer_onnx_hints)
endif()

if(NOT TARGET ONNX::onnx OR NOT TARGET ONNX::onnx_proto)
  set(_typeformer_onnx_seen "")
  if(ONNX_CONSIDERED_CONFIGS)
    set(_typeformer_onnx_seen " (found only: ${ONNX_CONSIDERED_CONFIGS}, versions ${ONNX_CONSIDERED_VERSIONS})")
  endif()
  message(FATAL_ERROR
    "ONNX ${TYPEFORMER_ONNX_MIN_VERSION} or later (the C++ library, targets ONNX::onnx and ONNX::onnx_proto) "
    "not found${_typeformer_onnx_seen}: typeformer targets opsets 13 to 23, and the ONNX checker and shape "
    "inference it runs on every export must know them. Run scripts/install-deps.sh: it builds ONNX from "
    "PyPI's source distribution into .deps/onnx (or $TYPEFORMER_DEPS/onnx), where this file looks. Or "
    "point ONNX_DIR / CMAKE_PREFIX_PATH at another ONNX >= ${TYPEFORMER_ONNX_MIN_VERSION} built with "
    "ONNX_ML=1 and ONNX_NAMESPACE=onnx. Debian's libonnx-dev (1.12) stops at opset 17.")
endif()

message(STATUS "ONNX ${ONNX_VERSION}: ${ONNX_DIR}")
