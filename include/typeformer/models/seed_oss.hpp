// typeformer/models/seed_oss.hpp: Seed-OSS (`model_type` "seed_oss"), a
// member of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (Seed-OSS came
// with 4.56: there is no 4.41 reading, whatever config_reader::follow says):
//   - `attention_bias` (true by default) puts biases on q, k and v only;
//     `attention_out_bias` (false by default) puts one on o;
//   - `residual_dropout` (on the attention's and the MLP's outputs) and
//     `attention_dropout` act in training only;
//   - `token_classification_bias` false (a score without a bias) is refused;
//   - `pretraining_tp` is kept by SeedOssConfig and read by no model code (no
//     sliced projections in 5.x);
//   - the defaults: head_dim 128 (null: hidden_size / num_attention_heads),
//     8 key/value heads, pad_token_id 1.
// Token classification is Transformers' generic one (`score`, a Linear with
// a bias, over the dropout-free hidden states).
#pragma once

#include <cstdint>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// The keys SeedOssConfig reads beyond the shared rows: the biases (q, k, v
/// from attention_bias, o from attention_out_bias, the MLP's from mlp_bias),
/// and, as Llama's, the RoPE scaling.
using seed_oss_keys =
    extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::qkv_bias_only>,
           field<"attention_out_bias", &llama_config::o_bias_only>, field<"mlp_bias", &llama_config::mlp_bias>,
           reads<&detail::no_4_41_reading>, reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
           no_effect<"residual_dropout", double>, no_effect<"pretraining_tp", std::int64_t>,
           // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// SeedOssConfig from config.json, with Seed-OSS's defaults.
inline llama_config seed_oss_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 155136;
    c.hidden_size = 4096;
    c.intermediate_size = 27648;
    c.num_hidden_layers = 64;
    c.num_attention_heads = 80;
    c.num_key_value_heads = 8;
    c.head_dim = 128;
    c.max_position_embeddings = 524288;
    c.pad_token_id = 1;
    c.qkv_bias_only = true;
    if (r.is_null("head_dim")) c.head_dim = 0;  // None: hidden_size / num_attention_heads
    return load_config<llama_config, seed_oss_keys>(r, c);
}

/// Seed-OSS's features: the Llama family's and token classification.
using seed_oss_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                    task::causal_lm_with_past, task::sequence_classification,
                                    task::token_classification>;

using seed_oss_family =
    llama_like_family<"seed_oss", llama_config, &seed_oss_config_from_json,
                      decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                    llama_mlp<llama_names::layer>>,
                      decoder_embedding_options{}, seed_oss_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
