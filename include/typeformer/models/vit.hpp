// typeformer/models/vit.hpp: ViT (`model_type` "vit").
//
// The image cut into patches by a Conv2d, a class token first, learned
// positions added; pre-LN encoder blocks without a mask; a final LayerNorm.
// The classifier reads the class token; masked-im lays the patch tokens
// back on their grid and decodes them with a 1x1 Conv2d and PixelShuffle.
// The learned positions fit the config's image_size only, and Transformers
// refuses another size unless asked to interpolate them: the graph takes
// that one size, and states it in its input's shape. With
// interpolate_pos_encoding (the export's --interpolate-pos-encoding, as
// Transformers' forward argument) the positions are resized to each image's
// patch grid as Transformers resizes them (bicubic, align_corners false) and
// the graph takes any size; masked-im, whose decoder lays the tokens on the
// config's grid, still takes the config's size only (the graph states it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// ViTConfig, with Transformers' defaults.
struct vit_config {
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    double layer_norm_eps = 1e-12;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 16;
    std::int64_t num_channels = 3;
    bool qkv_bias = true;
    std::int64_t encoder_stride = 16;
    std::int64_t head_dim = 0;  // 0: hidden_size / num_attention_heads
    std::int64_t num_labels = 2;
    /// Transformers' forward argument (the export's --interpolate-pos-encoding):
    /// the learned positions resized (bicubic) to each image's patch grid.
    bool interpolate_pos_encoding = false;

    using self = vit_config;

    static void read_interpolate(const config_reader& r, vit_config& c) {
        c.interpolate_pos_encoding = r.interpolate_pos_encoding();
    }

    static constexpr void shape_rule(const vit_config& c) {
        vit_like_rules(c);
    }

    using fields = extend<
        vit_core_rows<self>, field<"qkv_bias", &self::qkv_bias>,
        field<"encoder_stride", &self::encoder_stride, rule::positive>,
        field<"head_dim", &self::head_dim, rule::non_negative>, rules<&self::shape_rule>,
        // ViTModel's pooler: no exported task reads pooler_output
        no_effect<"pooler_act", std::string>, no_effect<"pooler_output_size", std::int64_t>,
        no_effect<"rope_parameters", any_json>,
        // PreTrainedModel ties output to input embeddings; ViT has neither
        no_effect<"tie_word_embeddings", bool>,
        absent<"is_causal", "Transformers 5 reads it as the kind of mask, which its eager and SDPA paths apply "
                            "differently to an encoder">,
        labels<&self::num_labels>, internal<&self::interpolate_pos_encoding>, reads<&self::read_interpolate>>;

    [[nodiscard]] constexpr encoder_shape shape() const { return vit_like_shape(*this); }
    /// The config's size only, or any size with interpolate_pos_encoding.
    [[nodiscard]] constexpr image_shape image() const {
        return {num_channels, image_size, image_size, interpolate_pos_encoding};
    }
    [[nodiscard]] constexpr patch_grid patches() const {
        return {.patch_h = patch_size,
                .patch_w = patch_size,
                .rows = image_size / patch_size,
                .cols = image_size / patch_size,
                .leading_tokens = 1,
                .resize_positions = interpolate_pos_encoding};
    }
    [[nodiscard]] constexpr vision_block_options block_options() const { return {.qkv_bias = qkv_bias}; }
};

/// ViTConfig from config.json.
inline vit_config vit_config_from_json(const config_reader& r) { return load_config<vit_config>(r); }

struct vit_family : family_base<"vit", "vit", vit_config, &vit_config_from_json,
                                type_list<task::default_, task::image_classification, task::masked_im>> {
    /// The legacy table's tolerance for ViT.
    static constexpr double atol = 1e-4;
    /// ViTModel's pooler (no exported task reads it); the mask token, which
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

    using trunk = type_list<patch_embeddings<vit_embedding_names<"vit.embeddings">>,
                            vit_encoder_stack<vit_layer_names<"vit.encoder.layer">>, final_layer_norm<"vit.layernorm">>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification) -> concat<trunk, type_list<token_output<0>, pooled_classifier<"classifier">>>;
    static auto layers(task::masked_im) -> concat<trunk, type_list<masked_image_decoder<"decoder">>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens is fixed by the image size.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

/// ViT with a compile-time config.
template <vit_config C, class Task = task::default_>
struct vit : model_of<vit_family, Task> {
    static_assert(check(C));
    static constexpr vit_config config = C;
};

}  // namespace typeformer::inline v0
