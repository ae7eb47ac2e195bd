// typeformer/models/segformer.hpp: SegFormer (`model_type` "segformer").
//
// A hierarchical encoder of num_encoder_blocks stages. Each stage embeds
// its input by an overlapping Conv2d (kernel patch_sizes[i], stride
// strides[i], padding kernel / 2) and a LayerNorm, then runs depths[i]
// pre-LN blocks: efficient self-attention (keys and values from the map
// reduced by a Conv2d of kernel = stride = sr_ratios[i] and a LayerNorm,
// where the ratio is above 1) and a Mix-FFN (Linear, 3x3 depthwise Conv2d
// over the map, hidden_act, Linear); a LayerNorm ends the stage, whose
// tokens are laid back on their map [B, C, h, w] (the last stage's only
// with reshape_last_stage). The classifier reads the mean of the last
// stage's tokens; semantic segmentation, the all-MLP decode head over every
// stage's map. Every size is computed from the run's: the graph reads images
// of any size. Every LayerNorm takes torch's default eps, 1e-5 (the
// config's layer_norm_eps is read by no module).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// SegformerConfig, with Transformers' defaults (MiT-b0).
struct segformer_config {
    std::int64_t num_channels = 3;
    std::int64_t num_encoder_blocks = 4;
    stage_list depths{{2, 2, 2, 2}, 4};
    stage_list sr_ratios{{8, 4, 2, 1}, 4};
    stage_list hidden_sizes{{32, 64, 160, 256}, 4};
    stage_list patch_sizes{{7, 3, 3, 3}, 4};
    stage_list strides{{4, 2, 2, 2}, 4};
    stage_list num_attention_heads{{1, 2, 5, 8}, 4};
    stage_list mlp_ratios{{4, 4, 4, 4}, 4};
    activation hidden_act = activation::gelu;
    std::int64_t decoder_hidden_size = 256;
    bool reshape_last_stage = true;
    std::int64_t num_labels = 2;

    using self = segformer_config;

    static constexpr void stages_rule(const segformer_config& c) {
        const auto n = c.num_encoder_blocks;
        require(n >= 1, "num_encoder_blocks must be positive");
        require(c.depths.size() >= n && c.sr_ratios.size() >= n && c.hidden_sizes.size() >= n &&
                    c.patch_sizes.size() >= n && c.strides.size() >= n && c.num_attention_heads.size() >= n &&
                    c.mlp_ratios.size() >= n,
                "depths, sr_ratios, hidden_sizes, patch_sizes, strides, num_attention_heads and mlp_ratios must "
                "each list num_encoder_blocks values at least");
        for (std::int64_t i = 0; i < n; ++i) {
            require(c.depths[i] >= 0, "depths must not be negative");
            require(c.hidden_sizes[i] >= 1 && c.num_attention_heads[i] >= 1 && c.sr_ratios[i] >= 1 &&
                        c.patch_sizes[i] >= 1 && c.strides[i] >= 1 && c.mlp_ratios[i] >= 1,
                    "hidden_sizes, num_attention_heads, sr_ratios, patch_sizes, strides and mlp_ratios must be "
                    "positive");
            require(c.hidden_sizes[i] % c.num_attention_heads[i] == 0,
                    "every stage's hidden_sizes must be a multiple of its num_attention_heads");
        }
    }
    /// The per-stage lists; num_hidden_layers is num_encoder_blocks
    /// (SegformerConfig's attribute_map), num_encoder_blocks winning.
    static void read_lists(const config_reader& r, segformer_config& c) {
        r.get("num_hidden_layers", c.num_encoder_blocks);
        r.get("num_encoder_blocks", c.num_encoder_blocks);
        read_stage_list(r, "depths", c.depths);
        read_stage_list(r, "sr_ratios", c.sr_ratios);
        read_stage_list(r, "hidden_sizes", c.hidden_sizes);
        read_stage_list(r, "patch_sizes", c.patch_sizes);
        read_stage_list(r, "strides", c.strides);
        read_stage_list(r, "num_attention_heads", c.num_attention_heads);
        read_stage_list(r, "mlp_ratios", c.mlp_ratios);
    }

    using fields = field_table<
        field<"num_channels", &self::num_channels, rule::positive>, internal<&self::num_encoder_blocks>,
        internal<&self::depths>, internal<&self::sr_ratios>, internal<&self::hidden_sizes>,
        internal<&self::patch_sizes>, internal<&self::strides>, internal<&self::num_attention_heads>,
        internal<&self::mlp_ratios>, field<"hidden_act", &self::hidden_act>,
        field<"decoder_hidden_size", &self::decoder_hidden_size, rule::positive>,
        field<"reshape_last_stage", &self::reshape_last_stage>, labels<&self::num_labels>,
        rules<&self::stages_rule>, reads<&self::read_lists>,
        // stochastic depth and the decode head's dropout: the identity in eval mode
        no_effect<"drop_path_rate", double>, no_effect<"classifier_dropout_prob", double>,
        // the training loss's label to skip
        no_effect<"semantic_loss_ignore_index", std::int64_t>,
        // read by no module: every LayerNorm takes torch's default eps
        no_effect<"layer_norm_eps", double>,
        // 5.x's output capture puts last_hidden_state in place of the last recorded stage output (the
        // decode head's last input): SegformerModel's last_hidden_state is that output itself
        no_effect<"tie_last_hidden_states", bool>,
        // PreTrainedModel ties output to input embeddings; SegFormer has neither
        no_effect<"tie_word_embeddings", bool>, encoder_generic_keys>;

    /// The last stage's width (the classifier's input), hidden_act, the labels; no text.
    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = hidden_sizes[num_encoder_blocks - 1],
                .num_heads = num_attention_heads[num_encoder_blocks - 1],
                .intermediate_size = 0,
                .num_layers = num_encoder_blocks,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = hidden_act,
                .eps = 1e-5f,
                .causal = false,
                .num_labels = num_labels};
    }
    /// Any size (the config names none).
    [[nodiscard]] constexpr image_shape image() const { return {num_channels, 0, 0, true}; }
};

/// SegformerConfig from config.json.
inline segformer_config segformer_config_from_json(const config_reader& r) {
    return load_config<segformer_config>(r);
}

namespace detail::segformer {

/// torch.nn.LayerNorm's default eps, which every SegFormer LayerNorm takes.
inline constexpr float eps = 1e-5f;

/// SegformerEfficientSelfAttention and SegformerSelfOutput on the tokens x
/// [B, h·w, C] of a map of `size` (int64 [2]) at "attention": queries from
/// every token; keys and values from the map reduced by `self.sr` (Conv2d,
/// kernel = stride = ratio) and `self.layer_norm` where the ratio is above 1.
template <Backend B>
typename B::value attention(B& b, const typename B::value& x, const typename B::value& size, std::int64_t width,
                            std::int64_t heads, std::int64_t ratio) {
    auto guard = b.scope("attention");
    auto q = dense(b, "self.query", x, width, width);
    auto kv = x;
    if (ratio > 1) {
        auto reduced = conv2d_module(b, "self.sr", tokens_to_map(b, x, size, width),
                                     {.in = width, .out = width, .kernel = ratio, .stride = ratio, .bias = true});
        kv = layer_norm(b, "self.layer_norm", map_to_tokens(b, reduced, width), width, eps);
    }
    auto k = dense(b, "self.key", kv, width, width);
    auto v = dense(b, "self.value", kv, width, width);
    typename B::value out;
    {
        auto self = b.scope("self");
        out = b.attention(q, k, v, nullptr, heads, 1.f / std::sqrt(static_cast<float>(width / heads)));
    }
    return dense(b, "output.dense", out, width, width);
}

/// SegformerMixFFN at "mlp": `dense1` to width · ratio, the 3x3 depthwise
/// `dwconv.dwconv` over the map, the activation, `dense2` back.
template <Backend B>
typename B::value mix_ffn(B& b, const typename B::value& x, const typename B::value& size, std::int64_t width,
                          std::int64_t ratio, activation act) {
    auto guard = b.scope("mlp");
    const auto hidden = width * ratio;
    auto h = dense(b, "dense1", x, width, hidden);
    h = conv2d_module(b, "dwconv.dwconv", tokens_to_map(b, h, size, hidden),
                      {.in = hidden, .out = hidden, .kernel = 3, .padding = 1, .groups = hidden, .bias = true});
    h = activate(b, act, map_to_tokens(b, h, hidden));
    return dense(b, "dense2", h, hidden, width);
}

/// SegformerEncoder on pixel_values at "segformer.encoder": every stage's
/// output, [B, C, h, w] each, the last one's tokens [B, h·w, C] instead
/// without reshape_last_stage.
template <Backend B>
std::vector<typename B::value> encode(B& b, const typename B::value& pixels, const segformer_config& c) {
    auto guard = b.scope("segformer.encoder");
    std::vector<typename B::value> out;
    auto x = pixels;
    for (std::int64_t i = 0; i < c.num_encoder_blocks; ++i) {
        const auto n = std::to_string(i);
        const auto width = c.hidden_sizes[i];
        const auto in = i == 0 ? c.num_channels : c.hidden_sizes[i - 1];
        typename B::value h, size;
        {
            auto embed = b.scope("patch_embeddings." + n);
            auto map = conv2d_module(b, "proj", x,
                                     {.in = in, .out = width, .kernel = c.patch_sizes[i], .stride = c.strides[i],
                                      .padding = c.patch_sizes[i] / 2, .bias = true});
            size = b.shape(map, 2, 4);
            h = layer_norm(b, "layer_norm", map_to_tokens(b, map, width), width, eps);
        }
        h = repeat_blocks(b, "block." + n, c.depths[i], h, [&](const typename B::value& t, std::int64_t) {
            auto y = b.add(t, attention(b, layer_norm(b, "layer_norm_1", t, width, eps), size, width,
                                        c.num_attention_heads[i], c.sr_ratios[i]));
            return b.add(y, mix_ffn(b, layer_norm(b, "layer_norm_2", y, width, eps), size, width, c.mlp_ratios[i],
                                    c.hidden_act));
        });
        h = layer_norm(b, "layer_norm." + n, h, width, eps);
        const bool last = i + 1 == c.num_encoder_blocks;
        x = last && !c.reshape_last_stage ? h : tokens_to_map(b, h, size, width);
        out.push_back(x);
    }
    return out;
}

}  // namespace detail::segformer

/// SegformerModel: the last stage's output as hidden_states ([B, C, h, w],
/// or [B, h·w, C] without reshape_last_stage).
struct segformer_encoder {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<segformer_encoder, typename B::value> s, const segformer_config& c) {
        s.set(sl::hidden_states, detail::segformer::encode(b, s[slot<"pixel_values">{}], c).back());
    }
};

/// SegformerForImageClassification's pooling: the mean of the last stage's
/// tokens (of its map, over height and width) as pooled_output [B, C].
struct segformer_mean_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B>
    static void forward(B& b, io<segformer_mean_pooler, typename B::value> s, const segformer_config& c) {
        const auto& h = s[sl::hidden_states];
        s.set(sl::pooled_output, c.reshape_last_stage ? b.flatten(b.global_avg_pool(h), 1) : b.reduce_mean(h, 1));
    }
};

/// SegformerForSemanticSegmentation: the encoder, then SegformerDecodeHead
/// at "decode_head": each stage's map through its Linear `linear_c.<i>.proj`
/// to decoder_hidden_size, resized (bilinear, align_corners false) to the
/// first stage's size; the maps concatenated last stage first, `linear_fuse`
/// (1x1 Conv2d without bias), `batch_norm`, ReLU, and the 1x1 Conv2d
/// `classifier`: logits [B, num_labels, h₀, w₀].
///
/// A last stage left as tokens (reshape_last_stage false) is laid, as
/// Transformers lays it, on a square of s = ⌊√channels⌋ rows and columns,
/// whatever its map was: that fits only an image whose last map has s²
/// positions, and fails on any other (in Transformers, in the reference
/// pass and in ONNX Runtime alike).
struct segformer_decode_head {
    using reads = slots<"pixel_values">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<segformer_decode_head, typename B::value> s, const segformer_config& c) {
        auto maps = detail::segformer::encode(b, s[slot<"pixel_values">{}], c);
        if (!c.reshape_last_stage) {
            const auto width = c.hidden_sizes[c.num_encoder_blocks - 1];
            std::int64_t side = 0;
            while ((side + 1) * (side + 1) <= width) ++side;
            maps.back() = b.transpose(b.reshape(maps.back(), {0, side, side, width}), {0, 3, 1, 2});
        }
        auto guard = b.scope("decode_head");
        const auto d = c.decoder_hidden_size;
        const auto first = b.shape(maps.front(), 2, 4);
        std::vector<typename B::value> parts;
        for (std::int64_t i = c.num_encoder_blocks - 1; i >= 0; --i) {
            const auto& map = maps[static_cast<std::size_t>(i)];
            const auto width = c.hidden_sizes[i];
            auto y = dense(b, "linear_c." + std::to_string(i) + ".proj", map_to_tokens(b, map, width), width, d);
            y = tokens_to_map(b, y, b.shape(map, 2, 4), d);
            parts.push_back(b.resize_to(y, first, resize_mode::bilinear, false));
        }
        auto h = conv2d_module(b, "linear_fuse", b.concat(parts, 1), {.in = d * c.num_encoder_blocks, .out = d});
        h = b.relu(batch_norm_module(b, "batch_norm", h, d));
        s.set(sl::logits, conv2d_module(b, "classifier", h, {.in = d, .out = c.num_labels, .bias = true}));
    }
};

/// SegformerModel's last_hidden_state: [batch, channels, h, w], or [batch,
/// tokens, channels] without reshape_last_stage (the config says which).
struct segformer_last_hidden_state {
    using slot_type = slot<"last_hidden_state">;
    static constexpr std::string_view name = "last_hidden_state";
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;

    static std::vector<io_name> expand(const segformer_config& c) {
        if (c.reshape_last_stage) return {{std::string(name), {"batch", "", "", ""}}};
        return {{std::string(name), {"batch", "", ""}}};
    }
};

struct segformer_family
    : family_base<"segformer", "segformer", segformer_config, &segformer_config_from_json,
                  type_list<task::default_, task::image_classification, task::semantic_segmentation>> {
    /// The legacy table's tolerance for SegFormer.
    static constexpr double atol = 1e-4;
    /// BatchNorm's step counter (training only).
    static std::vector<std::string> ignored() { return {"num_batches_tracked"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    static auto layers(task::default_) -> type_list<segformer_encoder, expose_hidden_states>;
    static auto layers(task::image_classification)
        -> type_list<segformer_encoder, segformer_mean_pooler, pooled_classifier<"classifier">>;
    static auto layers(task::semantic_segmentation) -> type_list<segformer_decode_head>;
    /// last_hidden_state of the last stage: Optimum's feature-extraction output.
    static auto outputs(task::default_) -> type_list<segformer_last_hidden_state>;
};

/// SegFormer with a compile-time config.
template <segformer_config C, class Task = task::default_>
struct segformer : model_of<segformer_family, Task> {
    static_assert(check(C));
    static constexpr segformer_config config = C;
};

}  // namespace typeformer::inline v0
