// typeformer/layers/t5.hpp: the blocks of T5's encoder-decoder (T5, mT5; LongT5 passes
// t5_encoder its own self-attention, models/longt5.hpp).
//
// The graphs are BART's (layers/seq2seq.hpp: the encoder, the decoder of
// the first step, the later steps' decoder with the cache, in Optimum's
// names); the blocks differ:
//   - T5LayerNorm: RMSNorm (no mean, no bias), before each sublayer, and a
//     final_layer_norm per stack;
//   - no biases anywhere, no scaling of the scores (q · kᵀ, the scale is in
//     the weights), an inner width num_heads · d_kv that may differ from d_model;
//   - no position embeddings: a relative position bias [1, H, S, T] from
//     `relative_attention_bias` [num_buckets, H] of block 0 of each stack,
//     shared by every layer of the stack, with bidirectional buckets in the
//     encoder and causal ones in the decoder; added to the self-attention's
//     scores before the mask. The cross-attention has no position bias;
//   - the FFN: wi, ReLU, wo ("relu"), or gelu_new(wi_0) · wi_1, wo ("gated-gelu");
//   - the LM head: lm_head (tied to `shared` unless the checkpoint stores its
//     own), the decoder's output scaled by d_model^-0.5 first where the
//     config says so (T5's scale_decoder_outputs).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/seq2seq.hpp"

namespace typeformer::inline v0 {

/// What a T5 config gives its blocks.
struct t5_shape {
    std::int64_t vocab_size, width, heads, head_dim, ffn, encoder_layers, decoder_layers;
    std::int64_t buckets, max_distance;  ///< relative_attention_num_buckets, relative_attention_max_distance
    float eps;
    bool gated;                  ///< "gated-gelu": gelu_new(wi_0 x) · wi_1 x; else "relu": relu(wi x)
    bool scale_decoder_outputs;  ///< the LM head reads the decoder's output times d_model^-0.5
    [[nodiscard]] constexpr std::int64_t inner() const { return heads * head_dim; }
};

/// A T5-style config: its shape and its cache.
template <class C>
concept T5LikeConfig = Seq2SeqCacheConfig<C> && requires(const C& c) {
    { c.t5() } -> std::same_as<t5_shape>;
};

/// T5's module names (its state dict has no base prefix).
struct t5_names {
    static constexpr std::string_view encoder = "encoder", decoder = "decoder", shared = "shared.weight",
                                      lm_head = "lm_head";
};

namespace detail::t5 {

/// Transformers' T5Attention._relative_position_bucket of one relative
/// position (key position − query position), in the same float32 steps:
/// log(float(|rel|) / max_exact), divided by log(max_distance / max_exact)
/// (computed in double, used as float32), times (buckets − max_exact),
/// truncated to int64, at most buckets − 1. Bidirectional: half the buckets
/// for each sign.
inline std::int64_t relative_bucket(std::int64_t rel, bool bidirectional, std::int64_t buckets,
                                    std::int64_t max_distance) {
    std::int64_t out = 0;
    if (bidirectional) {
        buckets /= 2;
        if (rel > 0) out += buckets;
        rel = rel < 0 ? -rel : rel;
    } else {
        rel = rel < 0 ? -rel : 0;
    }
    const std::int64_t max_exact = buckets / 2;
    if (rel < max_exact) return out + rel;
    const float ratio = std::log(static_cast<float>(rel) / static_cast<float>(max_exact));
    const auto span = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
    const float scaled = ratio / span * static_cast<float>(buckets - max_exact);
    return out + std::min(max_exact + static_cast<std::int64_t>(scaled), buckets - 1);
}

/// The buckets of the relative positions −max_distance .. max_distance; every
/// position farther away falls in the bucket of ±max_distance (the last one
/// of its side), so the graph clips the relative positions to that range.
inline std::vector<std::int64_t> bucket_table(bool bidirectional, std::int64_t buckets, std::int64_t max_distance) {
    std::vector<std::int64_t> t;
    t.reserve(static_cast<std::size_t>(2 * max_distance + 1));
    for (std::int64_t r = -max_distance; r <= max_distance; ++r)
        t.push_back(relative_bucket(r, bidirectional, buckets, max_distance));
    return t;
}

/// The relative position bias [1, H, S, T] of the S queries of `ids` [B, S],
/// at positions past .. past + S − 1 (`past`: int64 [1], or null: 0), over
/// the T keys of `keys` (heads-first [B, H, T, D]) at 0 .. T − 1, from the
/// attention's table relative_attention_bias [buckets, H].
template <Backend B>
typename B::value position_bias(B& b, const typename B::value& ids, const typename B::value& keys,
                                const typename B::value* past, bool bidirectional, const t5_shape& sh) {
    auto guard = b.scope("relative_attention_bias");
    const auto& w = b.param("weight", {sh.buckets, sh.heads});
    const auto R = sh.max_distance;
    // the bias of each clipped relative position: [2R + 1, H]
    auto rows = b.gather(w, b.constant_i64(bucket_table(bidirectional, sh.buckets, R)));
    auto query = b.range(ids, 1);
    if (past) query = b.add(query, *past);
    auto rel = b.sub(b.unsqueeze(b.range(keys, 2), {0}), b.unsqueeze(query, {1}));  // [S, T]
    auto at = b.add(b.clip(rel, -R, R), b.constant_i64({R}));
    auto bias = b.gather(rows, at);                                         // [S, T, H]
    return b.unsqueeze(b.transpose(bias, {2, 0, 1}), {0});                  // [1, H, S, T]
}

/// The stack's numbers as the seq2seq helpers read them (the token embeddings).
inline seq2seq_stack_shape stack(const t5_shape& sh, std::int64_t layers) {
    return {sh.vocab_size, sh.width, sh.heads, sh.ffn, layers, 0, activation::relu, sh.eps, false, 0};
}

/// T5LayerFF's DenseReluDense: wi, ReLU, wo, or gelu_new(wi_0) · wi_1, wo.
template <Backend B>
typename B::value ffn(B& b, const typename B::value& x, const t5_shape& sh) {
    auto g = b.scope("DenseReluDense");
    const auto E = sh.width, F = sh.ffn;
    typename B::value h;
    if (sh.gated)
        h = b.mul(activate(b, activation::gelu_new, linear_no_bias(b, "wi_0", x, E, F)), linear_no_bias(b, "wi_1", x, E, F));
    else
        h = b.relu(linear_no_bias(b, "wi", x, E, F));
    return linear_no_bias(b, "wo", h, F, E);
}

/// A pre-norm residual sublayer: x + f(T5LayerNorm(x)), the norm at `layer`.layer_norm.
template <Backend B, class F>
typename B::value sublayer(B& b, const std::string& layer, const typename B::value& x, const t5_shape& sh, F&& f) {
    auto normed = rms_norm(b, layer + ".layer_norm", x, sh.width, sh.eps);
    auto g = b.scope(layer);
    return b.add(x, f(normed));
}

}  // namespace detail::t5

/// T5's encoder self-attention (t5_encoder's `SelfAttention` hook):
/// `context(b, ids, mask, c)`, built once before the layers, and
/// `forward(b, x, context, layer, c)`, the sublayer's attention (under the
/// layer's `layer.0` scope, on the normed states). This one is T5's:
/// `SelfAttention`'s q, k, v and o over every token, the padding masked, the
/// relative position bias (bidirectional buckets) from layer 0's table.
struct t5_self_attention {
    template <class V>
    struct state {
        V ids, mask, bias;  ///< the input ids, the padding bias, layer 0's position bias
    };

    template <Backend B, T5LikeConfig C>
    static state<typename B::value> context(B& b, const typename B::value& ids, const typename B::value& mask,
                                            const C&) {
        auto guard = b.scope("encoder_attention_mask");
        return {ids, detail::s2s::padding_bias(b, mask), {}};
    }

    template <Backend B, T5LikeConfig C>
    static typename B::value forward(B& b, const typename B::value& x, state<typename B::value>& st,
                                     std::int64_t layer, const C& c) {
        const auto sh = c.t5();
        const auto E = sh.width, H = sh.heads, D = sh.head_dim, I = sh.inner();
        auto g = b.scope("SelfAttention");
        auto q = linear_no_bias(b, "q", x, E, I);
        auto k = detail::s2s::heads_first(b, linear_no_bias(b, "k", x, E, I), H, D);
        auto v = detail::s2s::heads_first(b, linear_no_bias(b, "v", x, E, I), H, D);
        if (layer == 0) st.bias = detail::t5::position_bias(b, st.ids, k, nullptr, true, sh);
        return linear_no_bias(b, "o", detail::s2s::attend(b, q, k, v, st.mask, H, D, {false, &st.bias}), I, E);
    }
};

/// T5's encoder: the shared token embeddings, encoder layers of
/// self-attention (`SelfAttention`: T5's, bidirectional, with the relative
/// position bias and the padding masked; LongT5 passes its local and
/// transient-global ones) and FFN, each pre-norm, then final_layer_norm.
/// Writes encoder_hidden_states.
template <class Names = t5_names, class SelfAttention = t5_self_attention>
struct t5_encoder {
    using reads = slots<"input_ids", "attention_mask">;
    using writes = slots<"encoder_hidden_states">;

    template <Backend B, T5LikeConfig C>
    static void forward(B& b, io<t5_encoder, typename B::value> s, const C& c) {
        using namespace detail::t5;
        using V = typename B::value;
        const auto sh = c.t5();
        const auto& ids = s[sl::input_ids];
        auto h = detail::s2s::tokens(b, Names::encoder, ids, stack(sh, sh.encoder_layers), std::string(Names::shared));
        auto context = SelfAttention::context(b, ids, s[sl::attention_mask], c);
        for (std::int64_t i = 0; i < sh.encoder_layers; ++i) {
            auto guard = b.scope(std::string(Names::encoder) + ".block." + std::to_string(i));
            h = sublayer(b, "layer.0", h, sh, [&](const V& x) { return SelfAttention::forward(b, x, context, i, c); });
            h = sublayer(b, "layer.1", h, sh, [&](const V& x) { return ffn(b, x, sh); });
        }
        h = rms_norm(b, std::string(Names::encoder) + ".final_layer_norm", h, sh.width, sh.eps);
        s.set(slot<"encoder_hidden_states">{}, h);
    }
};

/// T5's decoder: the shared token embeddings, decoder layers of causal
/// self-attention (relative position bias over the past and the new
/// tokens), cross-attention over the encoder's output (padding masked by
/// `Mask`, no position bias) and FFN, each pre-norm, then final_layer_norm.
/// `Step` and `Ids` as seq2seq_decoder's. Writes hidden_states.
template <seq2seq_step Step, fixed_string Ids = "input_ids", fixed_string Mask = "encoder_attention_mask",
          class Names = t5_names>
struct t5_decoder {
    using kind = detail::s2s::step_kind<Step>;
    static_assert(!kind::alone, "t5_decoder: T5 has no decoder-alone model in Transformers");
    using reads = typename kind::template reads<Ids, Mask>;
    using writes = typename kind::writes;

    template <Backend B, T5LikeConfig C>
    static void forward(B& b, io<t5_decoder, typename B::value> s, const C& c) {
        using namespace detail::t5;
        using V = typename B::value;
        const auto sh = c.t5();
        const auto E = sh.width, H = sh.heads, D = sh.head_dim, I = sh.inner();
        const auto& ids = s[slot<Ids>{}];
        detail::s2s::step_cache<Step, t5_decoder, B> cache(b, s, ids, s[slot<Mask>{}]);
        const V* past_ptr = cache.past_ptr;
        auto h = detail::s2s::tokens(b, Names::decoder, ids, stack(sh, sh.decoder_layers), std::string(Names::shared));
        V cross_mask, causal, bias;
        {
            auto guard = b.scope("encoder_attention_mask");
            cross_mask = detail::s2s::padding_bias(b, s[slot<Mask>{}]);
        }
        for (std::int64_t i = 0; i < sh.decoder_layers; ++i) {
            auto guard = b.scope(std::string(Names::decoder) + ".block." + std::to_string(i));
            h = sublayer(b, "layer.0", h, sh, [&](const V& x) {
                auto g = b.scope("SelfAttention");
                auto q = linear_no_bias(b, "q", x, E, I);
                auto k = detail::s2s::heads_first(b, linear_no_bias(b, "k", x, E, I), H, D);
                auto v = detail::s2s::heads_first(b, linear_no_bias(b, "v", x, E, I), H, D);
                cache.self(i, k, v);
                if (i == 0) {
                    bias = position_bias(b, ids, k, past_ptr, false, sh);
                    auto m = b.scope("causal_mask");
                    causal = detail::s2s::causal_bias(b, ids, k, past_ptr);
                }
                return linear_no_bias(b, "o", detail::s2s::attend(b, q, k, v, causal, H, D, {false, &bias}), I, E);
            });
            h = sublayer(b, "layer.1", h, sh, [&](const V& x) {
                auto g = b.scope("EncDecAttention");
                auto q = linear_no_bias(b, "q", x, E, I);
                const auto [k, v] = cache.cross(i, [&](const V& enc) {
                    return std::pair{detail::s2s::heads_first(b, linear_no_bias(b, "k", enc, E, I), H, D),
                                     detail::s2s::heads_first(b, linear_no_bias(b, "v", enc, E, I), H, D)};
                });
                return linear_no_bias(b, "o", detail::s2s::attend(b, q, k, v, cross_mask, H, D, {false, nullptr}), I, E);
            });
            h = sublayer(b, "layer.2", h, sh, [&](const V& x) { return ffn(b, x, sh); });
        }
        h = rms_norm(b, std::string(Names::decoder) + ".final_layer_norm", h, E, sh.eps);
        s.set(sl::hidden_states, h);
    }
};

/// T5's LM head: the decoder's output, times d_model^-0.5 where the config
/// scales it, through lm_head (no bias; `shared` where the checkpoint stores
/// no lm_head of its own, as Transformers 5 ties them).
template <class Names = t5_names>
struct t5_lm_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, T5LikeConfig C>
    static void forward(B& b, io<t5_lm_head, typename B::value> s, const C& c) {
        const auto sh = c.t5();
        auto h = s[sl::hidden_states];
        if (sh.scale_decoder_outputs)
            h = b.mul(h, b.scalar(static_cast<float>(std::pow(static_cast<double>(sh.width), -0.5))));
        s.set(sl::logits, linear_no_bias(b, Names::lm_head, h, sh.width, sh.vocab_size, Names::shared));
    }
};

}  // namespace typeformer::inline v0
