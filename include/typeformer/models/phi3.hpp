// typeformer/models/phi3.hpp: Phi-3 (`model_type` "phi3"), a member of the
// Llama family (models/llama.hpp) with its own projections and rope scaling.
//
// What differs from Llama (Transformers 5; where 4.41 differs, read with
// follow_transformers::v4_41, it says so):
//   - one fused `self_attn.qkv_proj` (no bias): q is the first H·D rows,
//     then k (KVH·D), then v (KVH·D); `self_attn.o_proj` without bias;
//   - one fused `mlp.gate_up_proj` (no bias): the gate is the first half,
//     up the second; down_proj(up · act(gate));
//   - rope_scaling "su" (5.x: rope_parameters "longrope") or "yarn"
//     ({type, short_factor, long_factor}; 5.x computes "yarn" as
//     "longrope", 4.41 with its own attention factor): the
//     inverse frequencies are divided by the short factors, or by the long
//     ones when max(position_ids) + 1 > original_max_position_embeddings
//     (decided per forward call over the whole batch, as 4.41 does: a cache
//     keeps keys rotated with the factors of the call that made them), and
//     sin and cos are scaled by the scaling's attention_factor, else by
//     sqrt(1 + ln s / ln original) ("su") or 0.1 · ln s + 1 ("yarn"), s the
//     scaling's factor or max_position_embeddings / original (1 when s <= 1);
//   - partial_rotary_factor (Phi-4-mini): rotary embeddings on the first
//     int(head_dim · f) features of each head, the rest passed through;
//   - `sliding_window` (null: none), on every layer: key j is visible from
//     position p iff p - w < j <= p (4.41's eager mask: p - w <= j <= p).
// The head size is head_dim, or hidden_size / num_attention_heads.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// Phi3Config: LlamaConfig's fields with Phi-3's defaults, plus
/// original_max_position_embeddings and the "su"/"yarn" rope scaling.
struct phi3_config : llama_config {
    enum class rope_kind { none, su, yarn };
    std::int64_t original_max_position_embeddings = 4096;
    rope_kind rope = rope_kind::none;
    std::vector<double> short_factor{}, long_factor{};
    double longrope_factor = 0;            ///< the scaling's `factor`; 0: max_position_embeddings / original
    double longrope_attention_factor = 0;  ///< the scaling's `attention_factor`; 0: from the factor

    phi3_config() {
        vocab_size = 32064;
        hidden_size = 3072;
        intermediate_size = 8192;
        num_hidden_layers = 32;
        num_attention_heads = 32;
        max_position_embeddings = 4096;
        rms_norm_eps = 1e-5;
        pad_token_id = 32000;
    }

    /// sin and cos are scaled by this under rope_scaling: the scaling's
    /// attention_factor, else from s, its factor (or max_position_embeddings
    /// / original when it has none): 1 when s <= 1, else sqrt(1 + ln s / ln
    /// original) ("su", "longrope") or 0.1 · ln s + 1 ("yarn").
    [[nodiscard]] double rope_attention_factor() const {
        if (rope == rope_kind::none) return 1.0;
        if (longrope_attention_factor > 0) return longrope_attention_factor;
        const double s = longrope_factor > 0 ? longrope_factor
                                             : static_cast<double>(max_position_embeddings) /
                                                   static_cast<double>(original_max_position_embeddings);
        if (s <= 1.0) return 1.0;
        if (rope == rope_kind::su)
            return std::sqrt(1 + std::log(s) / std::log(static_cast<double>(original_max_position_embeddings)));
        return 0.1 * std::log(s) + 1.0;
    }
    [[nodiscard]] rotary_spec rotary() const {
        rotary_spec r = llama_config::rotary();
        if (rope != rope_kind::none) {
            r.inv_freq_divisors = short_factor;
            r.long_inv_freq_divisors = long_factor;
            r.original_max_positions = original_max_position_embeddings;
            r.attention_factor = rope_attention_factor();
        }
        return r;
    }

    using self = phi3_config;
    using fields = extend<llama_config::fields,
                          field<"original_max_position_embeddings", &self::original_max_position_embeddings,
                                rule::positive>,
                          internal<&self::rope>, internal<&self::short_factor>, internal<&self::long_factor>,
                          internal<&self::longrope_factor>, internal<&self::longrope_attention_factor>>;
};

namespace detail {
/// rope_scaling (4.x) or rope_parameters (5.x) must be null, rope_type
/// "default", or a scaling of type "su", "longrope" or "yarn" with
/// short_factor and long_factor, rotary dimension / 2 factors each. "longrope" is
/// Transformers 5's name for "su" (the same inverse frequencies and
/// attention factor); 5.x also writes and computes a 4.x "yarn" config as
/// "longrope", so a rope_type "longrope" is read as su whatever the legacy
/// "type" beside it says, as 5.x computes it. The scaling's factor and
/// attention_factor (5.x's longrope overrides) set the attention factor;
/// an original_max_position_embeddings inside the scaling that disagrees
/// with the top-level one is refused.
inline void phi3_rope_scaling(const config_reader& r, phi3_config& c) {
    const auto rs = rope_scaling_of(r);
    if (!rs) return;
    const char* key = nullptr;
    const std::string type = rope_type_of(*rs, key);
    if (type == "su" || type == "longrope") c.rope = phi3_config::rope_kind::su;
    else if (type == "yarn")  // 5.x reads a 4.x "yarn" as longrope, with longrope's attention factor
        c.rope = r.follows() == follow_transformers::v4_41 ? phi3_config::rope_kind::yarn : phi3_config::rope_kind::su;
    else
        throw error("config.unsupported", rs->where() + ": /" + key + ": \"" + type +
                                              "\" is not supported (only \"su\" or \"longrope\", and \"yarn\")");
    for (auto [name, value] : {std::pair{"factor", &c.longrope_factor},
                               std::pair{"attention_factor", &c.longrope_attention_factor}}) {
        rs->get(name, *value);  // null or absent: 0, derived
        if (rs->has(name) && !(*value > 0))
            throw error("config.invalid", rs->where() + ": /" + name + ": must be positive");
    }
    if (rs->has("original_max_position_embeddings")) {
        std::int64_t inner = 0;
        rs->get("original_max_position_embeddings", inner);
        if (r.has("original_max_position_embeddings") && inner != c.original_max_position_embeddings)
            throw error("config.invalid", rs->where() + ": /original_max_position_embeddings: " +
                                              std::to_string(inner) + " disagrees with the top-level " +
                                              std::to_string(c.original_max_position_embeddings));
        c.original_max_position_embeddings = inner;
    }
    const auto half = static_cast<std::size_t>(c.rotary_dims() / 2);
    for (const char* name : {"short_factor", "long_factor"}) {
        auto& f = std::string_view(name) == "short_factor" ? c.short_factor : c.long_factor;
        if (!rs->has(name)) throw error("config.invalid", rs->where() + ": /" + name + ": missing");
        rs->get(name, f);
        if (f.size() != half)
            throw error("config.invalid", rs->where() + ": /" + name + ": " + std::to_string(f.size()) +
                                              " factors, the rotary dimension needs " + std::to_string(half));
        for (double x : f)
            if (!(x > 0)) throw error("config.invalid", rs->where() + ": /" + name + ": factors must be positive");
    }
}
}  // namespace detail

/// The keys Phi3Config reads its own way: the window (null: none) and the
/// "su"/"yarn" rope scaling (head_dim and partial_rotary_factor as every
/// member reads them).
using phi3_keys = extend<phi3_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                         reads<&detail::phi3_rope_scaling>>;

/// Phi3Config from config.json.
inline phi3_config phi3_config_from_json(const config_reader& r) { return load_config<phi3_config, phi3_keys>(r); }

namespace phi3_names {
struct layer {
    static constexpr std::string_view norm_1 = "input_layernorm", norm_2 = "post_attention_layernorm";
};
}  // namespace phi3_names

/// Phi-3's attention: the fused `self_attn.qkv_proj` split into q, k, v
/// (in that order, no bias), the cached attention of the Llama family
/// (rotary, grouped-query heads, the window on every layer when set),
/// `self_attn.o_proj` (no bias).
struct phi3_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const auto kv = c.cache();
        const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
        const std::int64_t q_end = H * D, k_end = q_end + KVH * D, v_end = k_end + KVH * D;
        auto qkv = linear_no_bias(b, "self_attn.qkv_proj", x, sh.hidden_size, v_end);
        return detail::attend_and_project(b, "self_attn", "self_attn.o_proj", b.slice(qkv, -1, 0, q_end),
                                          b.slice(qkv, -1, q_end, k_end), b.slice(qkv, -1, k_end, v_end), t, c, layer,
                                          cache, true);
    }
};

/// Phi-3's MLP: the fused `mlp.gate_up_proj` (gate, then up), down_proj(up · act(gate)).
struct phi3_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        const auto sh = c.shape();
        const std::int64_t I = sh.intermediate_size;
        auto gate_up = linear_no_bias(b, "mlp.gate_up_proj", x, sh.hidden_size, 2 * I);
        auto h = b.mul(b.slice(gate_up, -1, I, 2 * I), activate(b, sh.act, b.slice(gate_up, -1, 0, I)));
        return linear_no_bias(b, "mlp.down_proj", h, I, sh.hidden_size);
    }
};

/// Phi-3's features: the model with and without past, the causal LM with and
/// without past, and sequence classification (positions counted from the
/// past, as Phi3ForSequenceClassification passes none).
using phi3_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                task::sequence_classification>;

/// The family, validated at atol 5e-5: under LongRoPE past
/// original_max_position_embeddings (its attention factor scales sin and
/// cos), ONNX Runtime and the reference pass differ by up to 1.3e-5 at the
/// validation's random inputs on an AVX-512 machine (float32 round-off of
/// logits up to 9); the reference still matches Transformers within 1e-5
/// on the fixtures.
struct phi3_family : llama_like_family<"phi3", phi3_config, &phi3_config_from_json,
                                       decoder_block<phi3_names::layer, phi3_attention, phi3_mlp>,
                                       decoder_embedding_options{}, phi3_features> {
    static constexpr double atol = 5e-5;
};

}  // namespace typeformer::inline v0
