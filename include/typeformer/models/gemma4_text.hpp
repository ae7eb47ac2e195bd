// typeformer/models/gemma4_text.hpp: Gemma 4's text model (`model_type`
// "gemma4_text", Gemma4ForCausalLM), a member of the Llama family
// (models/llama.hpp) laid out as Gemma 2 and 3 (four norms per layer, q/k
// norms per head, models/gemma3_text.hpp's names).
//
// What differs from Gemma 3, as Transformers 5 computes it (Gemma 4 came
// with 5.x: there is no 4.x reading):
//   - the norms are RMSNorm · weight (not 1 + weight), eps rms_norm_eps,
//     as x · (1 / sqrt(mean(x²) + eps)) (torch's pow(·, -0.5));
//     q and k normalised per head with a weight, v normalised per head
//     without one (`self_attn.v_norm` has no parameters); the scores are
//     not scaled (scaling 1: the norms set the scale), not soft-capped;
//   - per-layer inputs (hidden_size_per_layer_input P > 0, 256 by
//     default): a second table `model.embed_tokens_per_layer` [V', L·P]
//     (V' = vocab_size_per_layer_input) gathered at input_ids times √P,
//     plus `model.per_layer_model_projection` (hidden -> L·P, times
//     hidden^-0.5) of the scaled embeddings, RMS-normalised per layer
//     (`model.per_layer_projection_norm`, [P]); their sum times 2^-0.5,
//     [B, S, L, P]; after its MLP, layer i adds
//     post_per_layer_input_norm(per_layer_projection(act(per_layer_input_gate(h)) · in_i));
//     then every layer's output is multiplied by its `layer_scalar` [1]
//     (a checkpoint buffer);
//   - RoPE per layer type: rope_parameters {"full_attention": {...},
//     "sliding_attention": {...}}, each "default" (inverse frequencies over
//     the whole head) or "proportional" (the first int(f · D // 2)
//     frequencies θ^(-2i/D), the rest 0, so those pairs (i, i + D/2) stay
//     unturned; divided by `factor`); any other type is refused;
//   - the sliding layers (layer_types, by default all but every sixth; the
//     last layer is always full, as Gemma4TextConfig forces it) see the last
//     sliding_window keys; final_logit_softcapping caps the logits;
//   - attention_k_eq_v: the full-attention layers have no v_proj, their
//     values are the k_proj output (v-normalised, not rotated).
//   - the full-attention layers' own sizes: global_head_dim (512 by
//     default) for their q/k/v/o projections, q/k/v norms, RoPE table and
//     cache, and, with attention_k_eq_v, num_global_key_value_heads
//     key/value heads (5.x's saved form: per_layer_config, the same
//     overrides on every full-attention layer); the sliding layers keep
//     head_dim and num_key_value_heads. The cache is Llama's names,
//     past_key_values.{i}.key/.value for every layer, each input stating
//     its layer's heads and head size.
//   - shared keys and values (num_kv_shared_layers N > 0): the last N
//     layers compute no keys or values; each attends to those of the last
//     earlier layer of its own type (past included), and has no cache
//     entry: the cache holds past_key_values.{i} for the first L - N
//     layers only, as Transformers' cache does. use_double_wide_mlp
//     doubles those layers' MLP width.
//   - the MoE block (enable_moe_block): beside every layer's MLP, experts
//     routed from the MLP's input (the residual): a router (RMSNorm
//     without weight, times `router.scale` and hidden^-0.5, a Linear to
//     num_experts, softmax, the top_k_experts renormalised, times
//     `router.per_expert_scale`), the experts' gated MLPs of width
//     moe_intermediate_size (`experts.gate_up_proj`, `experts.down_proj`)
//     on pre_feedforward_layernorm_2 of the residual; the MLP's output
//     through post_feedforward_layernorm_1 plus the experts' through
//     post_feedforward_layernorm_2, then the layer's post-feedforward norm.
// Refused by name, as not exact here yet: a per_layer_config of another
// form and a bidirectional mask on text (use_bidirectional_attention
// "all"; "vision" only concerns image tokens, and is read).
// Gemma 4's text model has no sequence or token classification head.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/models/gemma3_text.hpp"

namespace typeformer::inline v0 {

/// One layer type's RoPE (a rope_parameters entry).
struct gemma4_rope {
    double theta = 10000.0;
    double proportion = 1.0;  ///< "proportional": partial_rotary_factor; "default": 1
    double factor = 1.0;      ///< "proportional": factor (inv_freq divided by it)
};

/// Gemma4TextConfig: LlamaConfig's fields with the per-layer inputs, the
/// two RoPE settings, the logit cap and k = v.
struct gemma4_text_config : llama_config {
    static constexpr decoder_hooks hooks{.rotary = true, .windows = true, .attention_scale = true,
                                         .softcaps = true, .local_rotary = true, .kv_sharing = true};
    double final_logit_softcapping = 0;  ///< 0: null (none)
    std::int64_t hidden_size_per_layer_input = 256;  ///< 0: no per-layer inputs
    std::int64_t vocab_size_per_layer_input = 262144;
    bool attention_k_eq_v = false;
    /// The full-attention layers' head size (global_head_dim) and key/value
    /// heads (num_global_key_value_heads with attention_k_eq_v); 0: head_dim,
    /// num_key_value_heads.
    std::int64_t global_head_dim = 0, global_kv_heads = 0;
    std::int64_t num_kv_shared_layers = 0;  ///< the last layers, sharing earlier layers' keys and values
    bool use_double_wide_mlp = false;       ///< the sharing layers' MLP twice intermediate_size wide
    bool enable_moe_block = false;
    std::int64_t num_experts = 0, top_k_experts = 0, moe_intermediate_size = 0;  ///< 0: null
    gemma4_rope full_rope{1000000.0, 0.25, 1.0};
    gemma4_rope sliding_rope{10000.0, 1.0, 1.0};

    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::rms_reciprocal; }
    [[nodiscard]] float attention_scale() const { return 1.f; }
    [[nodiscard]] constexpr decoder_softcaps softcaps() const {
        return {0.f, static_cast<float>(final_logit_softcapping)};
    }
    /// Whether layer `layer` has the full-attention layers' sizes.
    [[nodiscard]] constexpr bool global_layer(std::int64_t layer) const {
        return layer >= 0 && layer < num_hidden_layers && full_attention_layers.has(layer);
    }
    [[nodiscard]] constexpr std::int64_t full_head_size() const {
        return global_head_dim > 0 ? global_head_dim : head_size();
    }
    [[nodiscard]] constexpr std::int64_t full_kv_heads() const {
        return global_kv_heads > 0 ? global_kv_heads : kv_heads();
    }
    /// Layer i's head size and key/value heads.
    [[nodiscard]] constexpr std::int64_t layer_head_size(std::int64_t layer) const {
        return global_layer(layer) ? full_head_size() : head_size();
    }
    [[nodiscard]] constexpr std::int64_t layer_kv_heads(std::int64_t layer) const {
        return global_layer(layer) ? full_kv_heads() : kv_heads();
    }
    /// The first layer that shares an earlier layer's keys and values.
    [[nodiscard]] constexpr std::int64_t first_shared_layer() const { return num_hidden_layers - num_kv_shared_layers; }
    /// The layer whose keys and values layer `layer` attends to: the last
    /// layer of its type before the sharing ones; -1: its own.
    [[nodiscard]] constexpr std::int64_t kv_source(std::int64_t layer) const {
        if (layer < first_shared_layer()) return -1;
        const bool full = full_attention_layers.has(layer);
        for (std::int64_t j = first_shared_layer() - 1; j >= 0; --j)
            if (full_attention_layers.has(j) == full) return j;
        return -1;
    }
    /// Layer i's MLP width (twice intermediate_size on a sharing layer with use_double_wide_mlp).
    [[nodiscard]] constexpr std::int64_t layer_intermediate(std::int64_t layer) const {
        return intermediate_size * (use_double_wide_mlp && layer >= first_shared_layer() ? 2 : 1);
    }
    [[nodiscard]] constexpr moe_spec moe() const {
        return {.experts = num_experts, .top_k = top_k_experts, .intermediate = moe_intermediate_size,
                .normalize = true, .fused_experts = true};
    }
    static constexpr void sharing_rule(const gemma4_text_config& c) {
        require(c.num_kv_shared_layers < c.num_hidden_layers,
                "num_kv_shared_layers must be below num_hidden_layers (a layer must compute keys and values)");
        for (std::int64_t i = c.first_shared_layer(); i < c.num_hidden_layers; ++i)
            require(c.kv_source(i) >= 0, "num_kv_shared_layers: a sharing layer's type (layer_types) must "
                                         "be the type of an earlier, non-sharing layer");
    }
    static constexpr void moe_rule(const gemma4_text_config& c) {
        if (!c.enable_moe_block) return;
        require(c.num_experts > 0 && c.moe_intermediate_size > 0 && c.top_k_experts > 0,
                "enable_moe_block needs num_experts, top_k_experts and moe_intermediate_size");
        require(c.top_k_experts <= c.num_experts, "top_k_experts must be at most num_experts");
    }
    /// The cache: the sliding layers' sizes, the full-attention layers' own;
    /// the layers before the sharing ones.
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        kv_cache_shape kv{first_shared_layer(), kv_heads(), head_size()};
        for (std::int64_t i = 0; i < num_hidden_layers; ++i)
            if (global_layer(i)) kv.own_layers.add(i);
        kv.own_kv_heads = full_kv_heads();
        kv.own_head_dim = full_head_size();
        return kv;
    }
    /// A layer type's table over the whole head of D features: inv_freq as
    /// Transformers' default / proportional init computes it in float32.
    [[nodiscard]] rotary_spec rope_of(const gemma4_rope& p, std::int64_t D) const {
        rotary_spec r;
        r.dims = D;
        r.base = p.theta;
        r.interleaved = false;
        const auto angles = static_cast<std::int64_t>(std::floor(p.proportion * static_cast<double>(D) / 2));
        r.inv_freq.assign(static_cast<std::size_t>(D / 2), 0.f);
        for (std::int64_t i = 0; i < angles && i < D / 2; ++i) {
            const float e = static_cast<float>(2 * i) / static_cast<float>(D);
            float f = 1.0f / std::pow(static_cast<float>(p.theta), e);
            if (p.factor != 1.0) f /= static_cast<float>(p.factor);
            r.inv_freq[static_cast<std::size_t>(i)] = f;
        }
        return r;
    }
    [[nodiscard]] rotary_spec rotary() const { return rope_of(full_rope, full_head_size()); }
    [[nodiscard]] rotary_spec local_rotary() const { return rope_of(sliding_rope, head_size()); }
    /// Whether layer `layer` takes v from k (attention_k_eq_v, full-attention layers).
    [[nodiscard]] constexpr bool k_is_v(std::int64_t layer) const {
        return attention_k_eq_v && full_attention_layers.has(layer);
    }

    using base_config = llama_config;
    using self = gemma4_text_config;
    using fields = extend<llama_config::fields,
                          field<"final_logit_softcapping", &self::final_logit_softcapping, rule::non_negative,
                                read::null_is<0.0>>,
                          field<"hidden_size_per_layer_input", &self::hidden_size_per_layer_input,
                                rule::non_negative, read::null_is<std::int64_t{0}>>,
                          field<"vocab_size_per_layer_input", &self::vocab_size_per_layer_input, rule::positive>,
                          field<"attention_k_eq_v", &self::attention_k_eq_v>,
                          field<"num_kv_shared_layers", &self::num_kv_shared_layers, rule::non_negative>,
                          field<"use_double_wide_mlp", &self::use_double_wide_mlp>,
                          field<"enable_moe_block", &self::enable_moe_block>,
                          field<"num_experts", &self::num_experts, rule::non_negative, read::null_is<std::int64_t{0}>>,
                          field<"top_k_experts", &self::top_k_experts, rule::non_negative,
                                read::null_is<std::int64_t{0}>>,
                          field<"moe_intermediate_size", &self::moe_intermediate_size, rule::non_negative,
                                read::null_is<std::int64_t{0}>>,
                          rules<&self::sharing_rule>, rules<&self::moe_rule>, internal<&self::global_head_dim>,
                          internal<&self::global_kv_heads>, internal<&self::full_rope>,
                          internal<&self::sliding_rope>>;
};

namespace detail {
/// rope_parameters keyed by layer type: "default" or "proportional" each
/// (partial_rotary_factor, factor); other types refused by name; the
/// top-level rope_theta and partial_rotary_factor fill what an object
/// leaves out (5.x's standardisation); a layer type some layer has must be
/// there. The Llama rows' partial_rotary_factor (the full layers') is this
/// reader's.
inline void gemma4_rope_params(const config_reader& r, gemma4_text_config& c) {
    c.partial_rotary_factor = 1.0;  // the tables turn the whole head (proportional's zeros included)
    std::optional<config_reader> params;
    if (!r.child("rope_parameters", params)) return;  // null or absent: Gemma4TextConfig's defaults
    // 5.x's standardize_rope_params: the top-level rope_theta and partial_rotary_factor fill what a
    // layer type's object leaves out
    std::optional<double> top_theta, top_proportion;
    if (r.has("rope_theta") && !r.is_null("rope_theta")) r.get("rope_theta", top_theta.emplace());
    if (r.has("partial_rotary_factor") && !r.is_null("partial_rotary_factor"))
        r.get("partial_rotary_factor", top_proportion.emplace());
    auto one = [&](const char* type_name, gemma4_rope& p, bool used) {
        std::optional<config_reader> t;
        if (!params->child(type_name, t)) {
            if (used)
                throw error("config.invalid", params->where() + ": /" + type_name +
                                                  ": missing, and a layer is of that type (Transformers cannot "
                                                  "build that model)");
            return;
        }
        if (t->has("rope_theta")) t->get("rope_theta", p.theta);
        else if (top_theta) p.theta = *top_theta;
        else throw error("config.invalid", t->where() + ": /rope_theta: missing");
        const char* key = nullptr;
        std::string type = rope_type_of(*t, key);
        if (type.empty()) type = "default";
        double proportion = top_proportion.value_or(1.0), factor = 1.0;
        t->get("partial_rotary_factor", proportion);
        t->get("factor", factor);
        if (type == "default") {
            p.proportion = 1.0;  // Gemma 4's default init turns the whole head whatever it says
            p.factor = 1.0;
        } else if (type == "proportional") {
            if (!(proportion > 0 && proportion <= 1))
                throw error("config.invalid", t->where() + ": /partial_rotary_factor: must be in (0, 1]");
            if (!(factor > 0)) throw error("config.invalid", t->where() + ": /factor: must be positive");
            p.proportion = proportion;
            p.factor = factor;
        } else {
            throw error("config.unsupported", t->where() + ": /" + key + ": \"" + type +
                                                  "\" is not supported (Gemma 4: \"default\" and \"proportional\")");
        }
        if (!(p.theta > 0)) throw error("config.invalid", t->where() + ": /rope_theta: must be positive");
    };
    bool full = false, sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
        (c.full_attention_layers.has(i) ? full : sliding) = true;
    one("full_attention", c.full_rope, full);
    one("sliding_attention", c.sliding_rope, sliding);
}

/// The layer types: layer_types, else every sixth layer full; the last
/// layer full whatever they say (Gemma4TextConfig forces it).
inline void gemma4_windows(const config_reader& r, gemma4_text_config& c) {
    read_layer_windows(r, c, [](std::int64_t i) { return (i + 1) % 6 != 0; });
    if (c.num_hidden_layers > 0) c.full_attention_layers.add(c.num_hidden_layers - 1);
    bool sliding = false;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) sliding = sliding || !c.full_attention_layers.has(i);
    if (sliding && c.sliding_window <= 0)
        throw error("config.invalid", r.where() + ": /sliding_window: must be positive with sliding layers");
}

/// The full-attention layers' sizes. config.json as the hub has it:
/// global_head_dim (512 by default) and, with attention_k_eq_v,
/// num_global_key_value_heads (null: num_key_value_heads). As 5.x's to_dict
/// writes it: per_layer_config, by layer index, the overrides of the layers
/// that differ (head_dim, num_key_value_heads), and the two keys above not
/// read. Here every full-attention layer must have the same overrides and
/// no sliding layer any (what Gemma4TextConfig itself makes); another
/// per_layer_config is refused by name.
inline void gemma4_layer_heads(const config_reader& r, gemma4_text_config& c) {
    const std::int64_t D = c.head_size(), KVH = c.kv_heads();
    std::int64_t global = 512, global_kv = KVH;
    if (const auto* per = r.raw("per_layer_config"); per && !per->is_null()) {
        (void)r.has("global_head_dim");  // popped and unused when per_layer_config is there
        (void)r.has("num_global_key_value_heads");
        auto refuse = [&](const std::string& what) {
            throw error("config.unsupported", r.where() + ": /per_layer_config" + what +
                                                  " is not supported (Gemma 4: the full-attention layers' "
                                                  "head_dim and num_key_value_heads, alike on every one)");
        };
        if (!per->is_object()) refuse(": " + per->dump());
        global = D;
        bool first = true;
        for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
            const auto key = std::to_string(i);
            const bool full = c.full_attention_layers.has(i);
            std::int64_t d = D, kvh = KVH;
            if (per->contains(key)) {
                const auto& o = (*per)[key];
                if (!o.is_object()) refuse("/" + key + ": " + o.dump());
                for (const auto& [k, v] : o.items()) {
                    if ((k != "head_dim" && k != "num_key_value_heads") || !v.is_number_integer() ||
                        v.get<std::int64_t>() <= 0)
                        refuse("/" + key + "/" + k + ": " + v.dump());
                    (k == "head_dim" ? d : kvh) = v.get<std::int64_t>();
                }
                if (!full && (d != D || kvh != KVH)) refuse("/" + key + " (a sliding layer): " + o.dump());
            }
            if (!full) continue;
            if (!first && (d != global || kvh != global_kv))
                refuse("/" + key + ": " + (per->contains(key) ? (*per)[key].dump() : std::string("{}")) +
                       " (another full-attention layer's differ)");
            global = d, global_kv = kvh, first = false;
        }
        for (const auto& [k, v] : per->items()) {
            std::size_t used = 0;
            std::int64_t i = -1;
            try {
                i = std::stoll(k, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != k.size() || i < 0 || i >= c.num_hidden_layers) refuse("/" + k + ": " + v.dump());
        }
    } else {
        r.get("global_head_dim", global);
        if (r.is_null("num_global_key_value_heads")) (void)r.has("num_global_key_value_heads");
        else if (c.attention_k_eq_v) r.get("num_global_key_value_heads", global_kv);
        else {
            std::int64_t unused = 0;  // read by Gemma4TextConfig, used only with attention_k_eq_v
            r.get("num_global_key_value_heads", unused);
        }
        if (global <= 0) throw error("config.invalid", r.where() + ": /global_head_dim: must be positive");
        if (global_kv <= 0)
            throw error("config.invalid", r.where() + ": /num_global_key_value_heads: must be positive");
    }
    if (c.num_attention_heads % global_kv != 0)
        throw error("config.invalid", r.where() + ": the full-attention layers' " + std::to_string(global_kv) +
                                          " key/value heads do not divide num_attention_heads " +
                                          std::to_string(c.num_attention_heads));
    c.global_head_dim = global;
    c.global_kv_heads = global_kv;
}

/// use_bidirectional_attention: null, or "vision" (only image and video
/// tokens, marked by mm_token_type_ids, see each other; text is causal, and
/// the export takes text alone); "all" (every token every other: not a
/// causal model, and the sliding window halved) is refused by name.
inline void gemma4_bidirectional(const config_reader& r, gemma4_text_config&) {
    const auto* v = r.raw("use_bidirectional_attention");
    (void)r.has("use_bidirectional_attention");
    if (!v || v->is_null() || (v->is_boolean() && !v->get<bool>()) || (v->is_string() && v->get<std::string>() == "vision"))
        return;
    throw error("config.unsupported", r.where() + ": /use_bidirectional_attention: " + v->dump() +
                                          " is not supported (a bidirectional mask in a causal model; null and "
                                          "\"vision\" are)");
}
}  // namespace detail

/// The keys Gemma4TextConfig reads beyond the Llama rows (see the header).
using gemma4_text_keys =
    extend<gemma4_text_config::fields, field<"hidden_activation", &llama_config::hidden_act>,
           field<"attention_bias", &llama_config::attention_bias>, window_key, owns<"layer_types">,
           reads<&detail::no_4_41_reading>, reads<&detail::gemma4_windows>, reads<&detail::gemma4_rope_params>,
           reads<&detail::gemma4_layer_heads>, owns<"per_layer_config">,
           // 5.x's per-layer config machinery (class settings) and an output flag
           no_effect<"allow_global_per_layer_attribute_access", bool>, no_effect<"per_layer_attributes", any_json>,
           no_effect<"output_router_logits", bool>,
           absent<"rope_scaling", "Gemma 4's RoPE settings are rope_parameters keyed by layer type">,
           reads<&detail::gemma4_bidirectional>>;

/// Gemma4TextConfig from config.json, with Gemma 4's defaults.
inline gemma4_text_config gemma4_text_config_from_json(const config_reader& r) {
    gemma4_text_config c;
    c.vocab_size = 262144;
    c.hidden_size = 2304;
    c.intermediate_size = 9216;
    c.num_hidden_layers = 30;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = 256;
    c.hidden_act = activation::gelu_new;  // gelu_pytorch_tanh
    c.max_position_embeddings = 131072;
    c.pad_token_id = 0;
    c.tie_word_embeddings = true;
    c.sliding_window = 512;
    c.rope_theta = 1000000.0;
    c.rope_by_layer_type = true;
    return load_config<gemma4_text_config, gemma4_text_keys>(r, c);
}

/// Module names of Gemma 4's layer: Gemma 3's, the v norm and the per-layer input's.
namespace gemma4_text_names {
struct layer : gemma3_text_names::layer {
    static constexpr std::string_view v_norm = "self_attn.v_norm", ple_gate = "per_layer_input_gate",
                                      ple_projection = "per_layer_projection",
                                      ple_norm = "post_per_layer_input_norm", scalar = "layer_scalar",
                                      router = "router", experts = "experts",
                                      pre_experts_norm = "pre_feedforward_layernorm_2",
                                      post_mlp_norm = "post_feedforward_layernorm_1",
                                      post_experts_norm = "post_feedforward_layernorm_2";
};
struct per_layer {
    static constexpr std::string_view table = "model.embed_tokens_per_layer",
                                      projection = "model.per_layer_model_projection",
                                      norm = "model.per_layer_projection_norm";
};
}  // namespace gemma4_text_names

/// decoder_context, and the per-layer inputs [B, S, P] of every layer
/// (decoder_tables::per_layer) from input_ids and the scaled embeddings.
struct gemma4_text_context {
    using reads = decoder_context::reads;

    template <Backend B, class Io, DecoderConfig C>
    static decoder_tables<typename B::value> make(B& b, const Io& s, const C& c) {
        auto t = decoder_context::make<B>(b, s, c);
        const std::int64_t P = c.hidden_size_per_layer_input, L = c.num_hidden_layers, H = c.hidden_size;
        if (P <= 0) return t;
        using names = gemma4_text_names::per_layer;
        typename B::value tokens;
        {
            auto guard = b.scope(names::table);
            tokens = b.gather(b.param("weight", {c.vocab_size_per_layer_input, L * P}), s[sl::input_ids]);
            tokens = b.mul(tokens, b.scalar(static_cast<float>(std::sqrt(static_cast<double>(P)))));
        }
        auto projected = linear_no_bias(b, names::projection, s[sl::hidden_states], H, L * P);
        projected = b.mul(projected, b.scalar(static_cast<float>(std::pow(static_cast<double>(H), -0.5))));
        projected = rms_norm_reciprocal(b, names::norm, b.reshape(projected, {0, 0, L, P}), P,
                                        static_cast<float>(c.rms_norm_eps));
        auto all = b.mul(b.add(projected, b.reshape(tokens, {0, 0, L, P})),
                         b.scalar(static_cast<float>(std::pow(2.0, -0.5))));
        for (std::int64_t i = 0; i < L; ++i) t.per_layer.push_back(b.select(all, 2, i));
        return t;
    }
};

/// Gemma 4's attention: q and k normalised per head (· weight), v per head
/// without a weight, v from k_proj on the layers the config's k_is_v names;
/// on a sharing layer, q only (the keys and values are the cache's
/// shared ones); the rest is the Llama family's (attend_and_project).
template <class Names>
struct gemma4_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const auto kv = c.cache().of_layer(layer);
        const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
        const bool bias = c.qkv_bias();
        auto per_head = [&](const typename B::value& y, std::int64_t heads) { return b.reshape(y, {0, 0, heads, D}); };
        auto merged = [&](const typename B::value& y, std::int64_t heads) { return b.reshape(y, {0, 0, heads * D}); };
        auto q = merged(rms_norm_reciprocal(b, Names::q_norm,
                                            per_head(linear(b, Names::q, x, sh.hidden_size, H * D, bias), H), D, sh.eps),
                        H);
        if (cache.shared_key)  // an earlier layer's keys and values (kv_source): no k or v of its own
            return detail::attend_and_project(b, Names::attention, Names::o, q, q, q, t, c, layer, cache, true);
        auto k_raw = linear(b, Names::k, x, sh.hidden_size, KVH * D, bias);
        auto v_raw = c.k_is_v(layer) ? k_raw : linear(b, Names::v, x, sh.hidden_size, KVH * D, bias);
        auto k = merged(rms_norm_reciprocal(b, Names::k_norm, per_head(k_raw, KVH), D, sh.eps), KVH);
        auto v = merged(rms_norm_reciprocal(b, Names::v_norm, per_head(v_raw, KVH), D, sh.eps, false), KVH);
        return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, true);
    }
};

/// Gemma 4's layer: Gemma 2's four norms around attention and MLP (the
/// MLP layer_intermediate(layer) wide), the MoE block beside the MLP where
/// the config enables it, then the per-layer input (when the tables have
/// them), then times `layer_scalar`.
template <class Names, class Attention>
struct gemma4_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const std::int64_t H = sh.hidden_size, I = c.layer_intermediate(layer);
        auto rms = [&](std::string_view scope, const typename B::value& y, std::int64_t n, bool weight = true) {
            return rms_norm_reciprocal(b, scope, y, n, sh.eps, weight);
        };
        auto a = Attention::forward(b, rms(Names::norm_1, x, H), t, c, layer, cache);
        auto h = b.add(x, rms(Names::post_norm_1, a, H));
        auto in = rms(Names::norm_2, h, H);
        auto g = activate(b, sh.act, linear_no_bias(b, Names::gate, in, H, I));
        auto m = linear_no_bias(b, Names::down, b.mul(g, linear_no_bias(b, Names::up, in, H, I)), I, H);
        if (c.enable_moe_block) {
            const moe_spec spec = c.moe();
            const std::int64_t E = spec.experts;
            typename B::value logits;
            {
                auto guard = b.scope(Names::router);
                auto r = rms("norm", h, H, false);
                r = b.mul(b.mul(r, b.param("scale", {H})),
                          b.scalar(static_cast<float>(std::pow(static_cast<double>(H), -0.5))));
                logits = linear_no_bias(b, "proj", r, H, E);
            }
            auto weights = detail::moe_weights(b, logits, spec);
            {
                auto guard = b.scope(Names::router);
                weights = b.mul(weights, b.param("per_expert_scale", {E}));
            }
            auto e = detail::fused_experts(b, Names::experts, rms(Names::pre_experts_norm, h, H), weights, E, H,
                                           spec.intermediate, sh.act);
            m = b.add(rms(Names::post_mlp_norm, m, H), rms(Names::post_experts_norm, e, H));
        }
        h = b.add(h, rms(Names::post_norm_2, m, H));
        if (!t.per_layer.empty()) {
            const std::int64_t P = c.hidden_size_per_layer_input;
            auto pg = activate(b, sh.act, linear_no_bias(b, Names::ple_gate, h, H, P));
            pg = b.mul(pg, t.per_layer[static_cast<std::size_t>(layer)]);
            auto p = linear_no_bias(b, Names::ple_projection, pg, P, H);
            h = b.add(h, rms(Names::ple_norm, p, H));
        }
        return b.mul(h, b.param(Names::scalar, {1}));
    }
};

/// Gemma 4's text features: the Llama family's less sequence classification.
using gemma4_text_features =
    type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past>;

/// The family, validated at atol 1e-4: ONNX Runtime and the reference
/// pass differ by up to 5e-5 at the validation's random inputs and caches
/// (unscaled scores of normalised q and k, an input added after every
/// layer: float32 round-off grows more than in Gemma 3); the reference
/// still matches Transformers within 1e-5 on the fixtures.
struct gemma4_text_family
    : llama_like_family<"gemma4_text", gemma4_text_config, &gemma4_text_config_from_json,
                        gemma4_block<gemma4_text_names::layer, gemma4_attention<gemma4_text_names::layer>>,
                        decoder_embedding_options{.scale_by_sqrt_hidden = true}, gemma4_text_features, void,
                        gemma4_text_context> {
    static constexpr double atol = 1e-4;
    using llama_like_family::ignored;
    /// The sharing layers' key/value projections and norms, which the
    /// released checkpoints store and Transformers does not load.
    static std::vector<std::string> ignored(const gemma4_text_config& c) {
        auto v = ignored();
        for (std::int64_t i = c.first_shared_layer(); i < c.num_hidden_layers; ++i)
            for (const char* part : {"k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias", "k_norm.weight",
                                     "v_norm.weight"})
                v.push_back("model.layers." + std::to_string(i) + ".self_attn." + part);
        return v;
    }
};

}  // namespace typeformer::inline v0
