// typeformer/models/deit.hpp: DeiT (`model_type` "deit").
//
// ViT with a second learned token: the distillation token follows the class
// token, so the learned positions cover image tokens + 2. DeiTConfig's keys
// are ViTConfig's, and its layers are ViT's under `deit.`. Image
// classification is one of two heads, as config.json's `architectures`
// says (Transformers' auto class picks the same way): DeiTForImageClassification,
// `classifier` on the class token, or DeiTForImageClassificationWithTeacher,
// the mean of `cls_classifier` on the class token and
// `distillation_classifier` on the distillation token. masked-im is ViT's
// decoder after both tokens. One image size, the config's, or any with
// interpolate_pos_encoding, as ViT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/models/vit.hpp"

namespace typeformer::inline v0 {

/// DeiTConfig: ViTConfig's keys and defaults; which classifier the
/// checkpoint holds, from `architectures`.
struct deit_config : vit_config {
    /// The image-classification head is DeiTForImageClassificationWithTeacher's.
    bool with_teacher = false;

    /// AutoModelForImageClassification's choice for DeiT: the first of
    /// config.json's `architectures` that is one of its two classes (none:
    /// DeiTForImageClassification).
    static void read_head(const config_reader& r, deit_config& c) {
        c.with_teacher = first_architecture_of(r, {"DeiTForImageClassificationWithTeacher",
                                                   "DeiTForImageClassification"}) ==
                         "DeiTForImageClassificationWithTeacher";
    }

    using base_config = vit_config;
    using self = deit_config;
    using fields = extend<vit_config::fields, internal<&self::with_teacher>, reads<&self::read_head>>;

    [[nodiscard]] constexpr patch_grid patches() const {
        auto g = vit_config::patches();
        g.leading_tokens = 2;
        return g;
    }
};

/// DeiTConfig from config.json.
inline deit_config deit_config_from_json(const config_reader& r) { return load_config<deit_config>(r); }

/// DeiT's image-classification head on the final hidden states: `classifier`
/// on the class token, or, with_teacher, the mean of `cls_classifier` on the
/// class token and `distillation_classifier` on the distillation token.
struct deit_classifier {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<deit_classifier, typename B::value> s, const deit_config& c) {
        const auto sh = c.shape();
        const auto& h = s[sl::hidden_states];
        if (!c.with_teacher) {
            s.set(sl::logits, dense(b, "classifier", b.select(h, 1, 0), sh.hidden_size, sh.num_labels));
            return;
        }
        auto cls = dense(b, "cls_classifier", b.select(h, 1, 0), sh.hidden_size, sh.num_labels);
        auto dist = dense(b, "distillation_classifier", b.select(h, 1, 1), sh.hidden_size, sh.num_labels);
        s.set(sl::logits, b.div(b.add(cls, dist), b.scalar(2.f)));
    }
};

struct deit_family : family_base<"deit", "deit", deit_config, &deit_config_from_json,
                                 type_list<task::default_, task::image_classification, task::masked_im>> {
    /// The legacy table's tolerance for DeiT.
    static constexpr double atol = 1e-4;
    /// DeiTModel's pooler (no exported task reads it); the mask token, which
    /// only a bool_masked_pos input (not exported) reads.
    static std::vector<std::string> ignored() {
        return {"pooler.dense.weight", "pooler.dense.bias", "embeddings.mask_token"};
    }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;
    /// masked-im: the decoder lays the tokens on the config's grid, so the
    /// config's size only, even with interpolate_pos_encoding (where the
    /// resize is then the identity).
    static auto inputs(task::masked_im) -> type_list<image_input<"pixel_values", true>>;

    using trunk = type_list<patch_embeddings<vit_embedding_names<"deit.embeddings", "distillation_token">>,
                            vit_encoder_stack<vit_layer_names<"deit.encoder.layer">>, final_layer_norm<"deit.layernorm">>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification) -> concat<trunk, type_list<deit_classifier>>;
    static auto layers(task::masked_im) -> concat<trunk, type_list<masked_image_decoder<"decoder", 2>>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens is fixed by the image size.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

}  // namespace typeformer::inline v0
