// typeformer/models/llama.hpp: the Llama family as one family template:
// Llama (`model_type` "llama"), Mistral ("mistral") and Qwen2 ("qwen2").
//
// Word embeddings `model.embed_tokens` (no learned positions); pre-norm
// blocks with RMSNorm (`input_layernorm`, `post_attention_layernorm`);
// attention with separate q/k/v/o Linears, grouped-query heads
// (num_key_value_heads), rotary embeddings on the whole head in the
// half-split layout (rotate_half), base rope_theta; a gated SiLU MLP
// (gate_proj, up_proj, down_proj; Llama's with biases when mlp_bias); a
// final `model.norm`; an LM head `lm_head`, tied to the embeddings only when
// tie_word_embeddings.
//
// What differs between the members, all in the config they load:
//   Llama    biases on q, k, v and o when `attention_bias`; rope_scaling
//            "linear" (positions divided by the factor); no window.
//   Mistral  no biases; every layer attends within `sliding_window`.
//   Qwen2    biases on q, k, v (always), none on o; every layer attends
//            within `sliding_window`.
// The windows are what Transformers 4.41's eager attention computes: the
// mask of _prepare_4d_causal_attention_mask(..., sliding_window=w) for every
// layer, where key j is visible from the query at position p iff
// p - w <= j <= p (w + 1 keys). Qwen2's use_sliding_window and
// max_window_layers only steer the flash-attention path there, so they do
// not change the eager model; the loader checks their types and ignores them.
//
// The with-past features (and default and causal-lm) take `position_ids`
// as an input, as Optimum's exports do; sequence-classification counts
// positions on from the past (Optimum gives it no position_ids input).
//
// Derived families (Phi-3, Gemma) reuse llama_config and its loader:
// read_llama_fields() fills the fields every LlamaConfig-like config
// shares from a config_reader.
#pragma once

#include <cmath>
#include <cstdint>
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
    bool attention_bias = false;      ///< Llama: biases on q, k, v and o
    bool qkv_bias_only = false;       ///< Qwen2: biases on q, k, v, none on o
    bool mlp_bias = false;            ///< Llama: biases on gate, up and down
    std::int64_t pretraining_tp = 1;  ///< Llama: sliced matmuls, the same function
    std::int64_t sliding_window = 0;  ///< Mistral, Qwen2; 0: None (no window)
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
    [[nodiscard]] rotary_spec rotary() const {
        rotary_spec r;
        r.dims = head_size();
        r.base = rope_theta;
        r.interleaved = false;
        r.position_scale = rope_linear_factor;
        return r;
    }
    [[nodiscard]] float attention_scale() const { return 1.f / std::sqrt(static_cast<float>(head_size())); }
    [[nodiscard]] constexpr bool qkv_bias() const { return attention_bias || qkv_bias_only; }
    [[nodiscard]] constexpr bool o_bias() const { return attention_bias; }
    /// The span of the causal window (decoder_context: p - j < span): w + 1
    /// for Transformers' sliding_window w, the same on every layer.
    [[nodiscard]] constexpr std::int64_t any_window() const { return sliding_window > 0 ? sliding_window + 1 : 0; }
    [[nodiscard]] constexpr std::int64_t window(std::int64_t /*layer*/) const { return any_window(); }

    static constexpr void heads_rule(const llama_config& c) {
        require(c.num_attention_heads % c.kv_heads() == 0,
                "num_attention_heads must be a multiple of num_key_value_heads");
        require(c.head_dim > 0 || c.hidden_size % c.num_attention_heads == 0,
                "hidden_size must be divisible by num_attention_heads");
        require(c.head_size() % 2 == 0, "the head size must be even (rotary embeddings turn pairs of features)");
        require(c.rope_linear_factor >= 1, "the rope_scaling factor must be at least 1");
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
        internal<&self::rope_linear_factor>, internal<&self::attention_bias>, internal<&self::qkv_bias_only>,
        internal<&self::mlp_bias>, internal<&self::pretraining_tp, rule::positive, "pretraining_tp">,
        internal<&self::sliding_window, rule::non_negative, "sliding_window">,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        labels<&self::num_labels>, rules<&self::heads_rule>>;
};

namespace detail {
/// The RoPE settings in either schema. Transformers 4.x writes `rope_theta`
/// at the top and the scaling as `rope_scaling` ({type or rope_type,
/// factor, ...}); Transformers 5 writes both into `rope_parameters`
/// ({rope_type, rope_theta, factor, ...}), with rope_type "default" for
/// none. Reads rope_theta from whichever is there (both, if they disagree:
/// config.invalid) and sets `scaling` to the object that describes a
/// scaling, if any; its `where()` names the key it came from.
inline void read_rope(const config_reader& r, double& rope_theta, std::optional<config_reader>& scaling) {
    r.get("rope_theta", rope_theta);
    std::optional<config_reader> params;
    if (r.child("rope_parameters", params)) {
        if (params->has("rope_theta")) {
            double theta = rope_theta;
            params->get("rope_theta", theta);
            if (r.has("rope_theta") && theta != rope_theta)
                throw error("config.invalid", r.where() + ": /rope_theta and /rope_parameters/rope_theta disagree");
            rope_theta = theta;
        }
        std::string type = "default";
        params->get(params->has("rope_type") ? "rope_type" : "type", type);
        if (type != "default") scaling.emplace(*params);
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

/// The scaling type of a rope_scaling or rope_parameters object ("type" or "rope_type").
inline std::string rope_type_of(const config_reader& scaling, const char*& key) {
    std::string type;
    key = scaling.has("rope_type") ? "rope_type" : "type";
    scaling.get(key, type);
    return type;
}
}  // namespace detail

/// rope_theta from either schema (detail::read_rope); a scaling is each member's to honour or refuse.
/// Rotary embeddings turn the whole head here: a partial_rotary_factor (at
/// the top, or in rope_parameters as Transformers 5 writes it) other than 1
/// is refused by name.
inline void llama_config::read_rope_theta(const config_reader& r, llama_config& c) {
    std::optional<config_reader> scaling;
    detail::read_rope(r, c.rope_theta, scaling);
    std::optional<config_reader> params;
    (void)r.child("rope_parameters", params);
    const config_reader* places[] = {&r, params ? &*params : nullptr};
    for (const config_reader* where : places) {
        double partial = 1.0;
        if (where) where->get("partial_rotary_factor", partial);
        if (partial != 1.0)
            throw error("config.unsupported", where->where() + ": /partial_rotary_factor: " + std::to_string(partial) +
                                                  " is not supported (rotary embeddings on the whole head only)");
    }
}

namespace detail {
/// The RoPE scaling object of either schema (see read_rope), if any.
inline std::optional<config_reader> rope_scaling_of(const config_reader& r) {
    double theta = 0;
    std::optional<config_reader> scaling;
    read_rope(r, theta, scaling);
    return scaling;
}

/// Transformers 4.41's Llama, Mistral and Qwen2 have no head_dim: the head
/// size is hidden_size / num_attention_heads whatever config.json says. A
/// head_dim that differs is a checkpoint of a later version; refuse it.
inline void llama_head_dim_agrees(const config_reader& r, llama_config& c) {
    if (c.head_dim > 0 && c.num_attention_heads > 0 && c.head_dim * c.num_attention_heads != c.hidden_size)
        throw error("config.unsupported",
                    r.where() + ": /head_dim: " + std::to_string(c.head_dim) +
                        " differs from hidden_size / num_attention_heads (Transformers 4.41, which the export "
                        "matches, ignores head_dim)");
}

/// No RoPE scaling where the model code does not read it.
template <fixed_string Model>
void no_rope_scaling(const config_reader& r, llama_config&) {
    if (const auto rs = rope_scaling_of(r))
        throw error("config.unsupported", rs->where() + ": a RoPE scaling is not read by Transformers 4.41's " +
                                              std::string(Model.view()) +
                                              " (later versions apply it), so the export would be ambiguous");
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

/// Llama's rope_scaling: "linear" (factor divides the positions) only.
/// "dynamic" (NTK) is refused: in Transformers 4.41 it recomputes inv_freq
/// when a sequence is longer than max_position_embeddings and keeps the
/// result in the module, so the output depends on what the model ran
/// before; no graph reproduces that.
inline void llama_rope_scaling(const config_reader& r, llama_config& c) {
    const auto rs = rope_scaling_of(r);
    if (!rs) return;
    const char* key = nullptr;
    const std::string type = rope_type_of(*rs, key);
    if (type != "linear")
        throw error("config.unsupported",
                    rs->where() + ": /" + key + ": \"" + type + "\" is not supported (only \"linear\"" +
                        (type == "dynamic" ? "; Transformers 4.41's dynamic NTK scaling keeps state between "
                                             "calls, so no one graph computes it"
                                           : "") +
                        ")");
    if (!rs->has("factor")) throw error("config.invalid", rs->where() + ": /factor: missing");
    rs->get("factor", c.rope_linear_factor);
    if (!(c.rope_linear_factor > 1)) throw error("config.invalid", rs->where() + ": /factor: must be greater than 1");
}
}  // namespace detail

/// The keys LlamaConfig adds to the shared rows.
using llama_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>,
                          field<"attention_bias", &llama_config::attention_bias>,
                          field<"mlp_bias", &llama_config::mlp_bias>,
                          field<"pretraining_tp", &llama_config::pretraining_tp>,
                          reads<&detail::llama_head_dim_agrees>, reads<&detail::llama_tp_divides>,
                          reads<&detail::llama_rope_scaling>>;

/// Mistral's and Qwen2's window: null is None (no window).
using window_key = field<"sliding_window", &llama_config::sliding_window, rule::any, read::null_is<0>>;

/// The keys MistralConfig adds: the window; a RoPE scaling is refused.
using mistral_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                            reads<&detail::llama_head_dim_agrees>, reads<&detail::no_rope_scaling<"Mistral">>>;

/// The keys Qwen2Config adds: the window; a RoPE scaling is refused.
using qwen2_keys = extend<llama_config::fields, field<"hidden_act", &llama_config::hidden_act>, window_key,
                          // use_sliding_window and max_window_layers only steer the flash-attention path
                          // in Transformers 4.41; its eager path, which the export matches, windows every layer
                          no_effect<"use_sliding_window", bool>, no_effect<"max_window_layers", std::int64_t>,
                          reads<&detail::llama_head_dim_agrees>, reads<&detail::no_rope_scaling<"Qwen2">>>;

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

/// Optimum gives position_ids to every feature but text-classification.
template <class Task>
inline constexpr bool llama_takes_positions = !std::is_same_v<Task, task::sequence_classification>;

/// One member of the Llama family: `ModelType` as config.json names it,
/// `Config` its config type (llama_config or one derived from it), `Load`
/// its loader (config_reader -> Config), `Block` its decoder layer and
/// `Embedding` what its embeddings add (decoder_embedding_options: Gemma scales them).
template <fixed_string ModelType, class Config, auto Load,
          class Block = decoder_block<llama_names::layer, projected_attention<llama_names::layer>,
                                      llama_mlp<llama_names::layer>>,
          decoder_embedding_options Embedding = decoder_embedding_options{}, class Features = llama_features>
struct llama_like_family : family_base<ModelType, "model", Config, Load, Features> {
    using config = Config;
    /// The rotary inv_freq buffer older checkpoints carry.
    static std::vector<std::string> ignored() { return {"rotary_emb.inv_freq"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, llama_takes_positions<Task>>;

    template <class Task>
    using trunk = concat<std::conditional_t<llama_takes_positions<Task>, type_list<>, type_list<decoder_positions>>,
                         type_list<decoder_embeddings<llama_names::embeddings, Embedding>,
                                   decoder_stack<llama_names::layer, Block, decoder_context, task::has_past<Task>>,
                                   decoder_final_norm<"model.norm">>>;
    using lm = decoder_lm_head<"lm_head", "model.embed_tokens.weight">;

    template <class Task>
    static auto layers(Task) -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">>;
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
