// typeformer/models/gpt_bigcode.hpp: GPTBigCode (`model_type` "gpt_bigcode":
// SantaCoder, StarCoder, WizardCoder).
//
// GPT-2's shape (learned word and position embeddings `wte` / `wpe`, pre-LN
// blocks `ln_1` / `ln_2`, a final `ln_f`, the LM head tied to `wte`) with
// Linear projections (weights [out, in], not GPT-2's Conv1D) and one fused
// `attn.c_attn` that gives, per token:
//   multi_query (the default): q [H·D], then one key head [D] and one value
//     head [D] that every query head shares (kv_heads 1);
//   otherwise: H groups of [q D, k D, v D], one per head (not GPT-2's
//     [q | k | v] over all heads).
// Scores (q · k) · head_dim^-0.5 when scale_attn_weights; the MLP
// `mlp.c_fc`, activation_function (the tanh GELU by default), `mlp.c_proj`,
// n_inner wide (4 · n_embd when null).
// The cache is Transformers 5's and Optimum's (from Transformers 4.54 on):
// past_key_values.{i}.key / .value [batch, kv_heads, past, head_dim], kv_heads
// 1 under multi_query. position_ids is an input in the features Optimum
// gives one (all but the classifiers).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/gpt2.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// GPTBigCodeConfig, with Transformers' defaults.
struct gpt_bigcode_config {
    static constexpr decoder_hooks hooks{};
    std::int64_t vocab_size = 50257;
    std::int64_t n_positions = 1024;
    std::int64_t n_embd = 768;
    std::int64_t n_layer = 12;
    std::int64_t n_head = 12;
    std::int64_t n_inner = 0;  // None: 4 · n_embd
    activation activation_function = activation::gelu_new;  // gelu_pytorch_tanh
    double layer_norm_epsilon = 1e-5;
    bool scale_attn_weights = true;
    bool multi_query = true;
    bool tie_word_embeddings = true;
    std::int64_t pad_token_id = -1;  // None
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    /// Transformers 4.41's positions where none are given (the classifiers):
    /// cumsum(attention_mask) - 1, and 1 at masked tokens; 5.x counts on from
    /// the past whatever the mask
    bool positions_from_mask = false;
    std::int64_t num_labels = 2;

    /// The attribute_map's names (hidden_size, max_position_embeddings,
    /// num_attention_heads, num_hidden_layers) set the same members.
    static void read_other_names(const config_reader& r, gpt_bigcode_config& c) {
        r.get("hidden_size", c.n_embd);
        r.get("max_position_embeddings", c.n_positions);
        r.get("num_attention_heads", c.n_head);
        r.get("num_hidden_layers", c.n_layer);
    }
    using self = gpt_bigcode_config;
    using fields = field_table<decoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>,
        field<"n_positions", &self::n_positions, rule::positive>, field<"n_embd", &self::n_embd, rule::positive>,
        field<"n_layer", &self::n_layer, rule::non_negative>, field<"n_head", &self::n_head, rule::positive>,
        reads<&self::read_other_names>, multiple_of<"n_embd", "n_head">,
        field<"n_inner", &self::n_inner, rule::positive_or<0>>,
        field<"activation_function", &self::activation_function>,
        field<"layer_norm_epsilon", &self::layer_norm_epsilon, rule::positive>,
        field<"scale_attn_weights", &self::scale_attn_weights>, field<"multi_query", &self::multi_query>,
        // Transformers 5 derives it from multi_query (1, else n_head) and writes it to config.json; the
        // attention and the cache's shapes follow multi_query alone
        no_effect<"num_key_value_heads", std::int64_t>,
        // the softmax in float32, and scale_attention_softmax_in_fp32's 1/(layer + 1) taken out of the scores
        // and put back in that float32 softmax: both act only on a float16 / bfloat16 model (4.41 upcasts only
        // then; 5.x no longer reads them in the attention); the export computes in float32
        no_effect<"attention_softmax_in_fp32", bool>, no_effect<"scale_attention_softmax_in_fp32", bool>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, field<"pad_token_id", &self::pad_token_id>,
        true_under_4_41<&self::pool_before_first_pad>, true_under_4_41<&self::positions_from_mask>,
        labels<&self::num_labels>,
        never<"add_cross_attention", "cross-attention needs an encoder; export the encoder-decoder model">>;

    [[nodiscard]] constexpr std::int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
    [[nodiscard]] constexpr encoder_shape shape() const { return gpt2_like_shape(*this); }
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        return {n_layer, multi_query ? 1 : n_head, n_embd / n_head};
    }
    [[nodiscard]] constexpr norm_kind norm() const { return norm_kind::layer_norm; }
};

/// GPTBigCodeConfig from config.json.
inline gpt_bigcode_config gpt_bigcode_config_from_json(const config_reader& r) {
    return load_config<gpt_bigcode_config>(r);
}

/// GPTBigCode's attention: the Linear `attn.c_attn` split into q, k and v
/// (multi_query: [q H·D | k D | v D]; otherwise per head [q D | k D | v D]),
/// one key/value head shared by every query head under multi_query, scores
/// scaled by head_dim^-0.5 (scale_attn_weights), the Linear `attn.c_proj`.
struct gpt_bigcode_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t, layer_cache<typename B::value>& cache) {
        const auto kv = c.cache();
        const std::int64_t E = c.n_embd, H = c.n_head, D = kv.head_dim, KVH = kv.kv_heads;
        auto qkv = dense(b, "attn.c_attn", x, E, E + 2 * KVH * D);
        typename B::value q, k, v;
        if (c.multi_query) {
            q = b.slice(qkv, -1, 0, E);
            k = b.slice(qkv, -1, E, E + D);
            v = b.slice(qkv, -1, E + D, E + 2 * D);
        } else {
            auto heads = b.reshape(qkv, {0, 0, H, 3 * D});  // [B, S, H, 3·D]
            auto part = [&](std::int64_t i) { return b.reshape(b.slice(heads, -1, i * D, (i + 1) * D), {0, 0, E}); };
            q = part(0);
            k = part(1);
            v = part(2);
        }
        // head_dim ** -0.5, a Python float, rounded to float32 as torch multiplies a float32 tensor by it
        const float scale = c.scale_attn_weights ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))) : 1.f;
        typename B::value out;
        {
            auto guard = b.scope("attn");
            out = cached_attention(b, q, k, v, t, cache, {H, KVH, D, scale}, nullptr, false);
        }
        return dense(b, "attn.c_proj", out, E, E);
    }
};

/// The positions of a graph without a position_ids input: past, past + 1,
/// ... as Transformers 5 counts them (decoder_positions), or, with the
/// config's positions_from_mask (Transformers 4.41's GPTBigCodeModel),
/// cumsum(attention_mask) - 1 with 1 at masked tokens, the last `sequence`
/// columns.
struct gpt_bigcode_positions {
    using reads = slots<"input_ids", "attention_mask">;
    using writes = slots<"position_ids">;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<gpt_bigcode_positions, typename B::value> s, const C& c) {
        auto guard = b.scope("position_ids");
        const auto& ids = s[sl::input_ids];
        const auto& mask = s[sl::attention_mask];
        auto at = b.unsqueeze(b.add(b.range(ids, 1), past_length(b, ids, mask)), {0});  // [1, S]: past + i
        if (!c.positions_from_mask) {
            s.set(slot<"position_ids">{}, at);
            return;
        }
        auto counted = b.mul(b.sub(b.cumsum(mask, -1), b.constant_i64({1})), mask);   // 0 at masked tokens
        auto filled = b.add(counted, b.sub(b.constant_i64({1}), mask));              // 1 there
        s.set(slot<"position_ids">{}, b.gather_last(filled, at));                     // [B, S]
    }
};

namespace gpt_bigcode_names {
struct mlp {
    static constexpr std::string_view fc_in = "mlp.c_fc", fc_out = "mlp.c_proj";
};
}  // namespace gpt_bigcode_names

/// Does a GPTBigCode graph for this task take position_ids? As Optimum's
/// exporter gives them: every feature but the classifiers.
template <class Task>
inline constexpr bool gpt_bigcode_takes_positions =
    !std::is_same_v<Task, task::sequence_classification> && !std::is_same_v<Task, task::token_classification>;

struct gpt_bigcode_family
    : family_base<"gpt_bigcode", "transformer", gpt_bigcode_config, &gpt_bigcode_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::sequence_classification, task::token_classification>> {
    /// The causal-mask buffer (non-persistent in Transformers; older checkpoints may carry it).
    static std::vector<std::string> ignored() { return {"transformer.bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, gpt_bigcode_takes_positions<Task>>;

    using block = decoder_block<gpt2_names::layer, gpt_bigcode_attention, plain_mlp<gpt_bigcode_names::mlp>>;
    template <class Task>
    using trunk =
        concat<std::conditional_t<gpt_bigcode_takes_positions<Task>, type_list<>, type_list<gpt_bigcode_positions>>,
               type_list<decoder_embeddings<gpt2_family::embedding_names>,
                         decoder_stack<gpt2_names::layer, block, decoder_context, task::has_past<Task>>,
                         decoder_final_norm<"transformer.ln_f">>>;
    using lm = decoder_lm_head<"lm_head", "transformer.wte.weight">;

    template <class Task>
    static auto layers(Task)
        -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">, token_classifier<"classifier">>;
};

/// GPTBigCode with a compile-time config: `struct tiny final : gpt_bigcode<gpt_bigcode_config{...}> {};`
template <gpt_bigcode_config C, class Task = task::default_>
struct gpt_bigcode : model_of<gpt_bigcode_family, Task> {
    static_assert(check(C));
    static constexpr gpt_bigcode_config config = C;
};

}  // namespace typeformer::inline v0
