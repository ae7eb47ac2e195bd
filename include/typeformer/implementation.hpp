// typeformer/implementation.hpp: the definitions that separate compilation
// takes out of the headers (see core/linkage.hpp).
//
// In a program built with TYPEFORMER_SEPARATE_COMPILATION, exactly one unit
// includes this header, before any other typeformer header; it defines the
// backends' ops and the other TYPEFORMER_INLINE functions, once. Without
// TYPEFORMER_SEPARATE_COMPILATION it adds nothing: every header defines its
// functions inline.
#pragma once

#if defined(TYPEFORMER_SEPARATE_COMPILATION)
#if defined(TYPEFORMER_DEFINITIONS) && !TYPEFORMER_DEFINITIONS
#error "<typeformer/implementation.hpp> must come before every other typeformer header of its unit"
#endif
#define TYPEFORMER_IMPLEMENTATION 1
#endif

#include "typeformer/backend/eval.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/export/check.hpp"
#include "typeformer/export/export.hpp"
#include "typeformer/export/onnxruntime.hpp"
#include "typeformer/export/pretrained.hpp"
#include "typeformer/export/progress.hpp"
#include "typeformer/export/registry.hpp"
#include "typeformer/export/stream.hpp"
#include "typeformer/io/checkpoint.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/io/hub.hpp"
#include "typeformer/io/pickle.hpp"
#include "typeformer/io/pytorch.hpp"
#include "typeformer/io/safetensors.hpp"
#include "typeformer/io/zip.hpp"
