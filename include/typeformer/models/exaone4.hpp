// typeformer/models/exaone4.hpp: EXAONE 4 (`model_type` "exaone4"), a member
// of the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (EXAONE 4 came
// after 4.41: there is no 4.41 reading, whatever config_reader::follow
// says):
//   - the norms are on the sublayers' outputs, as OLMo 2's: h = x +
//     post_attention_layernorm(Attn(x)), y = h +
//     post_feedforward_layernorm(MLP(h)) (post_norm_block without pre-norms);
//   - q and k are RMS-normalised per head before the rotary embeddings:
//     `self_attn.q_norm`, `self_attn.k_norm`, each a weight [head_dim];
//   - sliding and full layers: the layers `layer_types` names
//     "sliding_attention" see the last `sliding_window` keys (p - w < j <=
//     p); without layer_types, every layer but each
//     `sliding_window_pattern`-th (4 by default: layers 3, 7, ... are full);
//   - rotary embeddings only on the sliding layers when the config has a
//     sliding_window (Exaone4Attention turns q and k where `sliding_window
//     is None or is_sliding`: the full layers take no positions, "NoPE");
//     with a null sliding_window, on every layer;
//   - no biases; sequence classification keeps the rightmost token that is
//     not pad_token_id; token classification is `score` (a Linear with a
//     bias).
// Refused by name: a null sliding_window beside sliding layers, and
// layer_types absent where Transformers cannot derive them (a null
// sliding_window, or a sliding_window_pattern that is not a positive
// integer, such as "LLLG": Transformers' default divides by it).
// Exaone4ForQuestionAnswering keeps its base model under `transformer.`, not
// `model.`: not exported.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// EXAONE 4's sliding layers (layer_types, else sliding_window_pattern) and
/// the layers that rotate (only the sliding ones where sliding_window is set).
inline void exaone4_layers(const config_reader& r, llama_config& c) {
    const bool has_types = r.raw("layer_types") != nullptr && !r.is_null("layer_types");
    std::int64_t pattern = 4;
    if (const auto* p = r.raw("sliding_window_pattern"); p && !has_types) {
        if (c.sliding_window <= 0)
            throw error("config.unsupported",
                        r.where() + ": /sliding_window: null without layer_types (Transformers derives the "
                                    "layer types from a sliding_window_pattern of 0, dividing by it)");
        if (!p->is_number_integer() || p->get<std::int64_t>() <= 0)
            throw error("config.unsupported", r.where() + ": /sliding_window_pattern: " + p->dump() +
                                                  " is not supported without layer_types (Transformers derives the "
                                                  "layer types as (i + 1) % pattern: a positive integer)");
        pattern = p->get<std::int64_t>();
    } else if (!has_types && c.sliding_window <= 0) {
        throw error("config.unsupported",
                    r.where() + ": /sliding_window: null without layer_types (Transformers derives the layer "
                                "types from a sliding_window_pattern of 0, dividing by it)");
    }
    read_layer_windows(r, c, [&](std::int64_t i) { return (i + 1) % pattern != 0; });
    bool sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) sliding = sliding || !c.full_attention_layers.has(i);
    if (sliding && c.sliding_window <= 0)
        throw error("config.unsupported", r.where() + ": /sliding_window: null with \"sliding_attention\" layers "
                                                      "(a window of no size)");
    if (c.sliding_window > 0) c.no_rope_layers = c.full_attention_layers;  // NoPE on the full layers
}
}  // namespace detail

/// The keys Exaone4Config reads: the activation, the window and its layers,
/// as Llama's the RoPE scaling (on the whole head), and the token
/// classifier's bias (refused when false).
using exaone4_keys =
    extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key, owns<"layer_types">,
           reads<&detail::no_4_41_reading>, reads<&detail::exaone4_layers>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>,
           // GenericForTokenClassification's score takes bias=token_classification_bias (default true)
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// Exaone4Config from config.json, with EXAONE 4's defaults.
inline llama_config exaone4_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 102400;
    c.hidden_size = 4096;
    c.intermediate_size = 16384;
    c.num_hidden_layers = 32;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 32;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.sliding_window = 4096;
    return load_config<llama_config, exaone4_keys>(r, c);
}

/// Module names of EXAONE 4's layer: Llama's projections, the output norms
/// and the per-head q/k norms.
namespace exaone4_names {
struct layer : llama_names::layer {
    static constexpr std::string_view post_norm_1 = "post_attention_layernorm",
                                      post_norm_2 = "post_feedforward_layernorm", q_norm = "self_attn.q_norm",
                                      k_norm = "self_attn.k_norm";
};
}  // namespace exaone4_names

/// EXAONE 4's features: the Llama family's and token classification.
using exaone4_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                   task::causal_lm_with_past, task::sequence_classification,
                                   task::token_classification>;

using exaone4_family =
    llama_like_family<"exaone4", llama_config, &exaone4_config_from_json,
                      post_norm_block<exaone4_names::layer, qk_normed_attention<exaone4_names::layer, true, false, true>,
                                      gated_mlp<exaone4_names::layer>, false>,
                      decoder_embedding_options{}, exaone4_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
