// typeformer/models/qwen3_moe.hpp: Qwen3-MoE (`model_type` "qwen3_moe"), a
// member of the Llama family (models/llama.hpp).
//
// Qwen3's attention (q/k RMSNorms per head, attention_bias; the window,
// sliding_window keys, on every layer, only with use_sliding_window) with a
// sparse mixture of experts for the
// MLP (sparse_moe_mlp): the router `mlp.gate` picks num_experts_per_tok of
// num_experts gated MLPs (`mlp.experts.<e>.gate_proj`, `up_proj`,
// `down_proj`, moe_intermediate_size wide), their probabilities
// renormalised only with norm_topk_prob (num_experts: Transformers 5 writes
// it as num_local_experts, 4.x as num_experts). A layer in mlp_only_layers, or one
// that decoder_sparse_step skips ((layer + 1) % step != 0), or every layer
// when num_experts is 0, has the dense gated MLP (`mlp.gate_proj`, ...,
// intermediate_size wide). head_dim as Llama's (absent: hidden / heads).
// Qwen3-MoE came with Transformers 4.51: there is no 4.41 reading.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/qwen3.hpp"

namespace typeformer::inline v0 {

/// Qwen3MoeConfig: LlamaConfig's fields with the experts and the dense layers.
struct qwen3_moe_config : llama_config {
    std::int64_t num_experts = 128;
    std::int64_t num_experts_per_tok = 8;
    std::int64_t moe_intermediate_size = 768;
    bool norm_topk_prob = false;
    std::int64_t decoder_sparse_step = 1;
    layer_set dense_layers{};  ///< mlp_only_layers, and the layers decoder_sparse_step skips

    [[nodiscard]] constexpr moe_spec moe() const {
        return {num_experts, num_experts_per_tok, moe_intermediate_size, norm_topk_prob};
    }
    [[nodiscard]] constexpr bool moe_layer(std::int64_t layer) const { return !dense_layers.has(layer); }
    static constexpr void experts_rule(const qwen3_moe_config& c) {
        require(c.num_experts == 0 || c.num_experts_per_tok <= c.num_experts,
                "num_experts_per_tok must be at most num_experts");
    }

    using base_config = llama_config;
    using self = qwen3_moe_config;
    using fields = extend<llama_config::fields, field<"num_experts", &self::num_experts, rule::non_negative>,
                          field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
                          field<"moe_intermediate_size", &self::moe_intermediate_size, rule::positive>,
                          field<"norm_topk_prob", &self::norm_topk_prob>,
                          field<"decoder_sparse_step", &self::decoder_sparse_step, rule::positive>,
                          internal<&self::dense_layers>, rules<&self::experts_rule>>;
};

namespace detail {
/// Which layers have the dense MLP: mlp_only_layers, the layers
/// decoder_sparse_step skips, every layer without experts.
/// Qwen3-MoE's window: sliding_window on every layer, only with use_sliding_window.
inline void qwen3_moe_window(const config_reader& r, llama_config& c) {
    bool use = false;
    r.get("use_sliding_window", use);
    if (!use) c.sliding_window = 0;
    no_4_41_reading(r, c);
}

inline void qwen3_moe_layers(const config_reader& r, qwen3_moe_config& c) {
    // Transformers 5 writes num_experts as num_local_experts (its attribute_map); 4.x as num_experts
    if (r.has("num_local_experts")) {
        std::int64_t local = 0;
        r.get("num_local_experts", local);
        if (r.has("num_experts") && local != c.num_experts)
            throw error("config.invalid", r.where() + ": /num_experts and /num_local_experts disagree");
        if (local < 0) throw error("config.invalid", r.where() + ": /num_local_experts: must not be negative");
        c.num_experts = local;
        if (c.num_experts > 0 && c.num_experts_per_tok > c.num_experts)
            throw error("config.invalid", r.where() + ": num_experts_per_tok must be at most num_experts");
    }
    std::vector<std::int64_t> only;
    r.get("mlp_only_layers", only);
    const std::int64_t n = c.num_hidden_layers;
    for (std::int64_t i = 0; i < n; ++i) {
        const bool listed = std::find(only.begin(), only.end(), i) != only.end();
        if (!listed && c.num_experts > 0 && (i + 1) % c.decoder_sparse_step == 0) continue;
        if (i >= layer_set::capacity)
            throw error("config.unsupported", r.where() + ": /num_hidden_layers: " + std::to_string(n) +
                                                  " layers with dense MLP layers among them (at most " +
                                                  std::to_string(layer_set::capacity) + ")");
        c.dense_layers.add(i);
    }
    for (const auto l : only)
        if (l < 0 || l >= n)
            throw error("config.invalid", r.where() + ": /mlp_only_layers: layer " + std::to_string(l) +
                                              " is not one of the " + std::to_string(n) + " layers");
}
}  // namespace detail

/// The keys Qwen3MoeConfig reads as Qwen3's, the experts' and the router's
/// training settings.
using qwen3_moe_keys =
    extend<qwen3_moe_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, window_key, reads<&detail::qwen3_moe_window>,
           reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
           reads<&detail::qwen3_moe_layers>,
           // training only: the load-balancing loss
           no_effect<"router_aux_loss_coef", double>, no_effect<"output_router_logits", bool>,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// Qwen3MoeConfig from config.json, with Qwen3-MoE's defaults.
inline qwen3_moe_config qwen3_moe_config_from_json(const config_reader& r) {
    qwen3_moe_config c;
    c.vocab_size = 151936;
    c.hidden_size = 2048;
    c.intermediate_size = 6144;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 4;
    c.max_position_embeddings = 32768;
    c.sliding_window = 4096;
    return load_config<qwen3_moe_config, qwen3_moe_keys>(r, c);
}

/// Module names of Qwen3-MoE's layer: Qwen3's attention, the experts and the dense MLP.
namespace qwen3_moe_names {
struct layer : qwen3_names::layer {
    static constexpr std::string_view router = "mlp.gate", experts = "mlp.experts", expert_gate = "gate_proj",
                                      expert_up = "up_proj", expert_down = "down_proj";
};
}  // namespace qwen3_moe_names

using qwen3_moe_family =
    llama_like_family<"qwen3_moe", qwen3_moe_config, &qwen3_moe_config_from_json,
                      decoder_block<qwen3_moe_names::layer, qk_normed_attention<qwen3_moe_names::layer, true>,
                                    sparse_or_dense_mlp<qwen3_moe_names::layer>>,
                      decoder_embedding_options{}, qwen3_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
