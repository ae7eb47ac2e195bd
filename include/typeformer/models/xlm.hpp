// typeformer/models/xlm.hpp: XLM (`model_type` "xlm"), and the trunk FlauBERT shares.
//
// What makes XLM different from BERT:
//  - token_type_ids are looked up in the *word* table (so their vocabulary is
//    the word vocabulary); positions are a learned table (`sinusoidal_embeddings`
//    only initialises it, and the checkpoint stores it);
//  - each kind of module is its own list: `transformer.attentions.<i>`,
//    `transformer.layer_norm1.<i>`, `transformer.ffns.<i>`, `transformer.layer_norm2.<i>`;
//  - the hidden states are multiplied by the padding mask after the embeddings
//    and after every layer (padded positions come out as zeros);
//  - with `causal` the attention mask is the causal one alone (no padding);
//  - post-LN blocks (FlauBERT's `pre_norm` switches to pre-LN, no final LN);
//  - heads: Transformers' SequenceSummary for sequence classification and
//    multiple choice (`logits_proj` maps the summary to one score per choice);
//    `pred_layer.proj`, tied to the word table, for the LM.
// Language embeddings are not an input of the legacy export (no `langs`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/core/fixed_string.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

namespace xlm_rule {
/// A boolean that must be `Want`; `Says` ends the sentence that starts with its key.
template <bool Want, fixed_string Says>
struct is {
    static constexpr fixed_string says = Says;
    static constexpr bool holds(bool v) { return v == Want; }
};
}  // namespace xlm_rule

/// XLMConfig (and FlauBERT's, which adds `pre_norm` and `layerdrop`:
/// flaubert_keys), with Transformers' defaults.
struct xlm_config {
    std::int64_t vocab_size = 30145;  // n_words
    std::int64_t emb_dim = 2048;      // hidden size; the FFN is 4 × emb_dim
    std::int64_t n_layers = 12;
    std::int64_t n_heads = 16;
    bool gelu_activation = true;  // else ReLU
    bool causal = false;
    bool asm_ = false;  // adaptive softmax LM head (`asm`): not supported
    std::int64_t max_position_embeddings = 512;
    double layer_norm_eps = 1e-12;
    bool is_encoder = true;
    bool pre_norm = false;  // FlauBERT's (flaubert_keys): LayerNorms before each sublayer
    /// SequenceSummary of sequence classification and multiple choice: by
    /// default the first token, projected to num_labels, no activation.
    summary_spec summary_settings{.type = summary_kind::first, .use_proj = true, .proj_to_labels = true};
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    /// n_words (XLMConfig's other name for vocab_size, which wins when both
    /// are given) and the summary_* keys.
    static void read_n_words_and_summary(const config_reader& r, xlm_config& c) {
        r.get("n_words", c.vocab_size);
        read_summary(r, c.summary_settings);
    }
    using self = xlm_config;
    using fields = field_table<encoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"emb_dim", &self::emb_dim, rule::positive>,
        field<"n_layers", &self::n_layers, rule::non_negative>, field<"n_heads", &self::n_heads, rule::positive>,
        multiple_of<"emb_dim", "n_heads">, field<"gelu_activation", &self::gelu_activation>,
        // only initialises the position table, which the checkpoint stores
        no_effect<"sinusoidal_embeddings", bool>, field<"causal", &self::causal>,
        field<"asm", &self::asm_, xlm_rule::is<false, "(an adaptive-softmax LM head) is not supported">>,
        // the language embeddings only matter with a `langs` input, which the export has none of
        no_effect<"n_langs", std::int64_t>, no_effect<"use_lang_emb", bool>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>,
        field<"is_encoder", &self::is_encoder,
              xlm_rule::is<true, "must be true (Transformers' XLM is an encoder only)">>,
        internal<&self::pre_norm>, internal<&self::summary_settings>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
        // pad_index (5.x: pad_token_id) is the word table's padding_idx, and counts the lengths only when no
        // attention_mask is given (the export always takes one); eos_index (5.x: eos_token_id) is stored, unread
        no_effect<"pad_index", std::int64_t>, no_effect<"pad_token_id", std::int64_t>,
        no_effect<"eos_index", std::int64_t>, no_effect<"eos_token_id", std::int64_t>,
        // 5.x's cache would keep only the last sliding_window keys
        absent<"sliding_window", "a sliding-window cache">, reads<&self::read_n_words_and_summary>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = emb_dim,
                .num_heads = n_heads,
                .intermediate_size = 4 * emb_dim,
                .num_layers = n_layers,
                .max_positions = max_position_embeddings,
                // token types index the word table: their vocabulary is the word vocabulary
                .type_vocab_size = vocab_size,
                .act = gelu_activation ? activation::gelu : activation::relu,
                .eps = static_cast<float>(layer_norm_eps),
                .causal = causal,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr summary_spec summary() const { return summary_settings; }
};

/// XLMConfig from config.json.
inline xlm_config xlm_config_from_json(const config_reader& r) { return load_config<xlm_config>(r); }

/// The attention bias and the hidden-state mask [B, S, 1] from `attention_mask`;
/// with `causal`, the bias is the causal mask alone, as XLM's get_masks builds it.
struct xlm_masks {
    using reads = slots<"attention_mask">;
    using writes = slots<"attention_bias", "hidden_mask">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<xlm_masks, typename B::value> s, const C& c) {
        auto guard = b.scope("transformer.get_masks");
        const auto& mask = s[sl::attention_mask];
        const bool causal = c.shape().causal;
        // causal: every position counts as present; the triangle does the masking
        auto seen = causal ? b.add(b.mul(mask, b.constant_i64({0})), b.constant_i64({1})) : mask;
        s.set(sl::attention_bias, attention_bias(b, seen, causal));
        s.set(slot<"hidden_mask">{}, b.unsqueeze(b.cast(mask, dtype::f32), {2}));
    }
};

namespace xlm_names {
struct embeddings {
    static constexpr std::string_view scope = "transformer", word = "embeddings", position = "position_embeddings",
                                      token_type = "embeddings", norm = "layer_norm_emb";
};
/// FlauBERT has no token_type_ids input.
struct embeddings_no_types : embeddings {
    static constexpr std::string_view token_type = "";
};
struct self_attn {  // relative to transformer.attentions.<i>
    static constexpr std::string_view q = "q_lin", k = "k_lin", v = "v_lin", attention = "", o = "out_lin";
};
struct ffn {  // relative to transformer.ffns.<i>
    static constexpr std::string_view ffn_in = "lin1", ffn_out = "lin2";
};
}  // namespace xlm_names

/// XLM's layers over `transformer`: per-kind module lists, LayerNorms after
/// (or, with the config's pre_norm, before) each sublayer, and the padding
/// mask applied on entry and after every layer.
struct xlm_stack {
    using reads = slots<"hidden_states", "attention_bias", "hidden_mask">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<xlm_stack, typename B::value> s, const xlm_config& c) {
        const auto sh = c.shape();
        const auto hsz = sh.hidden_size;
        const auto& bias = s[sl::attention_bias];
        const auto& keep = s[slot<"hidden_mask">{}];
        auto guard = b.scope("transformer");
        auto h = b.mul(s[sl::hidden_states], keep);
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            const std::string n = "." + std::to_string(i);
            auto attn = [&](const typename B::value& x) {
                auto g = b.scope("attentions" + n);
                return self_attention<xlm_names::self_attn>::forward(b, x, bias, sh);
            };
            auto ffn = [&](const typename B::value& x) {
                auto g = b.scope("ffns" + n);
                return feed_forward<xlm_names::ffn>::forward(b, x, sh);
            };
            if (!c.pre_norm) {
                h = layer_norm(b, "layer_norm1" + n, b.add(h, attn(h)), hsz, sh.eps);
                h = layer_norm(b, "layer_norm2" + n, b.add(h, ffn(h)), hsz, sh.eps);
            } else {
                h = b.add(h, attn(layer_norm(b, "layer_norm1" + n, h, hsz, sh.eps)));
                h = b.add(h, ffn(layer_norm(b, "layer_norm2" + n, h, hsz, sh.eps)));
            }
            h = b.mul(h, keep);
        }
        s.set(sl::hidden_states, h);
    }
};

/// XLMPredLayer without adaptive softmax: `pred_layer.proj`, a Linear to the
/// vocabulary whose weight is the word table when tied.
struct xlm_pred_layer {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<xlm_pred_layer, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        s.set(sl::logits, dense(b, "pred_layer.proj", s[sl::hidden_states], sh.hidden_size, sh.vocab_size,
                                c.tie_word_embeddings ? "transformer.embeddings.weight" : std::string_view{}));
    }
};

/// The XLM model family and FlauBERT's (which differ in inputs and in which
/// config fields they read): `Embeddings` says whether token types are an input.
template <class Embeddings>
struct xlm_layers {
    using trunk = type_list<embeddings<Embeddings>, xlm_masks, xlm_stack>;
    static constexpr bool token_types = !Embeddings::token_type.empty();

    /// XLM's heads: the prediction layer, a sequence summary for (multiple-choice) classification.
    struct heads : encoder_heads<xlm_pred_layer, void> {
        using encoder_heads<xlm_pred_layer, void>::of;
        static auto of(task::sequence_classification) -> type_list<sequence_summary<"sequence_summary">>;
        static auto of(task::multiple_choice) -> type_list<sequence_summary<"sequence_summary", "logits_proj", true>>;
    };
    using fold = type_list<std::conditional_t<token_types, fold_choices<"input_ids", "attention_mask", "token_type_ids">,
                                              fold_choices<"input_ids", "attention_mask">>>;

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk, heads, fold>;
};

struct xlm_family : xlm_layers<xlm_names::embeddings> {
    static constexpr std::string_view model_type = "xlm";
    static constexpr std::string_view base_prefix = "transformer";
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    using config = xlm_config;
    using features = type_list<task::default_, task::masked_lm, task::causal_lm, task::sequence_classification,
                               task::multiple_choice, task::token_classification, task::question_answering>;

    static config load(const config_reader& r) { return xlm_config_from_json(r); }
    /// The position-id buffer, and language embeddings (no `langs` input in the legacy export).
    static std::vector<std::string> ignored() { return {"position_ids", "lang_embeddings.weight"}; }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask", "token_type_ids">;
    using xlm_layers::layers;
};

/// XLM with a compile-time config.
template <xlm_config C, class Task = task::default_>
struct xlm : model_of<xlm_family, Task> {
    static_assert(check(C));
    static constexpr xlm_config config = C;
};

}  // namespace typeformer::inline v0
