// typeformer/models/ernie.hpp: ERNIE (`model_type` "ernie").
//
// BERT under the base prefix `ernie`, plus a task-type table added to the
// embeddings when the config sets `use_task_id` (input `task_type_ids`, as
// ErnieOnnxConfig lists it; unused by the graph otherwise). Upstream has no
// legacy feature entry: the features are the heads Transformers has.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/bert.hpp"

namespace typeformer::inline v0 {

/// ErnieConfig: BertConfig's fields and defaults plus the task types.
struct ernie_config : bert_config {
    std::int64_t task_type_vocab_size = 3;
    bool use_task_id = false;

    static constexpr void task_types_rule(const ernie_config& c) {
        require(!c.use_task_id || c.task_type_vocab_size > 0, "task_type_vocab_size must be positive with use_task_id");
    }
    using base_config = bert_config;
    using self = ernie_config;
    using fields = extend<bert_config::fields, field<"task_type_vocab_size", &self::task_type_vocab_size>,
                          field<"use_task_id", &self::use_task_id>, rules<&self::task_types_rule>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_config::shape();
        s.task_type_vocab_size = use_task_id ? task_type_vocab_size : 0;
        return s;
    }
};

/// ErnieConfig from config.json.
inline ernie_config ernie_config_from_json(const config_reader& r) { return load_config<ernie_config>(r); }

/// Validation values of task_type_ids: ids below min(3, task_type_vocab_size).
inline void ernie_task_type_values(std::span<std::int64_t> v, const std::vector<std::size_t>&, const encoder_shape& sh,
                                   std::mt19937& rng) {
    const auto types = static_cast<std::uint32_t>(std::min<std::int64_t>(3, std::max<std::int64_t>(sh.task_type_vocab_size, 1)));
    for (auto& x : v) x = static_cast<std::int64_t>(rng() % types);
}

namespace ernie_names {
using embeddings = bert_embedding_names<"ernie">;
using layer = bert_layer_names<"ernie.encoder.layer">;
using lm = bert_lm_names<"ernie">;
}  // namespace ernie_names

struct ernie_family : family_base<"ernie", "ernie", ernie_config, &ernie_config_from_json, task::encoder_features>,
                      text_encoder<ernie_family, "input_ids", "attention_mask", "token_type_ids", "task_type_ids"> {
    static constexpr double atol = 1e-5;  // ErnieOnnxConfig's default
    using dummy_inputs = type_list<dummy_input<"task_type_ids", &ernie_task_type_values>>;
    static std::vector<std::string> ignored() { return bert_family::ignored(); }

    using trunk = type_list<embeddings<ernie_names::embeddings, embedding_options{.task_type = "task_type_embeddings"}>, mask_to_bias, encoder_stack<ernie_names::layer>>;
    using pooler = first_token_pooler<"ernie.pooler.dense", activation::tanh>;

    using heads = encoder_heads<lm_head<ernie_names::lm>, pooler>;
};

/// ERNIE with a compile-time config:
/// `struct tiny final : ernie<ernie_config{{.hidden_size = 64, .num_attention_heads = 4}, 3, true}> {};`
/// (the BertConfig part first, then task_type_vocab_size and use_task_id)
template <ernie_config C, class Task = task::default_>
struct ernie : model_of<ernie_family, Task> {
    static_assert(check(C));
    static constexpr ernie_config config = C;
};

}  // namespace typeformer::inline v0
