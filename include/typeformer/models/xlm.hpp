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

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// XLMConfig (and FlauBERT's, which adds `pre_norm` and `layerdrop`), with Transformers' defaults.
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
    bool pre_norm = false;  // FlauBERT only; layerdrop does nothing at inference
    summary_kind summary_type = summary_kind::first;
    bool summary_use_proj = true;
    bool summary_activation_set = false;  // summary_activation: None
    activation summary_activation = activation::tanh;
    bool summary_proj_to_labels = true;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    [[nodiscard]] constexpr encoder_shape shape() const {
        // token types index the word table: their vocabulary is the word vocabulary
        return {vocab_size, emb_dim, n_heads, 4 * emb_dim, n_layers, max_position_embeddings, vocab_size,
                gelu_activation ? activation::gelu : activation::relu, static_cast<float>(layer_norm_eps), causal,
                num_labels};
    }
    [[nodiscard]] constexpr summary_spec summary() const {
        return {summary_type, summary_use_proj, summary_proj_to_labels, summary_activation_set, summary_activation};
    }
};

constexpr bool check(const xlm_config& c) {
    require(c.vocab_size > 0, "vocab_size must be positive");
    require(c.emb_dim > 0, "emb_dim must be positive");
    require(c.n_layers >= 0, "n_layers must not be negative");
    require(c.n_heads > 0, "n_heads must be positive");
    require(c.emb_dim % c.n_heads == 0, "emb_dim must be divisible by n_heads");
    require(c.max_position_embeddings > 0, "max_position_embeddings must be positive");
    require(c.layer_norm_eps > 0, "layer_norm_eps must be positive");
    require(c.is_encoder, "is_encoder must be true (Transformers' XLM is an encoder only)");
    require(!c.asm_, "asm (an adaptive-softmax LM head) is not supported");
    require(c.num_labels > 0, "num_labels must be positive");
    return true;
}

/// Read XLMConfig's fields (FlauBERT's too: `pre_norm`).
inline xlm_config xlm_config_from_json(const config_reader& r) {
    xlm_config c;
    r.get("vocab_size", c.vocab_size);
    r.get("n_words", c.vocab_size);  // the old name, an alias in Transformers
    r.get("emb_dim", c.emb_dim);
    r.get("n_layers", c.n_layers);
    r.get("n_heads", c.n_heads);
    r.get("gelu_activation", c.gelu_activation);
    // sinusoidal_embeddings only initialises the position table, which the
    // checkpoint stores; n_langs and use_lang_emb only matter with a `langs`
    // input, which the export has none of. Read for their types, then ignored.
    bool sinusoidal_embeddings = false, use_lang_emb = true;
    std::int64_t n_langs = 1;
    r.get("sinusoidal_embeddings", sinusoidal_embeddings);
    r.get("causal", c.causal);
    r.get("asm", c.asm_);
    r.get("n_langs", n_langs);
    r.get("use_lang_emb", use_lang_emb);
    r.get("max_position_embeddings", c.max_position_embeddings);
    r.get("layer_norm_eps", c.layer_norm_eps);
    r.get("is_encoder", c.is_encoder);
    r.get("pre_norm", c.pre_norm);
    summary_spec s = c.summary();
    read_summary(r, s);
    c.summary_type = s.type;
    c.summary_use_proj = s.use_proj;
    c.summary_proj_to_labels = s.proj_to_labels;
    c.summary_activation_set = s.activate;
    c.summary_activation = s.act;
    r.get("tie_word_embeddings", c.tie_word_embeddings);
    r.get_num_labels(c.num_labels);
    check_loaded(c, r.where());
    return c;
}

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

    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::masked_lm) -> concat<trunk, type_list<xlm_pred_layer>>;
    static auto layers(task::causal_lm) -> concat<trunk, type_list<xlm_pred_layer>>;
    static auto layers(task::sequence_classification) -> concat<trunk, type_list<sequence_summary<"sequence_summary">>>;
    static auto layers(task::multiple_choice)
        -> concat<type_list<std::conditional_t<token_types,
                                               fold_choices<"input_ids", "attention_mask", "token_type_ids">,
                                               fold_choices<"input_ids", "attention_mask">>>,
                  trunk, type_list<sequence_summary<"sequence_summary", "logits_proj", true>>>;
    static auto layers(task::token_classification) -> concat<trunk, type_list<token_classifier<"classifier">>>;
    static auto layers(task::question_answering) -> concat<trunk, type_list<span_classifier<"qa_outputs">>>;
};

struct xlm_family : xlm_layers<xlm_names::embeddings> {
    static constexpr std::string_view model_type = "xlm";
    static constexpr std::string_view base_prefix = "transformer";
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    using config = xlm_config;
    using features = type_list<task::default_, task::masked_lm, task::causal_lm, task::sequence_classification,
                               task::multiple_choice, task::token_classification, task::question_answering>;

    static config load(const config_reader& r) {
        auto c = xlm_config_from_json(r);
        c.pre_norm = false;  // not an XLM field
        return c;
    }
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
