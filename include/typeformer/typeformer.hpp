// typeformer/typeformer.hpp: everything, in one include.
//
// Includes export/, which needs ONNX Runtime's C++ headers (link
// onnxruntime::onnxruntime). Without ONNX Runtime, include the areas you use:
// core/, ops/, backend/, layers/, models/, tasks/, io/ need only ONNX,
// protobuf, xtensor, OpenBLAS and nlohmann-json.
#pragma once

#include "typeformer/backend/eval.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/backend/scope.hpp"
#include "typeformer/core/cache.hpp"
#include "typeformer/core/config.hpp"
#include "typeformer/core/dtype.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/spatial.hpp"
#include "typeformer/core/type_list.hpp"
#include "typeformer/export/check.hpp"
#include "typeformer/export/export.hpp"
#include "typeformer/export/onnxruntime.hpp"
#include "typeformer/export/stream.hpp"
#include "typeformer/io/checkpoint.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/io/safetensors.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/bert.hpp"
#include "typeformer/models/distilbert.hpp"
#include "typeformer/models/model.hpp"
#include "typeformer/ops/composite.hpp"
#include "typeformer/ops/vocabulary.hpp"
#include "typeformer/tasks/tasks.hpp"
