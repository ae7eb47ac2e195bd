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
    summary_spec summary_settings{
        .type = summary_kind::first, .use_proj = true, .activate = true, .act = activation::gelu};

    static void read_summary_settings(const config_reader& r, electra_config& c) {
        read_summary(r, c.summary_settings);
    }
    using self = electra_config;
    using fields = extend<bert_core_rows<self>, pad_id_is_padding_idx, field<"embedding_size", &self::embedding_size, rule::positive>,
                          field<"is_decoder", &self::is_decoder>, cross_attention_refused,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          internal<&self::summary_settings>, only<"position_embedding_type", "absolute">,
                          reads<&self::read_summary_settings>>;

    [[nodiscard]] constexpr summary_spec summary() const { return summary_settings; }
    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this, is_decoder);
        // ElectraModel has embeddings_project only when the widths differ
        s.embedding_size = embedding_size != hidden_size ? embedding_size : 0;
        return s;
    }
};

/// ElectraConfig from config.json.
inline electra_config electra_config_from_json(const config_reader& r) { return load_config<electra_config>(r); }

namespace electra_names {
using embeddings = bert_embedding_names<"electra">;
using layer = bert_layer_names<"electra.encoder.layer">;
/// ElectraGeneratorPredictions + generator_lm_head.
struct lm {
    static constexpr std::string_view transform = "generator_predictions.dense",
                                      norm = "generator_predictions.LayerNorm", decoder = "generator_lm_head",
                                      tied_weight = "electra.embeddings.word_embeddings.weight", tied_bias = "";
};
}  // namespace electra_names

struct electra_family
    : family_base<"electra", "electra", electra_config, &electra_config_from_json,
                  task::encoder_features>,
      text_encoder<electra_family, "input_ids", "attention_mask", "token_type_ids"> {
    static std::vector<std::string> ignored() { return {"embeddings.position_ids", "embeddings.token_type_ids"}; }

    using trunk = type_list<embeddings<electra_names::embeddings, embedding_options{.project = "electra.embeddings_project"}>,
                            mask_to_bias, encoder_stack<electra_names::layer>>;

    /// ElectraClassificationHead and the generator head both apply the erf
    /// GELU (get_activation("gelu")), whatever hidden_act says.
    using heads = classification_head_heads<lm_head<electra_names::lm, activation::gelu>, activation::gelu>;
};

/// ELECTRA with a compile-time config.
template <electra_config C, class Task = task::default_>
struct electra : model_of<electra_family, Task> {
    static_assert(check(C));
    static constexpr electra_config config = C;
};

}  // namespace typeformer::inline v0
