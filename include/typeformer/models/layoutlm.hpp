// typeformer/models/layoutlm.hpp: LayoutLM (`model_type` "layoutlm").
//
// BERT (models/bert.hpp) plus the layout of each token: a `bbox` input
// [batch, sequence, 4] of (x0, y0, x1, y1) boxes adds, before the embedding
// LayerNorm, x embeddings of x0 and x1, y embeddings of y0 and y1, and h and
// w embeddings of the box's height y1 - y0 and width x1 - x0 (tables of
// max_2d_position_embeddings rows).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/bert.hpp"

namespace typeformer::inline v0 {

/// LayoutLMConfig: BertConfig plus the 2-D position tables' size.
struct layoutlm_config : bert_config {
    std::int64_t max_2d_position_embeddings = 1024;

    using base_config = bert_config;
    using self = layoutlm_config;
    using fields = extend<bert_config::fields,
                          field<"max_2d_position_embeddings", &self::max_2d_position_embeddings, rule::positive>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_config::shape();
        s.max_2d_positions = max_2d_position_embeddings;
        return s;
    }
};

/// LayoutLMConfig from config.json.
inline layoutlm_config layoutlm_config_from_json(const config_reader& r) { return load_config<layoutlm_config>(r); }

/// Validation values of bbox [B, S, 4]: (x0, y0, x1, y1) with x0 <= x1 and
/// y0 <= y1, inside the 2-D position tables.
inline void layoutlm_bbox_values(std::span<std::int64_t> v, const std::vector<std::size_t>&, const encoder_shape& sh,
                                 std::mt19937& rng) {
    for (std::size_t k = 0; k < v.size(); ++k) {
        const std::int64_t lo = k % 4 < 2 ? 0 : v[k - 2];
        const std::int64_t span = std::max<std::int64_t>(std::max<std::int64_t>(sh.max_2d_positions, 1) - lo, 1);
        v[k] = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(span));
    }
}

namespace layoutlm_names {
/// BERT's embeddings without their LayerNorm, which comes after the box embeddings.
using text = bert_embedding_names<"layoutlm", true, false>;
using layer = bert_layer_names<"layoutlm.encoder.layer">;
using lm = bert_lm_names<"layoutlm">;
}  // namespace layoutlm_names

/// The box embeddings added to the text embeddings, then the embedding LayerNorm.
struct box_embeddings {
    using reads = slots<"hidden_states", "bbox">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<box_embeddings, typename B::value> s, const layoutlm_config& c) {
        const auto sh = c.shape();
        auto guard = b.scope("layoutlm.embeddings");
        const auto& box = s[slot<"bbox">{}];
        auto table = [&](const char* name) {
            return b.param(std::string(name) + ".weight", {c.max_2d_position_embeddings, sh.hidden_size});
        };
        const auto x = table("x_position_embeddings"), y = table("y_position_embeddings");
        auto coord = [&](std::int64_t k) { return b.select(box, -1, k); };
        auto h = s[sl::hidden_states];
        h = b.add(h, b.gather(x, coord(0)));
        h = b.add(h, b.gather(y, coord(1)));
        h = b.add(h, b.gather(x, coord(2)));
        h = b.add(h, b.gather(y, coord(3)));
        h = b.add(h, b.gather(table("h_position_embeddings"), b.sub(coord(3), coord(1))));
        h = b.add(h, b.gather(table("w_position_embeddings"), b.sub(coord(2), coord(0))));
        s.set(sl::hidden_states, layer_norm(b, "LayerNorm", h, sh.hidden_size, sh.eps));
    }
};

struct layoutlm_family
    : family_base<"layoutlm", "layoutlm", layoutlm_config, &layoutlm_config_from_json,
                  type_list<task::default_, task::masked_lm, task::sequence_classification,
                            task::token_classification>> {
    /// Checkpoint tensors a model may leave unused: buffers, and the pooler where the task has none.
    using dummy_inputs = type_list<dummy_input<"bbox", &layoutlm_bbox_values>>;
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"};
    }

    /// As the legacy LayoutLMOnnxConfig orders them; bbox is {batch, sequence, 4}.
    template <class Task>
    static auto inputs(Task) -> type_list<input<"input_ids", dtype::i64, axes<"batch", "sequence">>,
                                          input<"bbox", dtype::i64, axes<"batch", "sequence", "4">>,
                                          input<"attention_mask", dtype::i64, axes<"batch", "sequence">>,
                                          input<"token_type_ids", dtype::i64, axes<"batch", "sequence">>>;

    using trunk = type_list<embeddings<layoutlm_names::text>, box_embeddings, mask_to_bias,
                            encoder_stack<layoutlm_names::layer>>;
    using pooler = first_token_pooler<"layoutlm.pooler.dense", activation::tanh>;

    using heads = encoder_heads<lm_head<layoutlm_names::lm>, pooler>;

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk, heads>;
};

/// LayoutLM with a compile-time config.
template <layoutlm_config C, class Task = task::default_>
struct layoutlm : model_of<layoutlm_family, Task> {
    static_assert(check(C));
    static constexpr layoutlm_config config = C;
};

}  // namespace typeformer::inline v0
