// typeformer/models/distilbert.hpp: DistilBERT (`model_type` "distilbert").
//
// BERT's post-LN blocks under other names, without token types or a pooler:
// classification heads read the first token through `pre_classifier` and a
// ReLU. LayerNorm eps is fixed at 1e-12.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// DistilBertConfig, with Transformers' defaults.
struct distilbert_config {
    std::int64_t vocab_size = 30522;
    std::int64_t max_position_embeddings = 512;
    std::int64_t n_layers = 6;
    std::int64_t n_heads = 12;
    std::int64_t dim = 768;
    std::int64_t hidden_dim = 3072;
    activation act = activation::gelu;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    using self = distilbert_config;
    using fields = field_table<encoder_generic_keys, field<"vocab_size", &self::vocab_size, rule::positive>, pad_id_is_padding_idx,
                               field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
                               // only initialises the position table, which the checkpoint stores
                               no_effect<"sinusoidal_pos_embds", bool>,
                               field<"n_layers", &self::n_layers, rule::non_negative>,
                               field<"n_heads", &self::n_heads, rule::positive>,
                               field<"dim", &self::dim, rule::positive>, multiple_of<"dim", "n_heads">,
                               field<"hidden_dim", &self::hidden_dim, rule::positive>,
                               field<"activation", &self::act>,
                               field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        return {vocab_size, dim, n_heads, hidden_dim, n_layers, max_position_embeddings, 0, act, 1e-12f, false,
                num_labels};
    }
};

/// DistilBertConfig from config.json.
inline distilbert_config distilbert_config_from_json(const config_reader& r) {
    return load_config<distilbert_config>(r);
}

namespace distilbert_names {
struct embeddings {
    static constexpr std::string_view scope = "distilbert.embeddings", word = "word_embeddings",
                                      position = "position_embeddings", token_type = "", norm = "LayerNorm";
};
struct layer {
    static constexpr std::string_view stack = "distilbert.transformer.layer", q = "attention.q_lin",
                                      k = "attention.k_lin", v = "attention.v_lin", attention = "attention",
                                      o = "attention.out_lin", attn_norm = "sa_layer_norm", ffn_in = "ffn.lin1",
                                      ffn_out = "ffn.lin2", out_norm = "output_layer_norm";
};
struct lm {
    static constexpr std::string_view transform = "vocab_transform", norm = "vocab_layer_norm",
                                      decoder = "vocab_projector",
                                      tied_weight = "distilbert.embeddings.word_embeddings.weight", tied_bias = "";
};
}  // namespace distilbert_names

struct distilbert_family
    : family_base<"distilbert", "distilbert", distilbert_config, &distilbert_config_from_json,
                  task::encoder_features_no_clm>,
      text_encoder<distilbert_family, "input_ids", "attention_mask"> {
    static std::vector<std::string> ignored() { return {"embeddings.position_ids"}; }

    using trunk = type_list<embeddings<distilbert_names::embeddings>, mask_to_bias,
                            encoder_stack<distilbert_names::layer>>;
    using pooler = first_token_pooler<"pre_classifier", activation::relu>;

    using heads = encoder_heads<lm_head<distilbert_names::lm>, pooler>;
};

/// DistilBERT with a compile-time config.
template <distilbert_config C, class Task = task::default_>
struct distilbert : model_of<distilbert_family, Task> {
    static_assert(check(C));
    static constexpr distilbert_config config = C;
};

}  // namespace typeformer::inline v0
