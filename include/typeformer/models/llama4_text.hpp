// typeformer/models/llama4_text.hpp: Llama 4's text model (`model_type`
// "llama4_text": Llama4ForCausalLM, Llama4TextModel), a member of the Llama
// family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (Llama 4 came with
// 4.51: there is no 4.41 reading, whatever config_reader::follow says):
//   - RoPE as a complex product over interleaved pairs (2i, 2i + 1), on the
//     layers `no_rope_layers` marks 1 (absent or empty: every layer but each
//     `no_rope_layer_interval`-th), with the RoPE scalings Llama's reads;
//   - on those layers, with `use_qk_norm`, q and k L2-normalised per head
//     after the rotation (x / sqrt(mean(x²) + rms_norm_eps), no weight);
//   - on the layers without RoPE, with `attn_temperature_tuning`, q scaled
//     by log1p(floor((p + 1) / floor_scale)) · attn_scale + 1, p the query's
//     index in the cache (left padding included, not its position id);
//   - the layers `layer_types` names "chunked_attention" (by default the
//     RoPE layers) see only the keys of their query's chunk of
//     `attention_chunk_size` tokens, counted from each row's first unmasked
//     token (chunked_bias); the others ("full_attention") see every key.
//     Transformers' own cache keeps only the last chunk - 1 keys of a
//     chunked layer; the present here keeps every key, masked, which gives
//     the same outputs at every step (a real token's chunk lies within them);
//   - the feed-forward `feed_forward` of the layers `moe_layers` lists (absent:
//     every `interleave_moe_layer_step`-th) is a mixture of experts: the
//     router (a Linear without bias) picks num_experts_per_tok of
//     num_local_experts experts per token by their logits, each picked
//     expert's input is the token times sigmoid(its logit), the experts
//     (`experts.gate_up_proj` [E, hidden, 2·intermediate_size], gate then up,
//     `experts.down_proj` [E, intermediate_size, hidden]) are gated MLPs, and
//     their sum is added to the shared expert's output (`shared_expert`, a
//     gated MLP of intermediate_size); the other layers' feed-forward is a
//     gated MLP of intermediate_size_mlp;
//   - `attention_bias` puts biases on q, k, v and o; head_dim 128 by default.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// Llama4TextConfig: LlamaConfig's fields with the experts, the chunks and
/// the attention temperature.
struct llama4_text_config : llama_config {
    static constexpr decoder_hooks hooks{
        .rotary = true, .windows = true, .attention_scale = true, .chunks = true};
    std::int64_t intermediate_size_mlp = 16384;
    std::int64_t num_local_experts = 16;
    std::int64_t num_experts_per_tok = 1;
    layer_set moe_layers{};      ///< moe_layers, or every interleave_moe_layer_step-th layer
    bool use_qk_norm = true;     ///< L2 norms of q and k on the RoPE layers
    std::int64_t attention_chunk_size = 8192;
    layer_set chunked_layers{};  ///< layer_types' "chunked_attention" layers
    bool attn_temperature_tuning = true;
    std::int64_t floor_scale = 8192;
    double attn_scale = 0.1;

    /// The chunked layers' chunk (decoder_context's chunked bias) as their window.
    [[nodiscard]] constexpr std::int64_t attention_chunk() const { return attention_chunk_size; }
    [[nodiscard]] constexpr std::int64_t window(std::int64_t layer) const {
        return chunked_layers.has(layer) ? attention_chunk_size : 0;
    }
    [[nodiscard]] constexpr std::int64_t any_window() const {
        for (std::int64_t l = 0; l < num_hidden_layers; ++l)
            if (chunked_layers.has(l)) return attention_chunk_size;
        return 0;
    }
    [[nodiscard]] constexpr bool moe_layer(std::int64_t layer) const { return moe_layers.has(layer); }
    /// Llama's RoPE settings, turning interleaved pairs (Llama 4's complex product).
    [[nodiscard]] rotary_spec rotary() const {
        rotary_spec r = llama_config::rotary();
        r.interleaved = true;
        return r;
    }
    static constexpr void llama4_rule(const llama4_text_config& c) {
        require(c.num_experts_per_tok <= c.num_local_experts, "num_experts_per_tok must be at most num_local_experts");
    }

    using base_config = llama_config;
    using self = llama4_text_config;
    using fields = extend<llama_config::fields,
                          field<"intermediate_size_mlp", &self::intermediate_size_mlp, rule::positive>,
                          field<"num_local_experts", &self::num_local_experts, rule::positive>,
                          field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
                          internal<&self::moe_layers>, field<"use_qk_norm", &self::use_qk_norm>,
                          internal<&self::attention_chunk_size, rule::positive, "attention_chunk_size">,
                          internal<&self::chunked_layers>,
                          field<"attn_temperature_tuning", &self::attn_temperature_tuning>,
                          field<"floor_scale", &self::floor_scale, rule::positive>,
                          field<"attn_scale", &self::attn_scale>, rules<&self::llama4_rule>>;
};

namespace detail {
/// Llama 4's per-layer patterns (RoPE, chunks, experts), its head_dim and its chunk.
inline void llama4_layers(const config_reader& r, llama4_text_config& c) {
    const std::int64_t n = c.num_hidden_layers;
    if (n > layer_set::capacity)
        throw error("config.unsupported", r.where() + ": /num_hidden_layers: " + std::to_string(n) +
                                              " layers with per-layer RoPE, chunks and experts (at most " +
                                              std::to_string(layer_set::capacity) + ")");
    // head_dim: Llama4TextConfig takes an int (null fails its strict check); 0 breaks its attention
    if (r.is_null("head_dim") || c.head_dim == 0)
        throw error("config.invalid", r.where() + ": /head_dim: must be a positive integer");
    // attention_chunk_size: null makes Transformers' chunked mask raise, whatever the layers
    if (r.is_null("attention_chunk_size"))
        throw error("config.unsupported", r.where() + ": /attention_chunk_size: null is not supported "
                                                      "(Transformers' Llama 4 builds its chunked mask from it)");
    r.get("attention_chunk_size", c.attention_chunk_size);
    // no_rope_layers: 1 RoPE, 0 none, per layer (a longer list's tail is unread); absent or empty: the interval
    std::int64_t interval = 4;
    r.get("no_rope_layer_interval", interval);
    const auto* listed = r.raw("no_rope_layers");
    if (listed && (!listed->is_array() || (!listed->empty() && static_cast<std::int64_t>(listed->size()) < n)))
        throw error("config.invalid", r.where() + ": /no_rope_layers: expected a list of at least " +
                                          std::to_string(n) + " integers (1: RoPE, 0: none), got " + listed->dump());
    if (listed && !listed->empty()) {
        for (std::int64_t i = 0; i < n; ++i) {
            const auto& v = (*listed)[static_cast<std::size_t>(i)];
            if (!v.is_number_integer() || (v != 0 && v != 1))
                throw error("config.invalid", r.where() + ": /no_rope_layers/" + std::to_string(i) + ": " + v.dump() +
                                                  " (1: RoPE, 0: none)");
            if (v == 0) c.no_rope_layers.add(i);
        }
    } else {
        if (interval <= 0) throw error("config.invalid", r.where() + ": /no_rope_layer_interval: must be positive");
        for (std::int64_t i = 0; i < n; ++i)
            if ((i + 1) % interval == 0) c.no_rope_layers.add(i);
    }
    // layer_types: "chunked_attention" or "full_attention"; absent: the RoPE layers are chunked
    const auto* types = r.raw("layer_types");
    if (types && (!types->is_array() || static_cast<std::int64_t>(types->size()) != n))
        throw error("config.invalid", r.where() + ": /layer_types: expected a list of " + std::to_string(n) +
                                          " strings, got " + types->dump());
    for (std::int64_t i = 0; i < n; ++i) {
        bool chunked = c.rope_layer(i);
        if (types) {
            const auto& t = (*types)[static_cast<std::size_t>(i)];
            if (t != "full_attention" && t != "chunked_attention")
                throw error("config.unsupported", r.where() + ": /layer_types/" + std::to_string(i) + ": " + t.dump() +
                                                      " is not supported (Llama 4's layers are \"full_attention\" "
                                                      "or \"chunked_attention\")");
            chunked = t == "chunked_attention";
        }
        if (chunked) c.chunked_layers.add(i);
    }
    // moe_layers, else every interleave_moe_layer_step-th layer from step - 1 on
    std::int64_t step = 1;
    r.get("interleave_moe_layer_step", step);
    if (r.has("moe_layers")) {
        std::vector<std::int64_t> moe;
        r.get("moe_layers", moe);
        for (const auto l : moe) {
            if (l < 0 || l >= n)
                throw error("config.invalid", r.where() + ": /moe_layers: layer " + std::to_string(l) +
                                                  " is not one of the " + std::to_string(n) + " layers");
            c.moe_layers.add(l);
        }
    } else {
        if (step <= 0) throw error("config.invalid", r.where() + ": /interleave_moe_layer_step: must be positive");
        for (std::int64_t i = step - 1; i < n; i += step) c.moe_layers.add(i);
    }
}
}  // namespace detail

/// The keys Llama4TextConfig reads beyond the shared rows; the router's
/// training settings have no effect.
using llama4_text_keys =
    extend<llama4_text_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, owns<"layer_types">, owns<"attention_chunk_size">,
           reads<&detail::no_4_41_reading>, reads<&detail::llama4_layers>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>,
           // training only: the load-balancing loss and the router's noise (Llama 4's router adds none)
           no_effect<"router_aux_loss_coef", double>, no_effect<"router_jitter_noise", double>,
           no_effect<"output_router_logits", bool>>;

/// Llama4TextConfig from config.json, with Llama 4's defaults.
inline llama4_text_config llama4_text_config_from_json(const config_reader& r) {
    llama4_text_config c;
    c.vocab_size = 202048;
    c.hidden_size = 5120;
    c.intermediate_size = 8192;
    c.num_hidden_layers = 48;
    c.num_attention_heads = 40;
    c.num_key_value_heads = 8;
    c.head_dim = 128;
    c.max_position_embeddings = 4096 * 32;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 500000.0;
    return load_config<llama4_text_config, llama4_text_keys>(r, c);
}

/// Module names of Llama 4's text layer.
namespace llama4_names {
struct layer : llama_names::layer {
    static constexpr std::string_view feed_forward = "feed_forward";
};
}  // namespace llama4_names

namespace detail {
/// down(act(gate(x)) · up(x)), no biases, `width` wide, at `<scope>.gate_proj`, ...
template <Backend B, class C>
typename B::value llama4_gated(B& b, const std::string& scope, const typename B::value& x, std::int64_t width,
                               const C& c) {
    const auto sh = c.shape();
    auto g = activate(b, sh.act, linear_no_bias(b, scope + ".gate_proj", x, sh.hidden_size, width));
    auto u = linear_no_bias(b, scope + ".up_proj", x, sh.hidden_size, width);
    return linear_no_bias(b, scope + ".down_proj", b.mul(g, u), width, sh.hidden_size);
}
}  // namespace detail

/// Llama 4's attention: q, k, v and o Linears (biases with attention_bias),
/// RoPE as interleaved pairs on the RoPE layers, then q and k L2-normalised
/// per head (use_qk_norm); q scaled by the attention temperature on the
/// other layers (attn_temperature_tuning); the chunked bias on the chunked
/// layers (window(layer) > 0).
template <class Names>
struct llama4_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const auto kv = c.cache();
        const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
        const bool bias = c.qkv_bias();
        auto q = linear(b, Names::q, x, sh.hidden_size, H * D, bias);
        auto k = linear(b, Names::k, x, sh.hidden_size, KVH * D, bias);
        auto v = linear(b, Names::v, x, sh.hidden_size, KVH * D, bias);
        const bool rope = c.rope_layer(layer);
        if (rope && t.has_rotary) {
            auto guard = b.scope(std::string(Names::attention) + ".rotary");
            const rotary_spec r = c.rotary();
            q = apply_rotary(b, q, t.sin, t.cos, H, D, r);
            k = apply_rotary(b, k, t.sin, t.cos, KVH, D, r);
        }
        if (rope && c.use_qk_norm) {
            auto guard = b.scope(std::string(Names::attention) + ".qk_norm");
            auto l2 = [&](const typename B::value& y, std::int64_t heads) {
                auto yh = b.reshape(y, {0, 0, heads, D});
                auto ms = b.unsqueeze(b.reduce_mean(b.mul(yh, yh), -1), {-1});
                return b.reshape(b.div(yh, b.sqrt(b.add(ms, b.scalar(sh.eps)))), {0, 0, heads * D});
            };
            q = l2(q, H);
            k = l2(k, KVH);
        }
        if (!rope && c.attn_temperature_tuning) {
            auto guard = b.scope(std::string(Names::attention) + ".temperature");
            // the queries' indices in the cache: past (the cache's length) + 0 .. S - 1
            auto idx = b.range(x, 1);
            if (cache.past_key) idx = b.add(idx, b.shape(*cache.past_key, 2, 3));
            auto p = b.add(b.cast(idx, dtype::f32), b.scalar(1.f));
            auto steps = b.cast(b.cast(b.div(p, b.scalar(static_cast<float>(c.floor_scale))), dtype::i64),
                                dtype::f32);  // floor: non-negative
            auto scale = b.add(b.mul(b.log(b.add(steps, b.scalar(1.f))), b.scalar(static_cast<float>(c.attn_scale))),
                               b.scalar(1.f));
            q = b.mul(q, b.unsqueeze(scale, {-1}));  // [S, 1]
        }
        return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, false);
    }
};

/// Llama 4's feed-forward: the mixture of experts with its shared expert on
/// the MoE layers, the gated MLP of intermediate_size_mlp on the others.
template <class Names>
struct llama4_feed_forward {
    static constexpr bool per_layer = true;
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c, std::int64_t layer) {
        const std::string ff(Names::feed_forward);
        if (!c.moe_layer(layer)) return detail::llama4_gated(b, ff, x, c.intermediate_size_mlp, c);
        const auto sh = c.shape();
        const std::int64_t H = sh.hidden_size, E = c.num_local_experts, I = c.intermediate_size;
        // the router's top-k by logit (a tie goes to the lower index), each picked expert's score sigmoid(logit)
        auto logits = linear_no_bias(b, ff + ".router", x, H, E);  // [B, S, E]
        typename B::value scores;
        {
            auto guard = b.scope(ff + ".router");
            auto experts = b.range(logits, 2);
            auto left = logits;
            typename B::value picked;
            for (std::int64_t k = 0; k < c.num_experts_per_tok; ++k) {
                auto idx = b.unsqueeze(b.argmax(left, -1), {-1});  // [B, S, 1]
                auto hot = b.sub(b.scalar(1.f), b.cast(b.cast(b.not_equal(experts, idx), dtype::i64), dtype::f32));
                picked = k == 0 ? hot : b.add(picked, hot);
                left = b.sub(left, b.mul(hot, b.scalar(3.4028234663852886e38f)));  // out of the next argmax
            }
            scores = b.mul(b.sigmoid(logits), picked);  // [B, S, E], 0 where not picked
        }
        auto shared = detail::llama4_gated(b, ff + ".shared_expert", x, I, c);
        auto guard = b.scope(ff + ".experts");
        const auto& gate_up = b.param("gate_up_proj", {E, H, 2 * I});
        const auto& down = b.param("down_proj", {E, I, H});
        // every expert over every token, its input scaled by the token's score: [E, B, S, H]
        auto routed = b.mul(b.unsqueeze(x, {0}), b.unsqueeze(b.transpose(scores, {2, 0, 1}), {-1}));
        auto gu = b.matmul(routed, b.unsqueeze(gate_up, {1}));  // [E, B, S, 2I]
        auto h = b.mul(b.slice(gu, -1, I, 2 * I), activate(b, sh.act, b.slice(gu, -1, 0, I)));
        auto y = b.matmul(h, b.unsqueeze(down, {1}));  // [E, B, S, H]
        auto out = shared;
        typename B::value sum;
        for (std::int64_t e = 0; e < E; ++e) sum = e == 0 ? b.select(y, 0, e) : b.add(sum, b.select(y, 0, e));
        return b.add(out, sum);
    }
};

/// Llama 4's text features: no classification heads in Transformers.
using llama4_text_features =
    type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past>;

using llama4_text_family =
    llama_like_family<"llama4_text", llama4_text_config, &llama4_text_config_from_json,
                      decoder_block<llama4_names::layer, llama4_attention<llama4_names::layer>,
                                    llama4_feed_forward<llama4_names::layer>>,
                      decoder_embedding_options{}, llama4_text_features>;

}  // namespace typeformer::inline v0
