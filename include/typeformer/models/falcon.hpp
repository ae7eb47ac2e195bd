// typeformer/models/falcon.hpp: Falcon (`model_type` "falcon": Falcon-7B,
// 40B, 180B, Falcon-RW-1B, Falcon-11B), on the Llama family's config and
// rotary tables (models/llama.hpp) and the shared decoder layers.
//
// What sets it apart, as Transformers computes it (4.41 and 5.x alike, but
// for the points below):
//   - one fused `self_attention.query_key_value` (FalconLinear, a bias when
//     `bias`) whose output is laid out by the architecture:
//       new_decoder_architecture  per key/value group g (num_kv_heads of
//                                 them), H / num_kv_heads query heads, then
//                                 its key, then its value; the key and value
//                                 are repeated over the group's query heads
//                                 and the cache holds H heads;
//       multi_query               H query heads, then one key and one value
//                                 head (the cache holds 1 head);
//       neither                   per head q, k, v (BLOOM's interleaving),
//                                 num_kv_heads must be H;
//   - the layer: new_decoder_architecture with num_ln_in_parallel_attn 2
//     (None reads as 2): y = x + (MLP(ln_mlp(x)) + Attn(ln_attn(x))); with 1,
//     or the old architecture with parallel_attn: one `input_layernorm` feeds
//     both; the old architecture without parallel_attn: Llama's sequential
//     block (`input_layernorm`, `post_attention_layernorm`);
//   - positions: rotary embeddings on the whole head (rope_theta, the
//     "linear", "llama3" or "yarn" scaling of either schema), or with `alibi`
//     (Falcon-RW) ALiBi: BLOOM's slopes times each key's position among the
//     unmasked tokens, computed in bfloat16 (slopes, positions and their
//     product rounded to it) and divided by √head_dim, added to the scaled
//     scores. Transformers 5's eager attention adds it twice (once in the
//     scores, once in the mask); its default attention (SDPA), and 4.41's
//     eager one, add it once, as the export does;
//   - the MLP `dense_h_to_4h` (ffn_hidden_size, 4 · hidden by default),
//     `activation`, `dense_4h_to_h`, biases when `bias`; LayerNorms
//     (layer_norm_epsilon) and the final `transformer.ln_f`; the LM head tied
//     to `transformer.word_embeddings` unless tie_word_embeddings is false.
// Refused by name: the layer layouts Transformers cannot run
// (new_decoder_architecture without parallel_attn, num_ln_in_parallel_attn
// other than 1 or 2 there, 2 with the old parallel layer), num_kv_heads
// that does not divide the heads (new) or differs from them (old, not
// multi_query), a head_dim or partial_rotary_factor Falcon does not read,
// dynamic NTK RoPE.
//
// Graph inputs follow Optimum's Falcon config: position_ids for the model
// and the causal LM (with and without past) of a rotary checkpoint; none
// with alibi (a variant of its own, chosen by the config: falcon_families).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typeformer/models/llama.hpp"

namespace typeformer::inline v0 {

/// How a Falcon layer combines attention and MLP.
enum class falcon_layout : std::uint8_t {
    sequential,  ///< old architecture, parallel_attn false: input_layernorm, post_attention_layernorm
    parallel,    ///< one input_layernorm feeds both (old parallel_attn; new with num_ln_in_parallel_attn 1)
    two_norms,   ///< new architecture: ln_attn and ln_mlp
};

/// FalconConfig on LlamaConfig's fields: intermediate_size is
/// ffn_hidden_size, rms_norm_eps layer_norm_epsilon, attention_bias and
/// mlp_bias `bias`, num_key_value_heads the heads of the cache.
struct falcon_config : llama_config {
    bool new_decoder_architecture = false;
    bool multi_query = true;
    bool parallel_attn = true;
    std::int64_t num_ln_in_parallel_attn = 0;  ///< None
    std::int64_t num_kv_heads = 0;             ///< None: num_attention_heads
    bool use_alibi = false;                    ///< config.json's `alibi`

    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
    [[nodiscard]] rotary_spec rotary() const { return use_alibi ? rotary_spec{} : llama_config::rotary(); }
    [[nodiscard]] constexpr falcon_layout layout() const {
        if (new_decoder_architecture)
            return num_ln_in_parallel_attn == 1 ? falcon_layout::parallel : falcon_layout::two_norms;
        return parallel_attn ? falcon_layout::parallel : falcon_layout::sequential;
    }
    /// The key/value groups of the fused projection (new architecture).
    [[nodiscard]] constexpr std::int64_t kv_groups() const {
        return num_kv_heads > 0 ? num_kv_heads : num_attention_heads;
    }

    static constexpr void falcon_rules(const falcon_config& c) {
        require(c.hidden_size % c.num_attention_heads == 0, "hidden_size must be divisible by num_attention_heads");
        require(c.num_attention_heads % c.kv_heads() == 0,
                "num_attention_heads must be a multiple of the cache's key/value heads");
        if (!c.use_alibi) llama_config::heads_rule(c);  // the rotary settings
    }
    static void read_falcon(const config_reader& r, falcon_config& c);

    using base_config = llama_config;
    using self = falcon_config;
    using fields = field_table<
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"hidden_size", &self::hidden_size, rule::positive>,
        internal<&self::intermediate_size, rule::positive, "ffn_hidden_size">,
        field<"num_hidden_layers", &self::num_hidden_layers, rule::non_negative>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        internal<&self::num_key_value_heads>, field<"head_dim", &self::head_dim, rule::non_negative>,
        field<"activation", &self::hidden_act>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"layer_norm_epsilon", &self::rms_norm_eps, rule::positive>,
        internal<&self::rope_theta, rule::positive, "rope_theta">, reads<&self::read_rope_theta>,
        internal<&self::rope_linear_factor>, internal<&self::rope_scaling>,
        internal<&self::rope_factor, rule::positive, "the RoPE scaling factor">, internal<&self::rope_low_freq_factor>,
        internal<&self::rope_high_freq_factor>, internal<&self::rope_original_max_positions>,
        internal<&self::rope_beta_fast>, internal<&self::rope_beta_slow>, internal<&self::rope_truncate>,
        internal<&self::rope_attention_factor, rule::positive, "the RoPE attention factor">,
        internal<&self::partial_rotary_factor, rule::positive, "partial_rotary_factor">, internal<&self::rope_interleaved>,
        // None is falsy in FalconDecoderLayer's and FalconAttention's tests
        field<"bias", &self::attention_bias, rule::any, read::null_is<false>>, internal<&self::qkv_bias_only>,
        internal<&self::o_bias_only>,
        internal<&self::mlp_bias>, internal<&self::pretraining_tp, rule::positive, "pretraining_tp">,
        internal<&self::sliding_window, rule::non_negative, "sliding_window">, internal<&self::window_includes_edge>,
        internal<&self::first_window_layer, rule::non_negative, "max_window_layers">,
        internal<&self::full_attention_layers>, internal<&self::no_rope_layers>, internal<&self::rope_by_layer_type>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>,
        field<"pad_token_id", &self::pad_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>,
        field<"new_decoder_architecture", &self::new_decoder_architecture, rule::any, read::null_is<false>>,
        field<"multi_query", &self::multi_query, rule::any, read::null_is<false>>,
        field<"parallel_attn", &self::parallel_attn, rule::any, read::null_is<false>>,
        field<"num_ln_in_parallel_attn", &self::num_ln_in_parallel_attn, rule::non_negative, read::null_is<0>>,
        field<"num_kv_heads", &self::num_kv_heads, rule::non_negative, read::null_is<0>>,
        field<"alibi", &self::use_alibi, rule::any, read::null_is<false>>, reads<&self::read_falcon>,
        rules<&self::falcon_rules>,
        // 5.x's cache would keep only the last sliding_window keys
        absent<"sliding_window", "a sliding-window cache">,
        // a property of FalconConfig (not alibi), which a config.json key cannot set
        no_effect<"rotary", bool>,
        // Transformers 5's generic code, as the Llama family's rows say
        causal_key, no_effect<"num_heads", std::int64_t>,
        absent<"_rope_type_labels", "RoPE settings per layer type">>;
};

/// What needs code: n_embed (wins over hidden_size), ffn_hidden_size (4 ·
/// hidden by default), the cache's heads and the refusals (see the header's
/// comment), the RoPE scaling of a rotary checkpoint.
inline void falcon_config::read_falcon(const config_reader& r, falcon_config& c) {
    r.get("n_embed", c.hidden_size);
    std::int64_t ffn = 0;  // None: 4 · hidden_size
    if (!r.is_null("ffn_hidden_size")) r.get("ffn_hidden_size", ffn);
    c.intermediate_size = ffn > 0 ? ffn : 4 * c.hidden_size;
    c.mlp_bias = c.attention_bias;
    auto refuse = [&](const std::string& key, const std::string& what) {
        throw error("config.unsupported", r.where() + ": /" + key + ": " + what + " is not supported");
    };
    const std::int64_t H = c.num_attention_heads;
    if (c.new_decoder_architecture) {
        if (!c.parallel_attn)
            refuse("parallel_attn", "false with new_decoder_architecture (Transformers' FalconDecoderLayer builds "
                                    "the sequential layer's norms but runs the parallel one)");
        if (c.num_ln_in_parallel_attn > 2)
            refuse("num_ln_in_parallel_attn", std::to_string(c.num_ln_in_parallel_attn) +
                                                  " (1 or 2; Transformers' FalconDecoderLayer has no MLP input "
                                                  "for another value)");
        if (H <= 0 || c.kv_groups() <= 0 || H % c.kv_groups() != 0)
            refuse("num_kv_heads", std::to_string(c.kv_groups()) + " key/value groups for " + std::to_string(H) +
                                       " heads (the groups must divide the heads)");
        c.num_key_value_heads = H;  // each group's key and value repeated over its query heads
    } else if (c.multi_query) {
        c.num_key_value_heads = 1;
    } else {
        if (c.num_kv_heads > 0 && c.num_kv_heads != H)
            refuse("num_kv_heads", std::to_string(c.num_kv_heads) + " with " + std::to_string(H) +
                                       " heads and neither new_decoder_architecture nor multi_query (one "
                                       "key/value head per query head)");
        c.num_key_value_heads = H;
    }
    if (!c.new_decoder_architecture && c.parallel_attn && c.num_ln_in_parallel_attn == 2)
        refuse("num_ln_in_parallel_attn", "2 without new_decoder_architecture (Transformers' FalconDecoderLayer "
                                          "builds ln_attn and ln_mlp but runs input_layernorm)");
    detail::head_dim_is_hidden_over_heads(r, c);
    detail::whole_head_rotary(r, c);
    if (!c.use_alibi) detail::llama_rope_scaling(r, c);  // with ALiBi the rotary tables are built but unused
}

/// FalconConfig from config.json, with Falcon's defaults.
inline falcon_config falcon_config_from_json(const config_reader& r) {
    falcon_config c;
    c.vocab_size = 65024;
    c.hidden_size = 4544;
    c.num_hidden_layers = 32;
    c.num_attention_heads = 71;
    c.hidden_act = activation::gelu;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.tie_word_embeddings = true;
    return load_config<falcon_config>(r, c);
}

/// Module names of Falcon's layer.
namespace falcon_names {
struct layer {
    static constexpr std::string_view stack = "transformer.h", norm_1 = "input_layernorm",
                                      norm_2 = "post_attention_layernorm", qkv = "self_attention.query_key_value",
                                      o = "self_attention.dense", attention = "self_attention",
                                      fc_in = "mlp.dense_h_to_4h", fc_out = "mlp.dense_4h_to_h";
};
/// The new decoder architecture's two norms.
struct two_norms {
    static constexpr std::string_view norm_1 = "ln_attn", norm_2 = "ln_mlp";
};
struct embeddings {
    static constexpr std::string_view word = "transformer.word_embeddings", position = "";
};
}  // namespace falcon_names

/// Falcon's attention: the fused projection split as the architecture lays
/// it out (falcon_config's comment), then the Llama family's attention core
/// and the output Linear `dense`.
template <class Names>
struct falcon_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const std::int64_t E = c.hidden_size, H = c.num_attention_heads, D = E / H;
        typename B::value q, k, v;
        if (c.new_decoder_architecture) {
            const std::int64_t KV = c.kv_groups(), G = H / KV;
            auto qkv = b.reshape(linear(b, Names::qkv, x, E, (H + 2 * KV) * D, c.attention_bias), {0, 0, KV, G + 2, D});
            auto repeated = [&](std::int64_t i) {  // [B, S, KV, 1, D] over the group's G query heads
                auto one = b.slice(qkv, 3, i, i + 1);
                return b.reshape(b.concat(std::vector<typename B::value>(static_cast<std::size_t>(G), one), 3),
                                 {0, 0, H * D});
            };
            q = b.reshape(b.slice(qkv, 3, 0, G), {0, 0, H * D});
            k = repeated(G);
            v = repeated(G + 1);
        } else if (c.multi_query) {
            auto qkv = b.reshape(linear(b, Names::qkv, x, E, E + 2 * D, c.attention_bias), {0, 0, H + 2, D});
            q = b.reshape(b.slice(qkv, 2, 0, H), {0, 0, H * D});
            k = b.reshape(b.slice(qkv, 2, H, H + 1), {0, 0, D});
            v = b.reshape(b.slice(qkv, 2, H + 1, H + 2), {0, 0, D});
        } else {
            auto qkv = b.reshape(linear(b, Names::qkv, x, E, 3 * E, c.attention_bias), {0, 0, H, 3, D});
            auto part = [&](std::int64_t i) { return b.reshape(b.select(qkv, 3, i), {0, 0, E}); };
            q = part(0), k = part(1), v = part(2);
        }
        return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, true);
    }
};

/// A Falcon layer, as the config's layout() says.
template <class Names, class Attention, class Mlp>
struct falcon_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        switch (c.layout()) {
            case falcon_layout::two_norms:
                return two_norm_parallel_block<falcon_names::two_norms, Attention, Mlp>::forward(b, x, t, c, layer,
                                                                                                 cache);
            case falcon_layout::parallel:
                return decoder_block<Names, Attention, Mlp, true>::forward(b, x, t, c, layer, cache);
            case falcon_layout::sequential: break;
        }
        return decoder_block<Names, Attention, Mlp, false>::forward(b, x, t, c, layer, cache);
    }
};

/// Falcon's context: decoder_context's causal bias and rotary tables, or,
/// with ALiBi, the causal bias and Falcon's ALiBi from input_ids and
/// attention_mask alone (no positions).
template <bool Alibi>
struct falcon_context {
    using reads = std::conditional_t<Alibi, slots<"input_ids", "attention_mask">, decoder_context::reads>;

    template <Backend B, class Io, DecoderConfig C>
    static decoder_tables<typename B::value> make(B& b, const Io& s, const C& c) {
        if constexpr (!Alibi) {
            return decoder_context::make<B>(b, s, c);
        } else {
            decoder_tables<typename B::value> t;
            const auto& mask = s[sl::attention_mask];
            {
                auto guard = b.scope("causal_mask");
                t.bias = causal_bias(b, s[sl::input_ids], mask, 0);
            }
            auto guard = b.scope("alibi");
            const float root = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size / c.num_attention_heads)));
            t.alibi = b.div(alibi_bias(b, mask, c.num_attention_heads, true), b.scalar(root));
            t.has_alibi = true;
            return t;
        }
    }
};

/// Falcon's features: Transformers' heads (Optimum lists every one but
/// sequence classification).
using falcon_features = type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                                  task::sequence_classification, task::token_classification,
                                  task::question_answering>;

/// Optimum gives position_ids to feature-extraction and text-generation (with
/// and without past) of a rotary checkpoint only.
template <class Task, bool Alibi>
inline constexpr bool falcon_takes_positions =
    !Alibi && (std::is_same_v<Task, task::default_> || std::is_same_v<Task, task::default_with_past> ||
               std::is_same_v<Task, task::causal_lm> || std::is_same_v<Task, task::causal_lm_with_past>);

/// Falcon's config for the variant: `alibi` must be what the variant's graph computes.
template <bool Alibi>
falcon_config falcon_variant_from_json(const config_reader& r) {
    auto c = falcon_config_from_json(r);
    if (c.use_alibi != Alibi)
        throw error("config.invalid", r.where() + ": /alibi: the " + std::string(Alibi ? "ALiBi" : "rotary") +
                                          " variant of Falcon loaded a config that says otherwise");
    return c;
}

/// Falcon, rotary (`Alibi` false) or ALiBi.
template <bool Alibi>
struct falcon_family
    : family_base<"falcon", "transformer", falcon_config, &falcon_variant_from_json<Alibi>, falcon_features> {
    using config = falcon_config;
    /// The rotary inv_freq buffer older checkpoints carry.
    static std::vector<std::string> ignored() { return {"rotary_emb.inv_freq"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, falcon_takes_positions<Task, Alibi>>;

    using block = falcon_block<falcon_names::layer, falcon_attention<falcon_names::layer>,
                               plain_mlp<falcon_names::layer, &falcon_config::mlp_bias>>;
    template <class Task>
    using trunk = concat<
        std::conditional_t<Alibi || falcon_takes_positions<Task, Alibi>, type_list<>, type_list<decoder_positions>>,
        type_list<decoder_embeddings<falcon_names::embeddings>,
                  decoder_stack<falcon_names::layer, block, falcon_context<Alibi>, task::has_past<Task>>,
                  decoder_final_norm<"transformer.ln_f">>>;
    using lm = decoder_lm_head<"lm_head", "transformer.word_embeddings.weight">;

    template <class Task>
    static auto layers(Task) -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">,
                                               token_classifier<"classifier">, span_classifier<"qa_outputs">>;
};

/// Falcon, whichever variant its config needs: ALiBi (no position_ids) or rotary.
struct falcon_families {
    using variants = type_list<falcon_family<false>, falcon_family<true>>;
    static std::size_t choose(const config_reader& r) {
        bool alibi = false;
        if (!r.is_null("alibi")) r.get("alibi", alibi);
        return alibi ? 1 : 0;
    }
};

}  // namespace typeformer::inline v0
