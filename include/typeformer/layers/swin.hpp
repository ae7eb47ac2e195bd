// typeformer/layers/swin.hpp: the blocks of a Swin Transformer image encoder.
//
// The image cut into patches by a Conv2d (padded to a multiple of the patch),
// then stages of pre-LN blocks whose self-attention runs inside windows of
// window x window patches, every second block over windows shifted by half
// a window (a cyclic roll and a mask that keeps the rolled regions apart),
// with a learned relative position bias; patch merging halves the feature
// map between stages. The feature map travels as [B, H, W, C]; every
// window, padding and shift computation reads H and W from the run, so the
// graph takes images of any size. The numbers come from the config's
// `shape()` (the last stage's encoder_shape) and `swin()` (a swin_geometry).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/error.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// What a Swin-style encoder is made of beyond encoder_shape: the patches,
/// the stages (depth and heads each; the width doubles from embed_dim at
/// every stage), the window, the MLP ratio, and the absolute positions'
/// grid (0 x 0: none).
struct swin_geometry {
    static constexpr std::size_t max_stages = 8;

    std::int64_t channels = 3;
    std::int64_t patch_h = 4, patch_w = 4;
    std::int64_t embed_dim = 96;
    std::int64_t stages = 4;
    std::array<std::int64_t, max_stages> depths{}, heads{};
    std::int64_t window = 7;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;
    std::int64_t position_rows = 0, position_cols = 0;

    [[nodiscard]] constexpr std::int64_t width(std::int64_t stage) const { return embed_dim << stage; }
    /// int(mlp_ratio * dim), as Transformers sizes the MLP
    [[nodiscard]] constexpr std::int64_t mlp_width(std::int64_t stage) const {
        return static_cast<std::int64_t>(mlp_ratio * static_cast<double>(width(stage)));
    }
};

/// A Swin-style config: the last stage's encoder_shape (its width, the
/// blocks' LayerNorm eps and activation, the labels) and its swin_geometry.
template <class C>
concept SwinConfig = EncoderConfig<C> && requires(const C& c) {
    { c.swin() } -> std::same_as<swin_geometry>;
};

/// The module names of a Swin model under `Base` ("swin"), as checkpoints
/// store them (Transformers 4.x's names, which 5.x maps its modules back to).
template <fixed_string Base>
struct swin_names {
    static constexpr std::string_view base = Base.view(), projection = "embeddings.patch_embeddings.projection",
                                      embedding_norm = "embeddings.norm", position = "embeddings.position_embeddings",
                                      stages = "encoder.layers", blocks = "blocks", merge = "downsample",
                                      merge_norm = "norm", merge_reduction = "reduction";
    /// one block's names, for encoder_block and the window attention
    struct block {
        static constexpr std::string_view q = "attention.self.query", k = "attention.self.key",
                                          v = "attention.self.value", attention = "attention.self",
                                          bias_table = "relative_position_bias_table", o = "attention.output.dense",
                                          attn_norm = "layernorm_before", out_norm = "layernorm_after",
                                          ffn_in = "intermediate.dense", ffn_out = "output.dense";
    };
};

namespace detail::swin {
/// x with `amount` (int64 [1], computed in the graph) zero rows appended along `axis` (0 < axis < rank).
template <Backend B>
typename B::value pad_end(B& b, const typename B::value& x, std::int64_t axis, const typename B::value& amount,
                          std::int64_t rank) {
    auto zeros_shape = b.concat({b.shape(x, 0, axis), amount, b.shape(x, axis + 1, rank)}, 0);
    return b.concat({x, b.expand(b.scalar(0.f), zeros_shape)}, axis);
}

/// The extent of `x`'s axis where the backend knows it while building (the
/// reference pass computes), else -1 (the ONNX graph learns it at run time).
template <class V>
std::int64_t extent_now(const V& x, std::size_t axis) {
    if constexpr (requires { x.shape()[axis]; }) return static_cast<std::int64_t>(x.shape()[axis]);
    else return -1;
}

/// Transformers' relative_position_index of a window x window window, flat
/// [T · T] (T = window²): for positions i = (hi, wi) and j = (hj, wj),
/// (hi - hj + window - 1) · (2 · window - 1) + (wi - wj + window - 1).
inline std::vector<std::int64_t> relative_position_index(std::int64_t window) {
    const std::int64_t t = window * window;
    std::vector<std::int64_t> index(static_cast<std::size_t>(t * t));
    for (std::int64_t i = 0; i < t; ++i)
        for (std::int64_t j = 0; j < t; ++j)
            index[static_cast<std::size_t>(i * t + j)] =
                (i / window - j / window + window - 1) * (2 * window - 1) + (i % window - j % window + window - 1);
    return index;
}
}  // namespace detail::swin

/// What every block of a stage shares: the feature map's size and its
/// windows, read from the run (int64 [1] each), the shift of the shifted
/// blocks and their mask. `shifted` is the block's own.
template <class V>
struct swin_stage_context {
    V batch, height, width;       ///< of the stage's feature map
    V padded_h, padded_w;         ///< rounded up to multiples of the window
    V rows, cols;                 ///< windows along each axis (0 rows where the map is smaller than the window)
    V shift;                      ///< window / 2 where min(height, width) > window, else 0 (no shift)
    V mask;                       ///< [B · windows, 1, T, T]: -100 between rolled regions, else 0
    std::int64_t window = 7, heads = 1;
    bool shifted = false;
};

/// Windows of a [B, Hp, Wp, C] map (Hp, Wp multiples of the window:
/// `rows` x `cols` windows), as Transformers' window_partition orders
/// them: [B · rows · cols, T, C].
template <Backend B>
typename B::value swin_partition(B& b, const typename B::value& x, const typename B::value& batch,
                                 const typename B::value& rows, const typename B::value& cols, std::int64_t window,
                                 std::int64_t channels) {
    const auto w = window;
    auto y = b.reshape(x, b.concat({batch, rows, b.constant_i64({w}), cols, b.constant_i64({w, channels})}, 0));
    y = b.transpose(y, {0, 1, 3, 2, 4, 5});
    return b.reshape(y, {-1, w * w, channels});
}

/// The windows [B · rows · cols, T, C] laid back on their [B, Hp, Wp, C] map (window_reverse).
template <Backend B, class V>
typename B::value swin_reverse(B& b, const typename B::value& windows, const swin_stage_context<V>& ctx,
                               std::int64_t channels) {
    const auto w = ctx.window;
    auto y = b.reshape(windows, b.concat({ctx.batch, ctx.rows, ctx.cols, b.constant_i64({w, w, channels})}, 0));
    y = b.transpose(y, {0, 1, 3, 2, 4, 5});
    return b.reshape(y, b.concat({ctx.batch, ctx.padded_h, ctx.padded_w, b.constant_i64({channels})}, 0));
}

/// Swin's (shifted) window self-attention on a [B, H, W, C] map: padded at
/// the bottom and right to whole windows, rolled back by the shift (shifted
/// blocks), cut into windows, attention with the relative position bias
/// (and the shift's mask) inside each, then laid back, rolled forward and
/// cropped. Names: `q`, `k`, `v` (biases iff qkv_bias), `attention` (the
/// scope of `bias_table` [(2w - 1)², heads]), `o`.
template <class Names>
struct swin_window_attention {
    template <Backend B, class V>
    static typename B::value forward(B& b, const typename B::value& x, const swin_stage_context<V>& ctx,
                                     const encoder_shape& sh, bool qkv_bias) {
        const auto c = sh.hidden_size;
        const auto w = ctx.window, t = w * w, heads = ctx.heads;
        auto h = detail::swin::pad_end(b, x, 1, b.sub(ctx.padded_h, ctx.height), 4);
        h = detail::swin::pad_end(b, h, 2, b.sub(ctx.padded_w, ctx.width), 4);
        if (ctx.shifted) {
            auto back = b.sub(b.constant_i64({0}), ctx.shift);
            h = b.roll(b.roll(h, 1, back), 2, back);
        }
        auto windows = swin_partition(b, h, ctx.batch, ctx.rows, ctx.cols, w, c);
        auto project = [&](std::string_view scope) {
            auto guard = b.scope(scope);
            const auto& wt = b.param("weight", {c, c});
            if (!qkv_bias) return b.linear(windows, wt, nullptr);
            const auto& bias = b.param("bias", {c});
            return b.linear(windows, wt, &bias);
        };
        auto q = project(Names::q);
        auto k = project(Names::k);
        auto v = project(Names::v);
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            // the table's rows gathered by Transformers' constant index: [1, heads, T, T]
            const auto& table = b.param(std::string(Names::bias_table), {(2 * w - 1) * (2 * w - 1), heads});
            auto bias = b.gather(table, b.constant_i64(detail::swin::relative_position_index(w)));
            bias = b.unsqueeze(b.transpose(b.reshape(bias, {t, t, heads}), {2, 0, 1}), {0});
            if (ctx.shifted) bias = b.add(bias, ctx.mask);
            const float scale = 1.f / std::sqrt(static_cast<float>(c / heads));
            out = b.attention(q, k, v, &bias, heads, scale);
        }
        out = dense(b, Names::o, out, c, c);
        h = swin_reverse(b, out, ctx, c);
        if (ctx.shifted) h = b.roll(b.roll(h, 1, ctx.shift), 2, ctx.shift);
        return b.slice_to(b.slice_to(h, 1, ctx.height), 2, ctx.width);
    }
};

/// The attention policy encoder_block calls: the window attention with the config's qkv_bias.
template <class Names>
struct swin_block_attention {
    template <Backend B, class Ctx>
    static typename B::value forward(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
        return swin_window_attention<Names>::forward(b, x, ctx.stage, sh, ctx.qkv_bias);
    }
};

/// SwinEmbeddings without a mask token: pixel_values [B, C, H, W] padded at
/// the bottom and right to whole patches (the Conv2d's end padding of patch
/// - 1 gives the same ceil(H / patch) rows of the same sums), the Conv2d,
/// the map as [B, h, w, embed_dim], its LayerNorm (torch's default eps,
/// 1e-5, as Transformers builds it), the absolute positions where the
/// config has them (their grid fixes the image size).
template <class Names>
struct swin_embeddings {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B, SwinConfig C>
    static void forward(B& b, io<swin_embeddings, typename B::value> s, const C& c) {
        const auto g = c.swin();
        const auto& pixels = s[slot<"pixel_values">{}];
        auto guard = b.scope(Names::base);
        typename B::value maps;
        {
            auto proj = b.scope(Names::projection);
            const auto& w = b.param("weight", {g.embed_dim, g.channels, g.patch_h, g.patch_w});
            const auto& bias = b.param("bias", {g.embed_dim});
            maps = b.conv2d(pixels, w, &bias, hw{g.patch_h, g.patch_w}, pads2d{0, 0, g.patch_h - 1, g.patch_w - 1},
                            hw{}, 1);
        }
        auto h = layer_norm(b, Names::embedding_norm, b.transpose(maps, {0, 2, 3, 1}), g.embed_dim, 1e-5f);
        if (g.position_rows > 0) {
            const auto& pos = b.param(std::string(Names::position), {1, g.position_rows * g.position_cols, g.embed_dim});
            h = b.add(h, b.reshape(pos, {1, g.position_rows, g.position_cols, g.embed_dim}));
        }
        s.set(sl::hidden_states, h);
    }
};

/// SwinEncoder: the stages at `<stages>.<s>`, each `depths[s]` pre-LN blocks
/// at `blocks.<i>` (odd i shifted), then (all but the last) the patch
/// merging at `downsample`: the map padded to even sizes, each 2 x 2 patch's
/// four vectors concatenated in Transformers' order ((0, 0), (1, 0), (0, 1),
/// (1, 1) as (row, column)), LayerNorm (eps 1e-5), Linear to twice the width
/// without bias. Writes the tokens [B, h · w, C], row by row.
///
/// Transformers turns the shift off where a stage's map is no larger than
/// the window on its short side, and fails where it is smaller (its bias
/// no longer fits the shrunk window): the reference pass refuses such an
/// image by name (`swin.image_size`), and the graph's window reshape fails
/// on it rather than compute something else.
template <class Names>
struct swin_encoder {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B, SwinConfig C>
    static void forward(B& b, io<swin_encoder, typename B::value> s, const C& c) {
        using V = typename B::value;
        const auto g = c.swin();
        const auto top = c.shape();
        auto h = s[sl::hidden_states];
        auto guard = b.scope(Names::base);
        for (std::int64_t st = 0; st < g.stages; ++st) {
            auto stage_guard = b.scope(std::string(Names::stages) + "." + std::to_string(st));
            const auto dim = g.width(st);
            check_size(h, g.window, st);
            auto ctx = stage_context<B>(b, h, g.window, g.heads[static_cast<std::size_t>(st)], g.depths[static_cast<std::size_t>(st)]);
            encoder_shape sh = top;
            sh.hidden_size = dim;
            sh.num_heads = ctx.heads;
            sh.intermediate_size = g.mlp_width(st);
            struct block_context {
                swin_stage_context<V> stage;
                bool qkv_bias;
            } bctx{ctx, g.qkv_bias};
            using block = encoder_block<typename Names::block, swin_block_attention<typename Names::block>,
                                        feed_forward<typename Names::block>, norm_placement::pre>;
            for (std::int64_t i = 0; i < g.depths[static_cast<std::size_t>(st)]; ++i) {
                auto block_guard = b.scope(std::string(Names::blocks) + "." + std::to_string(i));
                bctx.stage.shifted = i % 2 == 1;
                h = block::forward(b, h, bctx, sh);
            }
            if (st + 1 < g.stages) h = merge(b, h, ctx, dim);
        }
        s.set(sl::hidden_states, b.reshape(h, {0, -1, g.width(g.stages - 1)}));
    }

private:
    /// SwinPatchMerging of the stage's map [B, H, W, dim] to [B, ceil(H / 2), ceil(W / 2), 2 · dim].
    template <Backend B>
    static typename B::value merge(B& b, const typename B::value& h, const swin_stage_context<typename B::value>& ctx,
                                   std::int64_t dim) {
        auto guard = b.scope(Names::merge);
        auto one = b.constant_i64({1}), two = b.constant_i64({2});
        auto half_h = b.div(b.add(ctx.height, one), two), half_w = b.div(b.add(ctx.width, one), two);
        auto x = detail::swin::pad_end(b, h, 1, b.sub(b.mul(half_h, two), ctx.height), 4);
        x = detail::swin::pad_end(b, x, 2, b.sub(b.mul(half_w, two), ctx.width), 4);
        x = b.reshape(x, b.concat({ctx.batch, half_h, two, half_w, b.constant_i64({2, dim})}, 0));
        x = b.transpose(x, {0, 1, 3, 4, 2, 5});  // [B, H/2, W/2, column, row, dim]
        x = b.reshape(x, b.concat({ctx.batch, half_h, half_w, b.constant_i64({4 * dim})}, 0));
        x = layer_norm(b, Names::merge_norm, x, 4 * dim, 1e-5f);
        auto reduction = b.scope(Names::merge_reduction);
        return b.linear(x, b.param("weight", {2 * dim, 4 * dim}), nullptr);
    }

    template <class V>
    static void check_size(const V& h, std::int64_t window, std::int64_t stage) {
        const auto rows = detail::swin::extent_now(h, 1), cols = detail::swin::extent_now(h, 2);
        if (rows >= 0 && (rows < window || cols < window))
            throw error("swin.image_size",
                        "stage " + std::to_string(stage) + "'s feature map is " + std::to_string(rows) + " x " +
                            std::to_string(cols) + ", smaller than window_size " + std::to_string(window) +
                            ": Transformers fails on this image size (its relative position bias fits the "
                            "window only); give a larger image");
    }

    /// Transformers' get_attn_mask from the run's sizes: each position of
    /// the padded map in region 3 · r(h) + r(w), r(i) = [i >= n - window] +
    /// [i >= n - shift], cut into windows; -100 between positions of
    /// different regions, 0 within one. With the shift off every window
    /// lies in one region (n is a multiple of the window), so the mask is 0,
    /// as Transformers' absent one.
    template <Backend B>
    static typename B::value shift_mask(B& b, const swin_stage_context<typename B::value>& ctx) {
        const auto w = ctx.window, t = w * w;
        auto region = [&](const typename B::value& n) {  // [n] int64: 0, 1 or 2
            auto idx = b.range(b.expand(b.scalar(0.f), n), 0);
            auto first = b.cast(b.less(idx, b.sub(n, b.constant_i64({w}))), dtype::i64);
            auto second = b.cast(b.less(idx, b.sub(n, ctx.shift)), dtype::i64);
            return b.sub(b.sub(b.constant_i64({2}), first), second);
        };
        auto regions = b.add(b.mul(b.unsqueeze(region(ctx.padded_h), {1}), b.constant_i64({3})),
                             b.unsqueeze(region(ctx.padded_w), {0}));  // [Hp, Wp]
        auto map = b.unsqueeze(b.cast(regions, dtype::f32), {0, 3});    // [1, Hp, Wp, 1]
        auto windows = b.reshape(swin_partition(b, map, b.constant_i64({1}), ctx.rows, ctx.cols, w, 1), {-1, t});
        auto diff = b.sub(b.unsqueeze(windows, {1}), b.unsqueeze(windows, {2}));  // [windows, T, T]
        auto mask = b.mul(b.cast(b.not_equal(diff, b.scalar(0.f)), dtype::f32), b.scalar(-100.f));
        mask = b.expand(b.unsqueeze(mask, {0, 2}), b.concat({ctx.batch, b.constant_i64({1, 1, 1, 1})}, 0));
        return b.reshape(mask, {-1, 1, t, t});
    }

    template <Backend B>
    static swin_stage_context<typename B::value> stage_context(B& b, const typename B::value& h, std::int64_t window,
                                                               std::int64_t heads, std::int64_t depth) {
        swin_stage_context<typename B::value> ctx;
        ctx.window = window;
        ctx.heads = heads;
        auto w = b.constant_i64({window});
        ctx.batch = b.shape(h, 0, 1);
        ctx.height = b.shape(h, 1, 2);
        ctx.width = b.shape(h, 2, 3);
        auto up = [&](const typename B::value& n) {  // windows along an axis: ceil(n / window)
            return b.div(b.add(n, b.constant_i64({window - 1})), w);
        };
        ctx.rows = up(ctx.height);
        ctx.cols = up(ctx.width);
        ctx.padded_h = b.mul(ctx.rows, w);
        ctx.padded_w = b.mul(ctx.cols, w);
        // 1 where the map is at least the window on both sides (else the reshape into windows fails),
        // and 1 where it is larger (the shifted blocks shift)
        auto at_least = b.mul(b.cast(b.less(b.constant_i64({window - 1}), ctx.height), dtype::i64),
                              b.cast(b.less(b.constant_i64({window - 1}), ctx.width), dtype::i64));
        auto larger = b.mul(b.cast(b.less(w, ctx.height), dtype::i64), b.cast(b.less(w, ctx.width), dtype::i64));
        ctx.rows = b.mul(ctx.rows, at_least);
        ctx.shift = b.mul(larger, b.constant_i64({window / 2}));
        if (depth > 1) ctx.mask = shift_mask(b, ctx);
        return ctx;
    }
};

}  // namespace typeformer::inline v0
