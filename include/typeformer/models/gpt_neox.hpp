// typeformer/models/gpt_neox.hpp: GPT-NeoX (`model_type` "gpt_neox": Pythia,
// GPT-NeoX-20B), on the Llama family's config and loader (models/llama.hpp).
//
// What sets it apart:
//   - one fused `attention.query_key_value` Linear whose output is, per head,
//     q, k and v of head_size features each ([.., heads, 3 · head_size]),
//     and the output `attention.dense`; both with biases when
//     `attention_bias` (the default);
//   - rotary embeddings on the first int(head_size · partial_rotary_factor)
//     features of each head: `rotary_pct` (0.25 by default) and the base
//     `rotary_emb_base` in 4.x's config.json, `rope_parameters` in 5.x's;
//   - two LayerNorms per layer: with `use_parallel_residual` (the default)
//     y = x + Attn(input_layernorm(x)) + MLP(post_attention_layernorm(x));
//     otherwise h = x + Attn(input_layernorm(x)), y = h +
//     MLP(post_attention_layernorm(h));
//   - the MLP `dense_h_to_4h`, `hidden_act`, `dense_4h_to_h` with biases;
//   - `gpt_neox.final_layer_norm`; the LM head `embed_out`, without a bias.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// GPTNeoXConfig: LlamaConfig's fields, LayerNorms, the residual's form.
struct gpt_neox_config : llama_config {
    bool use_parallel_residual = true;
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }

    using base_config = llama_config;
    using self = gpt_neox_config;
    using fields = extend<llama_config::fields, field<"use_parallel_residual", &self::use_parallel_residual>>;
};

namespace detail {
/// 4.x's rotary_emb_base and rotary_pct, where neither the top level nor
/// rope_parameters holds rope_theta / partial_rotary_factor (5.x's
/// standardisation lets those win).
inline void neox_rope_keys(const config_reader& r, llama_config& c) {
    std::optional<config_reader> params;
    (void)r.child("rope_parameters", params);
    auto given = [&](const char* key) { return r.has(key) || (params && params->has(key)); };
    if (!given("rope_theta")) r.get("rotary_emb_base", c.rope_theta);
    if (!given("partial_rotary_factor")) r.get("rotary_pct", c.partial_rotary_factor);
    head_dim_is_hidden_over_heads(r, c);  // 5.x's rotary table would take a head_dim key, its attention not
    if (c.num_key_value_heads > 0 && c.num_key_value_heads != c.num_attention_heads)
        throw error("config.unsupported", r.where() + ": /num_key_value_heads: " +
                                              std::to_string(c.num_key_value_heads) +
                                              " is not supported (GPT-NeoX has one key/value head per query head)");
}
}  // namespace detail

/// The keys GPTNeoXConfig reads its own way.
using gpt_neox_keys =
    extend<gpt_neox_config::fields, field<"layer_norm_eps", &llama_config::rms_norm_eps, rule::positive>,
           field<"hidden_act", &llama_config::hidden_act>, field<"attention_bias", &llama_config::attention_bias>,
           reads<&detail::neox_rope_keys>, reads<&detail::llama_rope_scaling>,
           never<"is_decoder", "cross-attention (an encoder-decoder's decoder)">>;

/// GPTNeoXConfig from config.json, with GPT-NeoX's defaults.
inline gpt_neox_config gpt_neox_config_from_json(const config_reader& r) {
    gpt_neox_config c;
    c.vocab_size = 50432;
    c.hidden_size = 6144;
    c.num_hidden_layers = 44;
    c.num_attention_heads = 64;
    c.intermediate_size = 24576;
    c.hidden_act = activation::gelu;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.partial_rotary_factor = 0.25;
    c.attention_bias = true;
    return load_config<gpt_neox_config, gpt_neox_keys>(r, c);
}

/// Module names of GPT-NeoX's layer.
namespace gpt_neox_names {
struct layer {
    static constexpr std::string_view stack = "gpt_neox.layers", norm_1 = "input_layernorm",
                                      norm_2 = "post_attention_layernorm", qkv = "attention.query_key_value",
                                      o = "attention.dense", attention = "attention", fc_in = "mlp.dense_h_to_4h",
                                      fc_out = "mlp.dense_4h_to_h";
};
struct embeddings {
    static constexpr std::string_view word = "gpt_neox.embed_in", position = "";
};
}  // namespace gpt_neox_names

/// GPT-NeoX's attention: the fused projection split per head into q, k, v.
template <class Names>
struct neox_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const std::int64_t H = sh.num_heads, D = c.cache().head_dim;
        auto qkv = b.reshape(linear(b, Names::qkv, x, sh.hidden_size, 3 * H * D, c.attention_bias), {0, 0, H, 3 * D});
        auto part = [&](std::int64_t i) { return b.reshape(b.slice(qkv, -1, i * D, (i + 1) * D), {0, 0, H * D}); };
        return detail::attend_and_project(b, Names::attention, Names::o, part(0), part(1), part(2), t, c, layer, cache,
                                          true);
    }
};

/// GPT-NeoX's layer: two LayerNorms, the parallel or the sequential residual.
template <class Names, class Attention, class Mlp>
struct neox_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        if (c.use_parallel_residual)
            return two_norm_parallel_block<Names, Attention, Mlp>::forward(b, x, t, c, layer, cache);
        const auto sh = c.shape();
        const norm_kind nk = c.norm();
        auto a = Attention::forward(b, norm(b, nk, Names::norm_1, x, sh.hidden_size, sh.eps), t, c, layer, cache);
        auto h = b.add(a, x);
        return b.add(Mlp::forward(b, norm(b, nk, Names::norm_2, h, sh.hidden_size, sh.eps), c), h);
    }
};

/// GPT-NeoX's features: the model and the causal LM, each with and without
/// past, sequence and token classification.
using gpt_neox_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                    task::causal_lm_with_past, task::sequence_classification,
                                    task::token_classification>;

struct gpt_neox_family
    : family_base<"gpt_neox", "gpt_neox", gpt_neox_config, &gpt_neox_config_from_json, gpt_neox_features> {
    using config = gpt_neox_config;
    /// The buffers older checkpoints carry (rotary inv_freq, 4.x's causal mask).
    static std::vector<std::string> ignored() {
        return {"rotary_emb.inv_freq", "attention.bias", "attention.masked_bias"};
    }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, llama_takes_positions<Task>>;

    using block = neox_block<gpt_neox_names::layer, neox_attention<gpt_neox_names::layer>,
                             plain_mlp<gpt_neox_names::layer>>;
    template <class Task>
    using trunk = concat<std::conditional_t<llama_takes_positions<Task>, type_list<>, type_list<decoder_positions>>,
                         type_list<decoder_embeddings<gpt_neox_names::embeddings>,
                                   decoder_stack<gpt_neox_names::layer, block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"gpt_neox.final_layer_norm">>>;
    using lm = decoder_lm_head<"embed_out", "gpt_neox.embed_in.weight">;

    template <class Task>
    static auto layers(Task)
        -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, token_classifier<"classifier">>;
};

}  // namespace typeformer::inline v0
