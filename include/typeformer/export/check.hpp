// typeformer/export/check.hpp: the ONNX checker, with full shape inference.
#pragma once

#include <exception>
#include <string>

// <sys/mman.h> (used to map checkpoints) defines MAP_TYPE, a name ONNX's
// parser.h uses as an enumerator: hide the macro while ONNX is included.
#pragma push_macro("MAP_TYPE")
#undef MAP_TYPE
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#pragma pop_macro("MAP_TYPE")

#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

/// The ONNX checker with full checking, then strict shape inference (which
/// also records the inferred intermediate shapes in the model).
void check_onnx(onnx::ModelProto& m);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void check_onnx(onnx::ModelProto& m) {
    try {
        onnx::checker::check_model(m);
        onnx::ShapeInferenceOptions opts{true, 1, true};
        onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
        throw error("export.check", std::string("the ONNX checker refused the graph: ") + e.what());
    }
}
#endif

}  // namespace typeformer::inline v0
