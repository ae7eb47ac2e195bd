// typeformer/models/glm4.hpp: GLM-4 (`model_type` "glm4", GLM-4-0414), a
// member of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (GLM-4 came after
// 4.41: there is no 4.41 reading, whatever config_reader::follow says):
//   - four RMSNorms per layer: `input_layernorm` and
//     `post_attention_layernorm` on the sublayers' inputs,
//     `post_self_attn_layernorm` and `post_mlp_layernorm` on their outputs,
//     before each residual add (post_norm_block with pre-norms):
//       h = x + post_self_attn(Attn(input(x)));
//       y = h + post_mlp(MLP(post_attention(h)));
//   - rotary embeddings on the first int(head_dim · partial_rotary_factor)
//     features of each head (0.5 by default), turned in GLM's interleaved
//     layout: the frequencies repeated pairwise, pairs (2i, 2i + 1) turned by
//     angle i (rope_interleaved), the rest of the head passed through;
//   - `attention_bias` (true by default) puts biases on q, k and v, never on
//     o (Glm4Attention's o_proj has none);
//   - the MLP is Phi-3's: one fused `mlp.gate_up_proj` (gate, then up), no
//     biases, down_proj(up · act(gate));
//   - head_dim is a key of its own (default 128), not hidden / heads;
//   - sequence classification keeps the rightmost token that is not
//     pad_token_id; token classification is `score` (a Linear with a bias).
// The RoPE scalings are Llama's ("linear", "llama3", "yarn"), over the
// rotated features.
#pragma once

#include <string_view>

#include "typeformer/models/phi3.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// GLM-4's attention_bias: biases on q, k and v (qkv_bias_only), none on o.
inline void glm4_biases(const config_reader&, llama_config& c) {
    c.qkv_bias_only = c.attention_bias;
    c.attention_bias = false;
}
}  // namespace detail

/// The keys Glm4Config reads: the activation, the q/k/v biases, as Llama's
/// the RoPE scaling (partial_rotary_factor as every member reads it, at the
/// top or in rope_parameters), and the token classifier's bias (refused
/// when false).
using glm4_keys =
    extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, reads<&detail::no_4_41_reading>,
           reads<&detail::glm4_biases>, reads<&detail::llama_rope_scaling>,
           // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
           always<"token_classification_bias", "a token-classification score without a bias">,
           // Glm4Config.__post_init__ fills in its default stop tokens: generation's, not the graph's
           no_effect<"eos_token_id", any_json>>;

/// Glm4Config from config.json, with GLM-4's defaults.
inline llama_config glm4_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 151552;
    c.hidden_size = 4096;
    c.intermediate_size = 13696;
    c.num_hidden_layers = 40;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 2;
    c.head_dim = 128;
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 0.00000015625;
    c.pad_token_id = 151329;
    c.attention_bias = true;
    c.partial_rotary_factor = 0.5;  // Glm4Config's setdefault
    c.rope_interleaved = true;
    return load_config<llama_config, glm4_keys>(r, c);
}

/// Module names of GLM-4's layer: Llama's projections, four norms.
namespace glm4_names {
struct layer : llama_names::layer {
    static constexpr std::string_view post_norm_1 = "post_self_attn_layernorm", post_norm_2 = "post_mlp_layernorm";
};
}  // namespace glm4_names

/// GLM-4's features: the Llama family's and token classification.
using glm4_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                task::sequence_classification, task::token_classification>;

using glm4_family =
    llama_like_family<"glm4", llama_config, &glm4_config_from_json,
                      post_norm_block<glm4_names::layer, projected_attention<glm4_names::layer>, phi3_mlp, true>,
                      decoder_embedding_options{}, glm4_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
