// typeformer/models/roformer.hpp: RoFormer (`model_type` "roformer").
//
// BERT's post-LN blocks without absolute positions: word + token-type
// embeddings of width embedding_size (then `embeddings_project` to the hidden
// size when they differ), and rotary position embeddings on q and k (and v
// when `rotary_value`) in every layer, from the sinusoidal table at
// `roformer.encoder.embed_positions`, built once per graph by the stack's
// context. Sequence classification reads the first token through
// `classifier.dense` and hidden_act (an ELECTRA-style head); the LM head
// maps back to embedding_size and is tied to the word embeddings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/rotary.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// RoFormerConfig, with Transformers' defaults (embedding_size 0: hidden_size).
struct roformer_config {
    std::int64_t vocab_size = 50000;
    std::int64_t embedding_size = 0;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 1536;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    bool rotary_value = false;
    bool is_decoder = false;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    /// SequenceSummary of multiple choice: RoFormerConfig sets no summary_*
    /// fields, so Transformers' defaults apply (the last token, no projection).
    summary_spec summary_settings{};

    static constexpr void head_size_rule(const roformer_config& c) {
        require(c.hidden_size / c.num_attention_heads % 2 == 0,
                "hidden_size / num_attention_heads must be even (rotary turns pairs of features)");
    }
    static void read_summary_settings(const config_reader& r, roformer_config& c) {
        read_summary(r, c.summary_settings);
    }
    using self = roformer_config;
    using fields = extend<bert_core_rows<self>, pad_id_is_padding_idx, rules<&self::head_size_rule>,
                          field<"embedding_size", &self::embedding_size, rule::positive_or<0>>,
                          field<"rotary_value", &self::rotary_value>, field<"is_decoder", &self::is_decoder>, cross_attention_refused,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          internal<&self::summary_settings>, reads<&self::read_summary_settings>>;

    [[nodiscard]] constexpr summary_spec summary() const { return summary_settings; }
    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this, is_decoder);
        s.embedding_size = embedding_size == hidden_size ? 0 : embedding_size;
        return s;
    }
};

/// RoFormerConfig from config.json.
inline roformer_config roformer_config_from_json(const config_reader& r) { return load_config<roformer_config>(r); }

namespace roformer_names {
using embeddings = bert_embedding_names<"roformer", false>;
struct layer : bert_layer_names<"roformer.encoder.layer"> {
    static constexpr std::string_view rotary_table = "roformer.encoder.embed_positions";
};
using lm = bert_lm_names<"roformer">;
}  // namespace roformer_names

struct roformer_family
    : family_base<"roformer", "roformer", roformer_config, &roformer_config_from_json,
                  task::encoder_features>,
      text_encoder<roformer_family, "input_ids", "attention_mask", "token_type_ids"> {
    static std::vector<std::string> ignored() { return {}; }

    using block = encoder_block<roformer_names::layer, rotary_self_attention<roformer_names::layer>>;
    using trunk = type_list<embeddings<roformer_names::embeddings, embedding_options{.project = "roformer.embeddings_project"}>, mask_to_bias,
                            encoder_stack<roformer_names::layer, block, rotary_context<roformer_names::layer>>>;
    /// RoFormerClassificationHead applies hidden_act.
    using heads = classification_head_heads<lm_head<roformer_names::lm>, &roformer_config::hidden_act>;
};

/// RoFormer with a compile-time config.
template <roformer_config C, class Task = task::default_>
struct roformer : model_of<roformer_family, Task> {
    static_assert(check(C));
    static constexpr roformer_config config = C;
};

}  // namespace typeformer::inline v0
