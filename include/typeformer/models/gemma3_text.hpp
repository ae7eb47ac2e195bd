// typeformer/models/gemma3_text.hpp: Gemma 3's text model (`model_type`
// "gemma3_text": Gemma 3 1B, and the text towers of the larger ones), a
// member of the Llama family (models/llama.hpp) built on Gemma 2's config
// (models/gemma2.hpp).
//
// What differs from Gemma 2, as Transformers 5 computes it (Gemma 3 came
// with 4.50: there is no 4.41 reading, whatever config_reader::follow says):
//   - q and k are RMS-normalised per head before the rotary embeddings,
//     Gemma's way, · (1 + weight): `self_attn.q_norm`, `self_attn.k_norm`,
//     each a weight [head_dim], eps rms_norm_eps (qk_normed_attention);
//   - two rotary tables: the full-attention layers turn by rope_theta
//     (1e6 by default) with the RoPE scaling ("linear" in the released 4B,
//     12B and 27B: factor 8), the sliding layers by rope_local_base_freq
//     (10000 by default) without one (the decoder's local_rotary hook).
//     Transformers 4.x writes them as rope_theta, rope_scaling and
//     rope_local_base_freq at the top; 5.x as rope_parameters keyed by layer
//     type ({"full_attention": {...}, "sliding_attention": {...}}). Both are
//     read; a scaling on the sliding layers (which only 5.x's schema can
//     write) is refused by name;
//   - the sliding layers are those `layer_types` names "sliding_attention",
//     else all but every `sliding_window_pattern`-th (6 by default: layer i
//     slides iff (i + 1) % 6 != 0); they see the last sliding_window keys
//     (p - w < j <= p); a null sliding_window with a sliding layer is
//     refused (Transformers cannot build that model);
//   - the scores scaled by query_pre_attn_scalar^-0.5; final_logit_softcapping
//     (null by default) caps the logits when set (the softcaps hook);
//     attn_logit_softcapping is read, and kept by Gemma3Attention, but its
//     attention never passes it on (4.57 and 5.x alike): no cap on the
//     scores, whatever it says;
//   - the MLP's activation is `hidden_activation`; the embeddings times
//     sqrt(hidden_size) rounded to float32; four norms per layer as Gemma 2's
//     (post_norm_block with pre-norms); `attention_bias` puts biases on q,
//     k, v and o; the LM head tied by default;
//   - `use_bidirectional_attention` is refused (a bidirectional mask, with
//     a halved window, in a model exported as causal).
// Sequence classification is Transformers' generic one (score, no bias;
// the rightmost token that is not pad_token_id); Gemma 3 has no token
// classification head.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "typeformer/models/gemma2.hpp"

namespace typeformer::inline v0 {

/// Gemma3TextConfig: Gemma 2's fields with the sliding layers' RoPE base.
struct gemma3_text_config : gemma2_config {
    static constexpr decoder_hooks hooks{.rotary = true, .windows = true, .attention_scale = true,
                                         .softcaps = true, .local_rotary = true};
    double rope_local_theta = 10000.0;  ///< rope_local_base_freq; 5.x: rope_parameters.sliding_attention.rope_theta

    /// The sliding layers' rotary table: rope_local_theta, no scaling.
    [[nodiscard]] rotary_spec local_rotary() const {
        rotary_spec r;
        r.dims = rotary_dims();
        r.base = rope_local_theta;
        r.interleaved = false;
        return r;
    }

    using base_config = gemma2_config;
    using self = gemma3_text_config;
    using fields = extend<gemma2_config::fields,
                          internal<&self::rope_local_theta, rule::positive, "rope_local_base_freq">,
                          // Gemma3TextConfig.validate_architecture (5.x) refuses other sizes
                          multiple_of<"hidden_size", "num_attention_heads">>;
};

namespace detail {
/// The sliding layers' RoPE: rope_local_base_freq (4.x's schema) or
/// rope_parameters.sliding_attention (5.x's; it wins, as 5.x's setdefault
/// keeps it: both given and different is config.invalid); a scaling there
/// is refused.
inline void gemma3_local_rope(const config_reader& r, gemma3_text_config& c) {
    r.get("rope_local_base_freq", c.rope_local_theta);
    read_sliding_rope(r, c.rope_local_theta, "rope_local_base_freq", "Gemma 3");
}

/// attn_logit_softcapping: Gemma3Attention stores it and never hands it to
/// the attention function (4.57 and 5.x), so the scores are not capped.
inline void gemma3_no_score_cap(const config_reader&, gemma3_text_config& c) { c.attn_logit_softcapping = 0; }

/// The sliding layers: layer_types, else sliding_window_pattern (6: every
/// sixth layer is global); a null sliding_window is refused where a layer slides.
inline void gemma3_windows(const config_reader& r, gemma3_text_config& c) {
    std::int64_t pattern = 6;
    r.get("sliding_window_pattern", pattern);
    if (pattern <= 0 && !r.has("layer_types"))
        throw error("config.invalid", r.where() + ": /sliding_window_pattern: must be positive");
    read_layer_windows(r, c, [&](std::int64_t i) { return pattern > 0 && (i + 1) % pattern != 0; });
    sliding_layers_need_window(r, c);
}
}  // namespace detail

/// The keys Gemma3TextConfig reads beyond Gemma 2's: the two RoPE settings
/// (rope_parameters keyed by layer type, or rope_theta, rope_scaling and
/// rope_local_base_freq), the sliding layers (layer_types or
/// sliding_window_pattern); a bidirectional mask is refused.
using gemma3_text_keys =
    extend<gemma3_text_config::fields, field<"hidden_activation", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, window_key, owns<"layer_types">,
           reads<&detail::no_4_41_reading>, reads<&detail::gemma3_windows>, reads<&detail::whole_head_rotary>,
           reads<&detail::llama_rope_scaling>, reads<&detail::gemma3_local_rope>, reads<&detail::gemma3_no_score_cap>,
           // 5.x writes it beside sliding_window_pattern and reads the latter
           no_effect<"_sliding_window_pattern", std::int64_t>,
           never<"use_bidirectional_attention", "a bidirectional mask in a causal model">>;

/// Gemma3TextConfig from config.json, with Gemma 3's defaults.
inline gemma3_text_config gemma3_text_config_from_json(const config_reader& r) {
    gemma3_text_config c;
    c.vocab_size = 262208;
    c.hidden_size = 2304;
    c.intermediate_size = 9216;
    c.num_hidden_layers = 26;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = 256;
    c.hidden_act = activation::gelu_new;  // gelu_pytorch_tanh
    c.max_position_embeddings = 131072;
    c.pad_token_id = 0;
    c.tie_word_embeddings = true;
    c.sliding_window = 4096;
    c.rope_theta = 1000000.0;
    c.rope_by_layer_type = true;
    c.attn_logit_softcapping = 0;   // None
    c.final_logit_softcapping = 0;  // None
    return load_config<gemma3_text_config, gemma3_text_keys>(r, c);
}

/// Module names of Gemma 3's layer: Gemma 2's, and the per-head q/k norms.
namespace gemma3_text_names {
struct layer : gemma2_names::layer {
    static constexpr std::string_view q_norm = "self_attn.q_norm", k_norm = "self_attn.k_norm";
};
}  // namespace gemma3_text_names

using gemma3_text_family =
    llama_like_family<"gemma3_text", gemma3_text_config, &gemma3_text_config_from_json,
                      post_norm_block<gemma3_text_names::layer, qk_normed_attention<gemma3_text_names::layer, true>,
                                      gated_mlp<gemma3_text_names::layer>, true>,
                      decoder_embedding_options{.scale_by_sqrt_hidden = true}>;

}  // namespace typeformer::inline v0
