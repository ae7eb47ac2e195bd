// typeformer/models/levit.hpp: LeViT (`model_type` "levit").
//
// A stem of four stride-2 Conv2d + BatchNorm2d (Hardswish between them)
// turns the image into a grid of tokens [B, r·r, C]; three stages of
// residual attention and MLP blocks follow, their Linears without bias and
// each followed by a BatchNorm1d over the channels, no LayerNorm anywhere.
// The attention adds learned `attention_biases` gathered at constant
// indices (computed here as Transformers computes them), which fit one
// token grid: the graph takes the config's image_size only. Between stages
// an attention whose queries are every other token of every other row
// (LevitAttentionSubsample) halves the grid. The base model's outputs are
// the last tokens and their mean; the classifier is a BatchNorm1d and a
// Linear on the mean (with the teacher: the mean of two such heads).
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/conv.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/layers/vision.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// LevitConfig, with Transformers' defaults (facebook/levit-128S).
struct levit_config {
    std::int64_t image_size = 224;
    std::int64_t num_channels = 3;
    std::int64_t kernel_size = 3, stride = 2, padding = 1;
    std::int64_t patch_size = 16;
    stage_list hidden_sizes{{128, 256, 384}, 3};
    stage_list num_attention_heads{{4, 8, 12}, 3};
    stage_list depths{{4, 4, 4}, 3};
    stage_list key_dim{{16, 16, 16}, 3};
    stage_list mlp_ratio{{2, 2, 2}, 3};
    stage_list attention_ratio{{2, 2, 2}, 3};
    /// The image-classification head is LevitForImageClassificationWithTeacher's.
    bool with_teacher = false;
    std::int64_t num_labels = 2;

    using self = levit_config;

    /// One side of the stem's output: four Conv2d(kernel_size, stride, padding) on image_size.
    [[nodiscard]] constexpr std::int64_t stem_side() const {
        std::int64_t n = image_size;
        for (int i = 0; i < 4; ++i) n = window_output_size(n, kernel_size, stride, padding, padding);
        return n;
    }
    /// The token grid's side in stage s: image_size // patch_size, then (r - 1) // 2 + 1 per subsampling.
    [[nodiscard]] constexpr std::int64_t resolution(std::int64_t s) const {
        std::int64_t r = image_size / patch_size;
        for (std::int64_t i = 0; i < s; ++i) r = (r - 1) / 2 + 1;
        return r;
    }

    static constexpr void stage_rule(const levit_config& c) {
        require(c.hidden_sizes.size() == 3 && c.num_attention_heads.size() == 3 && c.depths.size() == 3 &&
                    c.key_dim.size() == 3 && c.mlp_ratio.size() == 3 && c.attention_ratio.size() == 3,
                "hidden_sizes, num_attention_heads, depths, key_dim, mlp_ratio and attention_ratio must list 3 "
                "stages (Transformers' down_ops subsample after the first two, into the next stage's width)");
        require(c.hidden_sizes.all_at_least(1) && c.num_attention_heads.all_at_least(1) && c.key_dim.all_at_least(1) &&
                    c.attention_ratio.all_at_least(1) && c.depths.all_at_least(0) && c.mlp_ratio.all_at_least(0),
                "hidden_sizes, num_attention_heads, key_dim and attention_ratio must be positive, depths and "
                "mlp_ratio not negative");
        require(c.hidden_sizes[0] >= 8, "hidden_sizes[0] must be at least 8 (the stem's first width is a eighth)");
        require(c.hidden_sizes[0] >= c.key_dim[0] && c.hidden_sizes[1] >= c.key_dim[0],
                "hidden_sizes[0] and hidden_sizes[1] must be at least key_dim[0] (the subsampling attentions have "
                "hidden_sizes[s] // key_dim[0] heads)");
    }
    static constexpr void size_rule(const levit_config& c) {
        require(c.image_size >= 1 && c.patch_size >= 1 && c.kernel_size >= 1 && c.stride >= 1 && c.padding >= 0,
                "image_size, patch_size, kernel_size and stride must be positive, padding not negative");
        require(c.stem_side() >= 1 && c.stem_side() == c.image_size / c.patch_size,
                "image_size: the stem's four convolutions (kernel_size, stride, padding) must give image_size // "
                "patch_size tokens a side (Transformers sizes the attention biases by the latter)");
    }
    /// The per-stage lists; the classifier `architectures` names.
    static void read_lists(const config_reader& r, levit_config& c) {
        read_stage_list(r, "hidden_sizes", c.hidden_sizes);
        read_stage_list(r, "num_attention_heads", c.num_attention_heads);
        read_stage_list(r, "depths", c.depths);
        read_stage_list(r, "key_dim", c.key_dim);
        read_stage_list(r, "mlp_ratio", c.mlp_ratio);
        read_stage_list(r, "attention_ratio", c.attention_ratio);
        c.with_teacher = first_architecture_of(r, {"LevitForImageClassificationWithTeacher",
                                                   "LevitForImageClassification"}) ==
                         "LevitForImageClassificationWithTeacher";
        read_down_ops(r, c);
    }
    /// down_ops: LevitConfig computes it from key_dim and hidden_sizes, and
    /// config.json holds it as saved (LevitEncoder appends [""] for the
    /// last stage); Transformers 5 takes config.json's over the computed
    /// one. Any other value than the computed one, with any [""] after it,
    /// is refused by name.
    static void read_down_ops(const config_reader& r, const levit_config& c) {
        const auto* j = r.raw("down_ops");
        if (!j || j->is_null()) return;
        const auto kd = c.key_dim[0];
        bool ok = j->is_array() && j->size() >= 2 && c.hidden_sizes.size() >= 2;
        for (std::size_t i = 0; ok && i < j->size(); ++i) {
            const auto& op = (*j)[i];
            if (i < 2) {
                const auto heads = c.hidden_sizes[static_cast<std::int64_t>(i)] / kd;
                ok = op == nlohmann::json::array({"Subsample", kd, heads, 4, 2, 2});
            } else {
                ok = op == nlohmann::json::array({""});
            }
        }
        if (!ok)
            throw error("config.unsupported",
                        r.where() + ": /down_ops: " + j->dump() +
                            "; the export computes LevitConfig's own (two [\"Subsample\", key_dim[0], "
                            "hidden_sizes[s] // key_dim[0], 4, 2, 2], then [\"\"] for the last stage)");
    }

    using fields = field_table<
        field<"image_size", &self::image_size, rule::positive>, field<"num_channels", &self::num_channels, rule::positive>,
        field<"kernel_size", &self::kernel_size, rule::positive>, field<"stride", &self::stride, rule::positive>,
        field<"padding", &self::padding, rule::non_negative>, field<"patch_size", &self::patch_size, rule::positive>,
        internal<&self::hidden_sizes>, internal<&self::num_attention_heads>, internal<&self::depths>,
        internal<&self::key_dim>, internal<&self::mlp_ratio>, internal<&self::attention_ratio>,
        internal<&self::with_teacher>, reads<&self::read_lists>, labels<&self::num_labels>,
        rules<&self::stage_rule>, rules<&self::size_rule>,
        // training only: stochastic depth
        no_effect<"drop_path_rate", double>,
        // 5.x's generic reads: LeViT's attention is its own (head_dim), no RoPE, no tied embeddings
        no_effect<"head_dim", any_json>, no_effect<"rope_parameters", any_json>,
        no_effect<"tie_word_embeddings", bool>>;

    [[nodiscard]] constexpr encoder_shape shape() const {
        return {.vocab_size = 0,
                .hidden_size = hidden_sizes.back(),
                .num_heads = 1,
                .intermediate_size = 0,
                .num_layers = 0,
                .max_positions = std::int64_t{1} << 40,
                .type_vocab_size = 0,
                .act = activation::gelu,
                .eps = 1e-5f,
                .causal = false,
                .num_labels = num_labels};
    }
    [[nodiscard]] constexpr image_shape image() const { return {num_channels, image_size, image_size, false}; }
};

/// LevitConfig from config.json.
inline levit_config levit_config_from_json(const config_reader& r) { return load_config<levit_config>(r); }

namespace detail::levit {

/// attention_bias_idxs as LevitAttention (stride 1, queries on the same
/// grid) and LevitAttentionSubsample build them: queries on a q x q grid at
/// every `stride`-th point of the keys' k x k grid, both row-major; the
/// pair's offset (|Δrow|, |Δcol|) numbered in the order first met. Returns
/// the indices [q² · k²] and how many offsets there are.
inline std::pair<std::vector<std::int64_t>, std::int64_t> bias_index(std::int64_t q, std::int64_t k,
                                                                     std::int64_t stride) {
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> offsets;
    std::vector<std::int64_t> index;
    index.reserve(static_cast<std::size_t>(q * q * k * k));
    for (std::int64_t a = 0; a < q * q; ++a)
        for (std::int64_t p = 0; p < k * k; ++p) {
            const std::pair<std::int64_t, std::int64_t> off{std::abs((a / q) * stride - p / k),
                                                            std::abs((a % q) * stride - p % k)};
            const auto it = offsets.try_emplace(off, static_cast<std::int64_t>(offsets.size())).first;
            index.push_back(it->second);
        }
    return {std::move(index), static_cast<std::int64_t>(offsets.size())};
}

/// MLPLayerWithBN at `scope`: x [B, S, in] through `linear` (no bias) and
/// `batch_norm` (BatchNorm1d over the channels of every token): [B, S, out].
template <Backend B>
typename B::value linear_bn(B& b, std::string_view scope, const typename B::value& x, std::int64_t tokens,
                            std::int64_t in, std::int64_t out) {
    auto guard = b.scope(scope);
    typename B::value y;
    {
        auto lin = b.scope("linear");
        y = b.linear(x, b.param("weight", {out, in}), nullptr);
    }
    y = batch_norm_module(b, "batch_norm", b.reshape(y, {-1, out}), out);
    return b.reshape(y, {-1, tokens, out});
}

/// The attention of LevitAttention and LevitAttentionSubsample once q, k, v
/// are split: q [B, Sq, H, kd], k [B, Sk, H, kd], v [B, Sk, H, dv];
/// softmax(q·kᵀ · kd^-½ + attention_biases[:, idx]) · v, then Hardswish and
/// `projection` (MLPLayerWithBN) to `out`. The query grid is q_side², the
/// keys' k_side², queries every `stride`-th key point.
template <Backend B>
typename B::value biased_attention(B& b, const typename B::value& q, const typename B::value& k,
                                   const typename B::value& v, std::int64_t heads, std::int64_t kd, std::int64_t dv,
                                   std::int64_t q_side, std::int64_t k_side, std::int64_t stride, std::int64_t out) {
    const auto sq = q_side * q_side, sk = k_side * k_side;
    auto [idx, n] = bias_index(q_side, k_side, stride);
    auto bias = b.gather(b.transpose(b.param("attention_biases", {heads, n}), {1, 0}), b.constant_i64(idx));
    bias = b.reshape(b.transpose(bias, {1, 0}), {heads, sq, sk});
    const auto scale = static_cast<float>(std::pow(static_cast<double>(kd), -0.5));
    auto scores = b.mul(b.matmul(b.transpose(q, {0, 2, 1, 3}), b.transpose(k, {0, 2, 3, 1})), b.scalar(scale));
    auto probs = b.softmax(b.add(scores, bias));
    auto ctx = b.matmul(probs, b.transpose(v, {0, 2, 1, 3}));  // [B, H, Sq, dv]
    ctx = b.reshape(b.transpose(ctx, {0, 2, 1, 3}), {-1, sq, heads * dv});
    return linear_bn(b, "projection", b.hardswish(ctx), sq, heads * dv, out);
}

/// LevitAttention at `scope` (the residual's module): queries_keys_values,
/// split per head into q, k (key_dim each) and v (attention_ratio · key_dim).
template <Backend B>
typename B::value attention(B& b, const typename B::value& x, std::int64_t side, std::int64_t dim,
                            std::int64_t heads, std::int64_t kd, std::int64_t ratio) {
    const auto s = side * side, dv = ratio * kd, per = 2 * kd + dv;
    auto qkv = b.reshape(linear_bn(b, "queries_keys_values", x, s, dim, heads * per), {-1, s, heads, per});
    return biased_attention(b, b.slice(qkv, 3, 0, kd), b.slice(qkv, 3, kd, 2 * kd), b.slice(qkv, 3, 2 * kd, per),
                            heads, kd, dv, side, side, 1, dim);
}

/// LevitMLPLayer: linear_up (dim · ratio), Hardswish, linear_down.
template <Backend B>
typename B::value mlp(B& b, const typename B::value& x, std::int64_t side, std::int64_t dim, std::int64_t ratio) {
    const auto s = side * side;
    auto h = b.hardswish(linear_bn(b, "linear_up", x, s, dim, dim * ratio));
    return linear_bn(b, "linear_down", h, s, dim * ratio, dim);
}

/// LevitAttentionSubsample: keys and values from every token (keys_values),
/// queries from every other token of every other row (LevitSubsample,
/// stride 2: a constant-index gather) through `queries`; out: [B, side'², out].
template <Backend B>
typename B::value subsample_attention(B& b, const typename B::value& x, std::int64_t side, std::int64_t in,
                                      std::int64_t out, std::int64_t heads, std::int64_t kd, std::int64_t ratio) {
    constexpr std::int64_t stride = 2;
    const auto s = side * side, side_out = (side - 1) / stride + 1, s_out = side_out * side_out;
    const auto dv = ratio * kd;
    auto kv = b.reshape(linear_bn(b, "keys_values", x, s, in, heads * (kd + dv)), {-1, s, heads, kd + dv});
    std::vector<std::int64_t> kept;
    for (std::int64_t i = 0; i < side_out; ++i)
        for (std::int64_t j = 0; j < side_out; ++j) kept.push_back(i * stride * side + j * stride);
    // [B, S, in] -> [S, B·in], rows gathered, back to [B, S', in]
    auto rows = b.gather(b.reshape(b.transpose(x, {1, 0, 2}), {s, -1}), b.constant_i64(kept));
    auto sub = b.transpose(b.reshape(rows, {s_out, -1, in}), {1, 0, 2});
    auto q = b.reshape(linear_bn(b, "queries", sub, s_out, in, heads * kd), {-1, s_out, heads, kd});
    return biased_attention(b, q, b.slice(kv, 3, 0, kd), b.slice(kv, 3, kd, kd + dv), heads, kd, dv, side_out, side,
                            stride, out);
}

}  // namespace detail::levit

/// LevitPatchEmbeddings at `levit.patch_embeddings`: embedding_layer_1..4,
/// each a Conv2d (no bias) and BatchNorm2d, widths hidden_sizes[0] / 8, / 4,
/// / 2, / 1, Hardswish after the first three; flattened to [B, r·r, C].
struct levit_stem {
    using reads = slots<"pixel_values">;
    using writes = slots<"hidden_states">;
    struct names {
        static constexpr std::string_view conv = "convolution", norm = "batch_norm";
    };

    template <Backend B>
    static void forward(B& b, io<levit_stem, typename B::value> s, const levit_config& c) {
        auto guard = b.scope("levit.patch_embeddings");
        auto h = s[slot<"pixel_values">{}];
        std::int64_t in = c.num_channels;
        for (std::int64_t i = 0; i < 4; ++i) {
            const auto out = c.hidden_sizes[0] >> (3 - i);
            h = conv_norm_act<names>(b, "embedding_layer_" + std::to_string(i + 1), h,
                                     {.in = in, .out = out, .kernel = c.kernel_size, .stride = c.stride,
                                      .padding = c.padding},
                                     std::nullopt);
            if (i < 3) h = b.hardswish(h);
            in = out;
        }
        s.set(sl::hidden_states, b.transpose(b.reshape(h, {0, in, -1}), {0, 2, 1}));
    }
};

/// LevitEncoder at `levit.encoder.stages.<s>.layers.<j>`: per stage, depths[s]
/// residual attentions (`module`), each followed by a residual MLP where
/// mlp_ratio[s] > 0; after stages 0 and 1 (Transformers' down_ops) the
/// subsampling attention (key_dim[0], hidden_sizes[s] // key_dim[0] heads,
/// attention ratio 4) to hidden_sizes[s + 1], then a residual MLP of ratio 2.
struct levit_encoder {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<levit_encoder, typename B::value> s, const levit_config& c) {
        namespace lv = detail::levit;
        auto h = s[sl::hidden_states];
        for (std::int64_t st = 0; st < 3; ++st) {
            auto stage = b.scope("levit.encoder.stages." + std::to_string(st));
            const auto dim = c.hidden_sizes[st], side = c.resolution(st);
            std::int64_t j = 0;
            auto residual = [&](auto&& module) {
                auto guard = b.scope("layers." + std::to_string(j++) + ".module");
                h = b.add(h, module());
            };
            for (std::int64_t d = 0; d < c.depths[st]; ++d) {
                residual([&] { return lv::attention(b, h, side, dim, c.num_attention_heads[st], c.key_dim[st], c.attention_ratio[st]); });
                if (c.mlp_ratio[st] > 0) residual([&] { return lv::mlp(b, h, side, dim, c.mlp_ratio[st]); });
            }
            if (st < 2) {
                const auto next = c.hidden_sizes[st + 1];
                {
                    auto guard = b.scope("layers." + std::to_string(j++));
                    h = lv::subsample_attention(b, h, side, dim, next, dim / c.key_dim[0], c.key_dim[0], 4);
                }
                residual([&] { return lv::mlp(b, h, c.resolution(st + 1), next, 2); });
            }
        }
        s.set(sl::hidden_states, h);
    }
};

/// LevitClassificationLayer at `scope`: BatchNorm1d, then a Linear.
template <Backend B>
typename B::value levit_classification_layer(B& b, std::string_view scope, const typename B::value& x,
                                             const levit_config& c) {
    auto guard = b.scope(scope);
    const auto dim = c.hidden_sizes.back();
    return dense(b, "linear", batch_norm_module(b, "batch_norm", x, dim), dim, c.num_labels);
}

/// The image classifier on the mean of the tokens: `classifier`, or, with
/// the teacher, the mean of `classifier` and `classifier_distill`.
struct levit_classifier {
    using reads = slots<"pooled_output">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<levit_classifier, typename B::value> s, const levit_config& c) {
        const auto& x = s[sl::pooled_output];
        auto logits = levit_classification_layer(b, "classifier", x, c);
        if (c.with_teacher)
            logits = b.div(b.add(logits, levit_classification_layer(b, "classifier_distill", x, c)), b.scalar(2.f));
        s.set(sl::logits, logits);
    }
};

struct levit_family : family_base<"levit", "levit", levit_config, &levit_config_from_json,
                                  type_list<task::default_, task::image_classification>> {
    /// The legacy table's tolerance for LeViT.
    static constexpr double atol = 1e-4;
    /// BatchNorm's step counter (training only).
    static std::vector<std::string> ignored() { return {"num_batches_tracked"}; }

    template <class Task>
    static auto inputs(Task) -> type_list<image_input<>>;

    using trunk = type_list<levit_stem, levit_encoder, mean_token_output>;
    static auto layers(task::default_) -> concat<trunk, type_list<expose_hidden_states, expose_pooler_output>>;
    static auto layers(task::image_classification) -> concat<trunk, type_list<levit_classifier>>;
    /// last_hidden_state [batch, tokens, hidden] and its mean over the tokens, pooler_output [batch, hidden].
    static auto outputs(task::default_) -> type_list<output<"last_hidden_state", axes<"batch", "", "">>,
                                                     output<"pooler_output", axes<"batch", "">>>;
};

}  // namespace typeformer::inline v0
