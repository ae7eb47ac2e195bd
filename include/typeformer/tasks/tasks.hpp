// typeformer/tasks/tasks.hpp: the tasks (features), as types.
//
// A task names the feature as the legacy `transformers.onnx` CLI spells it
// and declares the outputs every model exporting it has, with their axes
// (`OnnxConfig._tasks_to_common_outputs`). Which families support which tasks
// is each family's `features` list; the feature table is their union.
#pragma once

#include <string_view>

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

/// The text inputs of the legacy table: axes {batch, sequence}, or
/// {batch, choice, sequence} under multiple-choice.
template <class Task, fixed_string... Names>
using text_inputs = std::conditional_t<
    std::is_same_v<Task, multiple_choice>,
    type_list<input<Names, dtype::i64, axes<"batch", "choice", "sequence">>...>,
    type_list<input<Names, dtype::i64, axes<"batch", "sequence">>...>>;

}  // namespace typeformer::inline v0::task
