// typeformer/models/smollm3.hpp: SmolLM3 (`model_type` "smollm3"), a member of
// the Llama family (models/llama.hpp).
//
// What differs from Llama, as Transformers 5 computes it (SmolLM3 came with
// 4.53: there is no 4.41 reading, whatever config_reader::follow says):
//   - some layers apply no rotary embeddings: `no_rope_layers` lists, per
//     layer, 1 (RoPE) or 0 (none); absent, every `no_rope_layer_interval`-th
//     layer (layer i when (i + 1) % interval == 0) has none;
//   - with `use_sliding_window` and a `sliding_window`, the layers that
//     `layer_types` names "sliding_attention" (by default: the layers
//     without RoPE) see the last sliding_window keys (p - w < j <= p);
//   - biases as Llama's (`attention_bias`, `mlp_bias`); the LM head tied by
//     default; pad_token_id 128004 by default (which the sequence
//     classifier's pooling reads);
//   - token classification is `score` (a Linear with a bias).
// The per-layer patterns are layer_sets: up to 256 layers (more is refused).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// SmolLM3's per-layer RoPE and windows.
inline void smollm3_layers(const config_reader& r, llama_config& c) {
    const std::int64_t n = c.num_hidden_layers;
    std::int64_t interval = 4;
    r.get("no_rope_layer_interval", interval);
    const auto* listed = r.raw("no_rope_layers");
    const auto* types = r.raw("layer_types");
    bool use = false;
    r.get("use_sliding_window", use);
    if ((listed || types || interval > 0) && n > layer_set::capacity)
        throw error("config.unsupported", r.where() + ": /num_hidden_layers: " + std::to_string(n) +
                                              " layers with per-layer RoPE or windows (at most " +
                                              std::to_string(layer_set::capacity) + ")");
    if (listed) {
        if (!listed->is_array() || static_cast<std::int64_t>(listed->size()) != n)
            throw error("config.invalid", r.where() + ": /no_rope_layers: expected a list of " + std::to_string(n) +
                                              " integers (1: RoPE, 0: none), got " + listed->dump());
        for (std::int64_t i = 0; i < n; ++i) {
            const auto& v = (*listed)[static_cast<std::size_t>(i)];
            if (!v.is_number_integer() || (v != 0 && v != 1))
                throw error("config.invalid", r.where() + ": /no_rope_layers/" + std::to_string(i) + ": " + v.dump() +
                                                  " (1: RoPE, 0: none)");
            if (v == 0) c.no_rope_layers.add(i);
        }
    } else {
        if (interval <= 0)
            throw error("config.invalid", r.where() + ": /no_rope_layer_interval: must be positive");
        for (std::int64_t i = 0; i < n; ++i)
            if ((i + 1) % interval == 0) c.no_rope_layers.add(i);
    }
    if (!use || c.sliding_window <= 0) {
        c.sliding_window = 0;  // 5.x: a layer's window only with use_sliding_window
        if (types && !types->is_array())
            throw error("config.type_error", r.where() + ": /layer_types: expected a list of strings");
        return;
    }
    read_layer_windows(r, c, [&](std::int64_t i) { return !c.rope_layer(i); });
}
}  // namespace detail

/// The keys SmolLM3Config adds to Llama's: the biases, the window (null:
/// none), the per-layer RoPE and windows, the RoPE scaling as Llama's, and
/// the token classifier's bias (refused when false).
using smollm3_keys =
    extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, field<"mlp_bias", &llama_config::mlp_bias>,
           window_key, owns<"layer_types">, reads<&detail::no_4_41_reading>, reads<&detail::smollm3_layers>,
           reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
           always<"token_classification_bias", "a token-classification score without a bias">>;

/// SmolLM3Config from config.json, with SmolLM3's defaults.
inline llama_config smollm3_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 128256;
    c.hidden_size = 2048;
    c.intermediate_size = 11008;
    c.num_hidden_layers = 36;
    c.num_attention_heads = 16;
    c.num_key_value_heads = 4;
    c.max_position_embeddings = 32768;
    c.pad_token_id = 128004;
    c.tie_word_embeddings = true;
    return load_config<llama_config, smollm3_keys>(r, c);
}

/// SmolLM3's features: the Llama family's and token classification.
using smollm3_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                   task::causal_lm_with_past, task::sequence_classification,
                                   task::token_classification>;

using smollm3_family =
    llama_like_family<"smollm3", llama_config, &smollm3_config_from_json,
                      decoder_block<llama_names::layer, projected_attention<llama_names::layer, true>,
                                    llama_mlp<llama_names::layer>>,
                      decoder_embedding_options{}, smollm3_features, token_classifier<"score">>;

}  // namespace typeformer::inline v0
