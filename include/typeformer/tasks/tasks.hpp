// typeformer/tasks/tasks.hpp: the tasks (features), as types.
//
// A task names the feature as the legacy `transformers.onnx` CLI spells it
// and declares the outputs every model exporting it has, with their axes
// (`OnnxConfig._tasks_to_common_outputs`). Which families support which tasks
// is each family's `features` list; the feature table is their union.
#pragma once

#include <string_view>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/slots.hpp"

namespace typeformer::inline v0::task {

struct default_ {
    static constexpr std::string_view name = "default";
    using outputs = type_list<output<"last_hidden_state", axes<"batch", "sequence", "">>>;
};
struct masked_lm {
    static constexpr std::string_view name = "masked-lm";
    using outputs = type_list<output<"logits", axes<"batch", "sequence", "">>>;
};
struct causal_lm {
    static constexpr std::string_view name = "causal-lm";
    using outputs = type_list<output<"logits", axes<"batch", "sequence", "">>>;
};
struct sequence_classification {
    static constexpr std::string_view name = "sequence-classification";
    using outputs = type_list<output<"logits", axes<"batch", "">>>;
};
struct multiple_choice {
    static constexpr std::string_view name = "multiple-choice";
    using outputs = type_list<output<"logits", axes<"batch", "">>>;
};
struct token_classification {
    static constexpr std::string_view name = "token-classification";
    using outputs = type_list<output<"logits", axes<"batch", "sequence", "">>>;
};
struct question_answering {
    static constexpr std::string_view name = "question-answering";
    using outputs = type_list<output<"start_logits", axes<"batch", "sequence">>,
                              output<"end_logits", axes<"batch", "sequence">>>;
};

// Image models (ViT, ResNet, ...): the input is pixel_values
// (image_input); the base model's last_hidden_state has whatever shape the
// family says (its outputs(task::default_)).
struct image_classification {
    static constexpr std::string_view name = "image-classification";
    using outputs = type_list<output<"logits", axes<"batch", "">>>;
};
/// object-detection (DETR, YOLOS): per query, the class logits (num_labels + 1,
/// the last "no object") and the box (centre x, y, width, height in [0, 1]).
struct object_detection {
    static constexpr std::string_view name = "object-detection";
    using outputs = type_list<output<"logits", axes<"batch", "", "">>, output<"pred_boxes", axes<"batch", "", "">>>;
};
/// masked-im: the image reconstructed from its patches (ViTForMaskedImageModeling).
struct masked_im {
    static constexpr std::string_view name = "masked-im";
    using outputs = type_list<output<"reconstruction", axes<"batch", "", "", "">>>;
};
/// semantic-segmentation: a score per label for every position of a feature
/// map, [batch, num_labels, h, w] at a fraction of the image's size (SegFormer, MobileViT).
struct semantic_segmentation {
    static constexpr std::string_view name = "semantic-segmentation";
    using outputs = type_list<output<"logits", axes<"batch", "", "", "">>>;
};

/// image-segmentation (DetrForSegmentation): object detection's outputs and
/// a mask per query, [batch, queries, h, w] at a fraction of the image's size.
struct image_segmentation {
    static constexpr std::string_view name = "image-segmentation";
    using outputs = type_list<output<"logits", axes<"batch", "", "">>, output<"pred_boxes", axes<"batch", "", "">>,
                              output<"pred_masks", axes<"batch", "", "", "">>>;
};
// Decoders: the with-past features take the KV cache of every
// layer as inputs and return the grown cache after the task's outputs.
struct default_with_past {
    static constexpr std::string_view name = "default-with-past";
    using outputs = type_list<output<"last_hidden_state", axes<"batch", "sequence", "">>, cache_outputs<>>;
};
struct causal_lm_with_past {
    static constexpr std::string_view name = "causal-lm-with-past";
    using outputs = type_list<output<"logits", axes<"batch", "sequence", "">>, cache_outputs<>>;
};

// Encoder-decoders (BART, T5, ...): a generation feature is several graphs,
// as Optimum writes them: the encoder, run once; the decoder of the first
// step; and the decoder of every later step, which takes the cache. Each
// graph is a task of its own (a `part`, named by its file, without
// `.onnx`); the feature lists its parts, and the family declares inputs(Part)
// and layers(Part) for each.

/// encoder_model: input_ids, attention_mask -> last_hidden_state.
struct encoder_part {
    static constexpr std::string_view name = "encoder_model";
    using outputs = type_list<output<"last_hidden_state", axes<"batch", "encoder_sequence", "">>>;
};
/// decoder_model: the first step's decoder (the task's output: logits with
/// `Lm`, else the decoder's last_hidden_state); with `Cache`, it returns
/// the cache a later step takes, the cross-attention's part included.
template <bool Lm, bool Cache>
struct decoder_part {
    static constexpr std::string_view name = "decoder_model";
    using outputs = concat<type_list<std::conditional_t<Lm, output<"logits", axes<"batch", "decoder_sequence", "">>,
                                                        output<"last_hidden_state", axes<"batch", "decoder_sequence", "">>>>,
                           std::conditional_t<Cache, type_list<seq2seq_cache_outputs<true>>, type_list<>>>;
};
/// decoder_with_past_model: every later step's decoder, taking the cache and
/// returning its self-attention part grown by the new tokens.
template <bool Lm>
struct decoder_with_past_part {
    static constexpr std::string_view name = "decoder_with_past_model";
    using outputs = type_list<std::conditional_t<Lm, output<"logits", axes<"batch", "decoder_sequence", "">>,
                                                 output<"last_hidden_state", axes<"batch", "decoder_sequence", "">>>,
                              seq2seq_cache_outputs<false>>;
};

/// seq2seq-lm (Optimum's text2text-generation): the encoder and a decoder
/// that recomputes every step.
struct seq2seq_lm {
    static constexpr std::string_view name = "seq2seq-lm";
    using parts = type_list<encoder_part, decoder_part<true, false>>;
};
/// seq2seq-lm-with-past (text2text-generation-with-past): the encoder, the
/// first step's decoder and the later steps' decoder with the cache.
/// Its two decoders are also written as one graph (decoder_model_merged,
/// export/merge.hpp): `merged` names them.
struct seq2seq_lm_with_past {
    static constexpr std::string_view name = "seq2seq-lm-with-past";
    using parts = type_list<encoder_part, decoder_part<true, true>, decoder_with_past_part<true>>;
    using merged = type_list<decoder_part<true, true>, decoder_with_past_part<true>>;
};
/// default-with-past of an encoder-decoder (feature-extraction-with-past):
/// seq2seq-lm-with-past's graphs, the decoder's hidden states for logits.
struct seq2seq_default_with_past {
    static constexpr std::string_view name = "default-with-past";
    using parts = type_list<encoder_part, decoder_part<false, true>, decoder_with_past_part<false>>;
    using merged = type_list<decoder_part<false, true>, decoder_with_past_part<false>>;
};

/// seq2seq-lm as one graph, model.onnx (--monolith: the legacy exporter's
/// layout, and optimum-cli's with --monolith): input_ids, attention_mask
/// {batch, encoder_sequence} and decoder_input_ids {batch, decoder_sequence}
/// -> logits {batch, decoder_sequence, vocab}; every step reruns the encoder.
/// A family maps seq2seq-lm to it with `monolith(task::seq2seq_lm)`.
struct seq2seq_lm_monolith {
    static constexpr std::string_view name = "seq2seq-lm";
    using outputs = type_list<output<"logits", axes<"batch", "decoder_sequence", "">>>;
};

/// Is the task a later step's decoder (it always has a past: the first
/// step is another graph's)?
template <class Task>
inline constexpr bool is_later_step = false;
template <bool Lm>
inline constexpr bool is_later_step<decoder_with_past_part<Lm>> = true;

/// A task's graphs: its parts, or the task itself (one graph, model.onnx).
template <class Task>
auto graphs_of_impl() {
    if constexpr (requires { typename Task::parts; }) return typename Task::parts{};
    else return type_list<Task>{};
}
template <class Task>
using graphs_of = decltype(graphs_of_impl<Task>());
/// Is the task exported as several graphs?
template <class Task>
inline constexpr bool has_parts = requires { typename Task::parts; };

/// The legacy table's features of a BERT-like encoder: the base model, the
/// masked and causal LM heads and the four classification heads.
using encoder_features = type_list<default_, masked_lm, causal_lm, sequence_classification, multiple_choice,
                                   token_classification, question_answering>;
/// The same, for the encoders the table gives no causal-lm.
using encoder_features_no_clm = type_list<default_, masked_lm, sequence_classification, multiple_choice,
                                          token_classification, question_answering>;

/// Does the task take and return a KV cache?
template <class Task>
inline constexpr bool has_past = std::is_same_v<Task, default_with_past> || std::is_same_v<Task, causal_lm_with_past> ||
                                 std::is_same_v<Task, decoder_with_past_part<true>> ||
                                 std::is_same_v<Task, decoder_with_past_part<false>>;

/// A decoder's inputs: `input_ids` {batch, sequence}; with past, the cache
/// (`past_key_values.{i}.key/.value`); then `attention_mask`, over the past
/// and the new tokens {batch, past_sequence + sequence}; then, when the
/// architecture takes them, `position_ids` {batch, sequence}.
template <class Task, bool PositionIds = false>
using decoder_inputs = concat<
    type_list<input<"input_ids", dtype::i64, axes<"batch", "sequence">>>,
    std::conditional_t<has_past<Task>,
                       type_list<cache_inputs<>, input<"attention_mask", dtype::i64, axes<"batch", "past_sequence + sequence">>>,
                       type_list<input<"attention_mask", dtype::i64, axes<"batch", "sequence">>>>,
    std::conditional_t<PositionIds, type_list<input<"position_ids", dtype::i64, axes<"batch", "sequence">>>, type_list<>>>;

/// Does Optimum give a decoder's graph for the task a `position_ids` input
/// (TextDecoderWithPositionIdsOnnxConfig: feature-extraction and
/// text-generation, with and without past; never a classifier's)? For the
/// model types whose Optimum config is one (GPT-2, GPT-J, CodeGen, GPT-Neo...).
template <class Task>
inline constexpr bool generation_position_ids =
    std::is_same_v<Task, default_> || std::is_same_v<Task, default_with_past> || std::is_same_v<Task, causal_lm> ||
    std::is_same_v<Task, causal_lm_with_past>;

/// The text inputs of the legacy table: axes {batch, sequence}, or
/// {batch, choice, sequence} under multiple-choice.
template <class Task, fixed_string... Names>
using text_inputs = std::conditional_t<
    std::is_same_v<Task, multiple_choice>,
    type_list<input<Names, dtype::i64, axes<"batch", "choice", "sequence">>...>,
    type_list<input<Names, dtype::i64, axes<"batch", "sequence">>...>>;

}  // namespace typeformer::inline v0::task
