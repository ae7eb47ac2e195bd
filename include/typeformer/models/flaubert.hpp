// typeformer/models/flaubert.hpp: FlauBERT (`model_type` "flaubert").
//
// XLM's trunk and heads (models/xlm.hpp) with two differences: the legacy
// export has no token_type_ids input, and the config's `pre_norm` puts each
// LayerNorm before its sublayer (with no final LayerNorm). `layerdrop` only
// acts in training.
#pragma once

#include <string>
#include <vector>

#include "typeformer/models/xlm.hpp"

namespace typeformer::inline v0 {

/// FlaubertConfig is XLMConfig plus `pre_norm` and `layerdrop`.
using flaubert_config = xlm_config;

/// FlaubertConfig's keys: XLM's, and pre_norm.
using flaubert_keys = extend<xlm_config::fields, field<"pre_norm", &xlm_config::pre_norm>,
                             // drops layers in training only
                             no_effect<"layerdrop", double>>;

struct flaubert_family : xlm_layers<xlm_names::embeddings_no_types> {
    static constexpr std::string_view model_type = "flaubert";
    static constexpr std::string_view base_prefix = "transformer";
    static constexpr double atol = 1e-5;  // the legacy table's validation tolerance
    using config = flaubert_config;
    using features = type_list<task::default_, task::masked_lm, task::causal_lm, task::sequence_classification,
                               task::multiple_choice, task::token_classification, task::question_answering>;

    static config load(const config_reader& r) { return load_config<flaubert_config, flaubert_keys>(r); }
    /// The position-id buffer, and language embeddings (no `langs` input in the legacy export).
    static std::vector<std::string> ignored() { return {"position_ids", "lang_embeddings.weight"}; }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask">;
    using xlm_layers::layers;
};

/// FlauBERT with a compile-time config.
template <flaubert_config C, class Task = task::default_>
struct flaubert : model_of<flaubert_family, Task> {
    static_assert(check(C));
    static constexpr flaubert_config config = C;
};

}  // namespace typeformer::inline v0
