// typeformer/models/mixtral.hpp: Mixtral (`model_type` "mixtral"), a member of
// the Llama family (models/llama.hpp).
//
// What differs from Mistral: the MLP is a sparse mixture of experts
// (`block_sparse_moe`, sparse_moe_mlp): the router `gate` picks
// num_experts_per_tok of num_local_experts gated MLPs
// (`experts.<e>.w1`, `w3`, `w2`: gate, up, down) per token, their
// probabilities renormalised to sum to 1. The window (`sliding_window`,
// null: none, on every layer) and the sequence classifier's pooling are
// Mistral's: Transformers 5's by default, 4.41's with
// --follow-transformers 4.41 (w + 1 keys; the token before the first pad).
// The router's jitter noise and aux loss are training only (no effect).
#pragma once

#include <cstdint>
#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// MixtralConfig: LlamaConfig's fields with the experts.
struct mixtral_config : llama_config {
    std::int64_t num_local_experts = 8;
    std::int64_t num_experts_per_tok = 2;

    [[nodiscard]] constexpr moe_spec moe() const {
        return {num_local_experts, num_experts_per_tok, intermediate_size, true};
    }
    static constexpr void experts_rule(const mixtral_config& c) {
        require(c.num_experts_per_tok <= c.num_local_experts, "num_experts_per_tok must be at most num_local_experts");
    }

    using base_config = llama_config;
    using self = mixtral_config;
    using fields = extend<llama_config::fields, field<"num_local_experts", &self::num_local_experts, rule::positive>,
                          field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
                          rules<&self::experts_rule>>;
};

/// The keys MixtralConfig adds to Mistral's: the experts, and the router's
/// training settings.
using mixtral_keys = extend<mixtral_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                            reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
                            // training only: noise on the router's input, the load-balancing loss
                            no_effect<"router_jitter_noise", double>, no_effect<"router_aux_loss_coef", double>,
                            no_effect<"output_router_logits", bool>,
                            // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
                            always<"token_classification_bias", "a token-classification score without a bias">>;

/// MixtralConfig from config.json, with Mixtral's defaults.
inline mixtral_config mixtral_config_from_json(const config_reader& r) {
    mixtral_config c;
    c.intermediate_size = 14336;
    c.num_key_value_heads = 8;
    c.max_position_embeddings = 4096 * 32;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 1e6;
    return load_config<mixtral_config, mixtral_keys>(r, c);
}

/// Module names of Mixtral's layer: Llama's attention, the experts.
namespace mixtral_names {
struct layer : llama_names::layer {
    static constexpr std::string_view router = "block_sparse_moe.gate", experts = "block_sparse_moe.experts",
                                      expert_gate = "w1", expert_up = "w3", expert_down = "w2";
};
}  // namespace mixtral_names

/// Mixtral's features: the Llama family's and token classification (Transformers 5's `score`, with a bias).
using mixtral_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                   task::causal_lm_with_past, task::sequence_classification,
                                   task::token_classification>;

using mixtral_family =
    llama_like_family<"mixtral", mixtral_config, &mixtral_config_from_json,
                      decoder_block<mixtral_names::layer, projected_attention<mixtral_names::layer>,
                                    sparse_moe_mlp<mixtral_names::layer>>,
                      decoder_embedding_options{}, mixtral_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
