// typeformer/models/albert.hpp: ALBERT (`model_type` "albert").
//
// What makes ALBERT different from BERT:
//  - embeddings (word, position, token type, LayerNorm) are `embedding_size`
//    wide, then `albert.encoder.embedding_hidden_mapping_in` maps them to
//    hidden_size (always, even when the widths are equal);
//  - layers are shared: num_hidden_layers steps over num_hidden_groups groups
//    of inner_group_num layers (grouped_encoder_stack);
//  - the MLM head predicts from the embedding width (`predictions.*`);
//  - `gelu_new` (tanh GELU) by default.
// The sentence-order head (AlbertForPreTraining) is not a legacy feature.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// AlbertConfig, with Transformers' defaults.
struct albert_config {
    std::int64_t vocab_size = 30000;
    std::int64_t embedding_size = 128;
    std::int64_t hidden_size = 4096;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_hidden_groups = 1;
    std::int64_t num_attention_heads = 64;
    std::int64_t intermediate_size = 16384;
    std::int64_t inner_group_num = 1;
    activation hidden_act = activation::gelu_new;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    using self = albert_config;
    using fields = extend<bert_core_rows<self>, pad_id_is_padding_idx, field<"embedding_size", &self::embedding_size, rule::positive>,
                          field<"num_hidden_groups", &self::num_hidden_groups, rule::positive>,
                          field<"inner_group_num", &self::inner_group_num, rule::positive>,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          only<"position_embedding_type", "absolute">>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this);
        s.embedding_size = embedding_size;  // > 0: the projection to hidden_size always runs
        return s;
    }
};

/// AlbertConfig from config.json.
inline albert_config albert_config_from_json(const config_reader& r) { return load_config<albert_config>(r); }

namespace albert_names {
using embeddings = bert_embedding_names<"albert">;
struct layer {
    static constexpr std::string_view groups = "albert.encoder.albert_layer_groups", group_layers = "albert_layers",
                                      q = "attention.query", k = "attention.key", v = "attention.value",
                                      attention = "attention", o = "attention.dense",
                                      attn_norm = "attention.LayerNorm", ffn_in = "ffn", ffn_out = "ffn_output",
                                      out_norm = "full_layer_layer_norm";
};
struct lm {
    static constexpr std::string_view transform = "predictions.dense", norm = "predictions.LayerNorm",
                                      decoder = "predictions.decoder",
                                      tied_weight = "albert.embeddings.word_embeddings.weight",
                                      tied_bias = "predictions.bias";
};
}  // namespace albert_names

struct albert_family
    : family_base<"albert", "albert", albert_config, &albert_config_from_json,
                  task::encoder_features_no_clm>,
      text_encoder<albert_family, "input_ids", "attention_mask", "token_type_ids"> {
    /// Buffers, and the pooler where the task has none.
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "embeddings.token_type_ids", "pooler.weight", "pooler.bias"};
    }

    using trunk = type_list<embeddings<albert_names::embeddings,
                                       embedding_options{.project = "albert.encoder.embedding_hidden_mapping_in"}>, mask_to_bias,
                            grouped_encoder_stack<albert_names::layer>>;
    using pooler = first_token_pooler<"albert.pooler", activation::tanh>;

    using heads = encoder_heads<lm_head<albert_names::lm>, pooler>;
};

/// ALBERT with a compile-time config.
template <albert_config C, class Task = task::default_>
struct albert : model_of<albert_family, Task> {
    static_assert(check(C));
    static constexpr albert_config config = C;
};

}  // namespace typeformer::inline v0
