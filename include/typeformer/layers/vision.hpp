// typeformer/layers/vision.hpp: the blocks of a ViT-style image encoder.
//
// An image becomes a sequence of patch tokens (a Conv2d whose kernel and
// stride are the patch size), led by learned tokens (the class token, DeiT's
// distillation token), with learned positions added (or not: BEiT's are
// optional); the transformer encoder then runs as for text
// (layers/encoder.hpp), pre-LN and without an attention mask, and with
// BEiT's switches (a relative position bias, per layer or shared, no bias on
// the key, layer scale) where the config's `block_options()` sets them. The
// numbers come from the config's `shape()` (an encoder_shape) and
// `patches()` (a patch_grid).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// How a ViT-style model cuts its image into patches: the patch size, the
/// grid of patches at the config's image size, the learned tokens before
/// them (1: the class token; 2: DeiT's class and distillation tokens) and
/// after them (YOLOS's detection tokens), whether learned absolute
/// positions are added (BEiT's `use_absolute_position_embeddings`; ViT's
/// always are) and whether they are resized to the run's patch grid
/// (YOLOS: any image size; see resized_positions).
struct patch_grid {
    std::int64_t patch_h = 16, patch_w = 16;
    std::int64_t rows = 14, cols = 14;
    std::int64_t leading_tokens = 1;
    bool positions = true;
    std::int64_t trailing_tokens = 0;
    bool resize_positions = false;

    [[nodiscard]] constexpr std::int64_t patches() const { return rows * cols; }
    [[nodiscard]] constexpr std::int64_t tokens() const { return leading_tokens + patches() + trailing_tokens; }
};

/// A ViT-style config: an encoder shape, the image it reads and its patches.
template <class C>
concept PatchConfig = EncoderConfig<C> && ImageConfig<C> && requires(const C& c) {
    { c.patches() } -> std::same_as<patch_grid>;
};

/// The encoder_shape of a config that names its members as ViTConfig does
/// (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
/// hidden_act, layer_norm_eps, num_labels): no vocabulary, no position limit.
template <class C>
[[nodiscard]] constexpr encoder_shape vit_like_shape(const C& c) {
    return {.vocab_size = 0,
            .hidden_size = c.hidden_size,
            .num_heads = c.num_attention_heads,
            .intermediate_size = c.intermediate_size,
            .num_layers = c.num_hidden_layers,
            .max_positions = std::int64_t{1} << 40,
            .type_vocab_size = 0,
            .act = c.hidden_act,
            .eps = static_cast<float>(c.layer_norm_eps),
            .causal = false,
            .num_labels = c.num_labels};
}

/// The rows of the keys ViTConfig has and the image configs that copy it
/// keep (BEiT's, Data2VecVision's), for a config `C` whose members are named
/// as the keys: `using fields = extend<vit_core_rows<self>, ...its own rows...>;`
template <class C>
using vit_core_rows =
    field_table<field<"hidden_size", &C::hidden_size, rule::positive>,
                field<"num_hidden_layers", &C::num_hidden_layers, rule::non_negative>,
                field<"num_attention_heads", &C::num_attention_heads, rule::positive>,
                multiple_of<"hidden_size", "num_attention_heads">,
                field<"intermediate_size", &C::intermediate_size, rule::positive>, field<"hidden_act", &C::hidden_act>,
                field<"layer_norm_eps", &C::layer_norm_eps, rule::positive>,
                field<"image_size", &C::image_size, rule::positive>, field<"patch_size", &C::patch_size, rule::positive>,
                field<"num_channels", &C::num_channels, rule::positive>>;

/// The rules of such a config with a `head_dim` (0: hidden_size /
/// num_attention_heads), an `image_size` and a `patch_size` (ViT's, BEiT's).
template <class C>
constexpr void vit_like_rules(const C& c) {
    require(c.head_dim == 0 || c.head_dim * c.num_attention_heads == c.hidden_size,
            "head_dim must be hidden_size / num_attention_heads (attention at another width is not supported)");
    require(c.image_size >= c.patch_size, "image_size must be at least patch_size");
}

/// The module names of patch_embeddings under `scope`: `projection` (the
/// patchifying Conv2d), `cls` (the class token [1, 1, hidden]),
/// `distillation` (DeiT's second token; empty: none), `trailing` (the
/// tokens after the patches, [1, patch_grid::trailing_tokens, hidden]:
/// YOLOS's `detection_tokens`; empty: none) and `position` (the learned
/// positions [1, tokens, hidden]).
template <fixed_string Scope, fixed_string Distillation = "", fixed_string Trailing = "">
struct vit_embedding_names {
    static constexpr std::string_view scope = Scope.view(), projection = "patch_embeddings.projection",
                                      cls = "cls_token", distillation = Distillation.view(),
                                      trailing = Trailing.view(), position = "position_embeddings";
};

/// Learned positions `table` [N, tokens, hidden] (tokens as patch_grid::tokens()
/// counts them) fitted to a patch grid of `size` (int64 [2]: rows, cols,
/// known at run time), as YOLOS's InterpolateInitialPositionEmbeddings and
/// InterpolateMidPositionEmbeddings do: the leading and trailing tokens'
/// rows kept, the patches' rows laid on the config's grid [N, hidden, rows,
/// cols], resized (bicubic, align_corners false) to `size` and flattened
/// back: [N, leading + size[0]·size[1] + trailing, hidden]. At the config's
/// grid the resize is the identity.
template <Backend B>
typename B::value resized_positions(B& b, const typename B::value& table, const patch_grid& g, std::int64_t hidden,
                                    const typename B::value& size) {
    const auto lead = g.leading_tokens, end = lead + g.patches();
    std::vector<typename B::value> parts;
    if (lead > 0) parts.push_back(b.slice(table, 1, 0, lead));
    auto grid = b.reshape(b.transpose(b.slice(table, 1, lead, end), {0, 2, 1}), {-1, hidden, g.rows, g.cols});
    auto resized = b.resize_to(grid, size, resize_mode::bicubic, false);
    parts.push_back(b.transpose(b.reshape(resized, {0, hidden, -1}), {0, 2, 1}));
    if (g.trailing_tokens > 0) parts.push_back(b.slice(table, 1, end, end + g.trailing_tokens));
    return parts.size() == 1 ? parts[0] : b.concat(parts, 1);
}

/// ViTEmbeddings without interpolate_pos_encoding: pixel_values [B, C, H, W]
/// through the Conv2d(C, hidden, kernel = stride = patch) to [B, hidden, h,
/// w], flattened to the tokens [B, h·w, hidden]; the learned tokens first
/// (expanded to the batch) and the trailing ones last, then the learned
/// positions added where patch_grid::positions says so. The positions fit
/// the config's image size only (the graph's input states it), unless
/// patch_grid::resize_positions says to resize them to the run's h x w
/// (resized_positions: YOLOS's embeddings, which take any size).
template <class Names>
struct patch_embeddings {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B, PatchConfig C>
    static void forward(B& b, io<patch_embeddings, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto g = c.patches();
        const auto hid = sh.hidden_size;
        const auto channels = c.image().channels;
        const auto& pixels = s[slot<"pixel_values">{}];
        auto guard = b.scope(Names::scope);
        typename B::value tokens, run_grid;
        {
            auto proj = b.scope(Names::projection);
            const auto& w = b.param("weight", {hid, channels, g.patch_h, g.patch_w});
            const auto& bias = b.param("bias", {hid});
            auto maps = b.conv2d(pixels, w, &bias, hw{g.patch_h, g.patch_w}, pads2d{}, hw{}, 1);
            tokens = b.transpose(b.reshape(maps, {0, hid, -1}), {0, 2, 1});
            if (g.resize_positions) run_grid = b.shape(maps, 2, 4);
        }
        // the learned tokens, [1, 1, hidden] each, repeated for every image
        auto per_image = b.concat({b.shape(pixels, 0, 1), b.constant_i64({1, 1})}, 0);
        std::vector<typename B::value> parts{b.expand(b.param(std::string(Names::cls), {1, 1, hid}), per_image)};
        if constexpr (!Names::distillation.empty())
            parts.push_back(b.expand(b.param(std::string(Names::distillation), {1, 1, hid}), per_image));
        parts.push_back(tokens);
        if constexpr (!Names::trailing.empty())
            parts.push_back(b.expand(b.param(std::string(Names::trailing), {1, g.trailing_tokens, hid}), per_image));
        auto h = b.concat(parts, 1);
        if (g.positions) {
            auto table = b.param(std::string(Names::position), {1, g.tokens(), hid});
            h = b.add(h, g.resize_positions ? resized_positions(b, table, g, hid, run_grid) : table);
        }
        s.set(sl::hidden_states, h);
    }
};

/// The switches of a ViT-style block that encoder_shape does not hold,
/// handed to every block by vision_context.
struct vision_block_options {
    bool qkv_bias = true;  ///< the query, key and value Linears have biases (config `qkv_bias`)
    bool key_bias = true;  ///< with qkv_bias, the key Linear's too (BEiT's key has none)
    /// BEiT's layer scale (`layer_scale_init_value` > 0): each sublayer's
    /// output is multiplied by a learned vector, `lambda_1` (attention) and
    /// `lambda_2` (feed-forward).
    bool layer_scale = false;
    /// BEiT's relative position bias: each layer's own table
    /// (`use_relative_position_bias`), and one table all layers add
    /// (`use_shared_relative_position_bias`); both may be set, and add.
    bool relative_bias = false;
    bool shared_relative_bias = false;
    /// The relative biases built for each image's patch grid (known at run
    /// time, from pixel_values), as Transformers 5's BEiT builds them at any
    /// size: see relative_position_bias. Otherwise for the config's grid.
    bool run_grid_relative_bias = false;
};

/// A config that says which switches its blocks take.
template <class C>
concept VisionBlockConfig = requires(const C& c) {
    { c.block_options() } -> std::same_as<vision_block_options>;
};

/// BEiT's relative position index over a window of rows x cols patches led
/// by the class token, as BeitRelativePositionBias builds it: T = rows·cols
/// + 1 tokens; entry [i][j] (row-major, T·T) of two patches p = i - 1, q =
/// j - 1 at (r_p, c_p), (r_q, c_q) is (r_p - r_q + rows - 1)·(2·cols - 1) +
/// (c_p - c_q + cols - 1); with N = (2·rows - 1)·(2·cols - 1) + 3, the class
/// token's row is N - 3 (class to patch), its column N - 2 (patch to class)
/// and [0][0] N - 1.
inline std::vector<std::int64_t> relative_position_index(std::int64_t rows, std::int64_t cols) {
    const auto area = rows * cols, t = area + 1, n = (2 * rows - 1) * (2 * cols - 1) + 3;
    std::vector<std::int64_t> index(static_cast<std::size_t>(t * t));
    for (std::int64_t i = 0; i < t; ++i)
        for (std::int64_t j = 0; j < t; ++j) {
            std::int64_t v;
            if (i == 0 && j == 0) v = n - 1;
            else if (j == 0) v = n - 2;
            else if (i == 0) v = n - 3;
            else {
                const auto p = i - 1, q = j - 1;
                v = (p / cols - q / cols + rows - 1) * (2 * cols - 1) + (p % cols - q % cols + cols - 1);
            }
            index[static_cast<std::size_t>(i * t + j)] = v;
        }
    return index;
}

/// relative_position_index computed in the graph, for a grid of `grid`
/// (int64 [2]: rows r, cols c, known at run time): int64 [T, T], T = r·c + 1.
template <Backend B>
typename B::value relative_position_index(B& b, const typename B::value& grid) {
    auto r = b.slice(grid, 0, 0, 1), c = b.slice(grid, 0, 1, 2);  // int64 [1] each
    const auto one = b.constant_i64({1}), two = b.constant_i64({2}), three = b.constant_i64({3});
    auto rows = b.range(b.expand(b.constant_i64({0}), r), 0), cols = b.range(b.expand(b.constant_i64({0}), c), 0);
    auto width = b.sub(b.mul(two, c), one);  // 2c - 1
    // (r_p - r_q + r - 1)·(2c - 1) [r, r] and c_p - c_q + c - 1 [c, c], summed over the patch pairs [r, c, r, c]
    auto dr = b.mul(b.add(b.sub(b.unsqueeze(rows, {1}), b.unsqueeze(rows, {0})), b.sub(r, one)), width);
    auto dc = b.add(b.sub(b.unsqueeze(cols, {1}), b.unsqueeze(cols, {0})), b.sub(c, one));
    auto area = b.mul(r, c);
    auto pairs = b.reshape(b.add(b.unsqueeze(dr, {1, 3}), b.unsqueeze(dc, {0, 2})), b.concat({area, area}, 0));
    auto n = b.add(b.mul(b.sub(b.mul(two, r), one), width), three);  // (2r - 1)(2c - 1) + 3
    auto top = b.concat({b.sub(n, one), b.expand(b.sub(n, three), area)}, 0);  // [T]: class to class, to patch
    auto left = b.expand(b.sub(n, two), b.concat({area, one}, 0));           // [r·c, 1]: patch to class
    return b.concat({b.unsqueeze(top, {0}), b.concat({left, pairs}, 1)}, 0);
}

/// A relative position bias at `scope` (its `relative_position_bias_table`,
/// [N, heads], N as relative_position_index says) for the config's patch
/// grid: the table gathered at the constant index, as the additive
/// attention bias [heads, T, T]. Transformers 5 resizes the table
/// (bilinear) to the window of the image it is given; at the config's
/// image size that resize is the identity. With `run_grid` (int64 [2], the
/// image's patch grid r x c at run time) the bias is built as Transformers
/// 5 builds it there (BeitRelativePositionBias.forward): the table's
/// (2R - 1)(2C - 1) offset rows laid on their [2R - 1, 2C - 1] map, resized
/// (bilinear, align_corners false) to [2r - 1, 2c - 1], its last three rows
/// (the class token's) kept, gathered at the index computed in the graph.
/// (Its further resize of the bias to [T, T] with interpolate_pos_encoding
/// is to the size the bias has: the identity.)
template <Backend B>
typename B::value relative_position_bias(B& b, std::string_view scope, const patch_grid& g, std::int64_t heads,
                                         const typename B::value* run_grid = nullptr) {
    auto guard = b.scope(scope);
    const auto side_r = 2 * g.rows - 1, side_c = 2 * g.cols - 1, n = side_r * side_c + 3, t = g.patches() + 1;
    const auto& table = b.param("relative_position_bias_table", {n, heads});
    if (!run_grid) {
        auto bias = b.gather(table, b.constant_i64(relative_position_index(g.rows, g.cols)));
        return b.transpose(b.reshape(bias, {t, t, heads}), {2, 0, 1});
    }
    // Transformers lays the rows as [2C - 1, 2R - 1] (width first): the same map on a square grid, the only
    // grid BEiT's single image_size gives
    if (g.rows != g.cols)
        throw error("config.unsupported", "a relative position bias resized from a " + std::to_string(g.rows) + " x " +
                                              std::to_string(g.cols) + " grid: only a square one is supported");
    auto offsets = b.reshape(b.transpose(b.slice(table, 0, 0, n - 3), {1, 0}), {1, heads, side_r, side_c});
    auto sides = b.sub(b.mul(*run_grid, b.constant_i64({2, 2})), b.constant_i64({1, 1}));  // 2r - 1, 2c - 1
    auto resized = b.resize_to(offsets, sides, resize_mode::bilinear, false);
    auto rows = b.transpose(b.reshape(resized, {heads, -1}), {1, 0});
    auto resized_table = b.concat({rows, b.slice(table, 0, n - 3, n)}, 0);
    return b.transpose(b.gather(resized_table, relative_position_index(b, *run_grid)), {2, 0, 1});
}

/// What vision_context hands every block: the switches, the patch grid,
/// the image's patch grid at run time (int64 [2], where the relative
/// biases are built for it) and, with a shared relative position bias,
/// that bias [heads, T, T].
template <class V>
struct vision_block_context {
    vision_block_options options;
    patch_grid grid;
    std::optional<V> run_grid;
    std::optional<V> shared_bias;
};

/// The stack context of an image encoder: no attention mask (every image
/// token sees every other), the block options, the image's patch grid
/// (pixel_values' height and width over the patch size) where the relative
/// biases follow it and, where they say so, the shared relative position
/// bias, built once from the table at `SharedBias` (BEiT's
/// `beit.encoder.relative_position_bias`; empty: a model without one).
template <fixed_string SharedBias = "">
struct vision_context {
    using reads = slots<"pixel_values">;

    template <Backend B, class Io, class C>
        requires VisionBlockConfig<C> && PatchConfig<C>
    static vision_block_context<typename B::value> make(B& b, const Io& s, const C& c) {
        vision_block_context<typename B::value> ctx{c.block_options(), c.patches(), std::nullopt, std::nullopt};
        if (ctx.options.run_grid_relative_bias)
            ctx.run_grid = b.div(b.shape(s[slot<"pixel_values">{}], 2, 4),
                                 b.constant_i64({ctx.grid.patch_h, ctx.grid.patch_w}));
        if (ctx.options.shared_relative_bias) {
            if constexpr (SharedBias.view().empty())
                throw error("config.unsupported", "this model has no shared relative position bias");
            else
                ctx.shared_bias = relative_position_bias(b, SharedBias.view(), ctx.grid, c.shape().num_heads,
                                                         ctx.run_grid ? &*ctx.run_grid : nullptr);
        }
        return ctx;
    }
};

/// Self-attention without a mask, its query, key and value Linears with or
/// without biases (vision_block_options::qkv_bias, ::key_bias), the output
/// Linear `o` with one; BEiT's relative position biases added to the
/// scores (the layer's own at `relative_bias`, and the shared one) and its
/// layer scale (`lambda_1`) on the output. Names: `q`, `k`, `v`,
/// `attention`, `o`, `relative_bias`, `attn_scale`.
template <class Names>
struct unmasked_self_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const vision_block_context<typename B::value>& ctx, const encoder_shape& sh) {
        const auto& opt = ctx.options;
        const auto hsz = sh.hidden_size;
        auto project = [&](std::string_view scope, bool biased) {
            auto guard = b.scope(scope);
            const auto& w = b.param("weight", {hsz, hsz});
            if (!biased) return b.linear(x, w, nullptr);
            const auto& bias = b.param("bias", {hsz});
            return b.linear(x, w, &bias);
        };
        auto q = project(Names::q, opt.qkv_bias);
        auto k = project(Names::k, opt.qkv_bias && opt.key_bias);
        auto v = project(Names::v, opt.qkv_bias);
        std::optional<typename B::value> bias = ctx.shared_bias;
        if (opt.relative_bias) {
            auto own = relative_position_bias(b, Names::relative_bias, ctx.grid, sh.num_heads,
                                              ctx.run_grid ? &*ctx.run_grid : nullptr);
            bias = bias ? b.add(own, *bias) : own;
        }
        const float scale = 1.f / std::sqrt(static_cast<float>(hsz / sh.num_heads));
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            out = b.attention(q, k, v, bias ? &*bias : nullptr, sh.num_heads, scale);
        }
        out = dense(b, Names::o, out, hsz, hsz);
        if (opt.layer_scale) out = b.mul(out, b.param(std::string(Names::attn_scale), {hsz}));
        return out;
    }
};

/// The position-wise feed-forward of an image encoder's block (Linear,
/// activation, Linear), times BEiT's layer scale (`ffn_scale`) where the
/// block options say so. Names: `ffn_in`, `ffn_out`, `ffn_scale`.
template <class Names>
struct vision_feed_forward {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const vision_block_context<typename B::value>& ctx, const encoder_shape& sh) {
        auto y = feed_forward<Names>::forward(b, x, sh);
        if (ctx.options.layer_scale) y = b.mul(y, b.param(std::string(Names::ffn_scale), {sh.hidden_size}));
        return y;
    }
};

/// ViTLayer's module names under `Stack` ("vit.encoder.layer"): the names
/// policy of a pre-LN encoder_block for ViT and the models that copy it
/// (DeiT's, BEiT's: its relative position bias and layer scale too).
template <fixed_string Stack>
struct vit_layer_names {
    static constexpr std::string_view stack = Stack.view(), q = "attention.attention.query",
                                      k = "attention.attention.key", v = "attention.attention.value",
                                      attention = "attention.attention", o = "attention.output.dense",
                                      attn_norm = "layernorm_before", ffn_in = "intermediate.dense",
                                      ffn_out = "output.dense", out_norm = "layernorm_after",
                                      relative_bias = "attention.attention.relative_position_bias",
                                      attn_scale = "lambda_1", ffn_scale = "lambda_2";
};

/// ViTLayer: a pre-LN block, unmasked attention; with BEiT's switches
/// where the config's block_options() sets them.
template <class Names>
using vit_block = encoder_block<Names, unmasked_self_attention<Names>, vision_feed_forward<Names>, norm_placement::pre>;

/// ViT's encoder: vit_blocks (`SharedBias`: the module of BEiT's shared
/// relative position bias, vision_context).
template <class Names, fixed_string SharedBias = "">
using vit_encoder_stack = encoder_stack<Names, vit_block<Names>, vision_context<SharedBias>>;

/// One token of the encoder's output as `pooled_output` (no Linear): the
/// class token that ViT's classifier reads.
template <std::int64_t Index = 0>
struct token_output {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B, class C>
    static void forward(B& b, io<token_output, typename B::value> s, const C&) {
        s.set(sl::pooled_output, b.select(s[sl::hidden_states], 1, Index));
    }
};

/// The mean of the encoder's output over its tokens as `pooled_output` (no
/// Linear): Swin's AdaptiveAvgPool1d(1) pooler, which its classifier reads.
struct mean_token_output {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B, class C>
    static void forward(B& b, io<mean_token_output, typename B::value> s, const C&) {
        auto guard = b.scope("pooler");
        s.set(sl::pooled_output, b.reduce_mean(s[sl::hidden_states], 1));
    }
};

/// The masked-image-modeling decoder of ViT and its copies
/// (ViTForMaskedImageModeling): the patch tokens (after the `Skip` learned
/// ones) laid back on their grid [B, hidden, h, w], a 1x1 Conv2d at
/// `<Scope>.0` to encoder_stride² · channels, then PixelShuffle(encoder_stride):
/// `reconstruction` [B, channels, h · stride, w · stride]. The stride is the
/// config's `encoder_stride`, as Transformers names it. The grid is the
/// config's: a model with this decoder takes the config's image size only
/// (image_input's ConfigSize), interpolate_pos_encoding or not.
template <fixed_string Scope, std::int64_t Skip = 1>
struct masked_image_decoder {
    using reads = slots<"hidden_states">;
    using writes = slots<"reconstruction">;

    template <Backend B, PatchConfig C>
    static void forward(B& b, io<masked_image_decoder, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto g = c.patches();
        const auto r = static_cast<std::int64_t>(c.encoder_stride);
        const auto channels = c.image().channels;
        if (g.rows != g.cols)
            throw error("config.unsupported", "masked-im: the patch grid is " + std::to_string(g.rows) + " x " +
                                                  std::to_string(g.cols) +
                                                  "; Transformers lays the tokens on a square grid only");
        auto guard = b.scope(Scope.view());
        auto tokens = b.slice(s[sl::hidden_states], 1, Skip, Skip + g.patches());
        auto grid = b.reshape(b.transpose(tokens, {0, 2, 1}), {0, sh.hidden_size, g.rows, g.cols});
        typename B::value y;
        {
            auto conv = b.scope("0");
            const auto& w = b.param("weight", {r * r * channels, sh.hidden_size, 1, 1});
            const auto& bias = b.param("bias", {r * r * channels});
            y = b.conv2d(grid, w, &bias, hw{}, pads2d{}, hw{}, 1);
        }
        // PixelShuffle: channel c·r² + i·r + j goes to pixel (y·r + i, x·r + j) of channel c
        y = b.reshape(y, {0, channels, r, r, g.rows, g.cols});
        y = b.transpose(y, {0, 1, 4, 2, 5, 3});
        s.set(slot<"reconstruction">{}, b.reshape(y, {0, channels, g.rows * r, g.cols * r}));
    }
};

}  // namespace typeformer::inline v0
