// typeformer/models/resnet.hpp: ResNet (`model_type` "resnet").
//
// The stem: a 7x7 stride-2 Conv2d, BatchNorm and hidden_act, then a 3x3
// stride-2 max pool. Then stages of residual layers (basic: two 3x3
// convolutions; bottleneck: 1x1 to a quarter of the width, 3x3, 1x1 back),
// each Conv2d without bias and followed by a BatchNorm; a 1x1 Conv2d and
// BatchNorm on the shortcut where the width or the stride changes. The
// first layer of every stage but the first strides by 2 (the first stage
// too with downsample_in_first_stage), in its first 3x3 convolution, or in
// its first 1x1 one with downsample_in_bottleneck. The classifier is a
// Linear over the mean of the last feature map. Convolutions read any image
// size: the graph's height and width are named axes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// ResNetConfig, with Transformers' defaults.
struct resnet_config {
    std::int64_t num_channels = 3;
    std::int64_t embedding_size = 64;
    stage_list hidden_sizes{{256, 512, 1024, 2048}, 4};
    stage_list depths{{3, 4, 6, 3}, 4};
    bool bottleneck = true;  // layer_type: "bottleneck" (true) or "basic"
    activation hidden_act = activation::relu;
    bool downsample_in_first_stage = false;
    bool downsample_in_bottleneck = false;
    std::int64_t num_labels = 2;
    /// No key: DETR's backbone replaces every BatchNorm2d by a frozen one
    /// (conv_norm_act's `frozen`), which its own loader sets.
    bool frozen_batch_norm = false;

    using self = resnet_config;

    static constexpr void stages_rule(const resnet_config& c) {
        require(c.hidden_sizes.size() > 0 && c.hidden_sizes.size() == c.depths.size(),
                "hidden_sizes and depths must be lists of one length, at least 1");
        require(c.hidden_sizes.all_at_least(1), "hidden_sizes must be positive");
        // Transformers builds a stage's first layer whatever its depth: a depth of 0 is one layer
        require(c.depths.all_at_least(0), "depths must not be negative");
        require(!c.bottleneck || c.hidden_sizes.all_at_least(4),
                "hidden_sizes must be at least 4 with bottleneck layers (a quarter of the width, rounded down)");
    }
    /// hidden_sizes, depths (lists) and layer_type ("basic" or "bottleneck").
    static void read_lists(const config_reader& r, resnet_config& c) {
        read_stage_list(r, "hidden_sizes", c.hidden_sizes);
        read_stage_list(r, "depths", c.depths);
        if (r.has("layer_type") && !r.is_null("layer_type")) {
            std::string t;
            r.get("layer_type", t);
            if (t != "basic" && t != "bottleneck")
                throw error("config.unsupported",
                            r.where() + ": /layer_type: \"" + t + "\" is not supported (basic or bottleneck)");
            c.bottleneck = t == "bottleneck";
        }
    }

    using fields = field_table<
        field<"num_channels", &self::num_channels, rule::positive>,
        field<"embedding_size", &self::embedding_size, rule::positive>, internal<&self::hidden_sizes>,
        internal<&self::depths>, internal<&self::bottleneck>, field<"hidden_act", &self::hidden_act>,
        field<"downsample_in_first_stage", &self::downsample_in_first_stage>,
        field<"downsample_in_bottleneck", &self::downsample_in_bottleneck>, labels<&self::num_labels>,
        internal<&self::frozen_batch_norm>, rules<&self::stages_rule>,
        // ResNetBackbone's choice of stages to return: the exported ResNetModel and
        // ResNetForImageClassification run every stage whatever it says (5.x keeps them as
        // _out_features and _out_indices)
        no_effect<"out_features", any_json>, no_effect<"out_indices", any_json>,
        no_effect<"_out_features", any_json>, no_effect<"_out_indices", any_json>,
        no_effect<"stage_names", any_json>,
        // initialisation only: the checkpoint holds the weights
        no_effect<"initializer_factor", double>,
        // 5.x's generic reads: ResNet has no attention (head_dim), no RoPE, no tied embeddings
        no_effect<"head_dim", any_json>, no_effect<"rope_parameters", any_json>,
        no_effect<"tie_word_embeddings", bool>, reads<&self::read_lists>>;

    [[nodiscard]] constexpr stage_list stage_widths() const { return hidden_sizes; }
    [[nodiscard]] constexpr stage_list stage_depths() const { return depths; }
    /// The classifier's width (the last stage's) and labels; no text.
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = hidden_sizes.back(),
                .num_heads = 1,
                .intermediate_size = 0,
                .num_layers = 0,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = hidden_act,
                .eps = 1e-5f,
                .causal = false,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr image_shape image() const { return {num_channels, 0, 0, true}; }
};

/// ResNetConfig from config.json.
inline resnet_config resnet_config_from_json(const config_reader& r) { return load_config<resnet_config>(r); }

/// ResNetEmbeddings at `embedder` (under the caller's scope): the
/// ResNetConvLayer `embedder` (7x7, stride 2, padding 3, hidden_act) to
/// embedding_size channels, then MaxPool2d(3, stride 2, padding 1).
template <Backend B>
typename B::value resnet_stem(B& b, const typename B::value& pixels, const resnet_config& c) {
    auto guard = b.scope("embedder");
    auto x = conv_norm_act(b, "embedder", pixels,
                           {.in = c.num_channels, .out = c.embedding_size, .kernel = 7, .stride = 2, .padding = 3},
                           c.hidden_act, c.frozen_batch_norm);
    return b.max_pool2d(x, hw{3, 3}, hw{2, 2}, pads2d{1, 1, 1, 1}, false);
}

/// ResNetEmbeddings at "resnet.embedder" (resnet_stem).
struct resnet_embedder {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<resnet_embedder, typename B::value> s, const resnet_config& c) {
        auto guard = b.scope("resnet");
        s.set(sl::hidden_states, resnet_stem(b, s[slot<"pixel_values">{}], c));
    }
};

/// One ResNetStage: layer 0 from the previous width (embedding_size for the
/// first stage) with the stage's stride, the others at the stage's width.
/// A layer is `layer.<k>` ResNetConvLayers (their inner activations are
/// ReLU, whatever hidden_act) and `shortcut` where the width or the stride
/// changes; hidden_act after the sum.
struct resnet_stage {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const resnet_config& c, std::int64_t i) {
        const auto width = c.hidden_sizes[i];
        const auto stride = i > 0 || c.downsample_in_first_stage ? 2 : 1;
        const auto depth = std::max<std::int64_t>(c.depths[i], 1);
        const bool frozen = c.frozen_batch_norm;
        return repeat_blocks(b, "layers", depth, x, [&](const typename B::value& in, std::int64_t j) {
            const auto from = j > 0 ? width : i > 0 ? c.hidden_sizes[i - 1] : c.embedding_size;
            const auto st = j > 0 ? 1 : stride;
            auto residual = in;
            if (from != width || st != 1)
                residual = conv_norm_act(b, "shortcut", in, {.in = from, .out = width, .kernel = 1, .stride = st},
                                         std::nullopt, frozen);
            typename B::value h;
            if (c.bottleneck) {
                const auto r = width / 4;
                const auto first = c.downsample_in_bottleneck ? st : 1, second = c.downsample_in_bottleneck ? 1 : st;
                h = conv_norm_act(b, "layer.0", in, {.in = from, .out = r, .kernel = 1, .stride = first},
                                  activation::relu, frozen);
                h = conv_norm_act(b, "layer.1", h, {.in = r, .out = r, .kernel = 3, .stride = second, .padding = 1},
                                  activation::relu, frozen);
                h = conv_norm_act(b, "layer.2", h, {.in = r, .out = width, .kernel = 1}, std::nullopt, frozen);
            } else {
                h = conv_norm_act(b, "layer.0", in, {.in = from, .out = width, .kernel = 3, .stride = st, .padding = 1},
                                  activation::relu, frozen);
                h = conv_norm_act(b, "layer.1", h, {.in = width, .out = width, .kernel = 3, .padding = 1},
                                  std::nullopt, frozen);
            }
            return activate(b, c.hidden_act, b.add(h, residual));
        });
    }
};

/// timm's ResNet (`timm.create_model(name, features_only=True, ...)`), as
/// DETR's timm backbone builds it: one of the torchvision-shaped ResNets
/// ("resnet18", "resnet34": basic blocks; "resnet50", "resnet101",
/// "resnet152": bottleneck blocks, the stride in the 3x3), stem width 64,
/// as a resnet_config (hidden_sizes the stages' output widths, ReLU), or
/// nullopt for another name. The weight names are timm's (timm_resnet_stem,
/// timm_resnet_stage), not Transformers'.
inline std::optional<resnet_config> timm_resnet_config(std::string_view name) {
    resnet_config c{};
    c.embedding_size = 64;
    c.hidden_act = activation::relu;
    c.downsample_in_first_stage = false;
    c.downsample_in_bottleneck = false;
    const bool basic = name == "resnet18" || name == "resnet34";
    c.bottleneck = !basic;
    c.hidden_sizes = basic ? stage_list{{64, 128, 256, 512}, 4} : stage_list{{256, 512, 1024, 2048}, 4};
    if (name == "resnet18") c.depths = {{2, 2, 2, 2}, 4};
    else if (name == "resnet34" || name == "resnet50") c.depths = {{3, 4, 6, 3}, 4};
    else if (name == "resnet101") c.depths = {{3, 4, 23, 3}, 4};
    else if (name == "resnet152") c.depths = {{3, 8, 36, 3}, 4};
    else return std::nullopt;
    return c;
}

/// timm's ResNet stem under the caller's scope: `conv1` (7x7, stride 2,
/// padding 3, no bias), `bn1`, ReLU, then MaxPool2d(3, stride 2, padding 1).
template <Backend B>
typename B::value timm_resnet_stem(B& b, const typename B::value& pixels, const resnet_config& c) {
    auto x = conv2d_module(b, "conv1", pixels, {.in = c.num_channels, .out = c.embedding_size, .kernel = 7, .stride = 2,
                                                .padding = 3});
    x = norm_module(b, "bn1", x, c.embedding_size, c.frozen_batch_norm);
    return b.max_pool2d(activate(b, activation::relu, x), hw{3, 3}, hw{2, 2}, pads2d{1, 1, 1, 1}, false);
}

/// Where timm's make_blocks puts stage i's stride and dilation for an
/// output_stride of 8, 16 or 32: the map is at stride 4 after the stem;
/// every stage but the first strides by 2 until the map reaches
/// output_stride, after which a stage dilates by that factor instead.
/// first_dilation is the previous stage's dilation (the first block's
/// first 3x3 convolution uses it).
struct timm_stage_geometry {
    std::int64_t stride = 1, dilation = 1, first_dilation = 1;
};
inline timm_stage_geometry timm_resnet_geometry(std::int64_t stage, std::int64_t output_stride) {
    std::int64_t net_stride = 4, dilation = 1, previous = 1;
    timm_stage_geometry g{};
    for (std::int64_t i = 0; i <= stage; ++i) {
        std::int64_t stride = i == 0 ? 1 : 2;
        if (net_stride >= output_stride) {
            dilation *= stride;
            stride = 1;
        } else {
            net_stride *= stride;
        }
        g = {stride, dilation, previous};
        previous = dilation;
    }
    return g;
}

/// timm's ResNet stage i (0-based) at `layer<i+1>`: blocks `<j>`, each
/// conv1/bn1, conv2/bn2 (basic: two 3x3) or conv1/bn1, conv2/bn2, conv3/bn3
/// (bottleneck: 1x1 to a quarter of the width, 3x3 with the stride, 1x1
/// back), ReLU between them and after the residual sum; `downsample.0`
/// (1x1 Conv2d with the stride) and `downsample.1` (its BatchNorm) on the
/// first block's shortcut where the width or the stride changes. The 3x3
/// convolutions pad by their dilation (timm_resnet_geometry): the first
/// block's first one by the previous stage's.
struct timm_resnet_stage {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const resnet_config& c, std::int64_t i,
                                     std::int64_t output_stride) {
        const auto width = c.hidden_sizes[i];
        const auto g = timm_resnet_geometry(i, output_stride);
        auto conv_bn = [&](std::string_view k, const typename B::value& in, conv2d_spec s, bool act) {
            auto y = conv2d_module(b, "conv" + std::string(k), in, s);
            y = norm_module(b, "bn" + std::string(k), y, s.out, c.frozen_batch_norm);
            return act ? activate(b, activation::relu, y) : y;
        };
        return repeat_blocks(b, "layer" + std::to_string(i + 1), c.depths[i], x,
                             [&](const typename B::value& in, std::int64_t j) {
            const auto from = j > 0 ? width : i > 0 ? c.hidden_sizes[i - 1] : c.embedding_size;
            const auto st = j > 0 ? 1 : g.stride;
            const auto first = j > 0 ? g.dilation : g.first_dilation;
            auto residual = in;
            if (from != width || st != 1) {
                auto guard = b.scope("downsample");
                auto y = conv2d_module(b, "0", in, {.in = from, .out = width, .kernel = 1, .stride = st});
                residual = norm_module(b, "1", y, width, c.frozen_batch_norm);
            }
            typename B::value h;
            if (c.bottleneck) {
                const auto r = width / 4;
                h = conv_bn("1", in, {.in = from, .out = r, .kernel = 1}, true);
                h = conv_bn("2", h, {.in = r, .out = r, .kernel = 3, .stride = st, .padding = first, .dilation = first},
                            true);
                h = conv_bn("3", h, {.in = r, .out = width, .kernel = 1}, false);
            } else {
                h = conv_bn("1", in, {.in = from, .out = width, .kernel = 3, .stride = st, .padding = first,
                                      .dilation = first}, true);
                h = conv_bn("2", h, {.in = width, .out = width, .kernel = 3, .padding = g.dilation,
                                     .dilation = g.dilation}, false);
            }
            return activate(b, activation::relu, b.add(h, residual));
        });
    }
};

struct resnet_family : family_base<"resnet", "resnet", resnet_config, &resnet_config_from_json,
                                   type_list<task::default_, task::image_classification>> {
    /// The legacy table's tolerance for ResNet.
    static constexpr double atol = 1e-3;
    /// BatchNorm's step counter (training only).
    static std::vector<std::string> ignored() { return {"num_batches_tracked"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using trunk = type_list<resnet_embedder, conv_stages<"resnet.encoder.stages", resnet_stage>>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states>>;
    static auto layers(task::image_classification)
        -> concat<trunk, type_list<spatial_mean_pooler<>, pooled_classifier<"classifier.1">>>;
    /// last_hidden_state [batch, channels, height, width] of the last stage:
    /// Optimum's feature-extraction output (pooler_output is not exported).
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "", "">>>;
};

/// ResNet with a compile-time config.
template <resnet_config C, class Task = task::default_>
struct resnet : model_of<resnet_family, Task> {
    static_assert(check(C));
    static constexpr resnet_config config = C;
};

}  // namespace typeformer::inline v0
