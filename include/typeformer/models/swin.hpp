// typeformer/models/swin.hpp: Swin Transformer (`model_type` "swin").
//
// Patches by a Conv2d, then stages of shifted-window attention blocks with
// patch merging between them (layers/swin.hpp), a final LayerNorm. The
// classifier reads the mean of the tokens; masked-im lays the last stage's
// tokens on their square grid and decodes them as ViT's does. The graph
// reads images of any size (every window, padding and shift is computed
// from the run's size) unless the config has absolute positions, which fit
// its image_size only; masked-im reads the config's size (Transformers lays
// the tokens on a floor(√L) square, the feature map only when it is one).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/swin.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// SwinConfig, with Transformers' defaults.
struct swin_config {
    static constexpr std::size_t max_stages = swin_geometry::max_stages;

    std::int64_t image_height = 224, image_width = 224;  ///< image_size: an integer or [height, width]
    std::int64_t patch_height = 4, patch_width = 4;      ///< patch_size: an integer or [height, width]
    std::int64_t num_channels = 3;
    std::int64_t embed_dim = 96;
    std::int64_t stages = 4;  ///< len(depths)
    std::array<std::int64_t, max_stages> depths{2, 2, 6, 2}, num_heads{3, 6, 12, 24};
    std::int64_t window_size = 7;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;
    activation hidden_act = activation::gelu;
    bool use_absolute_embeddings = false;
    double layer_norm_eps = 1e-5;
    std::int64_t encoder_stride = 32;
    std::int64_t num_labels = 2;

    using self = swin_config;

    static constexpr void stage_rule(const swin_config& c) {
        require(c.stages >= 1 && c.stages <= static_cast<std::int64_t>(max_stages),
                "depths must list 1 to 8 stages");
        for (std::int64_t s = 0; s < c.stages; ++s) {
            const auto i = static_cast<std::size_t>(s);
            require(c.depths[i] >= 1, "every stage's depth must be positive");
            require(c.num_heads[i] >= 1 && (c.embed_dim << s) % c.num_heads[i] == 0,
                    "every stage's width (embed_dim · 2^stage) must be a multiple of its num_heads");
        }
    }
    static constexpr void size_rule(const swin_config& c) {
        require(c.image_height > 0 && c.image_width > 0 && c.patch_height > 0 && c.patch_width > 0,
                "image_size and patch_size must be positive");
        require(c.image_height >= c.patch_height && c.image_width >= c.patch_width,
                "image_size must be at least patch_size");
        require(!c.use_absolute_embeddings ||
                    (c.image_height % c.patch_height == 0 && c.image_width % c.patch_width == 0),
                "use_absolute_embeddings: image_size must be a multiple of patch_size (Transformers sizes the "
                "positions by the whole patches and adds them to every patch, the padded ones included)");
    }
    /// depths and num_heads: lists of one length, at most 8; num_layers, where
    /// given, is that length (Transformers sizes masked-im's decoder by it).
    static void read_stages(const config_reader& r, swin_config& c) {
        std::vector<std::int64_t> depths(c.depths.begin(), c.depths.begin() + c.stages),
            heads(c.num_heads.begin(), c.num_heads.begin() + c.stages);
        r.get("depths", depths);
        r.get("num_heads", heads);
        if (depths.empty() || depths.size() > max_stages)
            throw error("config.unsupported", r.where() + ": /depths: " + std::to_string(depths.size()) +
                                                  " stages; 1 to 8 are supported");
        if (heads.size() != depths.size())
            throw error("config.invalid", r.where() + ": /num_heads: " + std::to_string(heads.size()) +
                                              " values for " + std::to_string(depths.size()) + " stages (depths)");
        c.stages = static_cast<std::int64_t>(depths.size());
        c.depths = {};
        c.num_heads = {};
        for (std::size_t i = 0; i < depths.size(); ++i) {
            c.depths[i] = depths[i];
            c.num_heads[i] = heads[i];
        }
        if (r.has("num_layers") && !r.is_null("num_layers")) {
            std::int64_t n = c.stages;
            r.get("num_layers", n);
            if (n != c.stages)
                throw error("config.unsupported", r.where() + ": /num_layers: " + std::to_string(n) + " for " +
                                                      std::to_string(c.stages) +
                                                      " stages (depths); Transformers' masked-im decoder would "
                                                      "not fit the model");
        }
    }
    /// image_size and patch_size: an integer, or [height, width].
    static void read_sizes(const config_reader& r, swin_config& c) {
        auto pair = [&](const char* key, std::int64_t& h, std::int64_t& w) {
            std::vector<std::int64_t> v{h};
            r.get(key, v);
            if (v.size() == 1) h = w = v[0];
            else if (v.size() == 2) h = v[0], w = v[1];
            else
                throw error("config.invalid", r.where() + ": /" + key + ": " + std::to_string(v.size()) +
                                                  " values; an integer or [height, width]");
        };
        pair("image_size", c.image_height, c.image_width);
        pair("patch_size", c.patch_height, c.patch_width);
    }

    using fields = field_table<
        field<"num_channels", &self::num_channels, rule::positive>,
        field<"embed_dim", &self::embed_dim, rule::positive>,
        field<"window_size", &self::window_size, rule::positive>,
        field<"mlp_ratio", &self::mlp_ratio, rule::positive>, field<"qkv_bias", &self::qkv_bias>,
        field<"hidden_act", &self::hidden_act>, field<"use_absolute_embeddings", &self::use_absolute_embeddings>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>,
        field<"encoder_stride", &self::encoder_stride, rule::positive>, labels<&self::num_labels>,
        internal<&self::image_height>, internal<&self::image_width>, internal<&self::patch_height>,
        internal<&self::patch_width>, internal<&self::stages>, internal<&self::depths>, internal<&self::num_heads>,
        reads<&self::read_sizes>, reads<&self::read_stages>,
        rules<&self::stage_rule>, rules<&self::size_rule>,
        // SwinBackbone's: which stages it returns (no exported task is a backbone)
        no_effect<"out_features", any_json>, no_effect<"out_indices", any_json>,
        no_effect<"_out_features", any_json>, no_effect<"_out_indices", any_json>,
        no_effect<"stage_names", any_json>,
        // training only: stochastic depth
        no_effect<"drop_path_rate", double>,
        // PreTrainedModel ties output to input embeddings; Swin has neither
        no_effect<"tie_word_embeddings", bool>, encoder_generic_keys>;

    [[nodiscard]] constexpr std::int64_t width() const { return embed_dim << (stages - 1); }
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = width(),
                .num_heads = num_heads[static_cast<std::size_t>(stages - 1)],
                .intermediate_size = static_cast<std::int64_t>(mlp_ratio * static_cast<double>(width())),
                .num_layers = stages,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = hidden_act,
                .eps = static_cast<float>(layer_norm_eps),
                .causal = false,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr swin_geometry swin() const {
        swin_geometry g{.channels = num_channels,
                        .patch_h = patch_height,
                        .patch_w = patch_width,
                        .embed_dim = embed_dim,
                        .stages = stages,
                        .depths = depths,
                        .heads = num_heads,
                        .window = window_size,
                        .mlp_ratio = mlp_ratio,
                        .qkv_bias = qkv_bias};
        if (use_absolute_embeddings) {
            g.position_rows = image_height / patch_height;
            g.position_cols = image_width / patch_width;
        }
        return g;
    }
    /// Any size, unless absolute positions fix it at image_size.
    [[nodiscard]] constexpr image_shape image() const {
        return {num_channels, image_height, image_width, !use_absolute_embeddings};
    }
    /// The last stage's grid at image_size (masked-im's decoder reads it):
    /// ceil(size / patch), then halved (rounding up) at every merging.
    [[nodiscard]] constexpr patch_grid patches() const {
        auto rows = (image_height + patch_height - 1) / patch_height;
        auto cols = (image_width + patch_width - 1) / patch_width;
        for (std::int64_t s = 1; s < stages; ++s) rows = (rows + 1) / 2, cols = (cols + 1) / 2;
        return {patch_height, patch_width, rows, cols, 0};
    }
};

/// SwinConfig from config.json.
inline swin_config swin_config_from_json(const config_reader& r) { return load_config<swin_config>(r); }

struct swin_family : family_base<"swin", "swin", swin_config, &swin_config_from_json,
                                 type_list<task::default_, task::image_classification, task::masked_im>> {
    /// The legacy table's tolerance for Swin.
    static constexpr double atol = 1e-4;
    /// The mask token, which only a bool_masked_pos input (not exported) reads.
    static std::vector<std::string> ignored() { return {"embeddings.mask_token"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;
    static auto inputs(task::masked_im) -> type_list<image_input<"pixel_values", true>>;

    using names = swin_names<"swin">;
    using trunk = type_list<swin_embeddings<names>, swin_encoder<names>, final_layer_norm<"swin.layernorm">>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification)
        -> concat<trunk, type_list<mean_token_output, pooled_classifier<"classifier">>>;
    static auto layers(task::masked_im) -> concat<trunk, type_list<masked_image_decoder<"decoder", 0>>>;
    /// last_hidden_state [batch, tokens, hidden]: tokens follow the image size.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>>;
};

/// Swin with a compile-time config.
template <swin_config C, class Task = task::default_>
struct swin : model_of<swin_family, Task> {
    static_assert(check(C));
    static constexpr swin_config config = C;
};

}  // namespace typeformer::inline v0
