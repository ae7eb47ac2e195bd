// typeformer/models/convnext.hpp: ConvNeXT (`model_type` "convnext") and
// ConvNeXTV2 ("convnextv2").
//
// A patchifying Conv2d stem and a channels-first LayerNorm; stages of
// blocks (7x7 depthwise Conv2d, LayerNorm, Linear to 4x, hidden_act,
// Linear back, plus the input), each stage but the first led by a
// downsampling layer (LayerNorm, 2x2 stride-2 Conv2d). ConvNeXT scales each
// block's output by a learned vector (layer_scale_init_value > 0);
// ConvNeXTV2 has no layer scale and a global response normalisation after
// the activation instead. The pooled features are the mean over height and
// width through a final LayerNorm, which the classifier reads. Both read
// any image size (layers/conv.hpp holds their layers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// ConvNextConfig and ConvNextV2Config, with Transformers' defaults (the
/// V2 loader's differ: no layer scale, GRN).
struct convnext_config {
    std::int64_t num_channels = 3;
    std::int64_t patch_h = 4, patch_w = 4;  // patch_size: one number or [height, width]
    std::int64_t num_stages = 4;
    stage_list hidden_sizes{{96, 192, 384, 768}, 4};
    stage_list depths{{3, 3, 9, 3}, 4};
    activation hidden_act = activation::gelu;
    double layer_norm_eps = 1e-12;
    double layer_scale_init_value = 1e-6;  // ConvNeXT's: > 0, a layer_scale_parameter per block
    bool grn = false;                      // ConvNeXTV2's global response normalisation
    std::int64_t image_h = 224, image_w = 224;  // image_size: the validation's image, not the model's
    std::int64_t num_labels = 2;

    using self = convnext_config;

    static constexpr void stages_rule(const convnext_config& c) {
        require(c.num_stages > 0 && c.hidden_sizes.size() == c.num_stages && c.depths.size() == c.num_stages,
                "num_stages must be positive and the lengths of hidden_sizes and depths");
        require(c.hidden_sizes.all_at_least(1), "hidden_sizes must be positive");
        require(c.depths.all_at_least(0), "depths must not be negative");
        require(c.patch_h > 0 && c.patch_w > 0, "patch_size must be positive");
        require(c.image_h > 0 && c.image_w > 0, "image_size must be positive");
    }
    /// One number (a square) or a list of two (height, width), into h and w.
    static void read_pair(const config_reader& r, const char* key, std::int64_t& h, std::int64_t& w) {
        if (!r.has(key) || r.is_null(key)) return;
        std::vector<std::int64_t> v;
        r.get(key, v);
        if (v.size() != 1 && v.size() != 2)
            throw error("config.unsupported", r.where() + ": /" + key + ": " + std::to_string(v.size()) +
                                                  " numbers; one, or two (height, width)");
        h = v.front();
        w = v.back();
    }
    /// hidden_sizes, depths, patch_size, image_size; num_hidden_layers is
    /// num_stages (ConvNextConfig's attribute_map), num_stages winning.
    static void read_lists(const config_reader& r, convnext_config& c) {
        r.get("num_hidden_layers", c.num_stages);
        r.get("num_stages", c.num_stages);
        read_stage_list(r, "hidden_sizes", c.hidden_sizes);
        read_stage_list(r, "depths", c.depths);
        read_pair(r, "patch_size", c.patch_h, c.patch_w);
        read_pair(r, "image_size", c.image_h, c.image_w);
    }

    using fields = field_table<
        field<"num_channels", &self::num_channels, rule::positive>, internal<&self::patch_h>,
        internal<&self::patch_w>, internal<&self::num_stages>, internal<&self::hidden_sizes>,
        internal<&self::depths>, field<"hidden_act", &self::hidden_act>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>, internal<&self::layer_scale_init_value>,
        internal<&self::grn>, internal<&self::image_h>, internal<&self::image_w>, labels<&self::num_labels>,
        rules<&self::stages_rule>,
        // stochastic depth: the identity in eval mode
        no_effect<"drop_path_rate", double>,
        // the Backbone classes' choice of stages to return: ConvNextModel and the classifier run every
        // stage whatever it says (5.x keeps them as _out_features and _out_indices)
        no_effect<"out_features", any_json>, no_effect<"out_indices", any_json>,
        no_effect<"_out_features", any_json>, no_effect<"_out_indices", any_json>,
        no_effect<"stage_names", any_json>,
        // 5.x's generic reads: no attention (head_dim, is_causal), no RoPE, no tied embeddings
        no_effect<"head_dim", any_json>, no_effect<"is_causal", any_json>, no_effect<"rope_parameters", any_json>,
        no_effect<"tie_word_embeddings", bool>, reads<&self::read_lists>>;

    [[nodiscard]] constexpr stage_list stage_widths() const { return hidden_sizes; }
    [[nodiscard]] constexpr stage_list stage_depths() const { return depths; }
    [[nodiscard]] constexpr hw patch() const { return {patch_h, patch_w}; }
    [[nodiscard]] constexpr convnext_block_options block_options() const {
        return {.layer_scale = layer_scale_init_value > 0, .grn = grn};
    }
    /// The final LayerNorm's width and eps, the classifier's labels, hidden_act; no text.
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = hidden_sizes.back(),
                .num_heads = 1,
                .intermediate_size = 0,
                .num_layers = 0,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = hidden_act,
                .eps = static_cast<float>(layer_norm_eps),
                .causal = false,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr image_shape image() const { return {num_channels, image_h, image_w, true}; }
};

/// ConvNextConfig from config.json: the shared keys and layer_scale_init_value.
using convnext_keys = extend<convnext_config::fields,
                             field<"layer_scale_init_value", &convnext_config::layer_scale_init_value>>;
inline convnext_config convnext_config_from_json(const config_reader& r) {
    return load_config<convnext_config, convnext_keys>(r);
}
/// ConvNextV2Config from config.json: the shared keys; GRN, no layer scale.
inline convnext_config convnextv2_config_from_json(const config_reader& r) {
    return load_config<convnext_config>(r, {.layer_scale_init_value = 0, .grn = true});
}

/// ConvNeXT or ConvNeXTV2 (their modules are named alike, under `Base`).
template <fixed_string ModelType, fixed_string Base, auto Load>
struct convnext_like_family
    : family_base<ModelType, Base, convnext_config, Load, type_list<task::default_, task::image_classification>> {
    /// The final LayerNorm, which only the classifier reads (default
    /// exports last_hidden_state alone).
    static std::vector<std::string> ignored() {
        return {std::string(Base.view()) + ".layernorm.weight", std::string(Base.view()) + ".layernorm.bias"};
    }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using trunk = type_list<convnext_embeddings<detail::join<Base, ".", "embeddings">()>,
                            conv_stages<detail::join<Base, ".", "encoder.stages">(), convnext_stage>>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification)
        -> concat<trunk,
                  type_list<spatial_mean_pooler<detail::join<Base, ".", "layernorm">()>, pooled_classifier<"classifier">>>;
    /// last_hidden_state [batch, channels, height, width] of the last stage:
    /// Optimum's feature-extraction output (pooler_output is not exported).
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "", "">>>;
};

using convnext_family = convnext_like_family<"convnext", "convnext", &convnext_config_from_json>;
using convnextv2_family = convnext_like_family<"convnextv2", "convnextv2", &convnextv2_config_from_json>;

}  // namespace typeformer::inline v0
