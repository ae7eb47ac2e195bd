// typeformer/models/llama.hpp: the Llama family as one family template:
// Llama (`model_type` "llama"), Mistral ("mistral") and Qwen2 ("qwen2").
//
// Word embeddings `model.embed_tokens` (no learned positions); pre-norm
// blocks with RMSNorm (`input_layernorm`, `post_attention_layernorm`);
// attention with separate q/k/v/o Linears, grouped-query heads
// (num_key_value_heads) of head_dim features (hidden_size /
// num_attention_heads when absent), rotary embeddings on the whole head in
// the half-split layout (rotate_half), base rope_theta, with the RoPE
// scaling of either schema ("linear", "llama3" or "yarn";
// detail::llama_rope_scaling); a gated SiLU MLP
// (gate_proj, up_proj, down_proj; Llama's with biases when mlp_bias); a
// final `model.norm`; an LM head `lm_head`, tied to the embeddings only when
// tie_word_embeddings.
//
// What differs between the members, all in the config they load:
//   Llama    biases on q, k, v and o when `attention_bias`; no window.
//   Mistral  no biases; every layer attends within `sliding_window`.
//   Qwen2    biases on q, k, v (always), none on o; with
//            `use_sliding_window`, the layers from `max_window_layers` on
//            (or those `layer_types` names "sliding_attention") attend
//            within `sliding_window`.
// The windows follow Transformers 5 by default: key j is visible from the
// query at position p iff p - w < j <= p (w keys). Read as 4.41's model code
// computes them (config_reader::follow, `--follow-transformers 4.41`), the
// eager mask lets p - w <= j <= p through (w + 1 keys), and Qwen2 windows
// every layer whatever use_sliding_window and max_window_layers say (they
// only steer 4.41's flash-attention path).
//
// The with-past features (and default and causal-lm) take `position_ids`
// as an input, as Optimum's exports do; sequence-classification counts
// positions on from the past (Optimum gives it no position_ids input).
//
// Derived families (Phi-3, Gemma) reuse llama_config and its loader:
// read_llama_fields() fills the fields every LlamaConfig-like config
// shares from a config_reader.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typeformer/core/fixed_string.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// LlamaConfig's fields with Transformers' Llama defaults, plus the field
/// Mistral and Qwen2 add (sliding_window) and the settings their model code
/// fixes (biases).
struct llama_config {
    static constexpr decoder_hooks hooks{.rotary = true, .windows = true, .attention_scale = true};
    std::int64_t vocab_size = 32000;
    std::int64_t hidden_size = 4096;
    std::int64_t intermediate_size = 11008;
    std::int64_t num_hidden_layers = 32;
    std::int64_t num_attention_heads = 32;
    std::int64_t num_key_value_heads = 0;  ///< None: num_attention_heads
    std::int64_t head_dim = 0;             ///< absent: hidden_size / num_attention_heads
    activation hidden_act = activation::silu;
    std::int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    double rope_linear_factor = 1.0;  ///< rope_scaling {"type": "linear", "factor": f}; 1: none
    /// The RoPE scalings that compute their own inverse frequencies
    /// (rope_type "llama3" or "yarn"); "linear" is rope_linear_factor.
    enum class rope_scaling_kind : std::uint8_t { none, llama3, yarn };
    rope_scaling_kind rope_scaling = rope_scaling_kind::none;
    double rope_factor = 1.0;                      ///< llama3, yarn: `factor`
    double rope_low_freq_factor = 1.0;             ///< llama3: `low_freq_factor`
    double rope_high_freq_factor = 4.0;            ///< llama3: `high_freq_factor`
    std::int64_t rope_original_max_positions = 0;  ///< llama3, yarn: `original_max_position_embeddings`
    double rope_beta_fast = 32.0;                  ///< yarn: `beta_fast`
    double rope_beta_slow = 1.0;                   ///< yarn: `beta_slow`
    bool rope_truncate = true;                     ///< yarn: `truncate`
    double rope_attention_factor = 1.0;            ///< yarn: sin and cos scaled by this
    /// Rotary embeddings on the first int(head size · f) features of each
    /// head (Phi-3's partial_rotary_factor; the Llama members refuse f != 1).
    double partial_rotary_factor = 1.0;
    /// The rotary pairs are neighbours (2i, 2i + 1), as ERNIE 4.5's and
    /// GLM's rotate_half turn them; false: the halves (i, i + R/2) of Llama's.
    bool rope_interleaved = false;
    bool attention_bias = false;      ///< Llama: biases on q, k, v and o
    bool qkv_bias_only = false;       ///< Qwen2: biases on q, k, v, none on o
    bool o_bias_only = false;         ///< SeedOSS (attention_out_bias): a bias on o without attention_bias
    bool mlp_bias = false;            ///< Llama: biases on gate, up and down
    std::int64_t pretraining_tp = 1;  ///< Llama: sliced matmuls, the same function
    std::int64_t sliding_window = 0;  ///< Mistral, Qwen2; 0: None (no window)
    /// Transformers 4.41's eager mask: a window of w keys lets w + 1 through (p - w <= j <= p).
    bool window_includes_edge = false;
    /// Qwen2 (5.x): the layers before this one see every key.
    std::int64_t first_window_layer = 0;
    /// Layers that see every key although the model has a window (SmolLM3's layer_types).
    layer_set full_attention_layers{};
    /// Layers without rotary embeddings (SmolLM3's no_rope_layers; empty: every layer rotates).
    layer_set no_rope_layers{};
    /// Transformers 5 writes rope_parameters keyed by layer type (Gemma 3):
    /// the RoPE settings above are its "full_attention" object's
    /// (detail::read_rope); false: that form is refused.
    bool rope_by_layer_type = false;
    /// Transformers 4.41's sequence-classification pooling (last_token_classifier).
    bool pool_before_first_pad = false;
    bool tie_word_embeddings = false;
    std::int64_t pad_token_id = -1;  ///< None
    std::int64_t num_labels = 2;

    [[nodiscard]] constexpr std::int64_t kv_heads() const {
        return num_key_value_heads > 0 ? num_key_value_heads : num_attention_heads;
    }
    [[nodiscard]] constexpr std::int64_t head_size() const {
        return head_dim > 0 ? head_dim : hidden_size / num_attention_heads;
    }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {vocab_size, hidden_size, num_attention_heads, intermediate_size, num_hidden_layers,
                max_position_embeddings, 0, hidden_act, static_cast<float>(rms_norm_eps), true, num_labels};
    }
    [[nodiscard]] constexpr kv_cache_shape cache() const { return {num_hidden_layers, kv_heads(), head_size()}; }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::rms; }
    /// The rotated features of each head: int(head size · partial_rotary_factor), as Transformers truncates it.
    [[nodiscard]] constexpr std::int64_t rotary_dims() const {
        return static_cast<std::int64_t>(static_cast<double>(head_size()) * partial_rotary_factor);
    }
    [[nodiscard]] rotary_spec rotary() const;
    [[nodiscard]] float attention_scale() const { return 1.f / std::sqrt(static_cast<float>(head_size())); }
    [[nodiscard]] constexpr bool qkv_bias() const { return attention_bias || qkv_bias_only; }
    [[nodiscard]] constexpr bool o_bias() const { return attention_bias || o_bias_only; }
    /// The span of the causal window (decoder_context: p - j < span) on
    /// the windowed layers: Transformers' sliding_window w (w + 1 as 4.41's
    /// eager mask reads it); 0 when no layer has a window.
    [[nodiscard]] constexpr std::int64_t any_window() const {
        if (sliding_window <= 0) return 0;
        bool windowed = false;
        for (std::int64_t l = first_window_layer; l < num_hidden_layers && !windowed; ++l)
            windowed = !full_attention_layers.has(l);
        return windowed ? sliding_window + (window_includes_edge ? 1 : 0) : 0;
    }
    [[nodiscard]] constexpr std::int64_t window(std::int64_t layer) const {
        return layer >= first_window_layer && !full_attention_layers.has(layer) ? any_window() : 0;
    }
    /// Whether layer `layer` applies the rotary embeddings.
    [[nodiscard]] constexpr bool rope_layer(std::int64_t layer) const { return !no_rope_layers.has(layer); }

    static constexpr void heads_rule(const llama_config& c) {
        require(c.num_attention_heads % c.kv_heads() == 0,
                "num_attention_heads must be a multiple of num_key_value_heads");
        require(c.head_dim > 0 || c.hidden_size % c.num_attention_heads == 0,
                "hidden_size must be divisible by num_attention_heads");
        require(c.partial_rotary_factor <= 1, "partial_rotary_factor must be at most 1");
        require(c.rotary_dims() > 0 && c.rotary_dims() % 2 == 0,
                "the rotary dimension must be even (rotary embeddings turn pairs of features)");
        require(c.rope_linear_factor >= 1, "the rope_scaling factor must be at least 1");
        require(c.rope_scaling == rope_scaling_kind::none || c.rope_original_max_positions > 0,
                "a llama3 or yarn RoPE scaling needs a positive original_max_position_embeddings");
        require(c.rope_scaling != rope_scaling_kind::llama3 ||
                    (c.rope_low_freq_factor > 0 && c.rope_high_freq_factor > c.rope_low_freq_factor),
                "the llama3 RoPE scaling needs 0 < low_freq_factor < high_freq_factor");
        require(c.rope_scaling != rope_scaling_kind::yarn || (c.rope_beta_fast > 0 && c.rope_beta_slow > 0),
                "the yarn RoPE scaling needs positive beta_fast and beta_slow");
    }
    static void read_rope_theta(const config_reader& r, llama_config& c);

    /// The rows every member of the family reads alike, and every rule.
    /// Each member adds the keys it reads its own way (llama_keys,
    /// mistral_keys, qwen2_keys, phi3_keys, gemma_keys); members no key of
    /// a member's table fills keep that member's defaults.
    using self = llama_config;
    using fields = field_table<
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"intermediate_size", &self::intermediate_size, rule::positive>,
        field<"num_hidden_layers", &self::num_hidden_layers, rule::non_negative>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        field<"num_key_value_heads", &self::num_key_value_heads, rule::non_negative, read::null_is<0>>,
        field<"head_dim", &self::head_dim, rule::non_negative>, internal<&self::hidden_act>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"rms_norm_eps", &self::rms_norm_eps, rule::positive>,
        internal<&self::rope_theta, rule::positive, "rope_theta">, reads<&self::read_rope_theta>,
        internal<&self::rope_linear_factor>, internal<&self::rope_scaling>,
        internal<&self::rope_factor, rule::positive, "the RoPE scaling factor">, internal<&self::rope_low_freq_factor>,
        internal<&self::rope_high_freq_factor>, internal<&self::rope_original_max_positions>,
        internal<&self::rope_beta_fast>, internal<&self::rope_beta_slow>, internal<&self::rope_truncate>,
        internal<&self::rope_attention_factor, rule::positive, "the RoPE attention factor">,
        internal<&self::partial_rotary_factor, rule::positive, "partial_rotary_factor">,
        internal<&self::attention_bias>, internal<&self::qkv_bias_only>, internal<&self::o_bias_only>,
        internal<&self::rope_interleaved>,
        internal<&self::mlp_bias>, internal<&self::pretraining_tp, rule::positive, "pretraining_tp">,
        internal<&self::sliding_window, rule::non_negative, "sliding_window">, true_under_4_41<&self::window_includes_edge>,
        internal<&self::first_window_layer, rule::non_negative, "max_window_layers">,
        internal<&self::full_attention_layers>, internal<&self::no_rope_layers>, internal<&self::rope_by_layer_type>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>,
        field<"pad_token_id", &self::pad_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>, rules<&self::heads_rule>,
        // Transformers 5's generic code: the kind of mask; validate_architecture looks for num_heads (it
        // compares head_dim · num_heads with an embed_dim these configs do not have)
        causal_key, no_effect<"num_heads", std::int64_t>,
        absent<"_rope_type_labels", "RoPE settings per layer type">>;
};

namespace detail {
/// The scaling type of a rope_scaling or rope_parameters object:
/// "rope_type", else the legacy "type" (Transformers 5's standardisation
/// sets rope_type from type only where rope_type is missing).
inline std::string rope_type_of(const config_reader& scaling, const char*& key) {
    std::string type, legacy;
    scaling.get("type", legacy);  // read (and type-checked) beside rope_type, as 5.x's standardisation reads it
    key = scaling.has("rope_type") ? "rope_type" : "type";
    scaling.get(key, type);
    return type;
}

/// The RoPE settings in either schema. Transformers 4.x writes `rope_theta`
/// at the top and the scaling as `rope_scaling` ({type or rope_type,
/// factor, ...}); Transformers 5 writes both into `rope_parameters`
/// ({rope_type, rope_theta, factor, ...}), with rope_type "default" for
/// none. Reads rope_theta from whichever is there (both, if they disagree:
/// config.invalid) and sets `scaling` to the object that describes a
/// scaling, if any; its `where()` names the key it came from.
/// `by_layer_type` (Gemma 3): Transformers 5 writes rope_parameters keyed by
/// layer type ({"full_attention": {...}, "sliding_attention": {...}}), and
/// the "full_attention" object is the one read here (the family reads the
/// other); otherwise that form is refused by name.
inline void read_rope(const config_reader& r, double& rope_theta, std::optional<config_reader>& scaling,
                      bool by_layer_type = false) {
    r.get("rope_theta", rope_theta);
    std::optional<config_reader> params;
    if (r.child("rope_parameters", params)) {
        for (const auto& [name, value] : params->object().items()) {
            if (!by_layer_type && value.is_object())
                throw error("config.unsupported", params->where() + ": /" + name +
                                                      ": RoPE settings per layer type are not supported");
            if (by_layer_type && ((name != "full_attention" && name != "sliding_attention") ||
                                  !(value.is_object() || value.is_null())))
                throw error("config.unsupported", params->where() + ": /" + name + ": " + value.dump() +
                                                      " is not supported (rope_parameters keyed by layer type: "
                                                      "\"full_attention\" and \"sliding_attention\" objects)");
        }
        if (by_layer_type) {
            std::optional<config_reader> full;
            if (params->child("full_attention", full)) params.emplace(*full);
            else params.reset();
        }
    }
    if (params) {
        if (params->has("rope_theta")) {
            double theta = rope_theta;
            params->get("rope_theta", theta);
            if (r.has("rope_theta") && theta != rope_theta)
                throw error("config.invalid", r.where() + ": /rope_theta and /rope_parameters/rope_theta disagree");
            rope_theta = theta;
        }
        const char* key = nullptr;
        const std::string type = rope_type_of(*params, key);
        if (!type.empty() && type != "default") scaling.emplace(*params);
    }
    std::optional<config_reader> legacy;
    if (r.child("rope_scaling", legacy)) {
        // the same scaling written both ways is fine: compare without rope_theta, "type" read as "rope_type"
        auto same_form = [](nlohmann::json j) {
            j.erase("rope_theta");
            if (j.contains("type") && !j.contains("rope_type")) j["rope_type"] = j["type"];
            j.erase("type");
            return j;
        };
        if (scaling && same_form(legacy->object()) != same_form(scaling->object()))
            throw error("config.invalid", r.where() + ": /rope_scaling and /rope_parameters disagree");
        if (!scaling) scaling.emplace(*legacy);
    }
}

}  // namespace detail

/// rope_theta from either schema (detail::read_rope); a scaling is each
/// member's to honour or refuse. partial_rotary_factor is read at the top
/// and in rope_parameters (where Transformers 5 moves it; that one wins, as
/// 5.x's setdefault keeps it); whether a member honours it is its own rule.
inline void llama_config::read_rope_theta(const config_reader& r, llama_config& c) {
    std::optional<config_reader> scaling;
    detail::read_rope(r, c.rope_theta, scaling, c.rope_by_layer_type);
    r.get("partial_rotary_factor", c.partial_rotary_factor);
    std::optional<config_reader> params;
    if (r.child("rope_parameters", params)) {
        std::optional<config_reader> full;
        if (c.rope_by_layer_type && params->child("full_attention", full)) params.emplace(*full);
        if (!c.rope_by_layer_type || full) params->get("partial_rotary_factor", c.partial_rotary_factor);
    }
}

namespace detail {
/// Llama 3.1's scaling (rope_type "llama3"): frequencies whose wavelength
/// exceeds original / low_freq_factor are divided by factor, those below
/// original / high_freq_factor kept, and those between blended smoothly.
inline std::vector<float> llama3_frequencies(const llama_config& c) {
    rotary_spec plain;
    plain.dims = c.rotary_dims();
    plain.base = c.rope_theta;
    auto f = rotary_inv_freq(plain, {});
    const double old_context = static_cast<double>(c.rope_original_max_positions);
    const float low_wavelen = static_cast<float>(old_context / c.rope_low_freq_factor);
    const float high_wavelen = static_cast<float>(old_context / c.rope_high_freq_factor);
    const float factor = static_cast<float>(c.rope_factor);
    const float low = static_cast<float>(c.rope_low_freq_factor), high = static_cast<float>(c.rope_high_freq_factor);
    for (auto& x : f) {
        const float wavelen = static_cast<float>(2 * std::numbers::pi) / x;
        const float scaled = wavelen > low_wavelen ? x / factor : x;
        if (wavelen < high_wavelen || wavelen > low_wavelen) {
            x = scaled;
        } else {
            const float smooth = (static_cast<float>(old_context) / wavelen - low) / (high - low);
            x = (1 - smooth) * scaled / factor + smooth * scaled;
        }
    }
    return f;
}

/// YaRN (rope_type "yarn"): each frequency blends its interpolated value
/// (divided by factor) with its original one, by a linear ramp between the
/// dimensions where beta_fast and beta_slow rotations fit into the original
/// context (floored and ceiled when `truncate`).
inline std::vector<float> yarn_frequencies(const llama_config& c) {
    const std::int64_t dims = c.rotary_dims();
    const double base = c.rope_theta, original = static_cast<double>(c.rope_original_max_positions);
    auto correction_dim = [&](double rotations) {
        return (static_cast<double>(dims) * std::log(original / (rotations * 2 * std::numbers::pi))) / (2 * std::log(base));
    };
    double low = correction_dim(c.rope_beta_fast), high = correction_dim(c.rope_beta_slow);
    if (c.rope_truncate) {
        low = std::floor(low);
        high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dims - 1));
    if (low == high) high += 0.001;  // as Transformers avoids the singularity
    std::vector<float> f(static_cast<std::size_t>(dims / 2));
    const float factor = static_cast<float>(c.rope_factor);
    for (std::size_t i = 0; i < f.size(); ++i) {
        const float pos_freq =
            std::pow(static_cast<float>(base), static_cast<float>(2 * i) / static_cast<float>(dims));
        const float extrapolation = 1.0f / pos_freq, interpolation = 1.0f / (factor * pos_freq);
        const float ramp = std::clamp((static_cast<float>(i) - static_cast<float>(low)) / static_cast<float>(high - low),
                                      0.0f, 1.0f);
        const float keep = 1 - ramp;  // the share of the original (extrapolated) frequency
        f[i] = interpolation * (1 - keep) + extrapolation * keep;
    }
    return f;
}
}  // namespace detail

inline rotary_spec llama_config::rotary() const {
    rotary_spec r;
    r.dims = rotary_dims();
    r.base = rope_theta;
    r.interleaved = rope_interleaved;
    r.position_scale = rope_linear_factor;
    switch (rope_scaling) {
        case rope_scaling_kind::llama3: r.inv_freq = detail::llama3_frequencies(*this); break;
        case rope_scaling_kind::yarn:
            r.inv_freq = detail::yarn_frequencies(*this);
            r.attention_factor = rope_attention_factor;
            break;
        case rope_scaling_kind::none: break;
    }
    return r;
}

namespace detail {
/// The RoPE scaling object of either schema (see read_rope), if any.
inline std::optional<config_reader> rope_scaling_of(const config_reader& r, bool by_layer_type = false) {
    double theta = 0;
    std::optional<config_reader> scaling;
    read_rope(r, theta, scaling, by_layer_type);
    return scaling;
}

/// Rotary embeddings on the whole head: Llama's, Mistral's, Qwen2's and
/// Gemma's apply_rotary_pos_emb multiply the whole head by cos and sin, so
/// a partial_rotary_factor other than 1 fails in Transformers; refused by name.
inline void whole_head_rotary(const config_reader& r, llama_config& c) {
    if (c.partial_rotary_factor != 1.0)
        throw error("config.unsupported",
                    r.where() + ": /partial_rotary_factor: " + std::to_string(c.partial_rotary_factor) +
                        " is not supported by this model type (its rotary embeddings turn the whole head)");
}

/// No RoPE scaling where the model code does not read it (a member whose
/// Transformers model applies none).
template <fixed_string Model>
void no_rope_scaling(const config_reader& r, llama_config& c) {
    if (const auto rs = rope_scaling_of(r, c.rope_by_layer_type))
        throw error("config.unsupported", rs->where() + ": a RoPE scaling is not read by Transformers' " +
                                              std::string(Model.view()) + ", so the export would be ambiguous");
}

/// Llama's pretraining_tp slices every projection; Transformers 4.41 drops
/// the remainder rows when it does not divide one, which no graph here computes.
inline void llama_tp_divides(const config_reader& r, llama_config& c) {
    if (const auto tp = c.pretraining_tp; tp > 1) {
        const auto D = c.head_size();
        if (c.intermediate_size % tp != 0 || (c.num_attention_heads * D) % tp != 0 || (c.kv_heads() * D) % tp != 0 ||
            c.hidden_size % tp != 0)
            throw error("config.unsupported",
                        r.where() + ": /pretraining_tp: " + std::to_string(tp) +
                            " does not divide every projection; Transformers 4.41 then drops the remainder rows");
    }
}

/// original_max_position_embeddings of a llama3, yarn or longrope scaling,
/// as Transformers 5 standardises it: the top-level key when config.json
/// has one (it wins), else the scaling's own, else max_position_embeddings.
inline std::int64_t rope_original_max(const config_reader& r, const config_reader& scaling, const llama_config& c) {
    std::int64_t original = c.max_position_embeddings;
    scaling.get("original_max_position_embeddings", original);
    r.get("original_max_position_embeddings", original);
    if (!(original > 0))
        throw error("config.invalid", r.where() + ": /original_max_position_embeddings: must be positive");
    return original;
}

/// A number of the scaling object that must be there.
inline double rope_number(const config_reader& scaling, const char* name) {
    if (!scaling.has(name)) throw error("config.invalid", scaling.where() + ": /" + name + ": missing");
    double v = 0;
    scaling.get(name, v);
    return v;
}

/// The RoPE scalings of Transformers' rope init functions that one graph
/// computes, in either schema (rope_scaling or rope_parameters, with
/// `type` or `rope_type`):
///   "linear"  positions divided by `factor` (> 1);
///   "llama3"  Llama 3.1's per-frequency smoothing (factor, low_freq_factor,
///             high_freq_factor, original_max_position_embeddings);
///   "yarn"    YaRN (factor, or null for max_position_embeddings /
///             original; beta_fast, beta_slow, truncate; sin and cos scaled
///             by attention_factor, or by 0.1 ln(factor) + 1, or the
///             mscale / mscale_all_dim ratio).
/// Refused by name: "dynamic" (NTK), which recomputes its frequencies when
/// a call is longer than any before and keeps them, even in Transformers
/// 5, so its output depends on earlier calls; "longrope", whose
/// per-frequency factors this config type does not hold (Phi-3 reads it);
/// any other type.
inline void llama_rope_scaling(const config_reader& r, llama_config& c) {
    const auto rs = rope_scaling_of(r, c.rope_by_layer_type);
    if (!rs) return;
    const char* key = nullptr;
    const std::string type = rope_type_of(*rs, key);
    if (type == "linear") {
        c.rope_linear_factor = rope_number(*rs, "factor");
        if (!(c.rope_linear_factor > 1))
            throw error("config.invalid", rs->where() + ": /factor: must be greater than 1");
    } else if (type == "llama3") {
        c.rope_scaling = llama_config::rope_scaling_kind::llama3;
        c.rope_factor = rope_number(*rs, "factor");
        c.rope_low_freq_factor = rope_number(*rs, "low_freq_factor");
        c.rope_high_freq_factor = rope_number(*rs, "high_freq_factor");
        c.rope_original_max_positions = rope_original_max(r, *rs, c);
        if (!(c.rope_factor > 0)) throw error("config.invalid", rs->where() + ": /factor: must be positive");
    } else if (type == "yarn") {
        c.rope_scaling = llama_config::rope_scaling_kind::yarn;
        c.rope_original_max_positions = rope_original_max(r, *rs, c);
        if (!rs->has("factor") && !rs->is_null("factor"))
            throw error("config.invalid", rs->where() + ": /factor: missing");
        c.rope_factor = static_cast<double>(c.max_position_embeddings) /
                        static_cast<double>(c.rope_original_max_positions);  // a null factor
        rs->get("factor", c.rope_factor);
        if (!(c.rope_factor > 0)) throw error("config.invalid", rs->where() + ": /factor: must be positive");
        // `beta_fast or 32`, `beta_slow or 1`: null and 0 take the default
        double fast = 0, slow = 0, mscale = 0, mscale_all_dim = 0, attention = 0;  // null: 0
        rs->get("beta_fast", fast);
        rs->get("beta_slow", slow);
        c.rope_beta_fast = fast != 0 ? fast : 32.0;
        c.rope_beta_slow = slow != 0 ? slow : 1.0;
        rs->get("truncate", c.rope_truncate);
        rs->get("mscale", mscale);
        rs->get("mscale_all_dim", mscale_all_dim);
        auto get_mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
        rs->get("attention_factor", attention);
        if (attention != 0) {
            c.rope_attention_factor = attention;
        } else if (mscale != 0 && mscale_all_dim != 0) {
            c.rope_attention_factor = get_mscale(c.rope_factor, mscale) / get_mscale(c.rope_factor, mscale_all_dim);
        } else {
            c.rope_attention_factor = get_mscale(c.rope_factor, 1.0);
        }
    } else {
        std::string why = "only \"linear\", \"llama3\" and \"yarn\"";
        if (type == "dynamic")
            why += "; dynamic NTK scaling recomputes its frequencies for a call longer than any before and keeps "
                   "them, even in Transformers 5, so its output depends on earlier calls and no one graph computes it";
        else if (type == "longrope")
            why += "; longrope's per-frequency factors are read for model_type phi3";
        throw error("config.unsupported", rs->where() + ": /" + key + ": \"" + type + "\" is not supported (" +
                                              why + ")");
    }
}
}  // namespace detail

/// The keys LlamaConfig adds to the shared rows.
using llama_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                          field<"attention_bias", &llama_config::attention_bias>,
                          field<"mlp_bias", &llama_config::mlp_bias>,
                          field<"pretraining_tp", &llama_config::pretraining_tp>,
                          reads<&detail::whole_head_rotary>, reads<&detail::llama_tp_divides>,
                          reads<&detail::llama_rope_scaling>>;

/// Mistral's and Qwen2's window: null is None (no window).
using window_key = field<"sliding_window", &llama_config::sliding_window, rule::any, read::null_is<0>>;

namespace detail {
/// Qwen2's windowed layers. 5.x: sliding_window only with
/// use_sliding_window, on the layers from max_window_layers on, or on those
/// layer_types names "sliding_attention" (which must be the last ones: a
/// window on an earlier layer is refused). 4.41: every layer, whatever
/// they say (their types are checked; it has no layer_types).
inline void qwen_windows(const config_reader& r, llama_config& c, bool as_4_41) {
    bool use = false;
    std::int64_t first = 28;
    r.get("use_sliding_window", use);
    r.get("max_window_layers", first);
    const auto* types = r.raw("layer_types");
    if (types && !types->is_array())
        throw error("config.type_error", r.where() + ": /layer_types: expected a list of strings, got " + types->dump());
    if (as_4_41) return;  // 4.41 reads none of them: every layer
    if (!use) c.sliding_window = 0;
    if (first < 0) throw error("config.invalid", r.where() + ": /max_window_layers: must not be negative");
    c.first_window_layer = first;
    if (!types) return;
    if (static_cast<std::int64_t>(types->size()) != c.num_hidden_layers)
        throw error("config.invalid", r.where() + ": /layer_types: " + std::to_string(types->size()) +
                                          " items for num_hidden_layers " + std::to_string(c.num_hidden_layers));
    c.first_window_layer = c.num_hidden_layers;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const auto& t = (*types)[static_cast<std::size_t>(i)];
        const bool sliding = t == "sliding_attention";
        if (!sliding && t != "full_attention")
            throw error("config.unsupported", r.where() + ": /layer_types/" + std::to_string(i) + ": " + t.dump() +
                                                  " is not supported (only \"full_attention\" and "
                                                  "\"sliding_attention\")");
        if (sliding && c.first_window_layer == c.num_hidden_layers) c.first_window_layer = i;
        if (!sliding && c.first_window_layer < i)
            throw error("config.unsupported",
                        r.where() + ": /layer_types: " + types->dump() +
                            " is not supported (windowed layers followed by a full-attention one; the windows "
                            "must be on the last layers, as max_window_layers puts them)");
    }
}
/// A model whose attention heads are always hidden_size / num_attention_heads
/// wide (GPT-NeoX, StableLM): a head_dim key that says otherwise is refused.
inline void head_dim_is_hidden_over_heads(const config_reader& r, llama_config& c) {
    if (c.head_dim > 0 && c.head_dim * c.num_attention_heads != c.hidden_size)
        throw error("config.unsupported", r.where() + ": /head_dim: " + std::to_string(c.head_dim) +
                                              " is not supported (the attention heads are hidden_size / "
                                              "num_attention_heads wide)");
}

/// A model type that came after Transformers 4.41 (Qwen3, OLMo 2): no 4.41
/// reading, whatever config_reader::follow says; its windows and pooling
/// are 5.x's.
inline void no_4_41_reading(const config_reader&, llama_config& c) {
    c.window_includes_edge = false;
    c.pool_before_first_pad = false;
}

/// Transformers 5's layer_types as a pattern of windows: the layers named
/// "sliding_attention" take the window, the "full_attention" ones see every
/// key (c.full_attention_layers); absent, `sliding(i)` says which. Any
/// other item is refused by name; up to layer_set::capacity layers.
template <class Default>
void read_layer_windows(const config_reader& r, llama_config& c, Default sliding) {
    const std::int64_t n = c.num_hidden_layers;
    const auto* types = r.raw("layer_types");
    if (n > layer_set::capacity)
        throw error("config.unsupported", r.where() + ": /num_hidden_layers: " + std::to_string(n) +
                                              " layers with per-layer windows (at most " +
                                              std::to_string(layer_set::capacity) + ")");
    if (types && (!types->is_array() || static_cast<std::int64_t>(types->size()) != n))
        throw error("config.invalid", r.where() + ": /layer_types: expected a list of " + std::to_string(n) +
                                          " strings, got " + types->dump());
    for (std::int64_t i = 0; i < n; ++i) {
        bool windowed = sliding(i);
        if (types) {
            const auto& t = (*types)[static_cast<std::size_t>(i)];
            if (t != "full_attention" && t != "sliding_attention")
                throw error("config.unsupported", r.where() + ": /layer_types/" + std::to_string(i) + ": " + t.dump() +
                                                      " is not supported (only \"full_attention\" and "
                                                      "\"sliding_attention\")");
            windowed = t == "sliding_attention";
        }
        if (!windowed) c.full_attention_layers.add(i);
    }
}

/// A model whose sliding layers take sliding_window (Gemma 3, OLMo 3): a
/// null (or non-positive) sliding_window where some layer slides is
/// refused (Transformers cannot build that model).
inline void sliding_layers_need_window(const config_reader& r, const llama_config& c) {
    bool sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) sliding = sliding || !c.full_attention_layers.has(i);
    if (sliding && c.sliding_window <= 0) {
        const std::string value = r.is_null("sliding_window") ? "null" : std::to_string(c.sliding_window);
        throw error("config.invalid", r.where() + ": /sliding_window: " + value +
                                          " with sliding layers (Transformers cannot build that model)");
    }
}

/// The sliding layers' RoPE of Transformers 5's rope_parameters keyed by
/// layer type (Gemma 3, OLMo 3): rope_parameters.sliding_attention's
/// rope_theta into `theta` (when `legacy_key` names a top-level key that
/// config.json also has, the two must agree: config.invalid otherwise); a
/// scaling there, or a partial_rotary_factor other than 1, is refused by
/// name (`model` names whose scaling is on the full-attention layers).
inline void read_sliding_rope(const config_reader& r, double& theta, const char* legacy_key, const char* model) {
    std::optional<config_reader> params, local;
    if (!r.child("rope_parameters", params) || !params->child("sliding_attention", local)) return;
    if (local->has("rope_theta")) {
        double t = theta;
        local->get("rope_theta", t);
        if (legacy_key && r.has(legacy_key) && t != theta)
            throw error("config.invalid", r.where() + ": /" + legacy_key +
                                              " and /rope_parameters/sliding_attention/rope_theta disagree");
        theta = t;
    }
    const char* key = nullptr;
    const std::string type = rope_type_of(*local, key);
    if (!type.empty() && type != "default")
        throw error("config.unsupported", local->where() + ": /" + key + ": \"" + type +
                                              "\" is not supported (a RoPE scaling on the sliding layers; " +
                                              model + "'s scaling is on the full-attention layers)");
    double factor = 1.0;
    local->get("partial_rotary_factor", factor);
    if (factor != 1.0)
        throw error("config.unsupported", local->where() + ": /partial_rotary_factor: " + std::to_string(factor) +
                                              " is not supported (" + model + " turns the whole head)");
}

inline void qwen2_windows(const config_reader& r, llama_config& c) {
    qwen_windows(r, c, r.follows() == follow_transformers::v4_41);
}
}  // namespace detail

/// The keys MistralConfig adds: the window and, as Llama's, the RoPE scaling.
using mistral_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                            reads<&detail::whole_head_rotary>,
                            reads<&detail::llama_rope_scaling>>;

/// The keys Qwen2Config adds: the windows and, as Llama's, the RoPE scaling.
using qwen2_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                          owns<"layer_types">, reads<&detail::qwen2_windows>, reads<&detail::whole_head_rotary>,
                          reads<&detail::llama_rope_scaling>>;

/// LlamaConfig from config.json.
inline llama_config llama_config_from_json(const config_reader& r) { return load_config<llama_config, llama_keys>(r); }

/// MistralConfig from config.json, with Mistral's defaults.
inline llama_config mistral_config_from_json(const config_reader& r) {
    llama_config c;
    c.intermediate_size = 14336;
    c.num_key_value_heads = 8;
    c.max_position_embeddings = 4096 * 32;
    c.sliding_window = 4096;
    return load_config<llama_config, mistral_keys>(r, c);
}

/// Qwen2Config from config.json, with Qwen2's defaults; q, k and v always
/// have biases.
inline llama_config qwen2_config_from_json(const config_reader& r) {
    llama_config c;
    c.vocab_size = 151936;
    c.intermediate_size = 22016;
    c.num_key_value_heads = 32;
    c.max_position_embeddings = 32768;
    c.sliding_window = 4096;
    c.qkv_bias_only = true;
    return load_config<llama_config, qwen2_keys>(r, c);
}

/// Module names of the Llama layout.
namespace llama_names {
struct layer {
    static constexpr std::string_view stack = "model.layers", norm_1 = "input_layernorm",
                                      norm_2 = "post_attention_layernorm", q = "self_attn.q_proj",
                                      k = "self_attn.k_proj", v = "self_attn.v_proj", o = "self_attn.o_proj",
                                      attention = "self_attn", gate = "mlp.gate_proj", up = "mlp.up_proj",
                                      down = "mlp.down_proj";
};
struct embeddings {
    static constexpr std::string_view word = "model.embed_tokens", position = "";
};
}  // namespace llama_names

/// Llama's MLP: the shared gated MLP, or with biases on gate, up and down
/// when the config's mlp_bias (LlamaMLP's Linears take bias=mlp_bias).
template <class Names>
struct llama_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        if (!c.mlp_bias) return gated_mlp<Names>::forward(b, x, c);
        const auto sh = c.shape();
        const auto H = sh.hidden_size, I = sh.intermediate_size;
        auto g = activate(b, sh.act, dense(b, Names::gate, x, H, I));
        return dense(b, Names::down, b.mul(g, dense(b, Names::up, x, H, I)), I, H);
    }
};

/// The features of the Llama family: Optimum's (feature-extraction,
/// text-generation, each with and without past, text-classification) by
/// their legacy names.
using llama_features = type_list<task::default_, task::default_with_past, task::causal_lm,
                                 task::causal_lm_with_past, task::sequence_classification>;

/// Optimum gives position_ids to feature-extraction and text-generation
/// (with and without past), not to text-classification or
/// token-classification.
template <class Task>
inline constexpr bool llama_takes_positions =
    !std::is_same_v<Task, task::sequence_classification> && !std::is_same_v<Task, task::token_classification>;

/// One member of the Llama family: `ModelType` as config.json names it,
/// `Config` its config type (llama_config or one derived from it), `Load`
/// its loader (config_reader -> Config), `Block` its decoder layer and
/// `Embedding` what its embeddings add (decoder_embedding_options: Gemma scales them),
/// `Features` its tasks, `TokenHead` its token classifier, where it has one,
/// and `Context` what its stack hands every block (decoder_context; Gemma 4
/// adds per-layer inputs).
template <fixed_string ModelType, class Config, auto Load,
          class Block = decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                      llama_mlp<llama_names::layer>>,
          decoder_embedding_options Embedding = decoder_embedding_options{}, class Features = llama_features,
          class TokenHead = void, class Context = decoder_context>
struct llama_like_family : family_base<ModelType, "model", Config, Load, Features> {
    using config = Config;
    /// The rotary inv_freq buffer older checkpoints carry.
    static std::vector<std::string> ignored() { return {"rotary_emb.inv_freq"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, llama_takes_positions<Task>>;

    template <class Task>
    using trunk = concat<std::conditional_t<llama_takes_positions<Task>, type_list<>, type_list<decoder_positions>>,
                         type_list<decoder_embeddings<llama_names::embeddings, Embedding>,
                                   decoder_stack<llama_names::layer, Block, Context, task::has_past<Task>>,
                                   decoder_final_norm<"model.norm">>>;
    using lm = decoder_lm_head<"lm_head", "model.embed_tokens.weight">;

    template <class Task>
    static auto layers(Task) -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, TokenHead>;
};

using llama_family = llama_like_family<"llama", llama_config, &llama_config_from_json>;
using mistral_family = llama_like_family<"mistral", llama_config, &mistral_config_from_json>;
using qwen2_family = llama_like_family<"qwen2", llama_config, &qwen2_config_from_json>;

/// Llama with a compile-time config: `struct tiny final : llama<llama_config{...}> {};`
template <llama_config C, class Task = task::default_>
struct llama : model_of<llama_family, Task> {
    static_assert(check(C));
    static constexpr llama_config config = C;
};

}  // namespace typeformer::inline v0
