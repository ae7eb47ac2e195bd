// typeformer/ops/vocabulary.hpp: the op vocabulary, as a concept.
//
// A backend is a type with these members. The eval backend computes them
// (backend/eval.hpp); the ONNX backend emits them (backend/onnx.hpp). Layers
// are written against this concept only, so one forward definition serves
// both. A new op is one eval member, one emit member and one conformance case
// in tests/ops/ (the eval result against ONNX Runtime running the emitted op).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "typeformer/core/config.hpp"
#include "typeformer/core/dtype.hpp"
#include "typeformer/core/spatial.hpp"

namespace typeformer::inline v0 {

/// How the rotary op turns each of `heads` heads of `head_dim` features: its
/// first `dims` features (dims < head_dim: partial rotary, the rest kept), in
/// pairs (2i, 2i+1) when interleaved (GPT-J's rotate_every_two), else
/// (i, i + dims/2) (Llama's rotate_half); pair i turns by the angle whose sine
/// and cosine are column i of the tables.
struct rotary_layout {
    std::int64_t heads = 1, head_dim = 2, dims = 2;
    bool interleaved = true;
};

/// The numbers of one attention (the grouped_attention op).
struct attention_dims {
    std::int64_t heads, kv_heads, head_dim;
    float scale;          ///< scores are (q · k) · scale
    float softcap = 0.f;  ///< then cap · tanh(scores / cap), before the bias (Gemma 2); 0: none
};

template <class B>
concept Backend = requires(B& b, const typename B::value& x, std::vector<std::int64_t> ints,
                           std::span<const std::string_view> axes) {
    typename B::value;
    // graph boundary, scopes, parameters, constants
    { b.input(std::string_view{}, dtype::i64, axes) } -> std::same_as<typename B::value>;
    b.output(std::string_view{}, x, axes);
    b.scope(std::string_view{});
    { b.param(std::string_view{}, ints) } -> std::convertible_to<typename B::value>;  // eval: a cached reference
    { b.scalar(1.f) } -> std::same_as<typename B::value>;
    { b.constant_i64(ints) } -> std::same_as<typename B::value>;
    // elementwise
    { b.add(x, x) } -> std::same_as<typename B::value>;
    { b.sub(x, x) } -> std::same_as<typename B::value>;
    { b.mul(x, x) } -> std::same_as<typename B::value>;
    { b.div(x, x) } -> std::same_as<typename B::value>;
    { b.less(x, x) } -> std::same_as<typename B::value>;
    { b.tanh(x) } -> std::same_as<typename B::value>;
    { b.relu(x) } -> std::same_as<typename B::value>;
    { b.sigmoid(x) } -> std::same_as<typename B::value>;
    { b.exp(x) } -> std::same_as<typename B::value>;
    { b.softplus(x) } -> std::same_as<typename B::value>;  // torch's F.softplus (threshold 20)
    { b.gelu(x) } -> std::same_as<typename B::value>;
    { b.gelu_tanh(x) } -> std::same_as<typename B::value>;
    { b.cast(x, dtype::f32) } -> std::same_as<typename B::value>;
    { b.round_bf16(x) } -> std::same_as<typename B::value>;  // float32 rounded to bfloat16, as float32
    // shapes
    { b.reshape(x, ints) } -> std::same_as<typename B::value>;
    { b.reshape(x, x) } -> std::same_as<typename B::value>;
    { b.shape(x, 0, 1) } -> std::same_as<typename B::value>;
    { b.flatten(x, 1) } -> std::same_as<typename B::value>;
    { b.transpose(x, ints) } -> std::same_as<typename B::value>;
    { b.unsqueeze(x, ints) } -> std::same_as<typename B::value>;
    { b.select(x, 0, 0) } -> std::same_as<typename B::value>;
    { b.range(x, 0) } -> std::same_as<typename B::value>;
    // linear algebra, normalisation, attention
    { b.gather(x, x) } -> std::same_as<typename B::value>;
    { b.matmul(x, x) } -> std::same_as<typename B::value>;
    { b.linear(x, x, &x) } -> std::same_as<typename B::value>;
    { b.layer_norm(x, x, x, 1e-5f) } -> std::same_as<typename B::value>;
    { b.rms_norm(x, x, 1e-5f) } -> std::same_as<typename B::value>;  // x / sqrt(mean(x²) + eps) · scale
    { b.softmax(x) } -> std::same_as<typename B::value>;
    { b.attention(x, x, x, &x, std::int64_t{1}, 1.f) } -> std::same_as<typename B::value>;
    // heads first, grouped-query: q [B, H, S, D], k and v [B, KVH, T, D] (query head h reads key/value head
    // h / (H / KVH)), an additive bias broadcast to [B, H, S, T] or null -> [B, H, S, D]: softmax(softcap(q kᵀ ·
    // scale) + bias) v
    { b.grouped_attention(x, x, x, &x, attention_dims{}) } -> std::same_as<typename B::value>;

    { b.not_equal(x, x) } -> std::same_as<typename B::value>;  // boolean, broadcasting
    { b.cumsum(x, 0) } -> std::same_as<typename B::value>;      // running sum along an axis (int64 or float32)

    { b.reduce_mean(x, 1) } -> std::same_as<typename B::value>;

    { b.concat(std::vector<typename B::value>{x, x}, std::int64_t{0}) } -> std::same_as<typename B::value>;
    { b.slice(x, std::int64_t{0}, std::int64_t{0}, std::int64_t{1}) } -> std::same_as<typename B::value>;
    // x[..., :end, ...] with `end` an int64 [1] computed in the graph (a length known at run time only)
    { b.slice_to(x, std::int64_t{0}, x) } -> std::same_as<typename B::value>;
    // torch.roll along an axis by an int64 [1] shift computed in the graph (Swin's cyclic shift)
    { b.roll(x, std::int64_t{0}, x) } -> std::same_as<typename B::value>;

    // rotary position embedding: x [B, S, H·D], sin and cos [S, R/2] or [B, S, R/2] (R the layout's dims)
    { b.rotary(x, x, x, rotary_layout{}) } -> std::same_as<typename B::value>;
    // sliding windows along the sequence: x [B, S, C] -> [B, S, K, C], zero padded (nn.Unfold, conv im2col)
    { b.unfold(x, std::int64_t{3}) } -> std::same_as<typename B::value>;

    { b.gather_last(x, x) } -> std::same_as<typename B::value>;
    { b.clip(x, std::int64_t{0}, std::int64_t{1}) } -> std::same_as<typename B::value>;
    { b.clamp(x, 0.f, 1.f) } -> std::same_as<typename B::value>;  // float bounds, infinite: one side
    { b.conv1d(x, x, &x, std::int64_t{1}, std::int64_t{1}) } -> std::same_as<typename B::value>;

    { b.argmax(x, 0) } -> std::same_as<typename B::value>;

    // the gated delta rule (Gated DeltaNet), a recurrence over the sequence: q, k [B, H, S, Dk],
    // v [B, H, S, Dv], g, beta [B, H, S], state [B, H, Dk, Dv] -> [B, H, S + Dk, Dv] (outputs, then the state)
    { b.gated_delta_rule(x, x, x, x, x, x) } -> std::same_as<typename B::value>;

    { b.constant_f32(std::vector<float>{}) } -> std::same_as<typename B::value>;  // a float32 vector [n]
    { b.sin(x) } -> std::same_as<typename B::value>;   // rotary angles, computed in the graph
    { b.cos(x) } -> std::same_as<typename B::value>;
    { b.sqrt(x) } -> std::same_as<typename B::value>;  // RMSNorm
    { b.log(x) } -> std::same_as<typename B::value>;   // natural logarithm (Llama 4's and Mistral 4's query scaling)

    // images, x [N, C, H, W] (ViT, ResNet, ConvNeXT, Swin, SegFormer, DETR)
    // nn.Conv2d: w [M, C/groups, kH, kW], bias [M] or null, strides, pads (top, left, bottom, right), dilations, groups
    { b.conv2d(x, x, &x, hw{}, pads2d{}, hw{}, std::int64_t{1}) } -> std::same_as<typename B::value>;
    // nn.BatchNorm2d in eval mode: scale, bias, running mean, running var [C], eps
    { b.batch_norm(x, x, x, x, x, 1e-5f) } -> std::same_as<typename B::value>;
    // nn.MaxPool2d: kernel, strides, pads, ceil_mode
    { b.max_pool2d(x, hw{}, hw{}, pads2d{}, false) } -> std::same_as<typename B::value>;
    // nn.AvgPool2d: kernel, strides, pads, count_include_pad, ceil_mode
    { b.avg_pool2d(x, hw{}, hw{}, pads2d{}, true, false) } -> std::same_as<typename B::value>;
    // mean over H and W, kept: [N, C, 1, 1]
    { b.global_avg_pool(x) } -> std::same_as<typename B::value>;
    // F.interpolate to (out_h, out_w): nearest (legacy), bilinear, bicubic; align_corners
    { b.resize(x, std::int64_t{1}, std::int64_t{1}, resize_mode::bilinear, false) } -> std::same_as<typename B::value>;
    // the same to a run-time size, int64 [2] (height, width)
    { b.resize_to(x, x, resize_mode::bilinear, false) } -> std::same_as<typename B::value>;
    { b.hardsigmoid(x) } -> std::same_as<typename B::value>;  // relu6(x + 3) / 6
    { b.hardswish(x) } -> std::same_as<typename B::value>;    // x · relu6(x + 3) / 6
    // L2 norm over axes, kept as size-1 axes (ConvNeXTV2's GRN)
    { b.reduce_l2(x, ints) } -> std::same_as<typename B::value>;
    // x broadcast with an int64 [r] shape, numpy's rules (a learned token to every row of a batch)
    { b.expand(x, x) } -> std::same_as<typename B::value>;
};

}  // namespace typeformer::inline v0
