// typeformer/models/opt.hpp: OPT (`model_type` "opt": Meta's OPT-125m to
// 66b, and OPT-350m's variant).
//
// GPT-2's kind of decoder with nn.Linear projections, as Transformers
// computes it (4.41 and 5.x alike at every real token):
//   - word embeddings `model.decoder.embed_tokens` of word_embed_proj_dim
//     features, projected to hidden_size by `project_in` (no bias) when the
//     two differ; learned positions `embed_positions` with an offset of 2
//     (row position + 2 of a table of max_position_embeddings + 2);
//   - positions: the `position_ids` input where Optimum gives OPT one (the
//     model and the causal LM, with and without past), else (sequence
//     classification, question answering) cumsum(mask) · mask - 1, as OPT
//     derives them from the attention mask (-1 at padding);
//   - separate q/k/v/out_proj Linears, q scaled by 1/√head_dim before the
//     product (as OPTAttention scales it), biases where `enable_bias`;
//   - fc1, activation_function, fc2 (biases where `enable_bias`);
//   - `do_layer_norm_before`: pre-LN layers (self_attn_layer_norm,
//     final_layer_norm) and a final `model.decoder.final_layer_norm` unless
//     `_remove_final_layer_norm`; or post-LN layers (OPT-350m): each norm
//     after its residual add, and no final LayerNorm;
//   - `layer_norm_elementwise_affine` false: LayerNorms without weights;
//   - `project_out` (no bias) back to word_embed_proj_dim, which the heads
//     read: the LM head `lm_head` (tied to embed_tokens), `score` (the
//     rightmost token that is not pad_token_id), `qa_outputs`.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/decoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// OPTConfig, with Transformers' defaults.
struct opt_config {
    std::int64_t vocab_size = 50272;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t ffn_dim = 3072;
    std::int64_t max_position_embeddings = 2048;
    bool do_layer_norm_before = true;
    bool remove_final_layer_norm = false;
    std::int64_t word_embed_proj_dim = 0;  // None: hidden_size
    std::int64_t num_attention_heads = 12;
    activation activation_function = activation::relu;
    std::int64_t pad_token_id = 1;
    bool enable_bias = true;
    bool layer_norm_elementwise_affine = true;
    bool tie_word_embeddings = true;
    bool pool_before_first_pad = false;  ///< Transformers 4.41's sequence-classification pooling
    std::int64_t num_labels = 2;
    /// The width the heads read (internal: at_output() sets it).
    bool heads_view = false;

    using self = opt_config;
    using fields = field_table<decoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"num_hidden_layers", &self::num_hidden_layers, rule::non_negative>,
        field<"ffn_dim", &self::ffn_dim, rule::positive>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"do_layer_norm_before", &self::do_layer_norm_before>,
        field<"_remove_final_layer_norm", &self::remove_final_layer_norm>,
        field<"word_embed_proj_dim", &self::word_embed_proj_dim, rule::positive_or<0>, read::null_is<0>>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        multiple_of<"hidden_size", "num_attention_heads">,
        field<"activation_function", &self::activation_function>,
        field<"pad_token_id", &self::pad_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        field<"enable_bias", &self::enable_bias>,
        field<"layer_norm_elementwise_affine", &self::layer_norm_elementwise_affine>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>,
        true_under_4_41<&self::pool_before_first_pad>, labels<&self::num_labels>,
        internal<&self::heads_view>,
        // LayerDrop skips layers in training only
        no_effect<"layerdrop", double>>;

    /// word_embed_proj_dim: the embeddings' and the heads' width.
    [[nodiscard]] constexpr std::int64_t projection() const {
        return word_embed_proj_dim > 0 ? word_embed_proj_dim : hidden_size;
    }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = heads_view ? projection() : hidden_size,
                .num_heads = num_attention_heads,
                .intermediate_size = ffn_dim,
                .num_layers = num_hidden_layers,
                .max_positions = max_position_embeddings + 2,
                .type_vocab_size = 0,
                .act = activation_function,
                .eps = 1e-5f,  // nn.LayerNorm's default: OPT passes none
                .causal = true,
                .num_labels = num_labels,
                .position_offset = 2};  // the table's first 2 rows: OPT's offset
    }
    /// The config as the heads see it: hidden states of projection() features.
    [[nodiscard]] constexpr opt_config at_output() const {
        opt_config c = *this;
        c.heads_view = true;
        return c;
    }
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        return {num_hidden_layers, num_attention_heads, hidden_size / num_attention_heads};
    }
    [[nodiscard]] constexpr norm_kind norm() const {
        return layer_norm_elementwise_affine ? norm_kind::layer_norm : norm_kind::layer_norm_plain;
    }
    [[nodiscard]] constexpr bool final_norm() const { return do_layer_norm_before && !remove_final_layer_norm; }
};

/// OPTConfig from config.json.
inline opt_config opt_config_from_json(const config_reader& r) { return load_config<opt_config>(r); }

namespace opt_names {
struct layer {
    static constexpr std::string_view stack = "model.decoder.layers", norm_1 = "self_attn_layer_norm",
                                      norm_2 = "final_layer_norm", q = "self_attn.q_proj", k = "self_attn.k_proj",
                                      v = "self_attn.v_proj", o = "self_attn.out_proj", attention = "self_attn",
                                      fc_in = "fc1", fc_out = "fc2";
};
}  // namespace opt_names

/// OPT's positions without a position_ids input: cumsum(mask) · mask - 1
/// (-1 at padding). Only for the tasks without a past, whose positions are
/// every column of the mask.
struct opt_mask_positions {
    using reads = slots<"attention_mask">;
    using writes = slots<"position_ids">;

    template <Backend B, class C>
    static void forward(B& b, io<opt_mask_positions, typename B::value> s, const C&) {
        auto guard = b.scope("position_ids");
        const auto& mask = s[sl::attention_mask];
        s.set(slot<"position_ids">{}, b.sub(b.mul(b.cumsum(mask, 1), mask), b.constant_i64({1})));
    }
};

/// embed_tokens (word_embed_proj_dim features), project_in to hidden_size
/// when the widths differ, plus embed_positions at position_ids + 2.
struct opt_embeddings {
    using reads = slots<"input_ids", "position_ids">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<opt_embeddings, typename B::value> s, const opt_config& c) {
        const auto P = c.projection(), E = c.hidden_size;
        typename B::value h;
        {
            auto guard = b.scope("model.decoder.embed_tokens");
            h = b.gather(b.param("weight", {c.vocab_size, P}), s[sl::input_ids]);
        }
        if (P != E) h = linear_no_bias(b, "model.decoder.project_in", h, P, E);
        auto guard = b.scope("model.decoder.embed_positions");
        const auto& table = b.param("weight", {c.max_position_embeddings + 2, E});
        s.set(sl::hidden_states,
              b.add(h, b.gather(table, b.add(s[slot<"position_ids">{}], b.constant_i64({2})))));
    }
};

/// OPTAttention: q, k, v Linears (biases where enable_bias), q times
/// head_dim^-0.5, the cached attention unscaled, out_proj.
template <class Names>
struct opt_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const opt_config& c, std::int64_t, layer_cache<typename B::value>& cache) {
        const auto E = c.hidden_size, H = c.num_attention_heads, D = E / H;
        const bool bias = c.enable_bias;
        const float scaling = static_cast<float>(std::pow(static_cast<double>(D), -0.5));
        auto q = b.mul(linear(b, Names::q, x, E, E, bias), b.scalar(scaling));
        auto k = linear(b, Names::k, x, E, E, bias);
        auto v = linear(b, Names::v, x, E, E, bias);
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            out = cached_attention(b, q, k, v, t, cache, {H, H, D, 1.f}, nullptr, false);
        }
        return linear(b, Names::o, out, E, E, bias);
    }
};

/// OPTDecoderLayer: pre-LN (decoder_block) where do_layer_norm_before, else
/// post-LN: h = N1(x + Attn(x)); y = N2(h + MLP(h)).
template <class Names, class Attention, class Mlp>
struct opt_block {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const opt_config& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        if (c.do_layer_norm_before) return decoder_block<Names, Attention, Mlp>::forward(b, x, t, c, layer, cache);
        const auto sh = c.shape();
        auto h = norm(b, c.norm(), Names::norm_1, b.add(x, Attention::forward(b, x, t, c, layer, cache)),
                      sh.hidden_size, sh.eps);
        return norm(b, c.norm(), Names::norm_2, b.add(h, Mlp::forward(b, h, c)), sh.hidden_size, sh.eps);
    }
};

/// The final LayerNorm (pre-LN without _remove_final_layer_norm), then
/// project_out to word_embed_proj_dim when it differs from hidden_size.
struct opt_final {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<opt_final, typename B::value> s, const opt_config& c) {
        const auto sh = c.shape();
        auto h = s[sl::hidden_states];
        if (c.final_norm()) h = norm(b, c.norm(), "model.decoder.final_layer_norm", h, sh.hidden_size, sh.eps);
        if (c.projection() != c.hidden_size)
            h = linear_no_bias(b, "model.decoder.project_out", h, c.hidden_size, c.projection());
        s.set(sl::hidden_states, h);
    }
};

/// A shared head run on the config as the heads see it (at_output(): the
/// hidden states have word_embed_proj_dim features).
template <class Head>
struct opt_head {
    using reads = typename Head::reads;
    using writes = typename Head::writes;

    template <Backend B>
    static void forward(B& b, io<opt_head, typename B::value> s, const opt_config& c) {
        Head::forward(b, s.template as<Head>(), c.at_output());
    }
};

/// Does OPT take position_ids for the task? Where Optimum gives it one:
/// the model and the causal LM, with and without past.
template <class Task>
inline constexpr bool opt_takes_positions =
    !std::is_same_v<Task, task::sequence_classification> && !std::is_same_v<Task, task::question_answering>;

struct opt_family
    : family_base<"opt", "model", opt_config, &opt_config_from_json,
                  type_list<task::default_, task::default_with_past, task::causal_lm, task::causal_lm_with_past,
                            task::sequence_classification, task::question_answering>> {
    static std::vector<std::string> ignored() { return {}; }

    template <class Task>
    static auto inputs(Task) -> task::decoder_inputs<Task, opt_takes_positions<Task>>;

    using block = opt_block<opt_names::layer, opt_attention<opt_names::layer>,
                            plain_mlp<opt_names::layer, &opt_config::enable_bias>>;
    template <class Task>
    using trunk = concat<std::conditional_t<opt_takes_positions<Task>, type_list<>, type_list<opt_mask_positions>>,
                         type_list<opt_embeddings,
                                   decoder_stack<opt_names::layer, block, decoder_context, task::has_past<Task>>,
                                   opt_final>>;
    static_assert(!task::has_past<task::sequence_classification> && !task::has_past<task::question_answering>,
                  "opt_mask_positions: the tasks without position_ids have no past");
    using lm = opt_head<decoder_lm_head<"lm_head", "model.decoder.embed_tokens.weight">>;

    template <class Task>
    static auto layers(Task) -> decoder_layers<trunk, Task, lm, opt_head<last_token_classifier<"score">>, void,
                                               opt_head<span_classifier<"qa_outputs">>>;
};

/// OPT with a compile-time config: `struct tiny final : opt<opt_config{...}> {};`
template <opt_config C, class Task = task::default_>
struct opt : model_of<opt_family, Task> {
    static_assert(check(C));
    static constexpr opt_config config = C;
};

}  // namespace typeformer::inline v0
