// typeformer/core/quantize.hpp: int8 weights for --quantize int8.
//
// A Linear's (or a constant MatMul operand's) weight is quantized per output
// channel, symmetric: for the channel's largest magnitude m, scale = m / 127
// and q = round(w / scale) (ties to even, as numpy rounds) in [-127, 127],
// zero point 0. The writer (export/stream.hpp) makes q and scale while it
// streams the weight; the reference pass of a quantized export
// (weight_cache's quantize_int8) computes on q · scale, the same values.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace typeformer::inline v0 {

/// How the ONNX backend spells a product with a constant weight.
enum class quantization : std::uint8_t {
    none,  ///< float32 MatMul
    int8,  ///< com.microsoft DynamicQuantizeMatMul: int8 weights per output channel, activations quantized at run time
};

constexpr std::string_view to_string(quantization q) { return q == quantization::int8 ? "int8" : "none"; }

/// The scale of a channel whose largest magnitude is `max_abs` (1 for a
/// channel of zeros, or one that is not finite: its q are 0 or clamped).
inline float int8_scale(float max_abs) {
    return std::isfinite(max_abs) && max_abs > 0.f ? max_abs / 127.f : 1.f;
}

/// w quantized at `scale`: round(w / scale), ties to even, clamped to [-127, 127].
inline std::int8_t quantize_int8(float w, float scale) {
    const float q = std::nearbyint(w / scale);
    if (!(q > -127.f)) return q != q ? std::int8_t{0} : std::int8_t{-127};  // NaN: 0
    return static_cast<std::int8_t>(std::min(q, 127.f));
}

}  // namespace typeformer::inline v0
