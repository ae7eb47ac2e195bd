// typeformer/models/qwen3.hpp: Qwen3 (`model_type` "qwen3"), a member of the
// Llama family (models/llama.hpp).
//
// What differs from Qwen2, as Transformers 5 computes it (Qwen3 came with
// 4.51: there is no 4.41 reading, whatever config_reader::follow says):
//   - q and k are RMS-normalised per head before the rotary embeddings:
//     `self_attn.q_norm` and `self_attn.k_norm`, each over head_dim
//     features with its own weight [head_dim], eps rms_norm_eps;
//   - `attention_bias` puts biases on q, k, v and o (none by default);
//   - head_dim is a key of its own (default 128), not hidden / heads;
//   - the windows are Qwen2's as 5.x computes them: sliding_window w keys
//     (p - w < j <= p), only with `use_sliding_window`, on the layers from
//     `max_window_layers` on, or those `layer_types` names
//     "sliding_attention" (the last ones);
//   - sequence classification keeps the rightmost token that is not
//     pad_token_id; token classification is `score` (a Linear with a bias)
//     on every token.
#pragma once

#include <cstdint>
#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// Qwen3's windows and pooling as 5.x computes them: no 4.x before 4.51 had
/// Qwen3, so there is no 4.41 reading whatever config_reader::follow says.
inline void qwen3_windows(const config_reader& r, llama_config& c) {
    qwen_windows(r, c, false);
    no_4_41_reading(r, c);
}
}  // namespace detail

/// The keys Qwen3Config adds: the biases, Qwen2's windows, as Llama's the
/// RoPE scaling, and the token classifier's bias (refused when false).
using qwen3_keys =
    extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, window_key, owns<"layer_types">,
           reads<&detail::qwen3_windows>, reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
           // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// Qwen3Config from config.json, with Qwen3's defaults.
inline llama_config qwen3_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 151936;
    c.intermediate_size = 22016;
    c.num_key_value_heads = 32;
    c.head_dim = 128;
    c.max_position_embeddings = 32768;
    c.sliding_window = 4096;
    return load_config<llama_config, qwen3_keys>(r, c);
}

/// Module names of Qwen3's layer: Llama's, and the per-head norms.
namespace qwen3_names {
struct layer : llama_names::layer {
    static constexpr std::string_view q_norm = "self_attn.q_norm", k_norm = "self_attn.k_norm";
};
}  // namespace qwen3_names

/// Qwen3's features: the Llama family's and token classification.
using qwen3_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                 task::sequence_classification, task::token_classification>;

using qwen3_family =
    llama_like_family<"qwen3", llama_config, &qwen3_config_from_json,
                      decoder_block<qwen3_names::layer, qk_normed_attention<qwen3_names::layer, true>,
                                    llama_mlp<qwen3_names::layer>>,
                      decoder_embedding_options{}, qwen3_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
