// typeformer/models/bert.hpp: BERT (`model_type` "bert").
//
// Word + position + token-type embeddings and LayerNorm; post-LN blocks with
// an erf GELU; a tanh pooler on the first token for the classification
// heads; an LM head tied to the word embeddings. BertLMHeadModel attends
// causally when the config says `is_decoder`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// BertConfig, with Transformers' defaults.
struct bert_config {
    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    bool is_decoder = false;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    using self = bert_config;
    using fields = extend<bert_core_rows<self>, pad_id_is_padding_idx, field<"is_decoder", &self::is_decoder>, cross_attention_refused,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          only<"position_embedding_type", "absolute">>;

    [[nodiscard]] constexpr encoder_shape shape() const { return bert_like_shape(*this, is_decoder); }
};

/// BertConfig from config.json.
inline bert_config bert_config_from_json(const config_reader& r) { return load_config<bert_config>(r); }

namespace bert_names {
using embeddings = bert_embedding_names<"bert">;
using layer = bert_layer_names<"bert.encoder.layer">;
using lm = bert_lm_names<"bert">;
}  // namespace bert_names

struct bert_family : family_base<"bert", "bert", bert_config, &bert_config_from_json, task::encoder_features>,
                     text_encoder<bert_family, "input_ids", "attention_mask", "token_type_ids"> {
    /// Checkpoint tensors a model may leave unused: buffers, and the pooler where the task has none.
    static std::vector<std::string> ignored() { return {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}; }

    using trunk = type_list<embeddings<bert_names::embeddings>, mask_to_bias, encoder_stack<bert_names::layer>>;
    using pooler = first_token_pooler<"bert.pooler.dense", activation::tanh>;

    using heads = encoder_heads<lm_head<bert_names::lm>, pooler>;
};

/// BERT with a compile-time config: `struct tiny final : bert<bert_config{...}> {};`
template <bert_config C, class Task = task::default_>
struct bert : model_of<bert_family, Task> {
    static_assert(check(C));
    static constexpr bert_config config = C;
};

}  // namespace typeformer::inline v0
