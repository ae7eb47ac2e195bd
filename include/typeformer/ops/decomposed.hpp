// typeformer/ops/decomposed.hpp: high-level ops as compositions of the
// vocabulary's elementwise and shape ops.
//
// The eval backend computes these ops through these compositions, and the
// ONNX backend emits the same compositions below the opset that has the op
// natively (RotaryEmbedding and Attention, opset 23): the reference and the
// decomposed graph are one arithmetic, written once.
#pragma once

#include <cstdint>
#include <limits>

#include "typeformer/ops/vocabulary.hpp"

namespace typeformer::inline v0::decomposed {

/// Rotary position embedding (see rotary_layout): x [B, S, N·D], sin and
/// cos [S, R/2] or [B, S, R/2].
template <class B>
typename B::value rotary(B& b, const typename B::value& x, const typename B::value& sin,
                         const typename B::value& cos, const rotary_layout& l) {
    const std::int64_t R = l.dims;
    auto xh = b.reshape(x, {0, 0, l.heads, l.head_dim});        // [B, S, N, D]
    auto s = b.unsqueeze(sin, {-2}), c = b.unsqueeze(cos, {-2});  // [.., S, 1, R/2]
    auto rot = R < l.head_dim ? b.slice(xh, -1, 0, R) : xh;
    typename B::value y;
    if (l.interleaved) {
        auto pairs = b.reshape(rot, {0, 0, 0, R / 2, 2});
        auto x0 = b.select(pairs, -1, 0), x1 = b.select(pairs, -1, 1);  // [B, S, N, R/2]
        auto y0 = b.sub(b.mul(x0, c), b.mul(x1, s)), y1 = b.add(b.mul(x1, c), b.mul(x0, s));
        y = b.reshape(b.concat({b.unsqueeze(y0, {-1}), b.unsqueeze(y1, {-1})}, -1), {0, 0, 0, R});
    } else {
        auto x1 = b.slice(rot, -1, 0, R / 2), x2 = b.slice(rot, -1, R / 2, R);
        y = b.concat({b.sub(b.mul(x1, c), b.mul(x2, s)), b.add(b.mul(x2, c), b.mul(x1, s))}, -1);
    }
    if (R < l.head_dim) y = b.concat({y, b.slice(xh, -1, R, l.head_dim)}, -1);
    return b.reshape(y, {0, 0, l.heads * l.head_dim});
}

/// The scores of grouped-query attention, heads first (see the
/// vocabulary's grouped_attention): softcap((q · kᵀ) · scale) + bias,
/// [B, H, S, T]. Under grouped-query heads the product is taken as
/// [B, KVH, G, S, D] x [B, KVH, 1, D, T] (G = H / KVH query heads a
/// key/value head, the keys not repeated), then viewed as [B, H, S, T].
template <class B>
typename B::value attention_scores(B& b, const typename B::value& q, const typename B::value& k,
                                   const typename B::value* bias, const attention_dims& a) {
    typename B::value scores;
    if (a.heads == a.kv_heads) {
        scores = b.matmul(q, b.transpose(k, {0, 1, 3, 2}));
    } else {
        auto qg = b.reshape(q, {0, a.kv_heads, a.heads / a.kv_heads, -1, a.head_dim});
        auto kt = b.unsqueeze(b.transpose(k, {0, 1, 3, 2}), {2});
        scores = b.reshape(b.matmul(qg, kt), b.concat({b.shape(q, 0, 3), b.shape(k, 2, 3)}, 0));
    }
    if (a.scale != 1.f) scores = b.mul(scores, b.scalar(a.scale));
    if (a.softcap > 0.f) scores = b.mul(b.tanh(b.div(scores, b.scalar(a.softcap))), b.scalar(a.softcap));
    return bias ? b.add(scores, *bias) : scores;
}

/// The weighted values of grouped-query attention: probs [B, H, S, T]
/// times v [B, KVH, T, Dv], each query head reading its key/value head
/// ([B, KVH, G, S, T] x [B, KVH, 1, T, Dv]), [B, H, S, Dv].
template <class B>
typename B::value attention_context(B& b, const typename B::value& probs, const typename B::value& v,
                                    const attention_dims& a) {
    if (a.heads == a.kv_heads) return b.matmul(probs, v);
    auto grouped = b.concat({b.shape(v, 0, 2), b.constant_i64({a.heads / a.kv_heads}), b.shape(probs, 2, 4)}, 0);
    auto ctx = b.matmul(b.reshape(probs, grouped), b.unsqueeze(v, {2}));  // [B, KVH, G, S, Dv]
    return b.reshape(ctx, b.concat({b.shape(probs, 0, 3), b.shape(v, 3, 4)}, 0));
}

/// Grouped-query attention, heads first: softmax of attention_scores, then attention_context.
template <class B>
typename B::value grouped_attention(B& b, const typename B::value& q, const typename B::value& k,
                                    const typename B::value& v, const typename B::value* bias,
                                    const attention_dims& a) {
    return attention_context(b, b.softmax(attention_scores(b, q, k, bias, a)), v, a);
}

}  // namespace typeformer::inline v0::decomposed
