// typeformer/models/granite_swa.hpp: Granite SWA (`model_type` "granite_swa"),
// Granite (models/granite.hpp) with sliding-window layers and attention sinks.
//
// What differs from Granite, as Transformers 5 computes it (there is no 4.x
// reading):
//   - the layers `layer_types` names "sliding_attention" see the last
//     `sliding_window` keys (p - w < j <= p; 128 by default); without
//     layer_types, every fourth layer (0, 4, 8, ...) is full and the others
//     slide;
//   - a learned sink per head, `self_attn.sinks` [heads]: the attention's
//     output is scaled by sigmoid(logsumexp(scores) - sink), one more logit
//     in each head's softmax whose share is dropped (cached_attention's
//     sinks);
//   - `layer_rope_theta`: each layer's RoPE base, 0 for none (that layer
//     takes no positions); null: rope_theta on every layer. One base for the
//     turned layers is exported; layers with two different bases are
//     refused by name;
//   - the four multipliers, the biases and the RoPE scaling as Granite's;
//     the LM head tied by default.
// Refused by name: a null sliding_window beside sliding layers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/granite.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// Granite SWA's sliding layers (layer_types, else every layer but each
/// fourth from 0) and its per-layer RoPE bases (layer_rope_theta: 0 is no
/// RoPE; the others must agree).
inline void granite_swa_layers(const config_reader& r, llama_config& c) {
    read_layer_windows(r, c, [](std::int64_t i) { return i % 4 != 0; });
    bool sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) sliding = sliding || !c.full_attention_layers.has(i);
    if (sliding && c.sliding_window <= 0)
        throw error("config.unsupported", r.where() + ": /sliding_window: " +
                                              (r.is_null("sliding_window") ? std::string("null")
                                                                           : std::to_string(c.sliding_window)) +
                                              " with \"sliding_attention\" layers (a window of no size)");
    if (!r.has("layer_rope_theta") || r.is_null("layer_rope_theta")) return;
    std::vector<double> thetas;
    r.get("layer_rope_theta", thetas);
    if (static_cast<std::int64_t>(thetas.size()) != c.num_hidden_layers)
        throw error("config.invalid", r.where() + ": /layer_rope_theta: " + std::to_string(thetas.size()) +
                                          " bases for num_hidden_layers " + std::to_string(c.num_hidden_layers));
    double base = 0;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const double theta = thetas[static_cast<std::size_t>(i)];
        if (theta < 0)
            throw error("config.invalid", r.where() + ": /layer_rope_theta/" + std::to_string(i) + ": must not be negative");
        if (theta == 0) {
            c.no_rope_layers.add(i);
            continue;
        }
        if (base != 0 && theta != base)
            throw error("config.unsupported", r.where() + ": /layer_rope_theta: " + std::to_string(base) + " and " +
                                                  std::to_string(theta) +
                                                  " is not supported (one RoPE base for every turned layer)");
        base = theta;
    }
    if (base != 0) c.rope_theta = base;
}
}  // namespace detail

/// The keys GraniteSWAConfig reads: Granite's, the window and its layers,
/// and the per-layer RoPE bases.
using granite_swa_keys =
    extend<granite_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, field<"mlp_bias", &llama_config::mlp_bias>,
           window_key, owns<"layer_types">, reads<&detail::no_4_41_reading>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>, reads<&detail::granite_swa_layers>>;

/// GraniteSWAConfig from config.json, with Granite SWA's defaults.
inline granite_config granite_swa_config_from_json(const config_reader& r) {
    granite_config c;
    c.vocab_size = 100352;
    c.hidden_size = 2560;
    c.intermediate_size = 8192;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 20;
    c.num_key_value_heads = 4;
    c.max_position_embeddings = 8192;
    c.rms_norm_eps = 1e-5;
    c.tie_word_embeddings = true;
    c.sliding_window = 128;
    return load_config<granite_config, granite_swa_keys>(r, c);
}

using granite_swa_family =
    llama_like_family<"granite_swa", granite_config, &granite_swa_config_from_json,
                      // Llama's projections (biases where attention_bias), rotary where the layer has a RoPE base
                      // (rope_layer), the window on the sliding layers, the per-head sinks `self_attn.sinks`
                      decoder_block<llama_names::layer, projected_attention<llama_names::layer, true, true>,
                                    llama_mlp<llama_names::layer>>,
                      decoder_embedding_options{}, granite_features>;

}  // namespace typeformer::inline v0
