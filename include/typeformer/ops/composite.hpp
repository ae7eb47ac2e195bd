// typeformer/ops/composite.hpp: PyTorch modules as compositions of ops.
//
// nn.Linear and nn.LayerNorm own parameters; these helpers enter the module's
// scope, declare its parameters with their shapes and call the ops.
#pragma once

#include <cstdint>
#include <string_view>

#include "typeformer/ops/vocabulary.hpp"

namespace typeformer::inline v0 {

/// The activation function a config names, in ops.
template <Backend B>
typename B::value activate(B& b, activation a, const typename B::value& x) {
    switch (a) {
        case activation::gelu: return b.gelu(x);
        case activation::gelu_new: return b.gelu_tanh(x);
        case activation::relu: return b.relu(x);
        case activation::silu: return b.mul(x, b.sigmoid(x));
        case activation::tanh: return b.tanh(x);
    }
    return x;
}

/// nn.Linear(in, out) at `scope`: x · weightᵀ + bias. `tied_weight` is the
/// full name of the tensor the weight shares (an LM head tied to embeddings).
template <Backend B>
typename B::value dense(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                        std::int64_t out, std::string_view tied_weight = {}, std::string_view tied_bias = {}) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {out, in}, tied_weight);
    const auto& bias = b.param("bias", {out}, tied_bias);
    return b.linear(x, w, &bias);
}

/// nn.LayerNorm(n, eps) at `scope`.
template <Backend B>
typename B::value layer_norm(B& b, std::string_view scope, const typename B::value& x, std::int64_t n,
                             float eps) {
    auto guard = b.scope(scope);
    const auto& gamma = b.param("weight", {n});
    const auto& beta = b.param("bias", {n});
    return b.layer_norm(x, gamma, beta, eps);
}

/// Transformers' additive attention bias from a 0/1 mask [B, S]:
/// (1 - mask) · finfo(float32).min, shaped [B, 1, 1, S], or [B, 1, S, S]
/// combined with the causal mask (position j visible from i iff j <= i).
template <Backend B>
typename B::value attention_bias(B& b, const typename B::value& mask, bool causal) {
    auto m = b.cast(b.unsqueeze(mask, {1, 2}), dtype::f32);  // [B, 1, 1, S]
    if (causal) {
        auto pos = b.range(mask, 1);                            // [S]
        auto row = b.unsqueeze(pos, {1});                       // [S, 1]
        auto col = b.unsqueeze(pos, {0});                       // [1, S]
        auto seen = b.cast(b.less(col, b.add(row, b.constant_i64({1}))), dtype::f32);  // [S, S]
        m = b.mul(m, seen);                                     // [B, 1, S, S]
    }
    return b.mul(b.sub(b.scalar(1.f), m), b.scalar(-3.4028234663852886e38f));
}

/// The last position along axis 1 of each row of `flags` [B, S] (float32,
/// 1 where a token qualifies, else 0) that is 1, int64 [B]; 0 in a row with
/// none (argmax of position · flag: exact in float32 below 2^24 tokens).
template <Backend B>
typename B::value last_flagged(B& b, const typename B::value& flags) {
    return b.argmax(b.mul(flags, b.cast(b.range(flags, 1), dtype::f32)), 1);
}

/// One position of each row: x [B, S, E] at idx [B] (int64) -> [B, E].
template <Backend B>
typename B::value token_at(B& b, const typename B::value& x, const typename B::value& idx) {
    auto picked = b.gather_last(b.transpose(x, {0, 2, 1}), b.unsqueeze(idx, {1, 2}));  // [B, E, 1]
    return b.select(picked, -1, 0);
}

}  // namespace typeformer::inline v0
