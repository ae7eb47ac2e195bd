// typeformer/models/yolos.hpp: YOLOS (`model_type` "yolos").
//
// ViT with `num_detection_tokens` learned detection tokens after the patch
// tokens. The learned positions (class token, patches, detection tokens)
// are resized to the run's patch grid, bicubic, on every forward
// (InterpolateInitialPositionEmbeddings), and with
// `use_mid_position_embeddings` a second table per layer but the last is
// resized the same way and added after that layer
// (InterpolateMidPositionEmbeddings). Pre-LN ViT blocks, a final LayerNorm.
// object-detection reads the detection tokens' final states with two MLPs:
// `class_labels_classifier` (num_labels + 1 logits: no-object last) and
// `bbox_predictor` (4 numbers through a sigmoid: the box's centre, width and
// height). The graph computes the resize from the run's image size, so it
// takes any image of at least one patch a side.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// YolosConfig, with Transformers' defaults.
struct yolos_config {
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    double layer_norm_eps = 1e-12;
    std::int64_t image_height = 512, image_width = 864;  ///< image_size: [height, width]
    std::int64_t patch_size = 16;
    std::int64_t num_channels = 3;
    bool qkv_bias = true;
    std::int64_t num_detection_tokens = 100;
    bool use_mid_position_embeddings = true;
    std::int64_t num_labels = 2;

    using self = yolos_config;

    static constexpr void shape_rule(const yolos_config& c) {
        require(c.image_height >= c.patch_size && c.image_width >= c.patch_size,
                "image_size must be at least patch_size on both sides");
        const auto rows = c.image_height / c.patch_size, cols = c.image_width / c.patch_size;
        require(!c.use_mid_position_embeddings ||
                    c.image_height * c.image_width / (c.patch_size * c.patch_size) == rows * cols,
                "use_mid_position_embeddings: image_size[0] * image_size[1] // patch_size**2 must equal "
                "(image_size[0] // patch_size) * (image_size[1] // patch_size) (Transformers sizes the mid-layer "
                "positions by the first and lays them on the grid of the second)");
        require(!c.use_mid_position_embeddings || c.num_hidden_layers >= 2,
                "use_mid_position_embeddings needs num_hidden_layers >= 2 (the mid-layer positions are one table "
                "per layer but the last)");
    }
    /// image_size: [height, width] (Transformers indexes it; an integer is refused).
    static void read_image_size(const config_reader& r, yolos_config& c) {
        std::vector<std::int64_t> v{c.image_height, c.image_width};
        r.get("image_size", v);
        if (v.size() != 2)
            throw error("config.unsupported", r.where() + ": /image_size: " + std::to_string(v.size()) +
                                                  " values; YOLOS reads [height, width]");
        c.image_height = v[0];
        c.image_width = v[1];
    }

    using fields = field_table<
        field<"hidden_size", &self::hidden_size, rule::positive>,
        field<"num_hidden_layers", &self::num_hidden_layers, rule::non_negative>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        multiple_of<"hidden_size", "num_attention_heads">,
        field<"intermediate_size", &self::intermediate_size, rule::positive>, field<"hidden_act", &self::hidden_act>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>,
        internal<&self::image_height>, internal<&self::image_width>, reads<&self::read_image_size>,
        field<"patch_size", &self::patch_size, rule::positive>,
        field<"num_channels", &self::num_channels, rule::positive>, field<"qkv_bias", &self::qkv_bias>,
        field<"num_detection_tokens", &self::num_detection_tokens, rule::positive>,
        field<"use_mid_position_embeddings", &self::use_mid_position_embeddings>, rules<&self::shape_rule>,
        // the training loss's settings (auxiliary_loss adds per-layer outputs only when labels are given)
        no_effect<"auxiliary_loss", bool>, no_effect<"class_cost", double>, no_effect<"bbox_cost", double>,
        no_effect<"giou_cost", double>, no_effect<"bbox_loss_coefficient", double>,
        no_effect<"giou_loss_coefficient", double>, no_effect<"eos_coefficient", double>,
        // PreTrainedModel ties output to input embeddings; YOLOS has neither
        no_effect<"tie_word_embeddings", bool>, labels<&self::num_labels>, encoder_generic_keys>;

    [[nodiscard]] constexpr encoder_shape shape() const { return vit_like_shape(*this); }
    [[nodiscard]] constexpr image_shape image() const { return {num_channels, image_height, image_width, true}; }
    [[nodiscard]] constexpr patch_grid patches() const {
        return {.patch_h = patch_size,
                .patch_w = patch_size,
                .rows = image_height / patch_size,
                .cols = image_width / patch_size,
                .leading_tokens = 1,
                .positions = true,
                .trailing_tokens = num_detection_tokens,
                .resize_positions = true};
    }
    [[nodiscard]] constexpr vision_block_options block_options() const { return {.qkv_bias = qkv_bias}; }
};

/// YolosConfig from config.json.
inline yolos_config yolos_config_from_json(const config_reader& r) { return load_config<yolos_config>(r); }

/// YolosEncoder: ViT's blocks at `<Names::stack>.<i>`; with
/// use_mid_position_embeddings, the table at `Mid` ([layers - 1, 1, tokens,
/// hidden]) resized to the run's patch grid (resized_positions), its row i
/// added after block i, for every block but the last.
template <class Names, fixed_string Mid>
struct yolos_encoder {
    using reads = slots<"hidden_states", "pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<yolos_encoder, typename B::value> s, const yolos_config& c) {
        const auto sh = c.shape();
        const auto g = c.patches();
        auto h = s[sl::hidden_states];
        const auto ctx = vision_context<>::make<B>(b, s, c);
        std::optional<typename B::value> mid;
        if (c.use_mid_position_embeddings) {
            // the run's patch grid: H // patch, W // patch, as the patchifying Conv2d gives it
            auto run_grid = b.div(b.shape(s[slot<"pixel_values">{}], 2, 4), b.constant_i64({g.patch_h, g.patch_w}));
            const auto& table = b.param(Mid.view(), {sh.num_layers - 1, 1, g.tokens(), sh.hidden_size});
            mid = resized_positions(b, b.reshape(table, {sh.num_layers - 1, g.tokens(), sh.hidden_size}), g,
                                    sh.hidden_size, run_grid);
        }
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
            h = vit_block<Names>::forward(b, h, ctx, sh);
            if (mid && i + 1 < sh.num_layers) h = b.add(h, b.select(*mid, 0, i));
        }
        s.set(sl::hidden_states, h);
    }
};

/// YolosForObjectDetection's heads on the last num_detection_tokens tokens:
/// `logits` [batch, tokens, num_labels + 1] from `class_labels_classifier`
/// and `pred_boxes` [batch, tokens, 4] from `bbox_predictor` through a
/// sigmoid, each a three-Linear MLP (mlp_prediction_head).
struct yolos_detection_heads {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits", "pred_boxes">;

    template <Backend B>
    static void forward(B& b, io<yolos_detection_heads, typename B::value> s, const yolos_config& c) {
        const auto hid = c.hidden_size;
        auto queries = b.slice(s[sl::hidden_states], 1, -c.num_detection_tokens, std::int64_t{1} << 62);
        s.set(sl::logits, mlp_prediction_head(b, "class_labels_classifier", queries, hid, hid, c.num_labels + 1, 3));
        s.set(slot<"pred_boxes">{}, b.sigmoid(mlp_prediction_head(b, "bbox_predictor", queries, hid, hid, 4, 3)));
    }
};

struct yolos_family : family_base<"yolos", "vit", yolos_config, &yolos_config_from_json,
                                  type_list<task::default_, task::object_detection>> {
    /// The legacy table's tolerance for ViT-style models.
    static constexpr double atol = 1e-4;
    /// YolosModel's pooler (no exported task reads it).
    static std::vector<std::string> ignored() { return {"pooler.dense.weight", "pooler.dense.bias"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using trunk = type_list<patch_embeddings<vit_embedding_names<"vit.embeddings", "", "detection_tokens">>,
                            yolos_encoder<vit_layer_names<"vit.encoder.layer">, "vit.encoder.mid_position_embeddings">,
                            final_layer_norm<"vit.layernorm">>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::object_detection) -> concat<trunk, type_list<yolos_detection_heads>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens follows the image size.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

}  // namespace typeformer::inline v0
