// typeformer/models/bart.hpp: the BART family of encoder-decoders, one
// template (layers/seq2seq.hpp) and a style each:
//
//   model_type        LayerNorms          positions                 layernorm_embedding   logits bias
//   bart, plbart      after each sublayer learned, offset 2         after positions       yes
//   mbart             before, and final   learned, offset 2         after positions       yes
//   blenderbot        before, and final   learned                   none                  yes
//   blenderbot-small  after each sublayer learned                   encoder: after positions;
//                                                                   decoder: tokens only  yes
//   marian            after each sublayer sinusoidal (sin | cos)    none                  yes
//   m2m_100           before, and final   sinusoidal, padding-aware none                  no
//   pegasus           before, and final   sinusoidal (sin | cos)    none                  yes
//
// Each model's q, k, v and out projections and fc1/fc2 have biases; the
// scores are scaled by head_dim^-0.5; the embeddings are multiplied by
// √d_model where scale_embedding; the LM head is tied to `model.shared`
// where tie_word_embeddings.
//
// Features: default (Optimum's feature-extraction: one graph, input_ids,
// attention_mask and decoder_input_ids to the decoder's last_hidden_state),
// seq2seq-lm (encoder_model.onnx, decoder_model.onnx) and
// seq2seq-lm-with-past (and decoder_with_past_model.onnx, which takes the
// cache), in Optimum's layout and names. BART and mBART add
// sequence-classification and question-answering, PLBart
// sequence-classification (seq2seq_head_layers: one graph, input_ids and
// attention_mask, the decoder's input shifted right inside it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/seq2seq.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

struct bart_config;
namespace detail {
void bart_aliases(const config_reader& r, bart_config& c);
}  // namespace detail

/// BartConfig and the configs that share its keys (MBartConfig, PLBartConfig,
/// MarianConfig, M2M100Config, BlenderbotConfig, BlenderbotSmallConfig);
/// the defaults are BART's, each family starts from its own.
struct bart_config {
    std::int64_t vocab_size = 50265;
    std::int64_t d_model = 1024;
    std::int64_t encoder_layers = 12;
    std::int64_t decoder_layers = 12;
    std::int64_t encoder_attention_heads = 16;
    std::int64_t decoder_attention_heads = 16;
    std::int64_t encoder_ffn_dim = 4096;
    std::int64_t decoder_ffn_dim = 4096;
    std::int64_t max_position_embeddings = 1024;
    activation activation_function = activation::gelu;
    bool scale_embedding = false;
    std::int64_t pad_token_id = 1;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 3;
    /// What the one-graph heads read (sequence-classification,
    /// question-answering): the token whose last occurrence the classifier
    /// pools, and the decoder's first token (BART's shift_tokens_right;
    /// mBART and PLBart wrap each row's last token instead). -1: null.
    std::int64_t eos_token_id = 2;
    std::int64_t decoder_start_token_id = 2;
    /// Marian: the decoder's vocabulary (0: vocab_size), and whether the
    /// encoder and the decoder share one (`model.shared`) or each has its own
    std::int64_t decoder_vocab_size = 0;
    bool shared_vocabulary = true;
    /// BlenderbotSmall's decoder multiplies its embeddings by √d_model
    /// (scale_embedding) under Transformers 4.41; 5.x computes the factor and
    /// leaves it unused
    bool scaled_small_decoder = false;
    /// The rows the position table skips (the family's: BART's 2), and the
    /// families whose table is fixed: where make_inputs may place positions.
    std::int64_t position_offset = 0;

    using self = bart_config;
    using fields = field_table<
        encoder_generic_keys,
        field<"vocab_size", &self::vocab_size, rule::positive>, field<"d_model", &self::d_model, rule::positive>,
        field<"encoder_layers", &self::encoder_layers, rule::non_negative>,
        field<"decoder_layers", &self::decoder_layers, rule::non_negative>,
        field<"encoder_attention_heads", &self::encoder_attention_heads, rule::positive>,
        field<"decoder_attention_heads", &self::decoder_attention_heads, rule::positive>,
        multiple_of<"d_model", "encoder_attention_heads">, multiple_of<"d_model", "decoder_attention_heads">,
        field<"encoder_ffn_dim", &self::encoder_ffn_dim, rule::positive>,
        field<"decoder_ffn_dim", &self::decoder_ffn_dim, rule::positive>,
        field<"max_position_embeddings", &self::max_position_embeddings, rule::positive>,
        field<"activation_function", &self::activation_function>,
        field<"scale_embedding", &self::scale_embedding>,
        field<"pad_token_id", &self::pad_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
        field<"eos_token_id", &self::eos_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        field<"decoder_start_token_id", &self::decoder_start_token_id, rule::any, read::null_is<std::int64_t{-1}>>,
        internal<&self::position_offset>, internal<&self::decoder_vocab_size>,
        internal<&self::shared_vocabulary>, true_under_4_41<&self::scaled_small_decoder>,
        // an encoder-decoder, whatever the key says: the export builds BART's classes
        no_effect<"is_encoder_decoder", bool>,
        // the attribute_map's names (num_hidden_layers: encoder_layers, hidden_size: d_model,
        // num_attention_heads: encoder_attention_heads), read over the keys they stand for
        owns<"num_hidden_layers">, owns<"hidden_size">, owns<"num_attention_heads">, reads<&detail::bart_aliases>,
        // training only: dropout after the activation, LayerDrop
        no_effect<"activation_dropout", double>, no_effect<"encoder_layerdrop", double>,
        no_effect<"decoder_layerdrop", double>,
        // generation settings: the graphs compute one step's logits; the caller decodes
        no_effect<"use_cache", bool>,
        no_effect<"forced_eos_token_id", any_json>, no_effect<"forced_bos_token_id", any_json>,
        // the cross-attention layers every decoder layer has
        always<"add_cross_attention", "a decoder without cross-attention">,
        // 4.41's tie_weights ties the encoder's weights to the decoder's when it is true
        never<"tie_encoder_decoder", "the encoder's weights tied to the decoder's">,
        // 5.x's cache (get_layer_types_and_kwargs) windows the self-attention's keys with it
        absent<"sliding_window", "a sliding-window cache">>;

    [[nodiscard]] constexpr seq2seq_stack_shape encoder_stack() const {
        return {vocab_size, d_model, encoder_attention_heads, encoder_ffn_dim, encoder_layers,
                max_position_embeddings, activation_function, 1e-5f, scale_embedding, pad_token_id};
    }
    [[nodiscard]] constexpr std::int64_t decoder_vocabulary() const {
        return decoder_vocab_size > 0 ? decoder_vocab_size : vocab_size;
    }
    [[nodiscard]] constexpr seq2seq_stack_shape decoder_stack() const {
        return {decoder_vocabulary(), d_model, decoder_attention_heads, decoder_ffn_dim, decoder_layers,
                max_position_embeddings, activation_function, 1e-5f, scale_embedding, pad_token_id};
    }
    [[nodiscard]] constexpr seq2seq_cache_shape seq2seq_cache() const {
        return {decoder_layers, decoder_attention_heads, d_model / decoder_attention_heads};
    }
    /// The decoder alone's cache (causal-lm-with-past): the decoder's layers,
    /// named as a decoder-only model's
    [[nodiscard]] constexpr kv_cache_shape cache() const {
        return {decoder_layers, decoder_attention_heads, d_model / decoder_attention_heads};
    }
    /// The full names of the token embeddings a stack's table is tied to, and the LM head's.
    [[nodiscard]] std::string tokens_tied_to(bool /*decoder*/) const {
        return shared_vocabulary ? "model.shared.weight" : "";
    }
    [[nodiscard]] std::string lm_head_tied_to() const {
        if (!tie_word_embeddings) return "";
        return shared_vocabulary ? "model.shared.weight" : "model.decoder.embed_tokens.weight";
    }
    /// The numbers validation inputs need (vocabulary, positions) and the
    /// classification heads read. Its vocabulary is the smaller of the
    /// encoder's and the decoder's: ids valid for both.
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = std::min(vocab_size, decoder_vocabulary()),
                .hidden_size = d_model,
                .num_heads = decoder_attention_heads,
                .intermediate_size = decoder_ffn_dim,
                .num_layers = decoder_layers,
                .max_positions = max_position_embeddings + position_offset,
                .type_vocab_size = 0,
                .act = activation_function,
                .eps = 1e-5f,
                .causal = false,
                .num_labels = num_labels,
                .position_offset = position_offset};
    }
};

namespace detail {
/// BartConfig's attribute_map names (hidden_size: d_model,
/// num_attention_heads: encoder_attention_heads, num_hidden_layers:
/// encoder_layers; 4.41 saves num_hidden_layers), read over the keys they
/// stand for, as the config's setters apply them.
inline void bart_aliases(const config_reader& r, bart_config& c) {
    const auto alias = [&](const char* key, std::int64_t& field) {
        if (r.has(key)) r.get(key, field);
    };
    alias("hidden_size", c.d_model);
    alias("num_attention_heads", c.encoder_attention_heads);
    alias("num_hidden_layers", c.encoder_layers);
}
}  // namespace detail

/// A config.json of a BART-style model, over the family's defaults.
template <const bart_config& Defaults, class Keys = bart_config::fields>
bart_config bart_config_from_json(const config_reader& r) {
    return load_config<bart_config, Keys>(r, Defaults);
}

/// What the BART-style families share: the features, their inputs and
/// layers, given the style (and the module names, and the encoder's
/// self-attention: seq2seq_encoder's hook).
template <seq2seq_style Style, class Names = seq2seq_names, class EncoderAttention = seq2seq_self_attention>
struct seq2seq_family_layers {
    using encoder = seq2seq_encoder<Style, Names, EncoderAttention>;
    template <seq2seq_step Step, fixed_string Ids = "input_ids", fixed_string Mask = "encoder_attention_mask">
    using decoder = seq2seq_decoder<Style, Step, Ids, Mask, Names>;
    using lm_head = seq2seq_lm_head<Style, Names>;

    /// The encoder-decoder's features (M2M100's, which has no ...ForCausalLM)
    using seq2seq_features = type_list<task::default_, task::seq2seq_default_with_past, task::seq2seq_lm,
                                       task::seq2seq_lm_with_past>;
    /// With the decoder alone's (...ForCausalLM), in the legacy table's order
    using features = type_list<task::default_, task::seq2seq_default_with_past, task::causal_lm,
                               task::causal_lm_with_past, task::seq2seq_lm, task::seq2seq_lm_with_past>;

    /// The decoder alone (causal-lm) reads no cross-attention, whose weights
    /// every decoder layer stores (BartDecoderLayer has them, unused without
    /// an encoder); the other features read them.
    static std::vector<std::string> ignored() { return ignored_with({}); }
    /// ignored() and `more` (the fixed sinusoidal tables Marian's and Pegasus's checkpoints store)
    static std::vector<std::string> ignored_with(std::initializer_list<std::string_view> more) {
        std::vector<std::string> v;
        for (const char* m : {"q_proj", "k_proj", "v_proj", "out_proj"})
            for (const char* p : {".weight", ".bias"}) v.push_back(std::string("encoder_attn.") + m + p);
        v.insert(v.end(), {"encoder_attn_layer_norm.weight", "encoder_attn_layer_norm.bias"});
        for (const auto m : more) v.emplace_back(m);
        return v;
    }

    using encoder_inputs = type_list<input<"input_ids", dtype::i64, axes<"batch", "encoder_sequence">>,
                                     input<"attention_mask", dtype::i64, axes<"batch", "encoder_sequence">>>;
    using decoder_inputs = type_list<input<"encoder_attention_mask", dtype::i64, axes<"batch", "encoder_sequence">>,
                                     input<"input_ids", dtype::i64, axes<"batch", "decoder_sequence">>,
                                     states_input<"encoder_hidden_states", "batch", "encoder_sequence">>;
    using later_inputs = type_list<input<"encoder_attention_mask", dtype::i64, axes<"batch", "encoder_sequence">>,
                                   input<"input_ids", dtype::i64, axes<"batch", "decoder_sequence">>,
                                   seq2seq_cache_inputs<true>>;

    // default: one graph (Optimum's feature-extraction)
    static auto inputs(task::default_) -> concat<encoder_inputs,
                                                 type_list<input<"decoder_input_ids", dtype::i64, axes<"batch", "decoder_sequence">>>>;
    static auto layers(task::default_)
        -> type_list<encoder, decoder<seq2seq_step::no_cache, "decoder_input_ids", "attention_mask">,
                     expose_hidden_states>;
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "decoder_sequence", "">>>;
    // seq2seq-lm as one graph (--monolith): default's inputs, the LM head's logits
    static auto monolith(task::seq2seq_lm) -> task::seq2seq_lm_monolith;
    static auto inputs(task::seq2seq_lm_monolith) -> decltype(inputs(task::default_{}));
    static auto layers(task::seq2seq_lm_monolith)
        -> type_list<encoder, decoder<seq2seq_step::no_cache, "decoder_input_ids", "attention_mask">, lm_head>;

    // the generation graphs
    static auto inputs(task::encoder_part) -> encoder_inputs;
    static auto layers(task::encoder_part)
        -> type_list<encoder, rename_slot<"encoder_hidden_states", "last_hidden_state">>;
    template <bool Lm, bool Cache>
    static auto inputs(task::decoder_part<Lm, Cache>) -> decoder_inputs;
    template <bool Lm, bool Cache>
    static auto layers(task::decoder_part<Lm, Cache>)
        -> type_list<decoder<Cache ? seq2seq_step::first : seq2seq_step::no_cache>,
                     std::conditional_t<Lm, lm_head, expose_hidden_states>>;
    template <bool Lm>
    static auto inputs(task::decoder_with_past_part<Lm>) -> later_inputs;
    template <bool Lm>
    static auto layers(task::decoder_with_past_part<Lm>)
        -> type_list<decoder<seq2seq_step::later>, std::conditional_t<Lm, lm_head, expose_hidden_states>>;

    // the decoder alone (...ForCausalLM): one graph, as the decoder-only families export it
    template <class Task>
        requires(std::is_same_v<Task, task::causal_lm> || std::is_same_v<Task, task::causal_lm_with_past>)
    static auto inputs(Task) -> task::decoder_inputs<Task>;
    template <class Task>
        requires(std::is_same_v<Task, task::causal_lm> || std::is_same_v<Task, task::causal_lm_with_past>)
    static auto layers(Task)
        -> type_list<decoder<task::has_past<Task> ? seq2seq_step::alone_with_past : seq2seq_step::alone,
                             "input_ids", "attention_mask">,
                     seq2seq_lm_head<Style, Names, true>>;
};

/// The one-graph heads of BART, mBART and PLBart (...ForSequenceClassification,
/// ...ForQuestionAnswering), in Optimum's I/O: input_ids and attention_mask
/// {batch, sequence} only; the decoder's input is input_ids shifted right
/// in the graph (`Shift`: the model's shift_tokens_right), the decoder's
/// hidden states feed the head. Sequence classification pools each row's
/// last eos (last_eos_token: what the graph computes where Transformers
/// raises) through `classification_head.dense`, tanh and
/// `classification_head.out_proj` to logits {batch, num_labels}; question
/// answering scores every decoder position with `qa_outputs` (start_logits,
/// end_logits {batch, sequence}).
template <seq2seq_style Style, seq2seq_shift Shift, class Names = seq2seq_names,
          class EncoderAttention = seq2seq_self_attention>
struct seq2seq_head_layers : seq2seq_family_layers<Style, Names, EncoderAttention> {
    using base = seq2seq_family_layers<Style, Names, EncoderAttention>;
    using base::inputs;
    using base::layers;

    using text_inputs = type_list<input<"input_ids", dtype::i64, axes<"batch", "sequence">>,
                                  input<"attention_mask", dtype::i64, axes<"batch", "sequence">>>;
    using trunk = type_list<typename base::encoder, shift_tokens_right<Shift>,
                            typename base::template decoder<seq2seq_step::no_cache, "decoder_input_ids",
                                                            "attention_mask">>;

    static auto inputs(task::sequence_classification) -> text_inputs;
    static auto layers(task::sequence_classification)
        -> concat<trunk, type_list<token_pooler<"classification_head.dense", activation::tanh, last_eos_token>,
                                   pooled_classifier<"classification_head.out_proj">>>;
    static auto inputs(task::question_answering) -> text_inputs;
    static auto layers(task::question_answering) -> concat<trunk, type_list<span_classifier<"qa_outputs">>>;
};

inline constexpr seq2seq_style bart_style{.pre_norm = false,
                                          .positions = seq2seq_positions::learned,
                                          .position_offset = 2,
                                          .embedding_norm = seq2seq_embedding_norm::after_positions};
inline constexpr seq2seq_style mbart_style{.pre_norm = true,
                                           .positions = seq2seq_positions::learned,
                                           .position_offset = 2,
                                           .embedding_norm = seq2seq_embedding_norm::after_positions};
inline constexpr seq2seq_style blenderbot_style{.pre_norm = true, .positions = seq2seq_positions::learned};
inline constexpr seq2seq_style blenderbot_small_style{
    .pre_norm = false, .positions = seq2seq_positions::learned,
    .embedding_norm = seq2seq_embedding_norm::decoder_tokens_only, .decoder_scale_4_41_only = true};
inline constexpr seq2seq_style marian_style{.pre_norm = false, .positions = seq2seq_positions::sinusoidal};
inline constexpr seq2seq_style pegasus_style{.pre_norm = true, .positions = seq2seq_positions::sinusoidal};
inline constexpr seq2seq_style m2m_100_style{.pre_norm = true,
                                             .positions = seq2seq_positions::sinusoidal_padded,
                                             .final_logits_bias = false};

inline constexpr bart_config bart_defaults{.position_offset = 2};
inline constexpr bart_config mbart_defaults{.decoder_start_token_id = -1, .position_offset = 2};
inline constexpr bart_config plbart_defaults{.vocab_size = 50005, .d_model = 768, .encoder_layers = 6,
                                             .decoder_layers = 6, .encoder_attention_heads = 12,
                                             .decoder_attention_heads = 12, .encoder_ffn_dim = 3072,
                                             .decoder_ffn_dim = 3072, .scale_embedding = true,
                                             .decoder_start_token_id = -1, .position_offset = 2};
inline constexpr bart_config blenderbot_defaults{.vocab_size = 8008, .d_model = 2560, .encoder_layers = 2,
                                                 .decoder_layers = 24, .encoder_attention_heads = 32,
                                                 .decoder_attention_heads = 32, .encoder_ffn_dim = 10240,
                                                 .decoder_ffn_dim = 10240, .max_position_embeddings = 128,
                                                 .pad_token_id = 0};
inline constexpr bart_config blenderbot_small_defaults{.vocab_size = 50265, .d_model = 512, .encoder_layers = 8,
                                                       .decoder_layers = 8, .encoder_attention_heads = 16,
                                                       .decoder_attention_heads = 16, .encoder_ffn_dim = 2048,
                                                       .decoder_ffn_dim = 2048, .max_position_embeddings = 512,
                                                       .pad_token_id = 0};
inline constexpr bart_config marian_defaults{.vocab_size = 58101, .pad_token_id = 58100};
inline constexpr bart_config pegasus_defaults{.pad_token_id = 0};
inline constexpr bart_config m2m_100_defaults{.vocab_size = 128112, .activation_function = activation::relu,
                                              .scale_embedding = true};

namespace detail {
/// Marian's own keys: one vocabulary shared by the encoder and the decoder.
/// Marian's own keys: share_encoder_decoder_embeddings (one table,
/// `model.shared`, or the encoder's and the decoder's own) and
/// decoder_vocab_size (null: vocab_size), which a shared table must equal.
inline void marian_vocabularies(const config_reader& r, bart_config& c) {
    r.get("share_encoder_decoder_embeddings", c.shared_vocabulary);
    c.decoder_vocab_size = 0;
    if (r.has("decoder_vocab_size")) r.get("decoder_vocab_size", c.decoder_vocab_size);
    if (c.decoder_vocab_size < 0 || (c.decoder_vocab_size == 0 && r.has("decoder_vocab_size")))
        throw error("config.invalid", r.where() + ": decoder_vocab_size must be positive");
    if (c.shared_vocabulary && c.decoder_vocab_size > 0 && c.decoder_vocab_size != c.vocab_size)
        throw error("config.invalid", r.where() + ": decoder_vocab_size " + std::to_string(c.decoder_vocab_size) +
                                          " differs from vocab_size " + std::to_string(c.vocab_size) +
                                          " while share_encoder_decoder_embeddings is true (one table for both)");
}
}  // namespace detail
using marian_keys = extend<bart_config::fields, owns<"share_encoder_decoder_embeddings">, owns<"decoder_vocab_size">,
                           reads<&detail::marian_vocabularies>>;

// BART and mBART have both heads; PLBart has PLBartForSequenceClassification
// only (Transformers has no PLBartForQuestionAnswering). The other families
// have neither.
struct bart_family : family_base<"bart", "model", bart_config, &bart_config_from_json<bart_defaults>, type_list<>>,
                     seq2seq_head_layers<bart_style, seq2seq_shift::start_token> {
    using features = concat<seq2seq_family_layers<bart_style>::features,
                            type_list<task::sequence_classification, task::question_answering>>;
};
struct mbart_family : family_base<"mbart", "model", bart_config, &bart_config_from_json<mbart_defaults>, type_list<>>,
                      seq2seq_head_layers<mbart_style, seq2seq_shift::wrap_last> {
    using features = concat<seq2seq_family_layers<mbart_style>::features,
                            type_list<task::sequence_classification, task::question_answering>>;
};
struct plbart_family
    : family_base<"plbart", "model", bart_config, &bart_config_from_json<plbart_defaults>, type_list<>>,
      seq2seq_head_layers<bart_style, seq2seq_shift::wrap_last> {
    using features = concat<seq2seq_family_layers<bart_style>::features, type_list<task::sequence_classification>>;
};
struct blenderbot_family
    : family_base<"blenderbot", "model", bart_config, &bart_config_from_json<blenderbot_defaults>, type_list<>>,
      seq2seq_family_layers<blenderbot_style> {
    using features = seq2seq_family_layers<blenderbot_style>::features;
};
struct blenderbot_small_family
    : family_base<"blenderbot-small", "model", bart_config, &bart_config_from_json<blenderbot_small_defaults>,
                  type_list<>>,
      seq2seq_family_layers<blenderbot_small_style> {
    using features = seq2seq_family_layers<blenderbot_small_style>::features;
};
struct marian_family
    : family_base<"marian", "model", bart_config, &bart_config_from_json<marian_defaults, marian_keys>, type_list<>>,
      seq2seq_family_layers<marian_style> {
    // the legacy table lists Marian's causal LM after the encoder-decoder's features
    using features = concat<seq2seq_family_layers<marian_style>::seq2seq_features,
                            type_list<task::causal_lm, task::causal_lm_with_past>>;
    // MarianModel's checkpoints store the fixed sinusoidal tables (MarianMTModel's do not): the graph computes them
    static std::vector<std::string> ignored() {
        return seq2seq_family_layers<marian_style>::ignored_with({"embed_positions.weight"});
    }
    static constexpr double atol = 1e-4;  // the legacy table's
};
struct m2m_100_family
    : family_base<"m2m_100", "model", bart_config, &bart_config_from_json<m2m_100_defaults>, type_list<>>,
      seq2seq_family_layers<m2m_100_style> {
    using features = seq2seq_family_layers<m2m_100_style>::seq2seq_features;  // no M2M100ForCausalLM
};
struct pegasus_family
    : family_base<"pegasus", "model", bart_config, &bart_config_from_json<pegasus_defaults>, type_list<>>,
      seq2seq_family_layers<pegasus_style> {
    using features = seq2seq_family_layers<pegasus_style>::seq2seq_features;
    // Pegasus's checkpoints store the fixed sinusoidal tables: the graph computes the same ones (Marian's)
    static std::vector<std::string> ignored() {
        return seq2seq_family_layers<pegasus_style>::ignored_with({"embed_positions.weight"});
    }
};

}  // namespace typeformer::inline v0
