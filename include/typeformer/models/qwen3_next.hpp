// typeformer/models/qwen3_next.hpp: Qwen3-Next (`model_type` "qwen3_next"),
// the hybrid decoder of Qwen3.5's text model (models/qwen3_5_text.hpp) with
// a mixture of experts.
//
// What differs from Qwen3.5's text model, as Transformers 5 computes it
// (Qwen3-Next came with 4.57's successor, 5.x: there is no 4.41 reading):
//   - the linear layers' projections are fused and grouped per key head:
//     `linear_attn.in_proj_qkvz` yields, per key head, q [Dk], k [Dk], v
//     [r·Dv] and z [r·Dv] (r = value heads / key heads), `in_proj_ba` b [r]
//     and a [r] (gated_delta_net with Fused);
//   - the MLP: a sparse mixture of `num_experts` gated MLPs (router
//     `mlp.gate`, `mlp.experts.<e>.gate_proj`, `up_proj`, `down_proj`,
//     moe_intermediate_size wide), num_experts_per_tok per token, their
//     weights renormalised with norm_topk_prob (true by default), plus a
//     shared expert (`mlp.shared_expert.*`, shared_expert_intermediate_size
//     wide) times sigmoid(`mlp.shared_expert_gate`); a layer in
//     mlp_only_layers, one decoder_sparse_step skips, or every layer when
//     num_experts is 0, has the dense gated MLP (intermediate_size wide);
//   - the defaults (Qwen3-Next-80B-A3B's).
// Sequence and token classification are Llama's (score; the token
// classifier with a bias); question answering (qa_outputs) is not exported.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/qwen3.hpp"
#include "typeformer/models/qwen3_5_text.hpp"

namespace typeformer::inline v0 {

/// Qwen3NextConfig: Qwen3.5's hybrid layers with the experts.
struct qwen3_next_config : qwen3_5_text_config {
    std::int64_t num_experts = 512;
    std::int64_t num_experts_per_tok = 10;
    std::int64_t moe_intermediate_size = 512;
    std::int64_t shared_expert_intermediate_size = 512;
    bool norm_topk_prob = true;
    std::int64_t decoder_sparse_step = 1;
    layer_set dense_layers{};  ///< mlp_only_layers, and the layers decoder_sparse_step skips

    [[nodiscard]] constexpr moe_spec moe() const {
        return {num_experts, num_experts_per_tok, moe_intermediate_size, norm_topk_prob};
    }
    [[nodiscard]] constexpr bool moe_layer(std::int64_t layer) const { return !dense_layers.has(layer); }
    static constexpr void experts_rule(const qwen3_next_config& c) {
        require(c.num_experts == 0 || c.num_experts_per_tok <= c.num_experts,
                "num_experts_per_tok must be at most num_experts");
    }

    using base_config = qwen3_5_text_config;
    using self = qwen3_next_config;
    using fields = extend<qwen3_5_text_config::fields, field<"num_experts", &self::num_experts, rule::non_negative>,
                          field<"num_experts_per_tok", &self::num_experts_per_tok, rule::positive>,
                          field<"moe_intermediate_size", &self::moe_intermediate_size, rule::positive>,
                          field<"shared_expert_intermediate_size", &self::shared_expert_intermediate_size,
                                rule::positive>,
                          field<"norm_topk_prob", &self::norm_topk_prob>,
                          field<"decoder_sparse_step", &self::decoder_sparse_step, rule::positive>,
                          internal<&self::dense_layers>, rules<&self::experts_rule>>;
};

namespace detail {
/// The dense-MLP layers: mlp_only_layers, those decoder_sparse_step skips, every layer without experts.
inline void qwen3_next_dense_layers(const config_reader& r, qwen3_next_config& c) {
    std::vector<std::int64_t> only;
    r.get("mlp_only_layers", only);
    const std::int64_t n = c.num_hidden_layers;
    for (const auto l : only)
        if (l < 0 || l >= n)
            throw error("config.invalid", r.where() + ": /mlp_only_layers: layer " + std::to_string(l) +
                                              " is not one of the " + std::to_string(n) + " layers");
    for (std::int64_t i = 0; i < n; ++i) {
        const bool listed = std::find(only.begin(), only.end(), i) != only.end();
        if (!listed && c.num_experts > 0 && (i + 1) % c.decoder_sparse_step == 0) continue;
        c.dense_layers.add(i);  // n is at most layer_set::capacity (hybrid_layer_types)
    }
}
}  // namespace detail

/// The keys Qwen3NextConfig reads: Qwen3.5's, the experts', the router's
/// training settings.
using qwen3_next_keys =
    extend<qwen3_next_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, owns<"layer_types">,
           reads<&detail::hybrid_layer_types>, reads<&detail::hybrid_rope>, reads<&detail::qwen3_next_dense_layers>,
           no_effect<"number_of_conv_states", std::int64_t>,
           // training only: the load-balancing loss
           no_effect<"router_aux_loss_coef", double>, no_effect<"output_router_logits", bool>,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// Qwen3NextConfig from config.json, with Qwen3-Next's defaults.
inline qwen3_next_config qwen3_next_config_from_json(const config_reader& r) {
    qwen3_next_config c;
    c.vocab_size = 151936;
    c.hidden_size = 2048;
    c.intermediate_size = 5632;
    c.num_hidden_layers = 48;
    c.num_attention_heads = 16;
    c.num_key_value_heads = 2;
    c.head_dim = 256;
    c.max_position_embeddings = 32768;
    c.partial_rotary_factor = 0.25;
    return load_config<qwen3_next_config, qwen3_next_keys>(r, c);
}

/// Module names of Qwen3-Next's layer: Qwen3.5's, the experts, the shared expert.
namespace qwen3_next_names {
struct layer : qwen3_5_text_names::layer {
    static constexpr std::string_view router = "mlp.gate", experts = "mlp.experts", expert_gate = "gate_proj",
                                      expert_up = "up_proj", expert_down = "down_proj",
                                      shared_expert = "mlp.shared_expert", shared_expert_gate = "mlp.shared_expert_gate";
};
}  // namespace qwen3_next_names

/// Qwen3-Next's MLP: on a sparse layer the mixture of experts plus the
/// shared expert (a gated MLP of shared_expert_intermediate_size at
/// `Names::shared_expert`) times sigmoid(`Names::shared_expert_gate`(x)),
/// a Linear to one value; on a dense layer the gated MLP.
template <class Names>
struct shared_expert_moe_mlp {
    static constexpr bool per_layer = true;
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c, std::int64_t layer) {
        if (!c.moe_layer(layer)) return gated_mlp<Names>::forward(b, x, c);
        const auto sh = c.shape();
        const std::int64_t H = sh.hidden_size, I = c.shared_expert_intermediate_size;
        auto routed = sparse_moe_mlp<Names>::forward(b, x, c);
        const std::string at = std::string(Names::shared_expert) + ".";
        auto g = activate(b, sh.act, linear_no_bias(b, at + "gate_proj", x, H, I));
        auto shared = linear_no_bias(b, at + "down_proj", b.mul(g, linear_no_bias(b, at + "up_proj", x, H, I)), I, H);
        auto gate = b.sigmoid(linear_no_bias(b, Names::shared_expert_gate, x, H, 1));
        return b.add(routed, b.mul(gate, shared));
    }
};

/// The ONNX Runtime run's tolerance against the reference pass: as Qwen3.5's
/// (the recurrence summed in another order, over random states).
struct qwen3_next_family
    : llama_like_family<"qwen3_next", qwen3_next_config, &qwen3_next_config_from_json,
                        decoder_block<qwen3_next_names::layer,
                                      hybrid_mixer<qk_normed_attention<qwen3_next_names::layer, true, true>,
                                                   gated_delta_net<qwen3_next_names::layer, true>>,
                                      shared_expert_moe_mlp<qwen3_next_names::layer>>,
                        decoder_embedding_options{}, qwen3_features, token_classifier<"score">> {
    static constexpr double atol = 1e-4;
};

}  // namespace typeformer::inline v0
