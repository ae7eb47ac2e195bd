// typeformer/models/olmo3.hpp: OLMo 3 (`model_type` "olmo3"), a member of the
// Llama family (models/llama.hpp) built on OLMo 2's layer (models/olmo2.hpp).
//
// What differs from OLMo 2, as Transformers 5 computes it (OLMo 3 came with
// 4.57: there is no 4.41 reading, whatever config_reader::follow says):
//   - sliding and full layers: the layers `layer_types` names
//     "sliding_attention" (by default all but every fourth: layer i slides
//     iff (i + 1) % 4 != 0) see the last sliding_window keys (p - w < j <=
//     p; 4096 by default); a null sliding_window with a sliding layer is
//     refused (Transformers cannot build that model);
//   - two rotary tables, as Gemma 3's rotary (the decoder's local_rotary
//     hook): the full-attention layers turn by
//     rope_parameters.full_attention (rope_theta, and its scaling: a
//     top-level rope_theta or rope_scaling lands there), the sliding layers
//     by rope_parameters.sliding_attention's rope_theta, else 500000
//     (Olmo3Config.default_theta: Transformers 5.23 gives a top-level
//     rope_theta to the full-attention layers only). A scaling on the
//     sliding layers is refused by name, as a rope_parameters that is not
//     keyed by layer type (5.23 ignores such a one);
//   - the defaults: rope_theta 500000, rms_norm_eps 1e-5, pad_token_id 1.
// The layer is OLMo 2's: norms on the sublayers' outputs, q/k RMSNorms over
// the whole projection, `attention_bias` on q, k, v and o.
#pragma once

#include <cstdint>

#include "typeformer/models/olmo2.hpp"

namespace typeformer::inline v0 {

/// Olmo3Config: LlamaConfig's fields with the sliding layers' RoPE base.
struct olmo3_config : llama_config {
    static constexpr decoder_hooks hooks{.rotary = true, .windows = true, .attention_scale = true,
                                         .local_rotary = true};
    double rope_local_theta = 500000.0;  ///< rope_parameters.sliding_attention.rope_theta

    /// The sliding layers' rotary table: rope_local_theta, no scaling.
    [[nodiscard]] rotary_spec local_rotary() const {
        rotary_spec r;
        r.dims = rotary_dims();
        r.base = rope_local_theta;
        r.interleaved = false;
        return r;
    }

    using base_config = llama_config;
    using self = olmo3_config;
    using fields = extend<llama_config::fields, internal<&self::rope_local_theta, rule::positive,
                                                         "rope_parameters.sliding_attention.rope_theta">>;
};

namespace detail {
/// OLMo 3's sliding layers: layer_types, else all but every fourth.
inline void olmo3_windows(const config_reader& r, olmo3_config& c) {
    read_layer_windows(r, c, [](std::int64_t i) { return (i + 1) % 4 != 0; });
    sliding_layers_need_window(r, c);
}

/// The sliding layers' RoPE: rope_parameters.sliding_attention only (no
/// top-level key reaches it in 5.23).
inline void olmo3_local_rope(const config_reader& r, olmo3_config& c) {
    read_sliding_rope(r, c.rope_local_theta, nullptr, "OLMo 3");
}
}  // namespace detail

/// The keys Olmo3Config reads beyond OLMo 2's: the window and its layers,
/// the RoPE settings keyed by layer type.
using olmo3_keys = extend<olmo3_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                          field<"attention_bias", &llama_config::attention_bias>, window_key, owns<"layer_types">,
                          reads<&detail::no_4_41_reading>, reads<&detail::olmo3_windows>,
                          reads<&detail::whole_head_rotary>, reads<&detail::llama_rope_scaling>,
                          reads<&detail::olmo3_local_rope>>;

/// Olmo3Config from config.json, with OLMo 3's defaults.
inline olmo3_config olmo3_config_from_json(const config_reader& r) {
    olmo3_config c;
    c.vocab_size = 50304;
    c.intermediate_size = 11008;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.pad_token_id = 1;
    c.rope_theta = 500000.0;
    c.sliding_window = 4096;
    c.rope_by_layer_type = true;
    return load_config<olmo3_config, olmo3_keys>(r, c);
}

using olmo3_family =
    llama_like_family<"olmo3", olmo3_config, &olmo3_config_from_json,
                      post_norm_block<olmo2_names::layer, qk_normed_attention<olmo2_names::layer, false>,
                                      gated_mlp<olmo2_names::layer>, false>>;

}  // namespace typeformer::inline v0
