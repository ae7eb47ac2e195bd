// typeformer/models/granite.hpp: Granite (`model_type` "granite"), a member of
// the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (Granite came with
// 4.45: there is no 4.41 reading, whatever config_reader::follow says): four
// scalars of the config, the decoder's multipliers hook,
//   - `embedding_multiplier`: the word embeddings times it;
//   - `residual_multiplier`: each sublayer's output times it before its
//     residual add;
//   - `attention_multiplier`: the attention scores' scale, in place of
//     1/sqrt(head_dim);
//   - `logits_scaling`: the LM head's logits divided by it;
// applied in float32 as torch applies a Python float to a float32 tensor.
// Biases as Llama's (`attention_bias`, `mlp_bias`). Transformers has no
// Granite sequence classifier: the features are the model and the causal LM,
// each with and without past.
#pragma once

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// GraniteConfig: LlamaConfig's fields with the four multipliers.
struct granite_config : llama_config {
    static constexpr decoder_hooks hooks{
        .rotary = true, .windows = true, .attention_scale = true, .multipliers = true};
    double embedding_multiplier = 1.0;
    double residual_multiplier = 1.0;
    double attention_multiplier = 1.0;
    double logits_scaling = 1.0;

    [[nodiscard]] constexpr decoder_multipliers multipliers() const {
        return {static_cast<float>(embedding_multiplier), static_cast<float>(residual_multiplier),
                static_cast<float>(logits_scaling)};
    }
    /// The scores' scale: attention_multiplier (GraniteAttention.scaling).
    [[nodiscard]] float attention_scale() const { return static_cast<float>(attention_multiplier); }

    using base_config = llama_config;
    using self = granite_config;
    using fields = extend<llama_config::fields, field<"embedding_multiplier", &self::embedding_multiplier, rule::positive>,
                          field<"residual_multiplier", &self::residual_multiplier, rule::positive>,
                          field<"attention_multiplier", &self::attention_multiplier, rule::positive>,
                          field<"logits_scaling", &self::logits_scaling, rule::positive>>;
};

/// The keys GraniteConfig reads as Llama's: the activation, the biases and
/// the RoPE scaling.
using granite_keys =
    extend<granite_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, field<"mlp_bias", &llama_config::mlp_bias>,
           reads<&detail::no_4_41_reading>, reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>>;

/// GraniteConfig from config.json.
inline granite_config granite_config_from_json(const config_reader& r) {
    return load_config<granite_config, granite_keys>(r);
}

/// Granite's features: the model and the causal LM, with and without past.
using granite_features =
    type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past>;

using granite_family =
    llama_like_family<"granite", granite_config, &granite_config_from_json,
                      decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                    llama_mlp<llama_names::layer>>,
                      decoder_embedding_options{}, granite_features>;

}  // namespace typeformer::inline v0
