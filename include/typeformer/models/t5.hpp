// typeformer/models/t5.hpp: T5 and mT5 (layers/t5.hpp), exported in
// Optimum's layout as the BART family is (models/bart.hpp): default (one
// graph, the decoder's last_hidden_state), seq2seq-lm (encoder_model,
// decoder_model) and seq2seq-lm-with-past (and decoder_with_past_model).
//
// As Transformers 5 computes them:
//   - the FFN from feed_forward_proj: "relu" (wi, wo) or "gated-gelu"
//     (wi_0 through gelu_new times wi_1, wo); config.json's dense_act_fn and
//     is_gated_act, which 5.x saves and reads back over the ones
//     feed_forward_proj implies, must agree with it;
//   - the LM head is `shared` unless the checkpoint stores an lm_head.weight
//     of its own (5.x forces tie_word_embeddings true and unties a stored,
//     different lm_head when loading: T5 v1.1's and mT5's checkpoints);
//   - T5 scales the decoder's output by d_model^-0.5 before the head where
//     scale_decoder_outputs (config.json's, null: false; absent: whether
//     tie_word_embeddings is not false); mT5 never does;
//   - the attribute_map aliases (hidden_size, num_attention_heads,
//     num_hidden_layers, head_dim) are read over d_model, num_heads,
//     num_layers and d_kv after num_decoder_layers has taken num_layers'
//     value where it is null, as 5.x sets them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/seq2seq.hpp"
#include "typeformer/layers/t5.hpp"
#include "typeformer/models/bart.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// T5Config and MT5Config (the defaults are T5's; mT5 starts from its own).
struct t5_config {
    std::int64_t vocab_size = 32128;
    std::int64_t d_model = 512;
    std::int64_t d_kv = 64;
    std::int64_t d_ff = 2048;
    std::int64_t num_layers = 6;
    std::int64_t num_decoder_layers = -1;  ///< null: num_layers
    std::int64_t num_heads = 8;
    std::int64_t relative_attention_num_buckets = 32;
    std::int64_t relative_attention_max_distance = 128;
    double layer_norm_epsilon = 1e-6;
    std::int64_t num_labels = 2;
    /// from feed_forward_proj: "gated-gelu" (true) or "relu" (false)
    bool gated = false;
    /// T5: the decoder's output times d_model^-0.5 before the LM head
    bool scale_decoder_outputs = true;
    /// mT5: the config's scale_decoder_outputs and tie_word_embeddings have no effect
    bool mt5 = false;

    using self = t5_config;
    static void read_t5(const config_reader& r, t5_config& c);
    static constexpr void t5_rules(const t5_config& c) {
        require(c.relative_attention_num_buckets >= 4, "relative_attention_num_buckets must be at least 4");
        require(2 * c.relative_attention_max_distance > c.relative_attention_num_buckets,
                "relative_attention_max_distance must exceed relative_attention_num_buckets / 2");
    }
    using fields = field_table<
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"d_model", &self::d_model, rule::positive>,
        field<"d_kv", &self::d_kv, rule::positive>, field<"d_ff", &self::d_ff, rule::positive>,
        field<"num_layers", &self::num_layers, rule::non_negative>,
        field<"num_decoder_layers", &self::num_decoder_layers, rule::positive_or<std::int64_t{-1}>,
              read::null_is<std::int64_t{-1}>>,
        field<"num_heads", &self::num_heads, rule::positive>,
        field<"relative_attention_num_buckets", &self::relative_attention_num_buckets, rule::positive>,
        field<"relative_attention_max_distance", &self::relative_attention_max_distance, rule::positive>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>, labels<&self::num_labels>,
        internal<&self::gated>, internal<&self::scale_decoder_outputs>, internal<&self::mt5>,
        // feed_forward_proj, dense_act_fn, is_gated_act, scale_decoder_outputs, tie_word_embeddings and the
        // attribute_map aliases
        reads<&self::read_t5>, rules<&self::t5_rules>,
        no_effect<"rope_parameters", any_json>,
        absent<"is_causal", "Transformers 5 reads it as the kind of mask, which its eager and SDPA paths apply "
                            "differently">,
        // training only: dropout, the initialisation's factor
        no_effect<"dropout_rate", double>, no_effect<"initializer_factor", double>,
        // an encoder-decoder, whatever the keys say: the export builds T5's classes, which set is_decoder per stack
        no_effect<"is_encoder_decoder", bool>, no_effect<"is_decoder", bool>,
        // generation and training settings: the graphs compute one step's logits; the caller decodes
        no_effect<"use_cache", bool>, no_effect<"decoder_start_token_id", std::int64_t>,
        no_effect<"pad_token_id", std::int64_t>, no_effect<"bos_token_id", std::int64_t>,
        no_effect<"eos_token_id", any_json>,
        // generate()'s default max_length (_get_stopping_criteria): T5 has no position table
        no_effect<"max_position_embeddings", std::int64_t>,
        // 4.41's tie_weights ties the encoder's weights to the decoder's when it is true
        never<"tie_encoder_decoder", "the encoder's weights tied to the decoder's">>;

    [[nodiscard]] constexpr std::int64_t decoder_layers() const {
        return num_decoder_layers >= 0 ? num_decoder_layers : num_layers;
    }
    [[nodiscard]] constexpr t5_shape t5() const {
        return {vocab_size,
                d_model,
                num_heads,
                d_kv,
                d_ff,
                num_layers,
                decoder_layers(),
                relative_attention_num_buckets,
                relative_attention_max_distance,
                static_cast<float>(layer_norm_epsilon),
                gated,
                scale_decoder_outputs && !mt5};
    }
    [[nodiscard]] constexpr seq2seq_cache_shape seq2seq_cache() const {
        return {decoder_layers(), num_heads, d_kv};
    }
    /// The numbers validation inputs need (vocabulary; no position table).
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = d_model,
                .num_heads = num_heads,
                .intermediate_size = d_ff,
                .num_layers = decoder_layers(),
                .max_positions = 1 << 20,
                .type_vocab_size = 0,
                .act = gated ? activation::gelu_new : activation::relu,
                .eps = static_cast<float>(layer_norm_epsilon),
                .causal = false,
                .num_labels = num_labels};
    }
};

inline void t5_config::read_t5(const config_reader& r, t5_config& c) {
    const auto bad = [&](const char* key, const std::string& what) {
        throw error("config.unsupported", r.where() + ": /" + key + ": " + what);
    };
    // the FFN: feed_forward_proj, then 5.x's saved dense_act_fn and is_gated_act over what it implies
    std::string proj = c.gated ? "gated-gelu" : "relu";  // the family's default (mT5: gated-gelu)
    if (r.has("feed_forward_proj")) r.get("feed_forward_proj", proj);
    if (proj != "relu" && proj != "gated-gelu")
        bad("feed_forward_proj", "\"" + proj + "\" is not supported (\"relu\" and \"gated-gelu\" are)");
    c.gated = proj == "gated-gelu";
    const std::string act = c.gated ? "gelu_new" : "relu";
    if (r.has("dense_act_fn")) {
        std::string a;
        r.get("dense_act_fn", a);
        if (a != act)
            bad("dense_act_fn", "\"" + a + "\" is not supported with feed_forward_proj \"" + proj + "\" (which uses " +
                                    act + "; Transformers reads dense_act_fn over it)");
    }
    if (r.has("is_gated_act")) {
        bool g = false;
        r.get("is_gated_act", g);
        if (g != c.gated)
            bad("is_gated_act", std::string(g ? "true" : "false") + " is not supported with feed_forward_proj \"" +
                                    proj + "\" (Transformers reads is_gated_act over it)");
    }
    // the LM head's scale (T5 only): scale_decoder_outputs as saved (null: false), else tie_word_embeddings
    // is not false
    bool tie = true;
    if (r.has("tie_word_embeddings")) r.get("tie_word_embeddings", tie);
    c.scale_decoder_outputs = tie;
    if (r.has("scale_decoder_outputs")) r.get("scale_decoder_outputs", c.scale_decoder_outputs);
    else if (r.is_null("scale_decoder_outputs")) c.scale_decoder_outputs = false;
    // num_decoder_layers takes num_layers before the aliases apply
    if (c.num_decoder_layers < 0) c.num_decoder_layers = c.num_layers;
    const auto alias = [&](const char* key, std::int64_t& field) {
        if (r.has(key)) r.get(key, field);
    };
    alias("hidden_size", c.d_model);
    alias("num_attention_heads", c.num_heads);
    alias("num_hidden_layers", c.num_layers);
    alias("head_dim", c.d_kv);
}

/// A config.json of T5 or mT5.
inline t5_config t5_config_from_json(const config_reader& r) { return load_config<t5_config>(r); }
inline t5_config mt5_config_from_json(const config_reader& r) {
    return load_config<t5_config>(r, t5_config{.vocab_size = 250112, .d_ff = 1024, .num_layers = 8, .num_heads = 6,
                                               .gated = true, .mt5 = true});
}

/// T5's, mT5's and LongT5's features, inputs and layers:
/// seq2seq_family_layers' inputs, T5's blocks, the encoder `Encoder`
/// (t5_encoder with T5's self-attention, or LongT5's).
template <class Encoder = t5_encoder<>>
struct t5_family_layers_of {
    using features = type_list<task::default_, task::seq2seq_default_with_past, task::seq2seq_lm,
                               task::seq2seq_lm_with_past>;
    using base = seq2seq_family_layers<seq2seq_style{}>;

    // the decoder's first layer's cross-attention has no relative_attention_bias, which older checkpoints
    // store (Transformers ignores it on load); the default feature of a checkpoint with the LM head
    static std::vector<std::string> ignored() {
        return {"decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight", "lm_head.weight"};
    }

    static auto inputs(task::default_) -> decltype(base::inputs(task::default_{}));
    static auto layers(task::default_)
        -> type_list<Encoder, t5_decoder<seq2seq_step::no_cache, "decoder_input_ids", "attention_mask">,
                     expose_hidden_states>;
    static auto outputs(task::default_) -> decltype(base::outputs(task::default_{}));
    // seq2seq-lm as one graph (--monolith)
    static auto monolith(task::seq2seq_lm) -> task::seq2seq_lm_monolith;
    static auto inputs(task::seq2seq_lm_monolith) -> decltype(base::inputs(task::default_{}));
    static auto layers(task::seq2seq_lm_monolith)
        -> type_list<Encoder, t5_decoder<seq2seq_step::no_cache, "decoder_input_ids", "attention_mask">,
                     t5_lm_head<>>;

    static auto inputs(task::encoder_part) -> base::encoder_inputs;
    static auto layers(task::encoder_part)
        -> type_list<Encoder, rename_slot<"encoder_hidden_states", "last_hidden_state">>;
    template <bool Lm, bool Cache>
    static auto inputs(task::decoder_part<Lm, Cache>) -> base::decoder_inputs;
    template <bool Lm, bool Cache>
    static auto layers(task::decoder_part<Lm, Cache>)
        -> type_list<t5_decoder<Cache ? seq2seq_step::first : seq2seq_step::no_cache>,
                     std::conditional_t<Lm, t5_lm_head<>, expose_hidden_states>>;
    template <bool Lm>
    static auto inputs(task::decoder_with_past_part<Lm>) -> base::later_inputs;
    template <bool Lm>
    static auto layers(task::decoder_with_past_part<Lm>)
        -> type_list<t5_decoder<seq2seq_step::later>, std::conditional_t<Lm, t5_lm_head<>, expose_hidden_states>>;
};
using t5_family_layers = t5_family_layers_of<>;

struct t5_family : family_base<"t5", "", t5_config, &t5_config_from_json, type_list<>>, t5_family_layers {
    using features = t5_family_layers::features;
};
/// mT5 validates at atol 5e-5 (T5 at 1e-5): its LM head is never rescaled
/// by d_model^-0.5, so the float32 round-off of the decoder's output reaches
/// the logits unshrunk. Measured with one graph (--monolith) at 9 decoder
/// tokens: ONNX Runtime and the reference 1.3e-5 apart, each within
/// 1.1e-5 of Transformers in float64, where Transformers' own float32 is
/// 7e-6 from it. The legacy table's mT5 tolerance is 5e-4.
struct mt5_family : family_base<"mt5", "", t5_config, &mt5_config_from_json, type_list<>>, t5_family_layers {
    using features = t5_family_layers::features;
    static constexpr double atol = 5e-5;
};

}  // namespace typeformer::inline v0
