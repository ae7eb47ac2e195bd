// typeformer/models/electra.hpp: ELECTRA (`model_type` "electra").
//
// BERT's blocks under `electra`, with embedding tables of width
// embedding_size and, when that differs from hidden_size, a Linear
// `electra.embeddings_project` up to hidden_size. No pooler: masked-lm and
// causal-lm use the generator's head (dense to embedding_size, erf GELU,
// LayerNorm, decoder tied to the word embeddings with its own bias);
// sequence-classification reads the first token through `classifier.dense`
// and an erf GELU, then `classifier.out_proj`; multiple-choice goes through
// Transformers' SequenceSummary as the config's summary_* fields say.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/bert.hpp"

namespace typeformer::inline v0 {

/// ElectraConfig, with Transformers' defaults.
struct electra_config {
    std::int64_t vocab_size = 30522;
    std::int64_t embedding_size = 128;
    std::int64_t hidden_size = 256;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 4;
    std::int64_t intermediate_size = 1024;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    bool is_decoder = false;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    /// SequenceSummary of multiple-choice (summary_type, summary_use_proj,
    /// summary_proj_to_labels (not an ElectraConfig field: false), summary_activation).
    summary_spec summary_settings{summary_kind::first, true, false, true, activation::gelu};

    [[nodiscard]] constexpr summary_spec summary() const { return summary_settings; }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = vocab_size,
                .hidden_size = hidden_size,
                .num_heads = num_attention_heads,
                .intermediate_size = intermediate_size,
                .num_layers = num_hidden_layers,
                .max_positions = max_position_embeddings,
                .type_vocab_size = type_vocab_size,
                .act = hidden_act,
                .eps = static_cast<float>(layer_norm_eps),
                .causal = is_decoder,
                .num_labels = num_labels,
                // ElectraModel has embeddings_project only when the widths differ
                .embedding_size = embedding_size != hidden_size ? embedding_size : 0};
    }
};

constexpr bool check(const electra_config& c) {
    require(c.vocab_size > 0, "vocab_size must be positive");
    require(c.embedding_size > 0, "embedding_size must be positive");
    require(c.hidden_size > 0, "hidden_size must be positive");
    require(c.num_hidden_layers >= 0, "num_hidden_layers must not be negative");
    require(c.num_attention_heads > 0, "num_attention_heads must be positive");
    require(c.hidden_size % c.num_attention_heads == 0, "hidden_size must be divisible by num_attention_heads");
    require(c.intermediate_size > 0, "intermediate_size must be positive");
    require(c.max_position_embeddings > 0, "max_position_embeddings must be positive");
    require(c.type_vocab_size > 0, "type_vocab_size must be positive");
    require(c.layer_norm_eps > 0, "layer_norm_eps must be positive");
    require(c.num_labels > 0, "num_labels must be positive");
    return true;
}

inline electra_config electra_config_from_json(const config_reader& r) {
    electra_config c;
    r.get("vocab_size", c.vocab_size);
    r.get("embedding_size", c.embedding_size);
    r.get("hidden_size", c.hidden_size);
    r.get("num_hidden_layers", c.num_hidden_layers);
    r.get("num_attention_heads", c.num_attention_heads);
    r.get("intermediate_size", c.intermediate_size);
    r.get("hidden_act", c.hidden_act);
    r.get("max_position_embeddings", c.max_position_embeddings);
    r.get("type_vocab_size", c.type_vocab_size);
    r.get("layer_norm_eps", c.layer_norm_eps);
    r.get("is_decoder", c.is_decoder);
    r.get("tie_word_embeddings", c.tie_word_embeddings);
    r.get_num_labels(c.num_labels);
    read_summary(r, c.summary_settings);
    r.require_value("position_embedding_type", "absolute");
    check_loaded(c, r.where());
    return c;
}

namespace electra_names {
struct embeddings {
    static constexpr std::string_view scope = "electra.embeddings", word = "word_embeddings",
                                      position = "position_embeddings", token_type = "token_type_embeddings",
                                      norm = "LayerNorm", project = "electra.embeddings_project";
};
struct layer : bert_names::layer {
    static constexpr std::string_view stack = "electra.encoder.layer";
};
/// ElectraGeneratorPredictions + generator_lm_head.
struct lm {
    static constexpr std::string_view transform = "generator_predictions.dense",
                                      norm = "generator_predictions.LayerNorm", decoder = "generator_lm_head",
                                      tied_weight = "electra.embeddings.word_embeddings.weight", tied_bias = "";
    static constexpr activation act = activation::gelu;  // get_activation("gelu"), whatever hidden_act is
};
}  // namespace electra_names

struct electra_family {
    static constexpr std::string_view model_type = "electra";
    static constexpr std::string_view base_prefix = "electra";
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    using config = electra_config;
    using features = type_list<task::default_, task::masked_lm, task::causal_lm, task::sequence_classification,
                               task::multiple_choice, task::token_classification, task::question_answering>;

    static config load(const config_reader& r) { return electra_config_from_json(r); }
    static std::vector<std::string> ignored() { return {"embeddings.position_ids", "embeddings.token_type_ids"}; }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask", "token_type_ids">;

    using trunk = type_list<embeddings<electra_names::embeddings>, mask_to_bias, encoder_stack<electra_names::layer>>;

    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::masked_lm) -> concat<trunk, type_list<lm_head<electra_names::lm>>>;
    static auto layers(task::causal_lm) -> concat<trunk, type_list<lm_head<electra_names::lm>>>;
    /// ElectraClassificationHead.
    static auto layers(task::sequence_classification)
        -> concat<trunk, type_list<first_token_pooler<"classifier.dense", activation::gelu>,
                                   pooled_classifier<"classifier.out_proj">>>;
    /// SequenceSummary (first token, Linear, erf GELU by default) then `classifier` to one score per choice.
    static auto layers(task::multiple_choice)
        -> concat<type_list<fold_choices<"input_ids", "attention_mask", "token_type_ids">>, trunk,
                  type_list<sequence_summary<"sequence_summary", "classifier", true>>>;
    static auto layers(task::token_classification) -> concat<trunk, type_list<token_classifier<"classifier">>>;
    static auto layers(task::question_answering) -> concat<trunk, type_list<span_classifier<"qa_outputs">>>;
};

}  // namespace typeformer::inline v0
