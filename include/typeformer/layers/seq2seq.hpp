// typeformer/layers/seq2seq.hpp: the blocks of a BART-style encoder-decoder.
//
// One template serves BART, mBART, PLBart, Marian, M2M100, Blenderbot and
// BlenderbotSmall; what sets them apart is a `seq2seq_style` value (where
// the LayerNorms sit, which positions, the embedding LayerNorm, the logits
// bias), the config's numbers and the module names (`seq2seq_names`).
//
// The generation features are several graphs (tasks/tasks.hpp: encoder_part,
// decoder_part, decoder_with_past_part); the layers here build each:
//   - seq2seq_encoder: input_ids, attention_mask -> encoder_hidden_states;
//   - seq2seq_decoder<..., Mode>: the decoder's input_ids, the encoder's
//     attention mask and either encoder_hidden_states (the first step, or a
//     decoder without cache) or the cache (a later step) -> hidden_states,
//     and with a cache the grown one (`present`);
//   - seq2seq_lm_head: hidden_states -> logits (lm_head, final_logits_bias).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// How an encoder-decoder numbers its positions.
enum class seq2seq_positions : std::uint8_t {
    /// a learned table, row position + offset (BART: 2; Blenderbot: 0)
    learned,
    /// Marian's fixed table: sin on the first half of the features, cos on
    /// the second (sin(p / 10000^(2i/d)) at feature i, cos at feature d/2 + i),
    /// computed in float64 and rounded, as MarianSinusoidalPositionalEmbedding
    sinusoidal,
    /// M2M100's (fairseq's) fixed table, counted over the non-padding tokens:
    /// position cumsum(ids != pad) + past + pad at a real token, pad at a
    /// padding token (whose row is zero); features [sin(p·f_i), cos(p·f_i)],
    /// f_i = exp(-i · ln(10000) / (d/2 - 1)), in float32
    sinusoidal_padded,
};

/// Where an encoder-decoder's embedding LayerNorm (`layernorm_embedding`) sits.
enum class seq2seq_embedding_norm : std::uint8_t {
    none,                  ///< no LayerNorm (Marian, M2M100, Blenderbot)
    after_positions,       ///< LN(tokens + positions) (BART, mBART, PLBart)
    decoder_tokens_only,   ///< BlenderbotSmall: the encoder as above, the decoder LN(tokens) + positions
};

/// What sets one BART-style architecture apart.
struct seq2seq_style {
    bool pre_norm = false;  ///< LayerNorm before each sublayer and at the end of each stack (mBART, M2M100, Blenderbot)
    seq2seq_positions positions = seq2seq_positions::learned;
    std::int64_t position_offset = 0;  ///< the learned table's first rows skipped (BART: 2)
    seq2seq_embedding_norm embedding_norm = seq2seq_embedding_norm::none;
    bool final_logits_bias = true;  ///< the LM head adds the `final_logits_bias` buffer [1, vocab]
    /// BlenderbotSmall: the decoder's scale_embedding applies only as
    /// Transformers 4.41 computes it (the config's scaled_small_decoder)
    bool decoder_scale_4_41_only = false;
};

/// The module names of a BART-style model (its state dict under `model.`).
struct seq2seq_names {
    static constexpr std::string_view encoder = "model.encoder",
                                      decoder = "model.decoder", lm_head = "lm_head",
                                      logits_bias = "final_logits_bias";
    /// each stack's final LayerNorm (pre_norm styles), under the stack
    static constexpr std::string_view final_norm = "layer_norm";
};

/// What a config gives the seq2seq blocks: the numbers of one stack.
struct seq2seq_stack_shape {
    std::int64_t vocab_size, width, heads, ffn, layers, max_positions;
    activation act;
    float eps;
    bool scale_embedding;
    std::int64_t pad_token_id;
    bool attention_bias = true;  ///< the attention's q, k, v and out projections have biases
};

/// A BART-style config: its encoder's and decoder's numbers.
template <class C>
concept Seq2SeqConfig = Seq2SeqCacheConfig<C> && requires(const C& c, bool decoder) {
    { c.encoder_stack() } -> std::same_as<seq2seq_stack_shape>;
    { c.decoder_stack() } -> std::same_as<seq2seq_stack_shape>;
    { c.tokens_tied_to(decoder) } -> std::convertible_to<std::string>;  ///< the table a stack's embed_tokens shares ("": none)
    { c.lm_head_tied_to() } -> std::convertible_to<std::string>;        ///< the table the LM head shares ("": none)
    { c.tie_word_embeddings } -> std::convertible_to<bool>;
};

namespace detail::s2s {

inline constexpr float lowest = -3.4028234663852886e38f;

/// How `attend` forms its scores beyond q · kᵀ: BART's scale D^-0.5, or
/// T5's none, and an additive bias before the mask's (T5's relative
/// position bias [1, H, S, T]).
template <class V>
struct attend_scores {
    bool scaled = true;              ///< times D^-0.5 (false: T5, which folds the scale into its weights)
    const V* position_bias = nullptr;  ///< added to the scores before `bias`, as T5 adds it
};

/// Multi-head attention of q [B, S, H·D] over heads-first keys and values
/// [B, H, T, D], scores (q · kᵀ) · D^-0.5 (unless `how` says unscaled), plus
/// `how`'s position bias and `bias` (broadcast to [B, H, S, T]; added
/// together first, which leaves each score's sum as it was: the mask is 0 or
/// the lowest float), softmax, merged back to [B, S, H·D]: the
/// grouped_attention op with as many key/value heads as query heads.
template <Backend B>
typename B::value attend(B& b, const typename B::value& q, const typename B::value& kh, const typename B::value& vh,
                         const typename B::value& bias, std::int64_t H, std::int64_t D,
                         attend_scores<typename B::value> how = {}) {
    auto qh = b.transpose(b.reshape(q, {0, 0, H, D}), {0, 2, 1, 3});  // [B, H, S, D]
    const float scale = how.scaled ? static_cast<float>(std::pow(static_cast<double>(D), -0.5)) : 1.f;
    const auto all = how.position_bias ? b.add(*how.position_bias, bias) : bias;
    auto ctx = b.grouped_attention(qh, kh, vh, &all, attention_dims{H, H, D, scale});  // [B, H, S, D]
    return b.reshape(b.transpose(ctx, {0, 2, 1, 3}), {0, 0, H * D});
}

/// x [B, T, H·D] as heads-first [B, H, T, D].
template <Backend B>
typename B::value heads_first(B& b, const typename B::value& x, std::int64_t H, std::int64_t D) {
    return b.transpose(b.reshape(x, {0, 0, H, D}), {0, 2, 1, 3});
}

/// The padding bias [B, 1, 1, T] of a 0/1 mask [B, T].
template <Backend B>
typename B::value padding_bias(B& b, const typename B::value& mask) {
    auto keep = b.cast(b.unsqueeze(mask, {1, 2}), dtype::f32);
    return b.mul(b.sub(b.scalar(1.f), keep), b.scalar(lowest));
}

/// The causal bias [S, T] of S new tokens after `past` (int64 [1]) over the
/// T = past + S keys of `keys` (heads-first [B, H, T, D]).
template <Backend B>
typename B::value causal_bias(B& b, const typename B::value& ids, const typename B::value& keys,
                              const typename B::value* past) {
    auto col = b.unsqueeze(b.range(keys, 2), {0});  // [1, T]
    auto pos = b.range(ids, 1);
    if (past) pos = b.add(pos, *past);
    auto row = b.unsqueeze(pos, {1});  // [S, 1]
    auto seen = b.cast(b.less(col, b.add(row, b.constant_i64({1}))), dtype::f32);
    return b.mul(b.sub(b.scalar(1.f), seen), b.scalar(lowest));
}

/// Marian's sinusoidal table [n, d] (float64 angles, rounded to float32).
inline std::vector<float> marian_table(std::int64_t n, std::int64_t d) {
    std::vector<float> t(static_cast<std::size_t>(n * d));
    const std::int64_t sentinel = d / 2 + d % 2;
    for (std::int64_t p = 0; p < n; ++p)
        for (std::int64_t j = 0; j < d; ++j) {
            const double angle = static_cast<double>(p) / std::pow(10000.0, 2.0 * static_cast<double>(j / 2) /
                                                                                static_cast<double>(d));
            // even features' sin fill the first half, odd features' cos the second
            if (j % 2 == 0) t[static_cast<std::size_t>(p * d + j / 2)] = static_cast<float>(std::sin(angle));
            else t[static_cast<std::size_t>(p * d + sentinel + j / 2)] = static_cast<float>(std::cos(angle));
        }
    return t;
}

/// The positions' embeddings [.., S, d] of `ids` [B, S] after `past`
/// (int64 [1], or null: none) in the style's way. `scope`: the stack's.
template <Backend B>
typename B::value positions(B& b, seq2seq_style style, std::string_view scope, const typename B::value& ids,
                            const typename B::value* past, const seq2seq_stack_shape& sh) {
    auto guard = b.scope(std::string(scope) + ".embed_positions");
    const std::int64_t d = sh.width;
    switch (style.positions) {
        case seq2seq_positions::learned: {
            auto pos = b.range(ids, 1);  // [S]
            if (past) pos = b.add(pos, *past);
            if (style.position_offset) pos = b.add(pos, b.constant_i64({style.position_offset}));
            return b.gather(b.param("weight", {sh.max_positions + style.position_offset, d}), pos);  // [S, d]
        }
        case seq2seq_positions::sinusoidal: {
            auto table = b.reshape(b.constant_f32(marian_table(sh.max_positions, d)), {sh.max_positions, d});
            auto pos = b.range(ids, 1);
            if (past) pos = b.add(pos, *past);
            return b.gather(table, pos);  // [S, d]
        }
        case seq2seq_positions::sinusoidal_padded: {
            const std::int64_t half = d / 2;
            std::vector<float> freq(static_cast<std::size_t>(half));
            const float step = static_cast<float>(std::log(10000.0) / static_cast<double>(half - 1));
            for (std::int64_t i = 0; i < half; ++i)
                freq[static_cast<std::size_t>(i)] = std::exp(static_cast<float>(i) * -step);
            auto pad = b.constant_i64({sh.pad_token_id});
            auto real = b.cast(b.not_equal(ids, pad), dtype::i64);  // [B, S]
            auto counted = b.cumsum(real, 1);
            if (past) counted = b.add(counted, *past);
            auto pos = b.add(b.mul(counted, real), pad);  // [B, S]
            auto angles = b.mul(b.unsqueeze(b.cast(pos, dtype::f32), {-1}), b.constant_f32(freq));  // [B, S, d/2]
            auto emb = b.concat({b.sin(angles), b.cos(angles)}, -1);
            if (d % 2) emb = b.concat({emb, b.mul(b.slice(emb, -1, 0, 1), b.scalar(0.f))}, -1);
            // the padding index's row is zero
            return b.mul(emb, b.unsqueeze(b.cast(real, dtype::f32), {-1}));
        }
    }
    throw error("config.invalid", "unknown positions");
}

/// The token embeddings of a stack, times √width with scale_embedding.
template <Backend B>
typename B::value tokens(B& b, std::string_view scope, const typename B::value& ids, const seq2seq_stack_shape& sh,
                         const std::string& tied_to) {
    auto guard = b.scope(std::string(scope) + ".embed_tokens");
    auto h = b.gather(b.param("weight", {sh.vocab_size, sh.width}, tied_to), ids);
    if (sh.scale_embedding) h = b.mul(h, b.scalar(static_cast<float>(std::sqrt(static_cast<double>(sh.width)))));
    return h;
}

/// The embeddings of a stack: tokens, positions and the style's LayerNorm.
template <Backend B>
typename B::value embed(B& b, seq2seq_style style, bool decoder, std::string_view scope, const std::string& tied_to,
                        const typename B::value& ids, const typename B::value* past, const seq2seq_stack_shape& sh) {
    auto h = tokens(b, scope, ids, sh, tied_to);
    const auto norm_at = std::string(scope) + ".layernorm_embedding";
    if (style.embedding_norm == seq2seq_embedding_norm::decoder_tokens_only && decoder)
        return b.add(layer_norm(b, norm_at, h, sh.width, sh.eps), positions(b, style, scope, ids, past, sh));
    h = b.add(h, positions(b, style, scope, ids, past, sh));
    if (style.embedding_norm != seq2seq_embedding_norm::none) h = layer_norm(b, norm_at, h, sh.width, sh.eps);
    return h;
}

/// An attention projection: nn.Linear(in, out), with a bias where the stack's attention has them.
template <Backend B>
typename B::value projection(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                             std::int64_t out, const seq2seq_stack_shape& sh) {
    return linear(b, scope, x, in, out, sh.attention_bias);
}

/// fc1, activation, fc2 (biases).
template <Backend B>
typename B::value mlp(B& b, const typename B::value& x, const seq2seq_stack_shape& sh) {
    return dense(b, "fc2", activate(b, sh.act, dense(b, "fc1", x, sh.width, sh.ffn)), sh.ffn, sh.width);
}

/// A sublayer with its residual and LayerNorm `norm`, before (pre_norm) or after the sum.
template <Backend B, class F>
typename B::value sublayer(B& b, bool pre_norm, std::string_view norm, const typename B::value& x,
                           const seq2seq_stack_shape& sh, F&& f) {
    if (pre_norm) return b.add(x, f(layer_norm(b, norm, x, sh.width, sh.eps)));
    return layer_norm(b, norm, b.add(x, f(x)), sh.width, sh.eps);
}

}  // namespace detail::s2s

/// The encoder's self-attention hook (seq2seq_encoder's `SelfAttention`):
/// `context(b, mask, c)`, built once from the encoder's attention_mask and
/// handed to every layer, and `forward(b, x, context, sh)`, the sublayer
/// under the layer's `self_attn` scope. This one is BART's: the padding
/// bias, q_proj, k_proj, v_proj, scaled dot-product attention, out_proj.
struct seq2seq_self_attention {
    template <Backend B, class C>
    static typename B::value context(B& b, const typename B::value& mask, const C&) {
        auto guard = b.scope("encoder_attention_mask");
        return detail::s2s::padding_bias(b, mask);
    }
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const typename B::value& bias,
                                     const seq2seq_stack_shape& sh) {
        using namespace detail::s2s;
        const auto E = sh.width, H = sh.heads, D = E / H;
        auto q = projection(b, "q_proj", x, E, E, sh);
        auto k = heads_first(b, projection(b, "k_proj", x, E, E, sh), H, D);
        auto v = heads_first(b, projection(b, "v_proj", x, E, E, sh), H, D);
        return projection(b, "out_proj", attend(b, q, k, v, bias, H, D), E, E, sh);
    }
};

/// The encoder: embeddings, encoder_layers blocks of bidirectional
/// self-attention (`SelfAttention`: BART's, padding masked) and MLP, the
/// final LayerNorm when pre_norm. Writes encoder_hidden_states.
template <seq2seq_style Style, class Names = seq2seq_names, class SelfAttention = seq2seq_self_attention>
struct seq2seq_encoder {
    using reads = slots<"input_ids", "attention_mask">;
    using writes = slots<"encoder_hidden_states">;

    template <Backend B, Seq2SeqConfig C>
    static void forward(B& b, io<seq2seq_encoder, typename B::value> s, const C& c) {
        using namespace detail::s2s;
        const auto sh = c.encoder_stack();
        auto h = embed(b, Style, false, Names::encoder, c.tokens_tied_to(false), s[sl::input_ids], nullptr, sh);
        const auto context = SelfAttention::context(b, s[sl::attention_mask], c);
        for (std::int64_t i = 0; i < sh.layers; ++i) {
            auto guard = b.scope(std::string(Names::encoder) + ".layers." + std::to_string(i));
            h = sublayer(b, Style.pre_norm, "self_attn_layer_norm", h, sh, [&](const typename B::value& x) {
                auto g = b.scope("self_attn");
                return SelfAttention::forward(b, x, context, sh);
            });
            h = sublayer(b, Style.pre_norm, "final_layer_norm", h, sh,
                         [&](const typename B::value& x) { return mlp(b, x, sh); });
        }
        if (Style.pre_norm)
            h = layer_norm(b, std::string(Names::encoder) + "." + std::string(Names::final_norm), h, sh.width, sh.eps);
        s.set(slot<"encoder_hidden_states">{}, h);
    }
};

/// Which decoder graph: without cache (a decoder that recomputes every step,
/// or the one-graph model), the first step (returns the cache), or a later
/// step (takes the cache, returns its self-attention part grown); or the
/// decoder alone (...ForCausalLM, `alone`, `alone_with_past`): no
/// encoder, so no cross-attention sublayer (Transformers skips it without
/// encoder_hidden_states), its own padding mask over the past and the new
/// tokens, and a decoder-only model's cache names (past_key_values.{i}.key
/// /.value in, present.{i}.key/.value out), one graph for every step.
enum class seq2seq_step : std::uint8_t { no_cache, first, later, alone, alone_with_past };

namespace detail::s2s {
/// What a decoder graph's step kind (seq2seq_step) takes and returns.
template <seq2seq_step Step>
struct step_kind {
    static constexpr bool alone = Step == seq2seq_step::alone || Step == seq2seq_step::alone_with_past;
    static constexpr bool later = Step == seq2seq_step::later;
    /// takes the self-attention's past keys and values
    static constexpr bool takes_past = later || Step == seq2seq_step::alone_with_past;
    /// returns the self-attention's keys and values
    static constexpr bool returns_present = Step != seq2seq_step::no_cache && Step != seq2seq_step::alone;
    /// the decoder's reads: its tokens `Ids`, the mask `Mask`, the past, the encoder's states
    template <fixed_string Ids, fixed_string Mask>
    using reads = concat<slots<Ids, Mask>, std::conditional_t<takes_past, slots<"past_key_values">, slots<>>,
                         std::conditional_t<later || alone, slots<>, slots<"encoder_hidden_states">>>;
    using writes = concat<slots<"hidden_states">, std::conditional_t<returns_present, slots<"present">, slots<>>>;
};

/// The cache plumbing of one decoder graph, whatever its blocks (BART's,
/// T5's): the past length, each layer's self-attention keys and values
/// after the past (returned as present), and the cross-attention's, from
/// the cache at a later step or projected from the encoder's states (and
/// returned) at the first. `Layer` is the decoder whose slots it reads.
template <seq2seq_step Step, class Layer, Backend B>
struct step_cache {
    using V = typename B::value;
    using kind = step_kind<Step>;
    B& b;
    io<Layer, V>& s;
    V past;                      ///< the past length, int64 [1]
    const V* past_ptr = nullptr;  ///< &past where the graph takes a past

    step_cache(B& backend, io<Layer, V>& slots_io, const V& ids, const V& mask) : b(backend), s(slots_io) {
        if constexpr (kind::takes_past) {
            auto guard = b.scope("past_length");
            if constexpr (kind::later) past = b.shape(s.at(slot<"past_key_values">{}, "0.decoder.key"), 2, 3);
            else past = past_length(b, ids, mask);  // the decoder alone: its own mask covers past and new
            past_ptr = &past;
        } else {
            (void)ids, (void)mask;
        }
    }
    /// Layer i's cache tensors: decoder.key, decoder.value, encoder.key,
    /// encoder.value; the decoder alone: key, value.
    static std::vector<std::string> parts(std::int64_t i) {
        if (kind::alone) return {cache_parts(i)[0], cache_parts(i)[1]};
        return seq2seq_cache_parts(i, true);
    }
    /// The self-attention's keys and values (heads-first) after the past.
    void self(std::int64_t i, V& k, V& v) {
        const auto p = parts(i);
        if constexpr (kind::takes_past) {
            k = b.concat({s.at(slot<"past_key_values">{}, p[0]), k}, 2);
            v = b.concat({s.at(slot<"past_key_values">{}, p[1]), v}, 2);
        }
        if constexpr (kind::returns_present) {
            s.set_at(slot<"present">{}, p[0], k);
            s.set_at(slot<"present">{}, p[1], v);
        }
    }
    /// The cross-attention's keys and values: `project(encoder_hidden_states)`
    /// -> {k, v} heads-first, or the cache's at a later step.
    template <class Project>
    std::pair<V, V> cross(std::int64_t i, Project&& project) {
        const auto p = parts(i);
        if constexpr (kind::later) {
            return {s.at(slot<"past_key_values">{}, p[2]), s.at(slot<"past_key_values">{}, p[3])};
        } else {
            auto kv = project(s[slot<"encoder_hidden_states">{}]);
            if constexpr (Step == seq2seq_step::first) {
                s.set_at(slot<"present">{}, p[2], kv.first);
                s.set_at(slot<"present">{}, p[3], kv.second);
            }
            return kv;
        }
    }
};
}  // namespace detail::s2s

/// The decoder: embeddings after the past, decoder_layers blocks of causal
/// self-attention, cross-attention over the encoder's output (padding
/// masked by `Mask`) and MLP, the final LayerNorm when pre_norm. `Ids`: the
/// decoder's tokens' slot ("input_ids" in a decoder graph,
/// "decoder_input_ids" in the one-graph model). The decoder alone (Step
/// `alone`, `alone_with_past`) has no cross-attention; `Mask` is then its
/// own padding mask [B, past + S], the self-attention's keys hidden where
/// it is 0 or in the future. Writes hidden_states.
template <seq2seq_style Style, seq2seq_step Step, fixed_string Ids = "input_ids",
          fixed_string Mask = "encoder_attention_mask", class Names = seq2seq_names>
struct seq2seq_decoder {
    using kind = detail::s2s::step_kind<Step>;
    static constexpr bool alone = kind::alone;
    using reads = typename kind::template reads<Ids, Mask>;
    using writes = typename kind::writes;

    template <Backend B, Seq2SeqConfig C>
    static void forward(B& b, io<seq2seq_decoder, typename B::value> s, const C& c) {
        using namespace detail::s2s;
        using V = typename B::value;
        auto sh = c.decoder_stack();
        if constexpr (Style.decoder_scale_4_41_only) sh.scale_embedding = sh.scale_embedding && c.scaled_small_decoder;
        const auto E = sh.width, H = sh.heads, D = E / H;
        const auto Eenc = c.encoder_stack().width;
        const auto& ids = s[slot<Ids>{}];
        step_cache<Step, seq2seq_decoder, B> cache(b, s, ids, s[slot<Mask>{}]);
        const V* past_ptr = cache.past_ptr;
        auto h = embed(b, Style, true, Names::decoder, c.tokens_tied_to(true), ids, past_ptr, sh);
        V cross_bias, self_bias;
        if constexpr (alone) {
            // causal and padding in one bias, finfo.min on every hidden key, as Transformers 5 masks
            auto guard = b.scope("causal_mask");
            self_bias = ::typeformer::causal_bias(b, ids, s[slot<Mask>{}], 0);
        } else {
            auto guard = b.scope("encoder_attention_mask");
            cross_bias = padding_bias(b, s[slot<Mask>{}]);
        }
        for (std::int64_t i = 0; i < sh.layers; ++i) {
            auto guard = b.scope(std::string(Names::decoder) + ".layers." + std::to_string(i));
            h = sublayer(b, Style.pre_norm, "self_attn_layer_norm", h, sh, [&](const V& x) {
                auto g = b.scope("self_attn");
                auto q = projection(b, "q_proj", x, E, E, sh);
                auto k = heads_first(b, projection(b, "k_proj", x, E, E, sh), H, D);
                auto v = heads_first(b, projection(b, "v_proj", x, E, E, sh), H, D);
                cache.self(i, k, v);
                if (!alone && i == 0) {
                    auto m = b.scope("causal_mask");
                    self_bias = causal_bias(b, ids, k, past_ptr);
                }
                return projection(b, "out_proj", attend(b, q, k, v, self_bias, H, D), E, E, sh);
            });
            if constexpr (!alone) h = sublayer(b, Style.pre_norm, "encoder_attn_layer_norm", h, sh, [&](const V& x) {
                auto g = b.scope("encoder_attn");
                auto q = projection(b, "q_proj", x, E, E, sh);
                const auto [k, v] = cache.cross(i, [&](const V& enc) {
                    return std::pair{heads_first(b, projection(b, "k_proj", enc, Eenc, E, sh), H, D),
                                     heads_first(b, projection(b, "v_proj", enc, Eenc, E, sh), H, D)};
                });
                return projection(b, "out_proj", attend(b, q, k, v, cross_bias, H, D), E, E, sh);
            });
            h = sublayer(b, Style.pre_norm, "final_layer_norm", h, sh, [&](const V& x) { return mlp(b, x, sh); });
        }
        if (Style.pre_norm)
            h = layer_norm(b, std::string(Names::decoder) + "." + std::string(Names::final_norm), h, E, sh.eps);
        s.set(sl::hidden_states, h);
    }
};

/// The LM head: lm_head (no bias; tied to the shared embeddings when the
/// config ties them) plus final_logits_bias [1, vocab] where the style has it.
/// `Alone`: the decoder alone's (...ForCausalLM): no final_logits_bias,
/// lm_head tied to the decoder's embed_tokens when the config ties them;
/// untied, it has the config's vocab_size rows (nn.Linear(hidden_size,
/// vocab_size)), which differ from the decoder's table under Marian's
/// decoder_vocab_size only.
template <seq2seq_style Style, class Names = seq2seq_names, bool Alone = false>
struct seq2seq_lm_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, Seq2SeqConfig C>
    static void forward(B& b, io<seq2seq_lm_head, typename B::value> s, const C& c) {
        const auto sh = c.decoder_stack();
        const std::string tied = Alone ? (c.tie_word_embeddings ? std::string(Names::decoder) + ".embed_tokens.weight"
                                                                : std::string())
                                       : std::string(c.lm_head_tied_to());
        auto vocab = sh.vocab_size;
        if constexpr (Alone)
            if (!c.tie_word_embeddings) vocab = c.vocab_size;
        auto logits = linear_no_bias(b, Names::lm_head, s[sl::hidden_states], sh.width, vocab, tied);
        if constexpr (Style.final_logits_bias && !Alone)
            logits = b.add(logits, b.param(Names::logits_bias, {1, sh.vocab_size}));
        s.set(sl::logits, logits);
    }
};

/// How a model makes the decoder's input from input_ids when it is given
/// none (its shift_tokens_right), as the one-graph heads of BART-style
/// models do (sequence classification, question answering).
enum class seq2seq_shift : std::uint8_t {
    /// BART: decoder_start_token_id, then input_ids[:, :-1]
    start_token,
    /// mBART, PLBart: each row's last token that is not pad_token_id (its
    /// eos or language id; the first token in a row of padding only, where
    /// Transformers' gather fails), then input_ids[:, :-1]
    wrap_last,
};

/// shift_tokens_right(input_ids): `decoder_input_ids` [B, S]. The config
/// gives pad_token_id (which Transformers requires) and, for start_token,
/// decoder_start_token_id; null refuses the graph, as Transformers raises.
/// (-100, the labels' ignore index, which Transformers replaces by
/// pad_token_id, is no valid input id: the encoder's lookup fails first.)
template <seq2seq_shift Shift>
struct shift_tokens_right {
    using reads = slots<"input_ids">;
    using writes = slots<"decoder_input_ids">;

    template <Backend B, Seq2SeqConfig C>
    static void forward(B& b, io<shift_tokens_right, typename B::value> s, const C& c) {
        static_assert(requires { { c.decoder_start_token_id } -> std::convertible_to<std::int64_t>; },
                      "shift_tokens_right: the config declares decoder_start_token_id (-1: null)");
        const auto pad = c.decoder_stack().pad_token_id;
        if (pad < 0)
            throw error("config.invalid", "pad_token_id is null: the decoder's input is input_ids shifted right, "
                                          "which Transformers refuses without it");
        auto guard = b.scope("shift_tokens_right");
        const auto& ids = s[slot<"input_ids">{}];
        typename B::value first;  // [B, 1]
        if constexpr (Shift == seq2seq_shift::start_token) {
            if (c.decoder_start_token_id < 0)
                throw error("config.invalid", "decoder_start_token_id is null: the decoder's input starts with it");
            first = b.add(b.mul(b.slice(ids, 1, 0, 1), b.constant_i64({0})), b.constant_i64({c.decoder_start_token_id}));
        } else {
            auto real = b.cast(b.not_equal(ids, b.constant_i64({pad})), dtype::i64);
            auto count = b.slice(b.cumsum(real, 1), 1, -1, std::numeric_limits<std::int64_t>::max());  // [B, 1]
            auto last = b.clip(b.sub(count, b.constant_i64({1})), 0, std::numeric_limits<std::int64_t>::max());
            first = b.gather_last(ids, last);
        }
        s.set(slot<"decoder_input_ids">{}, b.concat({first, b.slice(ids, 1, 0, -1)}, 1));
    }
};

/// token_pooler's picker for BART-style sequence classification: each row's
/// hidden state at its last eos_token_id in input_ids. Transformers raises
/// when the rows hold different numbers of eos tokens, or none; the graph
/// cannot refuse, so it takes each row's last eos whatever the counts, and
/// the first token (position 0) in a row without eos. A null eos_token_id
/// refuses the graph.
struct last_eos_token {
    using reads = slots<"input_ids">;

    template <Backend B, class Io, class C>
    static typename B::value pick(B& b, Io& s, const typename B::value& h, const C& c) {
        static_assert(requires { { c.eos_token_id } -> std::convertible_to<std::int64_t>; },
                      "last_eos_token: the config declares eos_token_id (-1: null)");
        if (c.eos_token_id < 0)
            throw error("config.invalid", "eos_token_id is null: sequence classification pools at the last eos token");
        auto guard = b.scope("eos_token");
        const auto& ids = s[slot<"input_ids">{}];
        auto eos = b.sub(b.scalar(1.f), b.cast(b.cast(b.not_equal(ids, b.constant_i64({c.eos_token_id})), dtype::i64),
                                               dtype::f32));
        return token_at(b, h, last_flagged(b, eos));
    }
};

}  // namespace typeformer::inline v0
