// typeformer/layers/conv.hpp: the kit of the convolutional image models
// (ResNet, ConvNeXT, ConvNeXTV2).
//
// Images stay [N, C, H, W] from the pixels to the last stage; the modules
// here are PyTorch's (nn.Conv2d, nn.BatchNorm2d in eval mode, a LayerNorm
// over the channels of every pixel) and the loop over stages that every
// such model runs: stage i under `<Scope>.<i>`, its blocks under
// `layers.<j>`. The per-stage widths and depths come from the config's
// `hidden_sizes` and `depths` lists (a stage_list each).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/error.hpp"
#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/spatial.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// A per-stage list of integers of a config (`hidden_sizes`, `depths`), as
/// a structural value: at most `capacity` stages.
struct stage_list {
    static constexpr std::size_t capacity = 8;
    std::array<std::int64_t, capacity> values{};
    std::int64_t count = 0;

    [[nodiscard]] constexpr std::int64_t size() const { return count; }
    [[nodiscard]] constexpr std::int64_t operator[](std::int64_t i) const {
        return values[static_cast<std::size_t>(i)];
    }
    [[nodiscard]] constexpr std::int64_t back() const { return count > 0 ? (*this)[count - 1] : 0; }
    /// Every item is at least `least`.
    [[nodiscard]] constexpr bool all_at_least(std::int64_t least) const {
        for (std::int64_t i = 0; i < count; ++i)
            if ((*this)[i] < least) return false;
        return true;
    }
};

/// Read a list of integers (config.json's `key`, absent or null: the
/// default stays) into a stage_list; more than stage_list::capacity items
/// is config.unsupported naming the key. `Reader` is a config_reader.
template <class Reader>
void read_stage_list(const Reader& r, const char* key, stage_list& out) {
    if (!r.has(key) || r.is_null(key)) return;
    std::vector<std::int64_t> v;
    r.get(key, v);
    if (v.size() > stage_list::capacity)
        throw error("config.unsupported", r.where() + ": /" + key + ": " + std::to_string(v.size()) +
                                              " stages; at most " + std::to_string(stage_list::capacity) +
                                              " are supported");
    out = {};
    for (std::size_t i = 0; i < v.size(); ++i) out.values[i] = v[i];
    out.count = static_cast<std::int64_t>(v.size());
}

/// An nn.Conv2d: channels in and out, a square kernel, stride and symmetric
/// padding, groups (the input channels: depthwise), with or without a bias,
/// dilation.
struct conv2d_spec {
    std::int64_t in = 1, out = 1, kernel = 1, stride = 1, padding = 0, groups = 1;
    bool bias = false;
    std::int64_t dilation = 1;
};

/// nn.Conv2d at `scope`: `weight` [out, in / groups, k, k], `bias` [out] when spec.bias.
template <Backend B>
typename B::value conv2d_module(B& b, std::string_view scope, const typename B::value& x, const conv2d_spec& s) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {s.out, s.in / s.groups, s.kernel, s.kernel});
    const hw stride{s.stride, s.stride};
    const pads2d pads{s.padding, s.padding, s.padding, s.padding};
    const hw dilation{s.dilation, s.dilation};
    if (!s.bias) return b.conv2d(x, w, nullptr, stride, pads, dilation, s.groups);
    const auto& bias = b.param("bias", {s.out});
    return b.conv2d(x, w, &bias, stride, pads, dilation, s.groups);
}

/// nn.BatchNorm2d(channels, eps) in eval mode at `scope`: weight, bias,
/// running_mean, running_var (num_batches_tracked is not read).
template <Backend B>
typename B::value batch_norm_module(B& b, std::string_view scope, const typename B::value& x, std::int64_t channels,
                                    float eps = 1e-5f) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {channels});
    const auto& bias = b.param("bias", {channels});
    const auto& mean = b.param("running_mean", {channels});
    const auto& var = b.param("running_var", {channels});
    return b.batch_norm(x, w, bias, mean, var, eps);
}

/// DETR's DetrFrozenBatchNorm2d at `scope` (the same four tensors as
/// BatchNorm2d's), as it computes: scale = weight · rsqrt(running_var +
/// 1e-5), shift = bias - running_mean · scale, x · scale + shift, each
/// [1, C, 1, 1]; the rounding differs from BatchNorm2d's (x - mean) /
/// sqrt(var + eps) · weight + bias, so it is spelled as it is.
template <Backend B>
typename B::value frozen_batch_norm_module(B& b, std::string_view scope, const typename B::value& x,
                                           std::int64_t channels) {
    auto guard = b.scope(scope);
    auto per_channel = [&](const char* name) { return b.reshape(b.param(name, {channels}), {1, channels, 1, 1}); };
    auto scale = b.mul(per_channel("weight"),
                       b.div(b.scalar(1.f), b.sqrt(b.add(per_channel("running_var"), b.scalar(1e-5f)))));
    auto shift = b.sub(per_channel("bias"), b.mul(per_channel("running_mean"), scale));
    return b.add(b.mul(x, scale), shift);
}

/// frozen_batch_norm_module if `frozen` (DETR's backbones), else batch_norm_module.
template <Backend B>
typename B::value norm_module(B& b, std::string_view scope, const typename B::value& x, std::int64_t channels,
                              bool frozen) {
    return frozen ? frozen_batch_norm_module(b, scope, x, channels) : batch_norm_module(b, scope, x, channels);
}

/// nn.GroupNorm(groups, channels, eps) at `scope` (weight, bias) of x [N,
/// C, H, W]: each group of channels / groups channels normalised by its
/// mean and biased variance over its channels and pixels, then scaled and
/// shifted per channel.
template <Backend B>
typename B::value group_norm_module(B& b, std::string_view scope, const typename B::value& x, std::int64_t channels,
                                    std::int64_t groups, float eps = 1e-5f) {
    auto guard = b.scope(scope);
    auto g = b.reshape(x, {0, groups, -1});
    auto centred = b.sub(g, b.unsqueeze(b.reduce_mean(g, 2), {2}));
    auto var = b.unsqueeze(b.reduce_mean(b.mul(centred, centred), 2), {2});
    auto y = b.reshape(b.div(centred, b.sqrt(b.add(var, b.scalar(eps)))), b.shape(x, 0, 4));
    auto per_channel = [&](const char* name) { return b.reshape(b.param(name, {channels}), {1, channels, 1, 1}); };
    return b.add(b.mul(y, per_channel("weight")), per_channel("bias"));
}

/// The module names of conv_norm_act under its scope: the convolution and
/// the BatchNorm (ResNet's ResNetConvLayer and ResNetShortCut).
struct conv_norm_names {
    static constexpr std::string_view conv = "convolution", norm = "normalization";
};

/// Conv2d without bias, BatchNorm2d (`frozen`: DETR's frozen one), then
/// the activation if any, at `scope`: ResNet's ResNetConvLayer (padding
/// kernel / 2) and, without an activation, its 1x1 ResNetShortCut (padding 0).
template <class Names = conv_norm_names, Backend B>
typename B::value conv_norm_act(B& b, std::string_view scope, const typename B::value& x, conv2d_spec s,
                                std::optional<activation> act, bool frozen = false) {
    auto guard = b.scope(scope);
    s.bias = false;
    auto conv = conv2d_module(b, Names::conv, x, s);
    auto y = norm_module(b, Names::norm, conv, s.out, frozen);
    return act ? activate(b, *act, y) : y;
}

/// [N, C, H, W] to [N, H, W, C] (a LayerNorm or a Linear over the channels of each pixel).
template <Backend B>
typename B::value channels_last(B& b, const typename B::value& x) {
    return b.transpose(x, {0, 2, 3, 1});
}
/// [N, H, W, C] back to [N, C, H, W].
template <Backend B>
typename B::value channels_first(B& b, const typename B::value& x) {
    return b.transpose(x, {0, 3, 1, 2});
}

/// A feature map [N, C, H, W] as tokens [N, H·W, C], row by row.
template <Backend B>
typename B::value map_to_tokens(B& b, const typename B::value& x, std::int64_t channels) {
    return b.transpose(b.reshape(x, {0, channels, -1}), {0, 2, 1});
}
/// Tokens [N, H·W, C] laid back on their map [N, C, H, W]; `size` is int64
/// [2] (H, W), computed in the graph (such as shape(map, 2, 4)).
template <Backend B>
typename B::value tokens_to_map(B& b, const typename B::value& tokens, const typename B::value& size,
                                std::int64_t channels) {
    auto dims = b.concat({b.shape(tokens, 0, 1), b.constant_i64({channels}), size}, 0);
    return b.reshape(b.transpose(tokens, {0, 2, 1}), dims);
}

/// A LayerNorm over the channels of each pixel of [N, C, H, W] at `scope`
/// (ConvNeXT's data_format "channels_first"): weight and bias [C].
template <Backend B>
typename B::value channels_first_layer_norm(B& b, std::string_view scope, const typename B::value& x,
                                            std::int64_t channels, float eps) {
    return channels_first(b, layer_norm(b, scope, channels_last(b, x), channels, eps));
}

/// A config with per-stage widths and depths: `stage_widths()` (its
/// hidden_sizes) and `stage_depths()` (its depths), of one length.
template <class C>
concept StagedConfig = requires(const C& c) {
    { c.stage_widths() } -> std::same_as<stage_list>;
    { c.stage_depths() } -> std::same_as<stage_list>;
};

/// The stages of a convolutional encoder over `hidden_states` [N, C, H, W]:
/// stage i under `<Scope>.<i>`, `Stage::forward(b, x, c, i)` each.
template <fixed_string Scope, class Stage>
struct conv_stages {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B, StagedConfig C>
    static void forward(B& b, io<conv_stages, typename B::value> s, const C& c) {
        auto h = s[sl::hidden_states];
        for (std::int64_t i = 0; i < c.stage_widths().size(); ++i) {
            auto guard = b.scope(std::string(Scope.view()) + "." + std::to_string(i));
            h = Stage::forward(b, h, c, i);
        }
        s.set(sl::hidden_states, h);
    }
};

/// `count` blocks under `<Scope>.<j>`: x = block(x, j) for j < count.
template <Backend B, class Block>
typename B::value repeat_blocks(B& b, std::string_view scope, std::int64_t count, typename B::value x,
                                const Block& block) {
    for (std::int64_t j = 0; j < count; ++j) {
        auto guard = b.scope(std::string(scope) + "." + std::to_string(j));
        x = block(x, j);
    }
    return x;
}

/// The mean over height and width of `hidden_states` [N, C, H, W] as
/// `pooled_output` [N, C] (ResNet's AdaptiveAvgPool2d then the classifier's
/// Flatten), then, when `Norm` names one, a LayerNorm over C of the
/// config's shape().eps (ConvNeXT's final `layernorm`).
template <fixed_string Norm = "">
struct spatial_mean_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<spatial_mean_pooler, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto pooled = b.flatten(b.global_avg_pool(s[sl::hidden_states]), 1);
        if constexpr (!Norm.view().empty()) pooled = layer_norm(b, Norm.view(), pooled, sh.hidden_size, sh.eps);
        s.set(sl::pooled_output, pooled);
    }
};

// ---------------------------------------------------------------------------
// ConvNeXT and ConvNeXTV2

/// How a ConvNeXT block ends, besides its depthwise conv, LayerNorm and
/// MLP: `layer_scale` multiplies the MLP's output by a learned vector
/// `layer_scale_parameter` [C] (ConvNeXT with layer_scale_init_value > 0);
/// `grn` puts a global response normalisation `grn` after the activation
/// (ConvNeXTV2).
struct convnext_block_options {
    bool layer_scale = false;
    bool grn = false;
};

/// A ConvNeXT-style config: stages, the stem's patch size, the block
/// options, shape() (act: hidden_act, eps: the final LayerNorm's).
template <class C>
concept ConvNextConfig = StagedConfig<C> && EncoderConfig<C> && requires(const C& c) {
    { c.block_options() } -> std::same_as<convnext_block_options>;
    { c.patch() } -> std::same_as<hw>;
    { c.image().channels } -> std::convertible_to<std::int64_t>;
};

/// The LayerNorms inside ConvNeXT's stem, downsampling layers and blocks
/// take eps 1e-6, whatever the config's layer_norm_eps (the final one's).
inline constexpr float convnext_inner_eps = 1e-6f;

/// ConvNeXT's stem at `Scope` ("convnext.embeddings"): the Conv2d
/// `patch_embeddings` (kernel = stride = patch_size, with bias) from the
/// pixels to hidden_sizes[0], then the channels-first LayerNorm `layernorm`.
template <fixed_string Scope>
struct convnext_embeddings {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B, ConvNextConfig C>
    static void forward(B& b, io<convnext_embeddings, typename B::value> s, const C& c) {
        auto guard = b.scope(Scope.view());
        const auto p = c.patch();
        const auto width = c.stage_widths()[0];
        const auto channels = c.image().channels;
        typename B::value x;
        {
            auto conv = b.scope("patch_embeddings");
            const auto& w = b.param("weight", {width, channels, p.h, p.w});
            const auto& bias = b.param("bias", {width});
            x = b.conv2d(s[slot<"pixel_values">{}], w, &bias, p, pads2d{}, hw{}, 1);
        }
        s.set(sl::hidden_states, channels_first_layer_norm(b, "layernorm", x, width, convnext_inner_eps));
    }
};

/// Global response normalisation over x [N, H, W, C] at `scope` (ConvNeXTV2):
/// G = ‖x‖₂ over H and W [N, 1, 1, C], N = G / (mean over C of G + 1e-6),
/// weight · (x · N) + bias + x, weight and bias [1, 1, 1, C].
template <Backend B>
typename B::value global_response_norm(B& b, std::string_view scope, const typename B::value& x,
                                       std::int64_t channels) {
    auto guard = b.scope(scope);
    const auto& gamma = b.param("weight", {1, 1, 1, channels});
    const auto& beta = b.param("bias", {1, 1, 1, channels});
    auto g = b.reduce_l2(x, {1, 2});
    auto mean = b.unsqueeze(b.reduce_mean(g, -1), {3});
    auto n = b.div(g, b.add(mean, b.scalar(1e-6f)));
    return b.add(b.add(b.mul(gamma, b.mul(x, n)), beta), x);
}

/// One ConvNeXT stage (ConvNextStage, ConvNextV2Stage): from the second
/// stage on, `downsampling_layer` (.0 a channels-first LayerNorm over the
/// previous width, .1 a 2x2 stride-2 Conv2d with bias to this width); then
/// depths[i] blocks `layers.<j>`: the 7x7 depthwise `dwconv` (padding 3),
/// channels last, `layernorm`, `pwconv1` (Linear C -> 4C), hidden_act, the
/// GRN `grn` (V2), `pwconv2` (4C -> C), `layer_scale_parameter` times it
/// (V1 with layer scale), channels first, plus the block's input. Drop path
/// is the identity in eval mode.
struct convnext_stage {
    template <Backend B, ConvNextConfig C>
    static typename B::value forward(B& b, typename B::value x, const C& c, std::int64_t i) {
        const auto width = c.stage_widths()[i];
        if (i > 0) {
            const auto prev = c.stage_widths()[i - 1];
            x = channels_first_layer_norm(b, "downsampling_layer.0", x, prev, convnext_inner_eps);
            x = conv2d_module(b, "downsampling_layer.1", x, {.in = prev, .out = width, .kernel = 2, .stride = 2,
                                                             .bias = true});
        }
        const auto opt = c.block_options();
        const auto act = c.shape().act;
        return repeat_blocks(b, "layers", c.stage_depths()[i], x, [&](const typename B::value& in, std::int64_t) {
            auto h = conv2d_module(b, "dwconv", in, {.in = width, .out = width, .kernel = 7, .padding = 3,
                                                     .groups = width, .bias = true});
            h = layer_norm(b, "layernorm", channels_last(b, h), width, convnext_inner_eps);
            h = activate(b, act, dense(b, "pwconv1", h, width, 4 * width));
            if (opt.grn) h = global_response_norm(b, "grn", h, 4 * width);
            h = dense(b, "pwconv2", h, 4 * width, width);
            if (opt.layer_scale) h = b.mul(b.param("layer_scale_parameter", {width}), h);
            return b.add(in, channels_first(b, h));
        });
    }
};

}  // namespace typeformer::inline v0
