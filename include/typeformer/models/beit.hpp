// typeformer/models/beit.hpp: BEiT (`model_type` "beit") and Data2VecVision
// ("data2vec-vision"), one family template under two names.
//
// ViT's patch embeddings and pre-LN blocks, with BEiT's switches: learned
// absolute positions only with `use_absolute_position_embeddings`; a
// relative position bias added to the attention scores, each layer's own
// (`use_relative_position_bias`) and/or one for all layers
// (`use_shared_relative_position_bias`), gathered from its table at a
// constant index (layers/vision.hpp); no bias on the key projection; layer
// scale (`lambda_1`, `lambda_2`) where `layer_scale_init_value` > 0. The
// final hidden states are LayerNorm'ed (`layernorm`) unless the model pools
// by the mean of the patch tokens (`use_mean_pooling`), whose pooler then
// LayerNorms that mean (`pooler.layernorm`); otherwise the pooler is the
// class token. The classifier reads the pooler. Data2VecVision is the same
// model under the prefix `data2vec_vision`.
//
// The relative bias is built for the config's patch grid, and the learned
// positions for the config's image size: a model with either takes that one
// size, and its graph says so (Transformers 5 resizes both to any image).
// With interpolate_pos_encoding (the export's --interpolate-pos-encoding)
// both follow each image's patch grid as Transformers 5 computes them: the
// learned positions resized (bicubic, align_corners false), the relative
// bias tables resized (bilinear) and gathered at an index the graph
// computes; the graph then takes any size. A model with neither (no
// position information at all) takes any size, as Transformers does.
//
// masked-im is BeitForMaskedImageModeling's: `layernorm` and `lm_head` over
// the patch tokens, `logits` [batch, patches, vocab_size] (Data2VecVision
// has no such model). Like ViT's masked-im it takes pixel_values alone: the
// mask token, which replaces the patches a bool_masked_pos input marks, is
// not used.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// BeitConfig and Data2VecVisionConfig (the same keys and defaults).
struct beit_config {
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    double layer_norm_eps = 1e-12;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 16;
    std::int64_t num_channels = 3;
    bool use_absolute_position_embeddings = false;
    bool use_relative_position_bias = false;
    bool use_shared_relative_position_bias = false;
    double layer_scale_init_value = 0.1;
    bool use_mean_pooling = true;
    std::int64_t vocab_size = 8192;  ///< BeitForMaskedImageModeling's visual tokens
    std::int64_t head_dim = 0;  // 0: hidden_size / num_attention_heads
    std::int64_t num_labels = 2;
    /// Transformers' forward argument (the export's --interpolate-pos-encoding):
    /// the learned positions (bicubic) and the relative bias tables
    /// (bilinear) resized to each image's patch grid.
    bool interpolate_pos_encoding = false;

    using self = beit_config;

    static void read_interpolate(const config_reader& r, beit_config& c) {
        c.interpolate_pos_encoding = r.interpolate_pos_encoding();
    }

    static constexpr void shape_rule(const beit_config& c) {
        vit_like_rules(c);
    }

    /// The keys both model types read; beit_keys and data2vec_vision_keys
    /// add head_dim (BEiT's attention reads it, Data2VecVision's does not).
    using fields = extend<
        vit_core_rows<self>,
        field<"use_absolute_position_embeddings", &self::use_absolute_position_embeddings>,
        field<"use_relative_position_bias", &self::use_relative_position_bias>,
        field<"use_shared_relative_position_bias", &self::use_shared_relative_position_bias>,
        field<"layer_scale_init_value", &self::layer_scale_init_value>,
        field<"use_mean_pooling", &self::use_mean_pooling>, internal<&self::head_dim, rule::non_negative, "head_dim">,
        rules<&self::shape_rule>, labels<&self::num_labels>, internal<&self::interpolate_pos_encoding>,
        reads<&self::read_interpolate>,
        // the mask token, read only with a bool_masked_pos input (not exported)
        no_effect<"use_mask_token", bool>,
        // stochastic depth: training only
        no_effect<"drop_path_rate", double>,
        // BeitForMaskedImageModeling's visual-token vocabulary (its lm_head's width)
        field<"vocab_size", &self::vocab_size, rule::positive>,
        // the semantic-segmentation head and its auxiliary head (not exported)
        no_effect<"pool_scales", any_json>, no_effect<"use_auxiliary_head", bool>,
        no_effect<"auxiliary_loss_weight", double>, no_effect<"auxiliary_channels", std::int64_t>,
        no_effect<"auxiliary_num_convs", std::int64_t>, no_effect<"auxiliary_concat_input", bool>,
        no_effect<"semantic_loss_ignore_index", std::int64_t>,
        // BeitBackbone's feature maps (not exported); BackboneConfigMixin keeps
        // out_features and out_indices as _out_features and _out_indices
        no_effect<"out_features", any_json>, no_effect<"out_indices", any_json>, no_effect<"stage_names", any_json>,
        no_effect<"_out_features", any_json>, no_effect<"_out_indices", any_json>,
        no_effect<"add_fpn", bool>, no_effect<"reshape_hidden_states", bool>,
        no_effect<"rope_parameters", any_json>,
        // PreTrainedModel ties output to input embeddings; BEiT has neither
        no_effect<"tie_word_embeddings", bool>>;

    [[nodiscard]] constexpr encoder_shape shape() const { return vit_like_shape(*this); }
    /// One size where the learned positions or a relative bias fix it,
    /// unless they are resized (interpolate_pos_encoding); any otherwise.
    [[nodiscard]] constexpr image_shape image() const {
        const bool fixed = !interpolate_pos_encoding && (use_absolute_position_embeddings ||
                                                         use_relative_position_bias ||
                                                         use_shared_relative_position_bias);
        return {num_channels, image_size, image_size, !fixed};
    }
    [[nodiscard]] constexpr patch_grid patches() const {
        return {.patch_h = patch_size,
                .patch_w = patch_size,
                .rows = image_size / patch_size,
                .cols = image_size / patch_size,
                .leading_tokens = 1,
                .positions = use_absolute_position_embeddings,
                .resize_positions = use_absolute_position_embeddings && interpolate_pos_encoding};
    }
    [[nodiscard]] constexpr vision_block_options block_options() const {
        return {.qkv_bias = true,
                .key_bias = false,
                .layer_scale = layer_scale_init_value > 0,
                .relative_bias = use_relative_position_bias,
                .shared_relative_bias = use_shared_relative_position_bias,
                .run_grid_relative_bias = interpolate_pos_encoding &&
                                          (use_relative_position_bias || use_shared_relative_position_bias)};
    }
};

/// BeitConfig's keys: its attention reads head_dim (getattr, else
/// hidden_size / heads), and the forward wrapper is_causal.
using beit_keys = extend<beit_config::fields, field<"head_dim", &beit_config::head_dim, rule::non_negative>,
                         absent<"is_causal", "Transformers 5 reads it as the kind of mask, which its eager and "
                                             "SDPA paths apply differently to an encoder">>;
/// Data2VecVisionConfig's keys: its attention's head size is always
/// hidden_size / heads (head_dim is read only by PretrainedConfig's
/// validate_architecture, which compares keys this config lacks).
using data2vec_vision_keys = extend<beit_config::fields, no_effect<"head_dim", std::int64_t>>;

/// BeitConfig from config.json.
inline beit_config beit_config_from_json(const config_reader& r) { return load_config<beit_config, beit_keys>(r); }
/// Data2VecVisionConfig from config.json.
inline beit_config data2vec_vision_config_from_json(const config_reader& r) {
    return load_config<beit_config, data2vec_vision_keys>(r);
}

/// BeitModel's module names under `Base` ("beit"): the embeddings, the
/// layers, the shared relative position bias, the final LayerNorm and the
/// pooler's.
template <fixed_string Base>
struct beit_names {
private:
    static constexpr auto embeddings_scope = detail::join<Base, "", ".embeddings">();
    static constexpr auto layers_scope = detail::join<Base, "", ".encoder.layer">();
    static constexpr auto shared_scope = detail::join<Base, "", ".encoder.relative_position_bias">();
    static constexpr auto norm_scope = detail::join<Base, "", ".layernorm">();
    static constexpr auto pooler_scope = detail::join<Base, "", ".pooler.layernorm">();

public:
    using embeddings = vit_embedding_names<embeddings_scope>;
    using layer = vit_layer_names<layers_scope>;
    static constexpr auto shared_bias = shared_scope;
    static constexpr auto norm = norm_scope;
    static constexpr auto pooler_norm = pooler_scope;
};

/// BeitModel's `layernorm` over every token, an Identity when the model
/// pools by the mean (`use_mean_pooling`).
template <fixed_string Scope>
struct beit_final_norm {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<beit_final_norm, typename B::value> s, const beit_config& c) {
        if (c.use_mean_pooling) return;
        const auto sh = c.shape();
        s.set(sl::hidden_states, layer_norm(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.eps));
    }
};

/// BeitPooler: with `use_mean_pooling`, the mean of the patch tokens (the
/// class token left out) through the LayerNorm at `Scope`; otherwise the
/// class token.
template <fixed_string Scope>
struct beit_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B>
    static void forward(B& b, io<beit_pooler, typename B::value> s, const beit_config& c) {
        const auto& h = s[sl::hidden_states];
        if (!c.use_mean_pooling) {
            s.set(sl::pooled_output, b.select(h, 1, 0));
            return;
        }
        const auto sh = c.shape();
        auto mean = b.reduce_mean(b.slice(h, 1, 1, std::numeric_limits<std::int64_t>::max()), 1);
        s.set(sl::pooled_output, layer_norm(b, Scope.view(), mean, sh.hidden_size, sh.eps));
    }
};

/// BeitForMaskedImageModeling's head: its `layernorm` over the patch
/// tokens (the class token left out), then `lm_head` to the visual-token
/// vocabulary: `logits` [batch, patches, vocab_size].
struct beit_masked_im_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<beit_masked_im_head, typename B::value> s, const beit_config& c) {
        const auto sh = c.shape();
        auto patches = b.slice(s[sl::hidden_states], 1, 1, std::numeric_limits<std::int64_t>::max());
        auto normed = layer_norm(b, "layernorm", patches, sh.hidden_size, sh.eps);
        s.set(sl::logits, dense(b, "lm_head", normed, sh.hidden_size, c.vocab_size));
    }
};

/// BEiT's family under a model type, a checkpoint prefix, a config loader
/// and its features.
template <fixed_string ModelType, fixed_string Base, auto Load,
          class Features = type_list<task::default_, task::image_classification>>
struct beit_like_family : family_base<ModelType, Base, beit_config, Load, Features> {
    /// The legacy table's tolerance for BEiT and Data2VecVision.
    static constexpr double atol = 1e-4;
    /// BeitModel's pooler (the default feature exports last_hidden_state
    /// only, as Optimum's); the mask token, read only with a bool_masked_pos
    /// input (not exported); the relative position index, a buffer older
    /// checkpoints carry (the graph computes it).
    static std::vector<std::string> ignored() {
        return {"pooler.layernorm.weight", "pooler.layernorm.bias", "embeddings.mask_token",
                "relative_position_bias.relative_position_index"};
    }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using names = beit_names<Base>;
    using trunk = type_list<patch_embeddings<typename names::embeddings>,
                            vit_encoder_stack<typename names::layer, names::shared_bias>, beit_final_norm<names::norm>>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification)
        -> concat<trunk, type_list<beit_pooler<names::pooler_norm>, pooled_classifier<"classifier">>>;
    static auto layers(task::masked_im) -> concat<trunk, type_list<beit_masked_im_head>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens is fixed by the image size, or follows it.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
    /// masked-im: the visual-token logits of every patch, not an image.
    static auto outputs(task::masked_im) -> type_list<output<"logits", axes<"batch", "", "">>>;
};

/// BEiT, with BeitForMaskedImageModeling's masked-im (Data2VecVision has none).
struct beit_family : beit_like_family<"beit", "beit", &beit_config_from_json,
                                      type_list<task::default_, task::image_classification, task::masked_im>> {};
struct data2vec_vision_family
    : beit_like_family<"data2vec-vision", "data2vec_vision", &data2vec_vision_config_from_json> {};

}  // namespace typeformer::inline v0
