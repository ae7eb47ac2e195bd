// typeformer/models/qwen3_5_text.hpp: Qwen3.5's text model (`model_type`
// "qwen3_5_text"), a hybrid decoder of the Llama family (models/llama.hpp):
// Gated DeltaNet layers (layers/gated_delta.hpp) among gated attention ones.
//
// What differs from Llama, as Transformers 5 computes it (Qwen3.5 came with
// 5.x: there is no 4.41 reading, whatever config_reader::follow says):
//   - `layer_types` names each layer "linear_attention" (Gated DeltaNet at
//     `linear_attn`: in_proj_qkv, in_proj_z, in_proj_b, in_proj_a, conv1d,
//     A_log, dt_bias, norm, out_proj; linear_num_key_heads and
//     linear_num_value_heads heads of linear_key_head_dim and
//     linear_value_head_dim features, a causal convolution of
//     linear_conv_kernel_dim taps) or "full_attention"; absent, every
//     full_attention_interval-th layer (4) is a full-attention one;
//   - the attention is gated: q_proj yields each head's queries and a gate,
//     the output times sigmoid(gate) before o_proj; q and k RMS-normalised
//     per head · (1 + weight) before the rotary embeddings, which turn the
//     first partial_rotary_factor (0.25 by default) of each head;
//     `attention_bias` puts biases on q, k, v and o;
//   - every RMSNorm scales by (1 + weight) (the gated one of the linear
//     layers by its weight);
//   - rope_parameters' mrope_section and mrope_interleaved arrange the
//     rotary frequencies of Qwen3.5's image positions: with text positions
//     (one position per token) every section turns alike, so they change
//     nothing here; a RoPE scaling is refused by name;
//   - the cache: past_key_values.{i}.key/.value on the full-attention
//     layers, past_key_values.{i}.conv [batch, conv_dim, kernel - 1] and
//     .recurrent [batch, value_heads, key_head_dim, value_head_dim] on the
//     linear ones (core/cache.hpp; zeros on the first step).
// Sequence classification is Transformers' generic one (score, no bias;
// the rightmost token that is not pad_token_id).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/layers/gated_delta.hpp"
#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// Qwen3_5TextConfig (and Qwen3NextConfig's shared part): LlamaConfig's
/// fields with the linear-attention layers.
struct qwen3_5_text_config : llama_config {
    std::int64_t linear_conv_kernel_dim = 4;
    std::int64_t linear_key_head_dim = 128;
    std::int64_t linear_value_head_dim = 128;
    std::int64_t linear_num_key_heads = 16;
    std::int64_t linear_num_value_heads = 32;
    layer_set linear_layers{};  ///< layer_types' "linear_attention" layers

    /// Every RMSNorm of the model scales by (1 + weight) (Qwen3NextRMSNorm).
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::rms_plus_one; }
    [[nodiscard]] constexpr gated_delta_shape linear_attention() const {
        return {linear_conv_kernel_dim, linear_num_key_heads, linear_num_value_heads, linear_key_head_dim,
                linear_value_head_dim};
    }
    [[nodiscard]] constexpr linear_cache_shape linear_cache() const {
        return {linear_layers, linear_attention().conv_dim(), linear_conv_kernel_dim, linear_num_value_heads,
                linear_key_head_dim, linear_value_head_dim};
    }
    static constexpr void linear_rule(const qwen3_5_text_config& c) {
        require(c.linear_num_value_heads % c.linear_num_key_heads == 0,
                "linear_num_value_heads must be a multiple of linear_num_key_heads");
        require(c.linear_conv_kernel_dim >= 2,
                "linear_conv_kernel_dim must be at least 2 (the convolution's state holds kernel - 1 inputs)");
    }

    using base_config = llama_config;
    using self = qwen3_5_text_config;
    using fields =
        extend<llama_config::fields, field<"linear_conv_kernel_dim", &self::linear_conv_kernel_dim, rule::positive>,
               field<"linear_key_head_dim", &self::linear_key_head_dim, rule::positive>,
               field<"linear_value_head_dim", &self::linear_value_head_dim, rule::positive>,
               field<"linear_num_key_heads", &self::linear_num_key_heads, rule::positive>,
               field<"linear_num_value_heads", &self::linear_num_value_heads, rule::positive>,
               internal<&self::linear_layers>, rules<&self::linear_rule>>;
};

namespace detail {
/// layer_types: "linear_attention" or "full_attention" per layer; absent,
/// every full_attention_interval-th layer (4) has full attention.
inline void hybrid_layer_types(const config_reader& r, qwen3_5_text_config& c) {
    const std::int64_t n = c.num_hidden_layers;
    std::int64_t interval = 4;
    r.get("full_attention_interval", interval);
    const auto* types = r.raw("layer_types");
    if (!types && interval <= 0)
        throw error("config.invalid", r.where() + ": /full_attention_interval: must be positive");
    if (n > layer_set::capacity)
        throw error("config.unsupported", r.where() + ": /num_hidden_layers: " + std::to_string(n) +
                                              " layers of two kinds (at most " +
                                              std::to_string(layer_set::capacity) + ")");
    if (types && (!types->is_array() || static_cast<std::int64_t>(types->size()) != n))
        throw error("config.invalid", r.where() + ": /layer_types: expected a list of " + std::to_string(n) +
                                          " strings, got " + types->dump());
    for (std::int64_t i = 0; i < n; ++i) {
        bool linear = (i + 1) % interval != 0;
        if (types) {
            const auto& t = (*types)[static_cast<std::size_t>(i)];
            if (t != "linear_attention" && t != "full_attention")
                throw error("config.unsupported", r.where() + ": /layer_types/" + std::to_string(i) + ": " + t.dump() +
                                                      " is not supported (only \"linear_attention\" and "
                                                      "\"full_attention\")");
            linear = t == "linear_attention";
        }
        if (linear) c.linear_layers.add(i);
    }
}

/// Qwen3.5's and Qwen3-Next's RoPE: the default frequencies on the first
/// partial_rotary_factor of each head; a scaling is refused by name.
/// mrope_section and mrope_interleaved (Qwen3.5) only arrange image
/// positions' frequencies: read, no effect on text.
inline void hybrid_rope(const config_reader& r, llama_config& c) {
    no_4_41_reading(r, c);
    if (const auto rs = rope_scaling_of(r))
        throw error("config.unsupported", rs->where() + ": a RoPE scaling is not supported for this model type "
                                                        "(its rotary embeddings turn part of each head)");
    std::optional<config_reader> params;
    if (r.child("rope_parameters", params)) {
        std::vector<std::int64_t> sections;
        params->get("mrope_section", sections);
        bool interleaved = false;
        params->get("mrope_interleaved", interleaved);
    }
}
}  // namespace detail

/// The keys Qwen3_5TextConfig reads: Llama's, the layer kinds, the partial
/// rotary embeddings; the attention's dropout is training only.
using qwen3_5_text_keys =
    extend<qwen3_5_text_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, owns<"layer_types">,
           reads<&detail::hybrid_layer_types>, reads<&detail::hybrid_rope>,
           // how many states Transformers' cache allots each linear layer: the model uses the first
           no_effect<"number_of_conv_states", std::int64_t>>;

/// Qwen3_5TextConfig from config.json, with Qwen3.5's defaults.
inline qwen3_5_text_config qwen3_5_text_config_from_json(const config_reader& r) {
    qwen3_5_text_config c;
    c.vocab_size = 248320;
    c.hidden_size = 4096;
    c.intermediate_size = 12288;
    c.num_hidden_layers = 32;
    c.num_attention_heads = 16;
    c.num_key_value_heads = 4;
    c.head_dim = 256;
    c.max_position_embeddings = 32768;
    c.partial_rotary_factor = 0.25;
    return load_config<qwen3_5_text_config, qwen3_5_text_keys>(r, c);
}

/// Module names of Qwen3.5's layer: Llama's, the q/k norms and the linear attention.
namespace qwen3_5_text_names {
struct layer : llama_names::layer {
    static constexpr std::string_view q_norm = "self_attn.q_norm", k_norm = "self_attn.k_norm",
                                      linear_attention = "linear_attn";
};
}  // namespace qwen3_5_text_names

/// The tolerance of the ONNX Runtime run against the reference pass: the
/// graph's Scan steps the recurrence with MatMuls, the reference with loops,
/// summing in another order; over the validation's random states (normal(0,
/// 1)) the logits differ by up to ~2e-5.
struct qwen3_5_text_family
    : llama_like_family<"qwen3_5_text", qwen3_5_text_config, &qwen3_5_text_config_from_json,
                        decoder_block<qwen3_5_text_names::layer,
                                      hybrid_mixer<qk_normed_attention<qwen3_5_text_names::layer, true, true>,
                                                   gated_delta_net<qwen3_5_text_names::layer, false>>,
                                      gated_mlp<qwen3_5_text_names::layer>>> {
    static constexpr double atol = 1e-4;
};

}  // namespace typeformer::inline v0
