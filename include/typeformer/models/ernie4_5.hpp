// typeformer/models/ernie4_5.hpp: ERNIE 4.5 (`model_type` "ernie4_5", the
// dense ERNIE-4.5 models), a member of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (ERNIE 4.5 came
// with 4.54: there is no 4.41 reading, whatever config_reader::follow says):
//   - the rotary embeddings turn interleaved pairs: Ernie4_5's
//     apply_rotary_pos_emb repeats each of the first R/2 angles twice
//     (repeat_interleave) and its rotate_half pairs (2i, 2i+1), so feature
//     2i becomes x_2i cos θ_i - x_2i+1 sin θ_i and 2i+1 becomes
//     x_2i+1 cos θ_i + x_2i sin θ_i (GPT-J's layout), over the whole head;
//     the RoPE scaling as Llama's;
//   - `use_bias` (null: none) puts biases on q, k, v, o and on the MLP's
//     gate, up and down;
//   - the defaults: rope_theta 500000, head_dim 128, 2 key/value heads,
//     rms_norm_eps 1e-5, the LM head tied.
// Transformers has no sequence or token classifier for it.
#pragma once

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// use_bias is Ernie4_5's one switch for every Linear of a layer.
inline void ernie4_5_biases(const config_reader&, llama_config& c) { c.mlp_bias = c.attention_bias; }
}  // namespace detail

/// The keys Ernie4_5Config reads beyond the shared rows: use_bias and, as
/// Llama's, the RoPE scaling.
using ernie4_5_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                             field<"use_bias", &llama_config::attention_bias>, reads<&detail::ernie4_5_biases>,
                             reads<&detail::no_4_41_reading>, reads<&detail::whole_head_rotary>,
                             reads<&detail::llama_rope_scaling>>;

/// Ernie4_5Config from config.json, with ERNIE 4.5's defaults.
inline llama_config ernie4_5_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 103424;
    c.hidden_size = 1024;
    c.intermediate_size = 3072;
    c.num_hidden_layers = 18;
    c.num_attention_heads = 16;
    c.num_key_value_heads = 2;
    c.head_dim = 128;
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 500000.0;
    c.pad_token_id = 0;
    c.tie_word_embeddings = true;
    c.rope_interleaved = true;
    if (r.is_null("head_dim")) c.head_dim = 0;  // None: hidden_size / num_attention_heads
    return load_config<llama_config, ernie4_5_keys>(r, c);
}

/// ERNIE 4.5's features: Transformers has its base model and its LM only.
using ernie4_5_features =
    type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past>;

using ernie4_5_family = llama_like_family<"ernie4_5", llama_config, &ernie4_5_config_from_json,
                                          decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                                        llama_mlp<llama_names::layer>>,
                                          decoder_embedding_options{}, ernie4_5_features>;

}  // namespace typeformer::inline v0
