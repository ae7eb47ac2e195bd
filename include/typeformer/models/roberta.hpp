// typeformer/models/roberta.hpp: RoBERTa and the architectures Transformers
// derives from it, as one family template: RoBERTa, CamemBERT, XLM-RoBERTa,
// Data2VecText, I-BERT (quant_mode=false) and XLM-RoBERTa-XL.
//
// BERT's blocks under the base prefix; positions counted from the padding
// index over the non-padding tokens (create_position_ids_from_input_ids); no
// token_type_ids input (row 0 of the token-type table is added to every
// token); an LM head with an erf GELU whatever hidden_act says; a
// classification head `classifier.dense` (tanh) -> `classifier.out_proj` on
// the first token; the pooler only under multiple-choice. XLM-RoBERTa-XL
// moves the LayerNorms before each sublayer, drops the embedding LayerNorm
// and ends the stack with `encoder.LayerNorm`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/fixed_string.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// RobertaConfig (and its copies), with Transformers' RoBERTa defaults.
struct roberta_config {
    std::int64_t vocab_size = 50265;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    std::int64_t pad_token_id = 1;
    bool is_decoder = false;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    static constexpr void position_rules(const roberta_config& c) {
        require(c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size,
                "pad_token_id (the padding index of the positions) must be a token id");
        require(c.max_position_embeddings > c.pad_token_id + 1,
                "max_position_embeddings must exceed pad_token_id + 1 (positions count from the padding index)");
    }
    using self = roberta_config;
    using fields = extend<bert_core_rows<self>, field<"pad_token_id", &self::pad_token_id>,
                          rules<&self::position_rules>, field<"is_decoder", &self::is_decoder>, cross_attention_refused,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          only<"position_embedding_type", "absolute">>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this, is_decoder);
        s.position_offset = pad_token_id + 1;
        return s;
    }
};

/// The defaults of CamembertConfig, XLMRobertaConfig, Data2VecTextConfig and
/// IBertConfig: RoBERTa's but for the vocabulary.
inline constexpr roberta_config camembert_defaults{.vocab_size = 30522};
/// XLMRobertaXLConfig's defaults.
inline constexpr roberta_config xlm_roberta_xl_defaults{.vocab_size = 250880,
                                                        .hidden_size = 2560,
                                                        .num_hidden_layers = 36,
                                                        .num_attention_heads = 32,
                                                        .intermediate_size = 10240,
                                                        .max_position_embeddings = 514,
                                                        .type_vocab_size = 1,
                                                        .layer_norm_eps = 1e-5};

/// IBertConfig's keys: RoBERTa's, with quant_mode refused (only the float model).
using ibert_keys = extend<roberta_config::fields, never<"quant_mode", "only false: the float model">,
                          // turns quant_mode's integer kernels back to float ones; without quant_mode all are float
                          no_effect<"force_dequant", std::string>>;

/// RobertaConfig from config.json, over RoBERTa's defaults or a copy's (`start`).
inline roberta_config roberta_config_from_json(const config_reader& r, roberta_config start = {}) {
    return load_config<roberta_config>(r, start);
}

namespace detail {
/// A ++ B, as a fixed_string (module paths under a base prefix).
template <fixed_string A, fixed_string B>
inline constexpr auto joined = join<A, "", B>();
}  // namespace detail

/// Module names of the RoBERTa family under the base prefix `Base`; `PreLN`
/// selects XLM-RoBERTa-XL's layout.
template <fixed_string Base, bool PreLN = false>
struct roberta_names {
    struct embeddings {
        static constexpr std::string_view scope = detail::joined<Base, ".embeddings">.view(),
                                          word = "word_embeddings", position = "position_embeddings",
                                          token_type = "token_type_embeddings", norm = PreLN ? "" : "LayerNorm";
    };
    struct layer {
        static constexpr std::string_view stack = detail::joined<Base, ".encoder.layer">.view(),
                                          q = "attention.self.query", k = "attention.self.key",
                                          v = "attention.self.value", attention = "attention.self",
                                          o = "attention.output.dense",
                                          attn_norm = PreLN ? "attention.self_attn_layer_norm"
                                                            : "attention.output.LayerNorm",
                                          ffn_in = "intermediate.dense", ffn_out = "output.dense",
                                          out_norm = PreLN ? "LayerNorm" : "output.LayerNorm";
    };
    struct lm {
        static constexpr std::string_view transform = "lm_head.dense", norm = "lm_head.layer_norm",
                                          decoder = "lm_head.decoder",
                                          tied_weight = detail::joined<Base, ".embeddings.word_embeddings.weight">.view(),
                                          tied_bias = "lm_head.bias";
    };
    static constexpr auto final_norm = detail::joined<Base, ".encoder.LayerNorm">;
    static constexpr auto pooler = detail::joined<Base, ".pooler.dense">;
};

/// One member of the RoBERTa family: `ModelType` as config.json names it,
/// `Base` its base_model_prefix, `Features` its legacy feature list, `PreLN`
/// for XLM-RoBERTa-XL, `Defaults` its config class's defaults and `Keys` the
/// keys it reads (RoBERTa's, or I-BERT's).
template <fixed_string ModelType, fixed_string Base, class Features, bool PreLN = false,
          roberta_config Defaults = roberta_config{}, class Keys = roberta_config::fields>
struct roberta_like_family {
    static constexpr std::string_view model_type = ModelType.view();
    static constexpr std::string_view base_prefix = Base.view();
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    using config = roberta_config;
    using features = Features;
    using names = roberta_names<Base, PreLN>;

    static config load(const config_reader& r) { return load_config<config, Keys>(r, Defaults); }
    /// Buffers, and the pooler where the task has none.
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "embeddings.token_type_ids", "pooler.dense.weight", "pooler.dense.bias"};
    }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask">;

    /// Positions counted from the padding id, no token_type_ids input.
    static constexpr embedding_options embedding{.positions = position_ids_from::input_ids, .token_type_input = false};
    using layer = typename names::layer;
    using block = encoder_block<layer, self_attention<layer>, feed_forward<layer>,
                                PreLN ? norm_placement::pre : norm_placement::post>;
    using trunk = concat<type_list<embeddings<typename names::embeddings, embedding>, mask_to_bias,
                                   encoder_stack<layer, block>>,
                         std::conditional_t<PreLN, type_list<final_layer_norm<names::final_norm>>, type_list<>>>;
    using lm = lm_head<typename names::lm, activation::gelu>;  // the head calls gelu(), not hidden_act

    /// RobertaClassificationHead (dense, tanh, out_proj) for sequence
    /// classification; multiple choice pools through the base model's pooler.
    struct heads : encoder_heads<lm, first_token_pooler<names::pooler, activation::tanh>> {
        using encoder_heads<lm, first_token_pooler<names::pooler, activation::tanh>>::of;
        static auto of(task::sequence_classification)
            -> type_list<first_token_pooler<"classifier.dense", activation::tanh>,
                         pooled_classifier<"classifier.out_proj">>;
    };

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk, heads, type_list<fold_choices<"input_ids", "attention_mask">>>;
};

using roberta_family = roberta_like_family<"roberta", "roberta", task::encoder_features>;
using camembert_family = roberta_like_family<"camembert", "roberta", task::encoder_features, false, camembert_defaults>;
using xlm_roberta_family = roberta_like_family<"xlm-roberta", "roberta", task::encoder_features, false, camembert_defaults>;
using data2vec_text_family =
    roberta_like_family<"data2vec-text", "data2vec_text", task::encoder_features_no_clm, false, camembert_defaults>;
/// No legacy feature entry upstream: every head Transformers has for it.
using xlm_roberta_xl_family =
    roberta_like_family<"xlm-roberta-xl", "roberta", task::encoder_features, true, xlm_roberta_xl_defaults>;

/// I-BERT with quant_mode=false (the default): its Quant*/Int* modules fall
/// back to float Linear, GELU, softmax and LayerNorm, so the model computes
/// RoBERTa. The integer-only mode is refused; its buffers (scaling factors,
/// integer weights, activation ranges) are left unused.
struct ibert_family
    : roberta_like_family<"ibert", "ibert", task::encoder_features_no_clm, false, camembert_defaults, ibert_keys> {
    static std::vector<std::string> ignored() {
        auto v = roberta_like_family::ignored();
        for (const char* s : {"act_scaling_factor", "x_min", "x_max", "weight_integer", "weight_scaling_factor",
                              "bias_integer", "fc_scaling_factor", "LayerNorm.shift"})
            v.emplace_back(s);
        return v;
    }
};

/// RoBERTa with a compile-time config: `struct tiny final : roberta<roberta_config{...}> {};`
template <roberta_config C, class Task = task::default_>
struct roberta : model_of<roberta_family, Task> {
    static_assert(check(C));
    static constexpr roberta_config config = C;
};

}  // namespace typeformer::inline v0
