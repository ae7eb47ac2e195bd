// typeformer/models/mobilevit.hpp: MobileViT (`model_type` "mobilevit").
//
// A 3x3 stride-2 stem, two MobileNetV2 layers of inverted residuals (1x1
// expansion, 3x3 depthwise, 1x1 projection, each Conv2d followed by a
// BatchNorm, the first two by hidden_act), then three MobileViT blocks: an
// inverted residual that downsamples, a local kxk convolution and a 1x1
// projection to the transformer's width, the map unfolded into patches (one
// sequence per position inside a patch), pre-LN transformer layers over
// them (ViT's), a LayerNorm, the map folded back, a 1x1 projection and the
// fusion of the block's input with it. The base model and the classifier
// expand the last map by a 1x1 convolution; the pooled features are its
// mean over height and width. Semantic segmentation runs DeepLabV3's ASPP
// head on the unexpanded map. Every size is read from the run: the graph
// takes images of any size (a map that is not a multiple of the patch is
// resized bilinearly to whole patches and back, as Transformers does).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// MobileViTConfig, with Transformers' defaults (mobilevit-small).
struct mobilevit_config {
    std::int64_t num_channels = 3;
    std::int64_t image_h = 256, image_w = 256;  // image_size: the validation's image, not the model's
    std::int64_t patch_size = 2;
    stage_list hidden_sizes{{144, 192, 240}, 3};
    stage_list neck_hidden_sizes{{16, 32, 64, 96, 128, 160, 640}, 7};
    std::int64_t num_attention_heads = 4;
    double mlp_ratio = 2.0;
    double expand_ratio = 4.0;
    activation hidden_act = activation::silu;
    std::int64_t conv_kernel_size = 3;
    std::int64_t output_stride = 32;
    double layer_norm_eps = 1e-5;
    bool qkv_bias = true;
    std::int64_t aspp_out_channels = 256;
    stage_list atrous_rates{{6, 12, 18}, 3};
    std::int64_t num_labels = 2;

    using self = mobilevit_config;

    static constexpr void shape_rule(const mobilevit_config& c) {
        require(c.hidden_sizes.size() >= 3 && c.hidden_sizes.all_at_least(1),
                "hidden_sizes must list 3 positive widths at least (one per MobileViT block)");
        require(c.neck_hidden_sizes.size() == 7 && c.neck_hidden_sizes.all_at_least(1),
                "neck_hidden_sizes must list 7 positive widths (Transformers reads the last ones by negative index)");
        require(c.atrous_rates.size() == 3 && c.atrous_rates.all_at_least(1),
                "atrous_rates must list 3 positive rates");
        for (std::int64_t i = 0; i < 3; ++i)
            require(c.hidden_sizes[i] % c.num_attention_heads == 0,
                    "hidden_sizes must be multiples of num_attention_heads");
        require(c.conv_kernel_size % 2 == 1,
                "conv_kernel_size must be odd (an even kernel shrinks the map, and Transformers' fusion then fails)");
        require(c.image_h > 0 && c.image_w > 0, "image_size must be positive");
        require(c.mlp_ratio > 0 && c.expand_ratio > 0, "mlp_ratio and expand_ratio must be positive");
    }
    /// The lists; image_size, one number or [height, width].
    static void read_lists(const config_reader& r, mobilevit_config& c) {
        read_stage_list(r, "hidden_sizes", c.hidden_sizes);
        read_stage_list(r, "neck_hidden_sizes", c.neck_hidden_sizes);
        read_stage_list(r, "atrous_rates", c.atrous_rates);
        std::vector<std::int64_t> size{c.image_h};
        r.get("image_size", size);
        if (size.size() != 1 && size.size() != 2)
            throw error("config.invalid", r.where() + ": /image_size: " + std::to_string(size.size()) +
                                              " numbers; one, or two (height, width)");
        c.image_h = size.front();
        c.image_w = size.back();
    }

    using fields = field_table<
        field<"num_channels", &self::num_channels, rule::positive>, internal<&self::image_h>,
        internal<&self::image_w>, field<"patch_size", &self::patch_size, rule::positive>,
        internal<&self::hidden_sizes>, internal<&self::neck_hidden_sizes>,
        field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
        field<"mlp_ratio", &self::mlp_ratio>, field<"expand_ratio", &self::expand_ratio>,
        field<"hidden_act", &self::hidden_act>,
        field<"conv_kernel_size", &self::conv_kernel_size, rule::positive>,
        field<"output_stride", &self::output_stride, rule::positive>,
        field<"layer_norm_eps", &self::layer_norm_eps, rule::positive>, field<"qkv_bias", &self::qkv_bias>,
        field<"aspp_out_channels", &self::aspp_out_channels, rule::positive>, internal<&self::atrous_rates>,
        labels<&self::num_labels>, rules<&self::shape_rule>, reads<&self::read_lists>,
        // dropouts: the identity in eval mode
        no_effect<"classifier_dropout_prob", double>, no_effect<"aspp_dropout_prob", double>,
        // the training loss's label to skip
        no_effect<"semantic_loss_ignore_index", std::int64_t>,
        // PreTrainedModel ties output to input embeddings; MobileViT has neither
        no_effect<"tie_word_embeddings", bool>, encoder_generic_keys>;

    /// The expanded map's width (the classifier's input), hidden_act, the labels; no text.
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = neck_hidden_sizes[6],
                .num_heads = num_attention_heads,
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

/// MobileViTConfig from config.json.
inline mobilevit_config mobilevit_config_from_json(const config_reader& r) {
    return load_config<mobilevit_config>(r);
}

namespace detail::mobilevit {

/// Transformers' make_divisible(value, 8): the nearest multiple of 8 (at
/// least 8), raised by 8 where that loses more than a tenth.
inline std::int64_t make_divisible(std::int64_t value) {
    std::int64_t v = std::max<std::int64_t>(8, (value + 4) / 8 * 8);
    if (static_cast<double>(v) < 0.9 * static_cast<double>(value)) v += 8;
    return v;
}

/// MobileViTInvertedResidual at the current scope: `expand_1x1` to
/// make_divisible(round(in · expand_ratio)) (Python's round: ties to even),
/// the depthwise `conv_3x3` (stride, dilation), `reduce_1x1` (no
/// activation); plus the input where the stride is 1 and the width stays.
template <Backend B>
typename B::value inverted_residual(B& b, const typename B::value& x, std::int64_t in, std::int64_t out,
                                    std::int64_t stride, std::int64_t dilation, const mobilevit_config& c) {
    const auto wide = make_divisible(static_cast<std::int64_t>(std::nearbyint(static_cast<double>(in) * c.expand_ratio)));
    auto h = conv_norm_act(b, "expand_1x1", x, {.in = in, .out = wide}, c.hidden_act);
    h = conv_norm_act(b, "conv_3x3", h,
                      {.in = wide, .out = wide, .kernel = 3, .stride = stride, .padding = dilation, .groups = wide,
                       .dilation = dilation},
                      c.hidden_act);
    h = conv_norm_act(b, "reduce_1x1", h, {.in = wide, .out = out}, std::nullopt);
    return stride == 1 && in == out ? b.add(x, h) : h;
}

/// Transformers' unfolding of x [B, C, H, W] (H, W multiples of p): the
/// sequences [B · p², (H / p) · (W / p), C], one per position inside a patch.
template <Backend B>
typename B::value unfold(B& b, const typename B::value& x, std::int64_t p, std::int64_t channels) {
    auto ps = b.constant_i64({p});
    auto rows = b.div(b.shape(x, 2, 3), ps), cols = b.div(b.shape(x, 3, 4), ps);
    auto batch = b.shape(x, 0, 1);
    auto y = b.reshape(x, b.concat({batch, b.constant_i64({channels}), rows, ps, cols, ps}, 0));
    y = b.transpose(y, {0, 3, 5, 2, 4, 1});  // [B, p, p, rows, cols, C]
    return b.reshape(y, b.concat({b.mul(batch, b.constant_i64({p * p})), b.mul(rows, cols),
                                  b.constant_i64({channels})}, 0));
}

/// folding: the sequences back on the map [B, C, H, W] of `like` (its size).
template <Backend B>
typename B::value fold(B& b, const typename B::value& patches, const typename B::value& like, std::int64_t p,
                       std::int64_t channels) {
    auto ps = b.constant_i64({p});
    auto rows = b.div(b.shape(like, 2, 3), ps), cols = b.div(b.shape(like, 3, 4), ps);
    auto batch = b.shape(like, 0, 1);
    auto y = b.reshape(patches, b.concat({batch, ps, ps, rows, cols, b.constant_i64({channels})}, 0));
    y = b.transpose(y, {0, 5, 3, 1, 4, 2});  // [B, C, rows, p, cols, p]
    return b.reshape(y, b.shape(like, 0, 4));
}

/// MobileViTLayer at the current scope, from `in` to `out` channels, the
/// transformer `width` wide and `depth` layers deep. The downsampling
/// inverted residual strides by 2, or by 1 in a dilated block (dilation
/// halved in its depthwise conv). The map is resized (bilinear,
/// align_corners false) to whole patches, ⌈size / p⌉ · p, and back after
/// folding: a resize to the same size is the identity, so the graph resizes
/// whatever the size, where Transformers resizes only when it differs.
template <Backend B>
typename B::value vit_block(B& b, typename B::value x, std::int64_t in, std::int64_t out, std::int64_t width,
                            std::int64_t depth, std::int64_t dilation, const mobilevit_config& c) {
    using V = typename B::value;
    {
        auto guard = b.scope("downsampling_layer");
        x = inverted_residual(b, x, in, out, dilation == 1 ? 2 : 1, dilation > 1 ? dilation / 2 : 1, c);
    }
    const auto k = c.conv_kernel_size, p = c.patch_size;
    auto h = conv_norm_act(b, "conv_kxk", x, {.in = out, .out = out, .kernel = k, .padding = (k - 1) / 2},
                           c.hidden_act);
    h = conv2d_module(b, "conv_1x1.convolution", h, {.in = out, .out = width});
    const auto size = b.shape(h, 2, 4);
    auto ps = b.constant_i64({p});
    auto whole = b.resize_to(h, b.mul(b.div(b.add(size, b.constant_i64({p - 1})), ps), ps), resize_mode::bilinear,
                             false);
    auto seq = unfold(b, whole, p, width);
    encoder_shape sh = c.shape();
    sh.hidden_size = width;
    sh.intermediate_size = static_cast<std::int64_t>(static_cast<double>(width) * c.mlp_ratio);
    const vision_block_context<V> ctx{{.qkv_bias = c.qkv_bias}, patch_grid{}, std::nullopt};
    using names = vit_layer_names<"">;
    using layer = encoder_block<names, unmasked_self_attention<names>, feed_forward<names>, norm_placement::pre>;
    seq = repeat_blocks(b, "transformer.layer", depth, seq,
                        [&](const V& t, std::int64_t) { return layer::forward(b, t, ctx, sh); });
    seq = layer_norm(b, "layernorm", seq, width, sh.eps);
    h = b.resize_to(fold(b, seq, whole, p, width), size, resize_mode::bilinear, false);
    h = conv_norm_act(b, "conv_projection", h, {.in = width, .out = out}, c.hidden_act);
    return conv_norm_act(b, "fusion", b.concat({x, h}, 1), {.in = 2 * out, .out = out, .kernel = k,
                                                            .padding = (k - 1) / 2},
                         c.hidden_act);
}

/// MobileViTModel at "mobilevit": the stem `conv_stem`, the encoder's five
/// layers, and with `expand` `conv_1x1_exp`. output_stride 16 dilates the
/// last block, 8 the last two (dilation 2, then 4), as MobileViTEncoder
/// builds them.
template <Backend B>
typename B::value encode(B& b, const typename B::value& pixels, const mobilevit_config& c, bool expand) {
    auto guard = b.scope("mobilevit");
    const auto& n = c.neck_hidden_sizes;
    auto x = conv_norm_act(b, "conv_stem", pixels,
                           {.in = c.num_channels, .out = n[0], .kernel = 3, .stride = 2, .padding = 1}, c.hidden_act);
    {
        auto enc = b.scope("encoder.layer");
        const std::int64_t d4 = c.output_stride == 8 ? 2 : 1;
        const std::int64_t d5 = d4 * (c.output_stride == 8 || c.output_stride == 16 ? 2 : 1);
        x = repeat_blocks(b, "0.layer", 1, x, [&](const typename B::value& h, std::int64_t) {
            return inverted_residual(b, h, n[0], n[1], 1, 1, c);
        });
        x = repeat_blocks(b, "1.layer", 3, x, [&](const typename B::value& h, std::int64_t j) {
            return inverted_residual(b, h, j == 0 ? n[1] : n[2], n[2], j == 0 ? 2 : 1, 1, c);
        });
        const std::int64_t depths[] = {2, 4, 3}, dilations[] = {1, d4, d5};
        for (std::int64_t i = 0; i < 3; ++i) {
            auto layer = b.scope(std::to_string(i + 2));
            x = vit_block(b, x, n[i + 2], n[i + 3], c.hidden_sizes[i], depths[i], dilations[i], c);
        }
    }
    if (expand) x = conv_norm_act(b, "conv_1x1_exp", x, {.in = n[5], .out = n[6]}, c.hidden_act);
    return x;
}

}  // namespace detail::mobilevit

/// MobileViTModel's last_hidden_state as hidden_states: the expanded map
/// (`Expand`), or the last block's (MobileViTForSemanticSegmentation's).
template <bool Expand>
struct mobilevit_encoder {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<mobilevit_encoder, typename B::value> s, const mobilevit_config& c) {
        s.set(sl::hidden_states, detail::mobilevit::encode(b, s[slot<"pixel_values">{}], c, Expand));
    }
};

/// MobileViTDeepLabV3 at "segmentation_head" on the last block's map x:
/// ASPP (`aspp.convs.0` a 1x1 Conv2d, `convs.1` to `convs.3` 3x3 ones of
/// dilation and padding atrous_rates[i], `convs.4` the mean over height and
/// width through a 1x1 `conv_1x1`, resized bilinearly back to x's size;
/// each with BatchNorm and ReLU; concatenated, `aspp.project` 1x1 with
/// BatchNorm and ReLU), then the 1x1 Conv2d `classifier.convolution` with
/// bias: logits [B, num_labels, h, w], x's size.
struct mobilevit_deeplab_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<mobilevit_deeplab_head, typename B::value> s, const mobilevit_config& c) {
        const auto& x = s[sl::hidden_states];
        const auto in = c.neck_hidden_sizes[5], a = c.aspp_out_channels;
        auto guard = b.scope("segmentation_head");
        typename B::value y;
        {
            auto aspp = b.scope("aspp");
            std::vector<typename B::value> parts{conv_norm_act(b, "convs.0", x, {.in = in, .out = a}, activation::relu)};
            for (std::int64_t i = 0; i < 3; ++i) {
                const auto r = c.atrous_rates[i];
                parts.push_back(conv_norm_act(b, "convs." + std::to_string(i + 1), x,
                                              {.in = in, .out = a, .kernel = 3, .padding = r, .dilation = r},
                                              activation::relu));
            }
            {
                auto pool = b.scope("convs.4");
                auto g = conv_norm_act(b, "conv_1x1", b.global_avg_pool(x), {.in = in, .out = a}, activation::relu);
                parts.push_back(b.resize_to(g, b.shape(x, 2, 4), resize_mode::bilinear, false));
            }
            y = conv_norm_act(b, "project", b.concat(parts, 1), {.in = 5 * a, .out = a}, activation::relu);
        }
        s.set(sl::logits,
              conv2d_module(b, "classifier.convolution", y, {.in = a, .out = c.num_labels, .bias = true}));
    }
};

struct mobilevit_family
    : family_base<"mobilevit", "mobilevit", mobilevit_config, &mobilevit_config_from_json,
                  type_list<task::default_, task::image_classification, task::semantic_segmentation>> {
    /// The legacy table's tolerance for MobileViT.
    static constexpr double atol = 1e-4;
    /// BatchNorm's step counter (training only).
    static std::vector<std::string> ignored() { return {"num_batches_tracked"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    static auto layers(task::default_)
        -> type_list<mobilevit_encoder<true>, expose_hidden_states, spatial_mean_pooler<>, expose_pooler_output>;
    static auto layers(task::image_classification)
        -> type_list<mobilevit_encoder<true>, spatial_mean_pooler<>, pooled_classifier<"classifier">>;
    static auto layers(task::semantic_segmentation) -> type_list<mobilevit_encoder<false>, mobilevit_deeplab_head>;
    /// last_hidden_state [batch, channels, h, w] and pooler_output [batch,
    /// channels], as the legacy table (transformers.onnx) exports MobileViT.
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "", "">>,
                                                     output<"pooler_output", axes<"batch", "">>>;
};

/// MobileViT with a compile-time config.
template <mobilevit_config C, class Task = task::default_>
struct mobilevit : model_of<mobilevit_family, Task> {
    static_assert(check(C));
    static constexpr mobilevit_config config = C;
};

}  // namespace typeformer::inline v0
