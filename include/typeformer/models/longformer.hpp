// typeformer/models/longformer.hpp: Longformer (`model_type` "longformer").
//
// RoBERTa's embeddings (padding-aware positions, no token-type input) and
// post-LN blocks, with Longformer's self-attention: each token attends to the
// tokens within attention_window/2 of it (per layer), plus every global token
// (global_attention_mask), and global tokens attend to every token through
// their own projections (query_global, key_global, value_global).
//
// Transformers computes the window with overlapping chunks after padding the
// sequence to a multiple of the window, and takes the global branch only when
// some token is global. The export computes the same numbers as dense
// attention under the sliding-window bias, with the global rows blended in, so
// one graph holds at every sequence length, above and below the window, with
// or without global tokens:
//   local query i sees key j  iff  j is not masked and (|i - j| <= w or j is global)
//   global query i sees every key that is not masked (global projections)
//   a masked query's attention output is zero.
// The cost is that of full attention (S² scores), not of the chunked kernel.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// LongformerConfig, with Transformers' defaults.
struct longformer_config {
    static constexpr std::size_t max_layers = 64;

    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    std::int64_t pad_token_id = 1;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    /// attention_window: one value for every layer, or one per layer (then
    /// `layer_windows[i]`, for i < num_hidden_layers, overrides it).
    std::int64_t attention_window = 512;
    std::array<std::int64_t, max_layers> layer_windows{};

    static constexpr void layers_rule(const longformer_config& c) {
        require(c.num_hidden_layers <= static_cast<std::int64_t>(max_layers), "num_hidden_layers must be at most 64");
    }
    static constexpr void positions_rule(const longformer_config& c) {
        require(c.pad_token_id >= 0 && c.pad_token_id < c.max_position_embeddings,
                "pad_token_id must not be negative and must be less than max_position_embeddings");
    }
    static constexpr void windows_rule(const longformer_config& c) {
        for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
            require(c.window(i) > 0 && c.window(i) % 2 == 0, "attention_window must be positive and even");
    }
    /// attention_window: an integer, or a list of one (for every layer) or of num_hidden_layers integers.
    static void read_attention_window(const config_reader& r, longformer_config& c) {
        std::vector<std::int64_t> windows{c.attention_window};
        r.get("attention_window", windows);
        if (windows.size() == 1) {
            c.attention_window = windows[0];
        } else if (static_cast<std::int64_t>(windows.size()) != c.num_hidden_layers || windows.size() > max_layers) {
            throw error("config.invalid", r.where() + ": /attention_window: " + std::to_string(windows.size()) +
                                              " windows for " + std::to_string(c.num_hidden_layers) + " layers");
        } else {
            // 0 in layer_windows means "not given": a window that is not positive is -1, which windows_rule refuses
            for (std::size_t i = 0; i < windows.size(); ++i) c.layer_windows[i] = windows[i] > 0 ? windows[i] : -1;
        }
    }
    using self = longformer_config;
    using fields = extend<bert_core_rows<self>, rules<&self::layers_rule>, field<"pad_token_id", &self::pad_token_id>,
                          rules<&self::positions_rule>, field<"tie_word_embeddings", &self::tie_word_embeddings>,
                          labels<&self::num_labels>,
                          never<"is_decoder", "a causal (decoder) attention mask is not exported for this model">,
                          only<"position_embedding_type", "absolute">,
                          internal<&self::attention_window>, internal<&self::layer_windows>,
                          rules<&self::windows_rule>,
                          // an ONNX-friendly spelling of the same sliding-chunks matmul
                          no_effect<"onnx_export", bool>, reads<&self::read_attention_window>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this);
        s.position_offset = pad_token_id + 1;
        return s;
    }
    [[nodiscard]] constexpr std::int64_t window(std::int64_t layer) const {
        const auto w = layer_windows[static_cast<std::size_t>(layer)];
        return w != 0 ? w : attention_window;  // 0: not given per layer
    }
};

/// LongformerConfig from config.json.
inline longformer_config longformer_config_from_json(const config_reader& r) {
    return load_config<longformer_config>(r);
}

/// Validation values of global_attention_mask [B, S]: a few global tokens a row.
inline void longformer_global_values(std::span<std::int64_t> v, const std::vector<std::size_t>& shape,
                                     const encoder_shape&, std::mt19937&) {
    const std::size_t seq = std::max<std::size_t>(shape.back(), 1);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = (k % seq + k / seq) % 4 == 0 ? 1 : 0;
}

namespace longformer_names {
using embeddings = bert_embedding_names<"longformer">;
struct layer : bert_layer_names<"longformer.encoder.layer"> {
    static constexpr std::string_view q_global = "attention.self.query_global",
                                      k_global = "attention.self.key_global",
                                      v_global = "attention.self.value_global";
};
struct lm {
    static constexpr std::string_view transform = "lm_head.dense", norm = "lm_head.layer_norm",
                                      decoder = "lm_head.decoder",
                                      tied_weight = "longformer.embeddings.word_embeddings.weight",
                                      tied_bias = "lm_head.bias";
};
}  // namespace longformer_names

/// What Longformer's attention gets for one layer: the sliding-window bias
/// [B, 1, S, S] of its window, the key-padding bias [B, 1, 1, S] of the
/// global branch, and per-query weights [B, S, 1] of the local branch
/// (unmasked, not global) and of the global branch (global).
template <class V>
struct longformer_context {
    V local_bias, key_bias, local_rows, global_rows;
};

/// The masks every layer shares: key-padding bias, and which queries are
/// local, global or masked; writes them as slots for the stack.
struct longformer_masks {
    using reads = slots<"attention_mask", "global_attention_mask">;
    using writes = slots<"attention_bias", "local_rows", "global_rows", "keys", "global_keys">;

    template <Backend B>
    static void forward(B& b, io<longformer_masks, typename B::value> s, const longformer_config&) {
        auto guard = b.scope("extended_attention_mask");
        auto unmasked = b.cast(b.cast(s[sl::attention_mask], dtype::boolean), dtype::f32);            // [B, S]
        auto global = b.mul(b.cast(b.cast(s[slot<"global_attention_mask">{}], dtype::boolean), dtype::f32),
                            unmasked);                                                              // [B, S]
        s.set(sl::attention_bias, attention_bias(b, s[sl::attention_mask], false));                 // [B, 1, 1, S]
        s.set(slot<"local_rows">{}, b.unsqueeze(b.sub(unmasked, global), {2}));                     // [B, S, 1]
        s.set(slot<"global_rows">{}, b.unsqueeze(global, {2}));
        s.set(slot<"keys">{}, b.unsqueeze(unmasked, {1, 2}));                                       // [B, 1, 1, S]
        s.set(slot<"global_keys">{}, b.unsqueeze(global, {1, 2}));
    }
};

/// The sliding-window bias of one window: key j is visible from query i when
/// it is not masked and |i - j| <= window / 2 or j is global. `keys` and
/// `global_keys` are 0/1 [B, 1, 1, S]; every entry stays finite.
template <Backend B>
typename B::value sliding_window_bias(B& b, const typename B::value& keys, const typename B::value& global_keys,
                                      const typename B::value& like, std::int64_t window) {
    auto pos = b.range(like, 1);
    auto row = b.unsqueeze(pos, {1}), col = b.unsqueeze(pos, {0});
    auto reach = b.constant_i64({window / 2 + 1});
    auto one = b.scalar(1.f);
    auto near = b.mul(b.cast(b.less(b.sub(row, col), reach), dtype::f32),
                      b.cast(b.less(b.sub(col, row), reach), dtype::f32));                         // [S, S]
    auto seen = b.sub(one, b.mul(b.sub(one, near), b.sub(one, global_keys)));                     // [B, 1, S, S]
    return b.mul(b.sub(one, b.mul(seen, keys)), b.scalar(-3.4028234663852886e38f));
}

/// Longformer's self-attention, local and global branches, then `o`.
template <class Names>
struct longformer_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const longformer_context<typename B::value>& ctx,
                                     const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        const float scale = 1.f / std::sqrt(static_cast<float>(hsz / sh.num_heads));
        auto branch = [&](std::string_view q, std::string_view k, std::string_view v, const typename B::value& bias) {
            auto qv = dense(b, q, x, hsz, hsz), kv = dense(b, k, x, hsz, hsz), vv = dense(b, v, x, hsz, hsz);
            auto guard = b.scope(Names::attention);
            return b.attention(qv, kv, vv, &bias, sh.num_heads, scale);
        };
        auto local = branch(Names::q, Names::k, Names::v, ctx.local_bias);
        auto global = branch(Names::q_global, Names::k_global, Names::v_global, ctx.key_bias);
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            out = b.add(b.mul(local, ctx.local_rows), b.mul(global, ctx.global_rows));
        }
        return dense(b, Names::o, out, hsz, hsz);
    }
};

/// The encoder stack; each layer gets the sliding-window bias of its own
/// window (per-layer contexts, which encoder_stack's one Context cannot hand out).
template <class Names>
struct longformer_stack {
    using reads = slots<"hidden_states", "attention_bias", "local_rows", "global_rows", "keys", "global_keys">;
    using writes = slots<"hidden_states">;
    using block = encoder_block<Names, longformer_attention<Names>>;

    template <Backend B>
    static void forward(B& b, io<longformer_stack, typename B::value> s, const longformer_config& c) {
        const auto sh = c.shape();
        auto h = s[sl::hidden_states];
        std::map<std::int64_t, typename B::value> biases;  // one per distinct window
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            const auto w = c.window(i);
            if (!biases.contains(w)) {
                auto guard = b.scope("extended_attention_mask.window_" + std::to_string(w));
                biases.emplace(w, sliding_window_bias(b, s[slot<"keys">{}], s[slot<"global_keys">{}], h, w));
            }
            const longformer_context<typename B::value> ctx{biases.at(w), s[sl::attention_bias],
                                                            s[slot<"local_rows">{}], s[slot<"global_rows">{}]};
            auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
            h = block::forward(b, h, ctx, sh);
        }
        s.set(sl::hidden_states, h);
    }
};

struct longformer_family
    : family_base<"longformer", "longformer", longformer_config, &longformer_config_from_json,
                  type_list<task::default_, task::masked_lm, task::multiple_choice, task::question_answering,
                            task::sequence_classification, task::token_classification>> {
    static constexpr double atol = 1e-4;  // the legacy table's validation tolerance
    using dummy_inputs = type_list<dummy_input<"global_attention_mask", &longformer_global_values>>;
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"};
    }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask", "global_attention_mask">;
    /// The legacy default outputs add the pooler's.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "sequence", "">>,
                                                     output<"pooler_output", axes<"batch", "">>>;

    using trunk = type_list<embeddings<longformer_names::embeddings,
                                       embedding_options{.positions = position_ids_from::input_ids, .token_type_input = false}>, longformer_masks,
                            longformer_stack<longformer_names::layer>>;
    using pooler = first_token_pooler<"longformer.pooler.dense", activation::tanh>;

    using lm = lm_head<longformer_names::lm, activation::gelu>;  // the head calls gelu(), not hidden_act
    struct heads : encoder_heads<lm, pooler> {
        using encoder_heads<lm, pooler>::of;
        /// The default task also outputs the pooler's (outputs(task::default_)).
        static auto of(task::default_) -> type_list<expose_hidden_states, pooler, expose_pooler_output>;
        /// LongformerClassificationHead: first token, dense, tanh, out_proj.
        static auto of(task::sequence_classification)
            -> type_list<first_token_pooler<"classifier.dense", activation::tanh>,
                         pooled_classifier<"classifier.out_proj">>;
    };
    using fold = type_list<fold_choices<"input_ids", "attention_mask", "global_attention_mask">>;

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk, heads, fold>;
};

/// Longformer with a compile-time config.
template <longformer_config C, class Task = task::default_>
struct longformer : model_of<longformer_family, Task> {
    static_assert(check(C));
    static constexpr longformer_config config = C;
};

}  // namespace typeformer::inline v0
