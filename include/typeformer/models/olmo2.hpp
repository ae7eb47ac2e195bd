// typeformer/models/olmo2.hpp: OLMo 2 (`model_type` "olmo2"), a member of the
// Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (OLMo 2 came with
// 4.47: there is no 4.41 reading, whatever config_reader::follow says):
//   - the norms are on the sublayers' outputs, not their inputs: h = x +
//     post_attention_layernorm(Attn(x)), y = h +
//     post_feedforward_layernorm(MLP(h)) (post_norm_block without pre-norms);
//   - q and k are RMS-normalised over the whole projection before the rotary
//     embeddings: `self_attn.q_norm` [heads · head_dim], `self_attn.k_norm`
//     [kv_heads · head_dim];
//   - `attention_bias` puts biases on q, k, v and o;
//   - the defaults: rms_norm_eps 1e-5, pad_token_id 1 (which the sequence
//     classifier's pooling reads).
#pragma once

#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// The keys Olmo2Config adds: the biases and, as Llama's, the RoPE scaling.
using olmo2_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                          field<"attention_bias", &llama_config::attention_bias>, reads<&detail::no_4_41_reading>,
                          reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>>;

/// Olmo2Config from config.json, with OLMo 2's defaults.
inline llama_config olmo2_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 50304;
    c.intermediate_size = 11008;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.pad_token_id = 1;
    return load_config<llama_config, olmo2_keys>(r, c);
}

/// Module names of OLMo 2's layer: Llama's projections, the output norms
/// and the q/k norms.
namespace olmo2_names {
struct layer : llama_names::layer {
    static constexpr std::string_view post_norm_1 = "post_attention_layernorm",
                                      post_norm_2 = "post_feedforward_layernorm", q_norm = "self_attn.q_norm",
                                      k_norm = "self_attn.k_norm";
};
}  // namespace olmo2_names

using olmo2_family =
    llama_like_family<"olmo2", llama_config, &olmo2_config_from_json,
                      post_norm_block<olmo2_names::layer, qk_normed_attention<olmo2_names::layer, false>,
                                      gated_mlp<olmo2_names::layer>, false>>;

}  // namespace typeformer::inline v0
