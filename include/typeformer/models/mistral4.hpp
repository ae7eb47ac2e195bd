// typeformer/models/mistral4.hpp: Mistral 4 (`model_type` "mistral4"),
// DeepSeek-V3's latent attention, cache and mixture of experts
// (models/deepseek_v3.hpp) with Mistral's differences, as Transformers 5
// computes them (Mistral 4 came after 4.41: there is no 4.41 reading):
//   - the router scores the experts by a softmax (no correction bias);
//     the group limit, renormalisation, routed_scaling_factor and shared
//     experts as DeepSeek-V3's; the experts stored as Transformers 5 holds
//     them (`mlp.experts.gate_up_proj`, `mlp.experts.down_proj`: it has no
//     per-expert form for this model type);
//   - head_dim is qk_nope_head_dim + qk_rope_head_dim, and the rotary
//     embeddings turn int(head_dim · partial_rotary_factor) features, the
//     factor from rope_parameters (qk_rope_head_dim / head_dim when absent),
//     which must be qk_rope_head_dim;
//   - the RoPE scaling is YaRN (Transformers' default when config.json has
//     no rope_parameters: factor 128, original 8192, mscale and
//     mscale_all_dim 1); Mistral4's own "default" rotary table is
//     head_dim wide and does not fit the rope part, so any other type is
//     refused;
//   - Llama 4's query scaling: the queries times 1 + beta · ln(1 +
//     floor(position / original)), beta rope_parameters'
//     llama_4_scaling_beta and original its original_max_position_embeddings
//     (both needed: Transformers fails without them).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "typeformer/models/deepseek_v3.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// Mistral4Config's __post_init__: head_dim, the rotary part, the YaRN
/// scaling with Llama 4's query scaling.
inline void mistral4_latent(const config_reader& r, deepseek_v3_config& c) {
    c.scoring = moe_scoring::softmax;
    c.fused_experts = true;  // Transformers 5 saves Mistral 4's experts as it holds them
    c.head_dim = c.qk_head_dim();
    deepseek_v3_experts_alias(r, c);
    // rope_parameters, or 4.x's rope_scaling (Transformers 5 takes it as rope_parameters)
    std::optional<config_reader> params;
    if (!r.child("rope_parameters", params)) r.child("rope_scaling", params);
    if (!params) {
        // Transformers' default rope_parameters
        c.rope_theta = 10000.0;
        c.rope_scaling = llama_config::rope_scaling_kind::yarn;
        c.rope_factor = 128.0;
        c.rope_original_max_positions = 8192;
        c.rope_beta_fast = 32.0;
        c.rope_beta_slow = 1.0;
        c.rope_attention_factor = 1.0;  // mscale / mscale_all_dim
        c.partial_rotary_factor =
            static_cast<double>(c.qk_rope_head_dim) / static_cast<double>(c.qk_head_dim());
        c.mscale = 0.1 * std::log(128.0) + 1.0;
        c.llama4_beta = 0.1;
        c.llama4_original = 8192;
    } else {
        if (!params->has("partial_rotary_factor"))
            c.partial_rotary_factor = static_cast<double>(c.qk_rope_head_dim) / static_cast<double>(c.qk_head_dim());
        if (c.rope_scaling != llama_config::rope_scaling_kind::yarn)
            throw error("config.unsupported",
                        params->where() + ": only a \"yarn\" rope_type is supported for Mistral 4 (its "
                                          "\"default\" rotary table is head_dim wide, wider than the rope part)");
        if (!params->has("llama_4_scaling_beta") || params->is_null("llama_4_scaling_beta") ||
            !params->has("original_max_position_embeddings"))
            throw error("config.unsupported", params->where() + ": /llama_4_scaling_beta and "
                                                                "/original_max_position_embeddings are needed (Llama "
                                                                "4's query scaling; Transformers fails without them)");
        params->get("llama_4_scaling_beta", c.llama4_beta);
        params->get("original_max_position_embeddings", c.llama4_original);
        if (c.llama4_original <= 0)
            throw error("config.invalid", params->where() + ": /original_max_position_embeddings: must be positive");
        // max_position_embeddings in rope_parameters: Transformers keeps it out of the RoPE validation and reads
        // the top-level one
        std::int64_t unused = 0;
        params->get("max_position_embeddings", unused);
    }
    if (c.rotary_dims() != c.qk_rope_head_dim)
        throw error("config.unsupported",
                    r.where() + ": /rope_parameters/partial_rotary_factor: " + std::to_string(c.partial_rotary_factor) +
                        " turns " + std::to_string(c.rotary_dims()) + " features, not qk_rope_head_dim " +
                        std::to_string(c.qk_rope_head_dim) + " (Transformers' rotation would not fit the rope part)");
    no_4_41_reading(r, c);
}

/// The softmax scale's mscale² (DeepSeek-V3's yarn_apply_mscale, inherited).
inline void mistral4_mscale(const config_reader& r, deepseek_v3_config& c) {
    if (const auto rs = rope_scaling_of(r)) {
        double all_dim = 0;
        rs->get("mscale_all_dim", all_dim);
        c.mscale = 1;
        if (all_dim != 0) {
            double factor = 1;
            rs->get("factor", factor);
            c.mscale = factor <= 1 ? 1.0 : 0.1 * all_dim * std::log(factor) + 1.0;
        }
    }
}
}  // namespace detail

/// The keys Mistral4Config reads beyond the shared rows (partial_rotary_factor
/// is read in rope_parameters, where Mistral 4 puts it).
using mistral4_keys = extend<deepseek_v3_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                             field<"attention_bias", &llama_config::attention_bias>,
                             reads<&detail::llama_rope_scaling>, reads<&detail::mistral4_latent>,
                             reads<&detail::mistral4_mscale>, no_effect<"qk_head_dim", std::int64_t>,
                             no_effect<"pretraining_tp", std::int64_t>, no_effect<"output_router_logits", bool>,
                             always<"token_classification_bias", "a token-classification score without a bias">>;

/// Mistral4Config from config.json, with Mistral 4's defaults.
inline deepseek_v3_config mistral4_config_from_json(const config_reader& r) {
    deepseek_v3_config c;
    c.vocab_size = 131072;
    c.hidden_size = 4096;
    c.intermediate_size = 12288;
    c.moe_intermediate_size = 2048;
    c.num_hidden_layers = 36;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 32;
    c.n_shared_experts = 1;
    c.n_routed_experts = 128;
    c.routed_scaling_factor = 1.0;
    c.kv_lora_rank = 256;
    c.q_lora_rank = 1024;
    c.qk_rope_head_dim = 64;
    c.v_head_dim = 128;
    c.qk_nope_head_dim = 64;
    c.n_group = 1;
    c.topk_group = 1;
    c.num_experts_per_tok = 4;
    c.first_k_dense_replace = 0;
    c.max_position_embeddings = 1048576;
    c.pad_token_id = 11;
    c.head_dim = 128;
    c.scoring = moe_scoring::softmax;
    return load_config<deepseek_v3_config, mistral4_keys>(r, c);
}

/// The family, validated at atol 5e-5: at the validation's random inputs
/// and caches ONNX Runtime and the reference pass differ by up to 1.1e-5
/// (the latent's expansion and the experts round differently in float32);
/// the reference still matches Transformers within 1e-5 on the fixtures.
struct mistral4_family
    : llama_like_family<"mistral4", deepseek_v3_config, &mistral4_config_from_json,
                        decoder_block<deepseek_v3_names::layer, latent_attention<deepseek_v3_names::layer>,
                                      sparse_or_dense_mlp<deepseek_v3_names::layer>>,
                        decoder_embedding_options{}, mixtral_features, token_classifier<"score">> {
    static constexpr double atol = 5e-5;
};

}  // namespace typeformer::inline v0
