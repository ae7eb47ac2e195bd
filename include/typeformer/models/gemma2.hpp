// typeformer/models/gemma2.hpp: Gemma 2 (`model_type` "gemma2"), a member of
// the Llama family (models/llama.hpp).
//
// What differs from Gemma, as Transformers 5 computes it (Gemma 2 came with
// 4.42: there is no 4.41 reading, whatever config_reader::follow says):
//   - four norms per layer, RMSNorm · (1 + weight): input_layernorm and
//     pre_feedforward_layernorm on the sublayers' inputs,
//     post_attention_layernorm and post_feedforward_layernorm on their
//     outputs, before each residual add (post_norm_block with pre-norms);
//   - the attention scores scaled by query_pre_attn_scalar^-0.5, then
//     soft-capped, cap · tanh(scores / cap) with attn_logit_softcapping,
//     before the masks; the logits soft-capped with final_logit_softcapping
//     (null: none; the decoder's softcaps hook);
//   - alternating windows: the layers `layer_types` names
//     "sliding_attention" (by default the even ones, 0, 2, ...) see the last
//     sliding_window keys (p - w < j <= p);
//   - the MLP's activation is `hidden_activation` (the tanh GELU by
//     default); the embeddings times sqrt(hidden_size) rounded to float32,
//     as Gemma's; `attention_bias` puts biases on q, k, v and o; the LM
//     head tied by default;
//   - token classification is `score` (a Linear with a bias).
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// Gemma2Config: LlamaConfig's fields with the scores' scalar and the caps.
struct gemma2_config : llama_config {
    static constexpr decoder_hooks hooks{
        .rotary = true, .windows = true, .attention_scale = true, .softcaps = true};
    double query_pre_attn_scalar = 256;
    double attn_logit_softcapping = 50.0;   ///< 0: null (none)
    double final_logit_softcapping = 30.0;  ///< 0: null (none)

    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::rms_plus_one; }
    /// The scores' scale: query_pre_attn_scalar^-0.5 (Gemma2Attention.scaling).
    [[nodiscard]] float attention_scale() const { return static_cast<float>(std::pow(query_pre_attn_scalar, -0.5)); }
    [[nodiscard]] constexpr decoder_softcaps softcaps() const {
        return {static_cast<float>(attn_logit_softcapping), static_cast<float>(final_logit_softcapping)};
    }

    using base_config = llama_config;
    using self = gemma2_config;
    using fields = extend<llama_config::fields,
                          field<"query_pre_attn_scalar", &self::query_pre_attn_scalar, rule::positive>,
                          field<"attn_logit_softcapping", &self::attn_logit_softcapping, rule::non_negative,
                                read::null_is<0.0>>,
                          field<"final_logit_softcapping", &self::final_logit_softcapping, rule::non_negative,
                                read::null_is<0.0>>>;
};

namespace detail {
/// Gemma 2's windows: layer_types, by default on the even layers.
inline void gemma2_windows(const config_reader& r, llama_config& c) {
    read_layer_windows(r, c, [](std::int64_t i) { return (i + 1) % 2 != 0; });
}
}  // namespace detail

/// The keys Gemma2Config reads as Gemma's and its own: the activation
/// (hidden_activation), the biases, the window (null: none) and its layers,
/// the RoPE scaling as Llama's; a bidirectional mask and a token classifier
/// without a bias are refused.
using gemma2_keys =
    extend<gemma2_config::fields, field<"hidden_activation", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, window_key, owns<"layer_types">,
           reads<&detail::no_4_41_reading>, reads<&detail::gemma2_windows>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>,
           never<"use_bidirectional_attention", "a bidirectional mask in a causal model">,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// Gemma2Config from config.json, with Gemma 2's defaults.
inline gemma2_config gemma2_config_from_json(const config_reader& r) {
    gemma2_config c;
    c.vocab_size = 256000;
    c.hidden_size = 2304;
    c.intermediate_size = 9216;
    c.num_hidden_layers = 26;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = 256;
    c.hidden_act = activation::gelu_new;  // gelu_pytorch_tanh
    c.max_position_embeddings = 8192;
    c.pad_token_id = 0;
    c.tie_word_embeddings = true;
    c.sliding_window = 4096;
    return load_config<gemma2_config, gemma2_keys>(r, c);
}

/// Module names of Gemma 2's layer: Llama's projections, four norms.
namespace gemma2_names {
struct layer : llama_names::layer {
    static constexpr std::string_view norm_2 = "pre_feedforward_layernorm", post_norm_1 = "post_attention_layernorm",
                                      post_norm_2 = "post_feedforward_layernorm";
};
}  // namespace gemma2_names

/// Gemma 2's features: the Llama family's and token classification.
using gemma2_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                  task::sequence_classification, task::token_classification>;

using gemma2_family =
    llama_like_family<"gemma2", gemma2_config, &gemma2_config_from_json,
                      post_norm_block<gemma2_names::layer, projected_attention<gemma2_names::layer>,
                                      gated_mlp<gemma2_names::layer>, true>,
                      decoder_embedding_options{.scale_by_sqrt_hidden = true}, gemma2_features,
                      token_classifier<"score">>;

}  // namespace typeformer::inline v0
