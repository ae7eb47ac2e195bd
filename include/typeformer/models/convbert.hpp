// typeformer/models/convbert.hpp: ConvBERT (`model_type` "convbert").
//
// BERT's embeddings (of width embedding_size, then `embeddings_project`) and
// post-LN blocks, with two differences in every layer:
//  - mixed attention: num_attention_heads / head_ratio self-attention heads of
//    size hidden / heads / 2, side by side with as many span-based dynamic
//    convolution heads. A separable convolution of the input (depthwise over
//    conv_kernel_size positions, then pointwise), times the query, gives per
//    position and head a softmaxed kernel of conv_kernel_size taps; that
//    kernel mixes the windows (`unfold`) of `conv_out_layer`'s projection.
//    The two halves are concatenated per head, then the output Linear.
//  - with num_groups > 1 both feed-forward Linears are grouped
//    (GroupedLinearLayer: weight [groups, in / groups, out / groups]).
// The numbers the blocks need beyond encoder_shape ride in the stack context.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// ConvBertConfig, with Transformers' defaults.
struct convbert_config {
    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    std::int64_t embedding_size = 768;
    std::int64_t head_ratio = 2;
    std::int64_t conv_kernel_size = 9;
    std::int64_t num_groups = 1;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    /// SequenceSummary of multiple choice: ConvBertConfig sets no summary_*
    /// fields, so Transformers' defaults apply (the last token, no projection).
    summary_spec summary_settings{};

    /// conv_kernel_size: Transformers' convolutions fail on an even kernel.
    struct positive_odd {
        static constexpr fixed_string says = "must be positive and odd";
        static constexpr bool holds(std::int64_t v) { return v > 0 && v % 2 == 1; }
    };
    static constexpr void heads_rule(const convbert_config& c) {
        require(c.hidden_size % (2 * c.attention_heads()) == 0,
                "hidden_size must be divisible by 2 * max(1, num_attention_heads / head_ratio)");
    }
    static void read_summary_settings(const config_reader& r, convbert_config& c) {
        read_summary(r, c.summary_settings);
    }
    using self = convbert_config;
    using fields = extend<bert_core_rows<self, false>, pad_id_is_padding_idx,
                          field<"embedding_size", &self::embedding_size, rule::positive>,
                          field<"head_ratio", &self::head_ratio, rule::positive>, rules<&self::heads_rule>,
                          field<"conv_kernel_size", &self::conv_kernel_size, positive_odd>,
                          field<"num_groups", &self::num_groups, rule::positive>,
                          multiple_of<"hidden_size", "num_groups">, multiple_of<"intermediate_size", "num_groups">,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>,
                          labels<&self::num_labels>,
                          never<"is_decoder", "a causal (decoder) attention mask is not exported for this model">,
                          cross_attention_refused,
                          internal<&self::summary_settings>,
                          reads<&self::read_summary_settings>>;

    /// Self-attention heads (as many convolution heads): heads / head_ratio, at least 1.
    [[nodiscard]] constexpr std::int64_t attention_heads() const {
        return num_attention_heads / head_ratio < 1 ? 1 : num_attention_heads / head_ratio;
    }
    [[nodiscard]] constexpr summary_spec summary() const { return summary_settings; }
    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this);
        s.num_heads = attention_heads();
        s.embedding_size = embedding_size == hidden_size ? 0 : embedding_size;
        return s;
    }
};

/// ConvBertConfig from config.json.
inline convbert_config convbert_config_from_json(const config_reader& r) { return load_config<convbert_config>(r); }

namespace convbert_names {
using embeddings = bert_embedding_names<"convbert">;
using layer = bert_layer_names<"convbert.encoder.layer">;
struct lm {
    static constexpr std::string_view transform = "generator_predictions.dense",
                                      norm = "generator_predictions.LayerNorm", decoder = "generator_lm_head",
                                      tied_weight = "convbert.embeddings.word_embeddings.weight", tied_bias = "";
};
}  // namespace convbert_names

/// What a ConvBERT block needs besides encoder_shape (whose num_heads is the
/// number of self-attention heads).
template <class V>
struct convbert_context {
    V bias;
    std::int64_t kernel, groups;
};

struct convbert_context_policy {
    using reads = slots<"attention_bias">;

    template <Backend B, class Io>
    static convbert_context<typename B::value> make(B&, const Io& s, const convbert_config& c) {
        return {s[sl::attention_bias], c.conv_kernel_size, c.num_groups};
    }
};

/// ConvBERT's mixed attention (ConvBertSelfAttention and the output Linear).
template <class Names>
struct convbert_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const convbert_context<typename B::value>& ctx,
                                     const encoder_shape& sh) {
        const auto hsz = sh.hidden_size, heads = sh.num_heads, d = hsz / heads / 2, all = heads * d, k = ctx.kernel;
        typename B::value mixed;
        {
            auto self = b.scope(Names::attention);
            auto q = dense(b, "query", x, hsz, all);
            auto key = dense(b, "key", x, hsz, all);
            auto v = dense(b, "value", x, hsz, all);
            // the separable convolution of x: depthwise over k positions, then pointwise
            typename B::value key_conv;
            {
                auto conv = b.scope("key_conv_attn_layer");
                auto depthwise = b.reshape(b.param("depthwise.weight", {hsz, 1, k}), {hsz, k, 1});
                auto windows = b.unsqueeze(b.transpose(b.unfold(x, k), {0, 1, 3, 2}), {3});  // [B, S, C, 1, K]
                auto dw = b.reshape(b.matmul(windows, depthwise), {0, 0, hsz});              // [B, S, C]
                auto pointwise = b.reshape(b.param("pointwise.weight", {all, hsz, 1}), {all, hsz});
                auto bias = b.reshape(b.param("bias", {all, 1}), std::vector<std::int64_t>{all});
                key_conv = b.linear(dw, pointwise, &bias);  // [B, S, all]
            }
            // per position and head, a softmaxed kernel of k taps
            auto kernel = dense(b, "conv_kernel_layer", b.mul(key_conv, q), all, heads * k);
            kernel = b.reshape(b.softmax(b.reshape(kernel, {0, 0, heads, k})), {0, 0, heads, k, 1});
            // ... mixing the windows of conv_out_layer's projection
            auto windows = b.transpose(b.unfold(dense(b, "conv_out_layer", x, hsz, all), k), {0, 1, 3, 2});
            auto conv_out = b.reshape(b.matmul(b.reshape(windows, {0, 0, heads, d, k}), kernel), {0, 0, heads, d});
            const float scale = 1.f / std::sqrt(static_cast<float>(d));
            auto attn = b.reshape(b.attention(q, key, v, &ctx.bias, heads, scale), {0, 0, heads, d});
            mixed = b.reshape(b.concat({attn, conv_out}, 2), {0, 0, hsz});  // per head: attention, then convolution
        }
        return dense(b, Names::o, mixed, hsz, hsz);
    }
};

/// GroupedLinearLayer at `scope`: x [.., in] in `groups` slices, each through
/// its own [in / groups, out / groups] matrix, then the bias.
template <Backend B>
typename B::value grouped_linear(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                                 std::int64_t out, std::int64_t groups) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {groups, in / groups, out / groups});
    const auto& bias = b.param("bias", {out});
    auto slices = b.unsqueeze(b.reshape(x, {0, 0, groups, in / groups}), {3});  // [B, S, G, 1, in/G]
    return b.add(b.reshape(b.matmul(slices, w), {0, 0, out}), bias);
}

/// The feed-forward: Linears, or grouped Linears when num_groups > 1.
template <class Names>
struct convbert_feed_forward {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const convbert_context<typename B::value>& ctx,
                                     const encoder_shape& sh) {
        if (ctx.groups == 1) return feed_forward<Names>::forward(b, x, sh);
        auto f = activate(b, sh.act, grouped_linear(b, Names::ffn_in, x, sh.hidden_size, sh.intermediate_size, ctx.groups));
        return grouped_linear(b, Names::ffn_out, f, sh.intermediate_size, sh.hidden_size, ctx.groups);
    }
};

struct convbert_family
    : family_base<"convbert", "convbert", convbert_config, &convbert_config_from_json,
                  task::encoder_features_no_clm>,
      text_encoder<convbert_family, "input_ids", "attention_mask", "token_type_ids"> {
    static std::vector<std::string> ignored() { return {"embeddings.position_ids", "embeddings.token_type_ids"}; }

    using block = encoder_block<convbert_names::layer, convbert_attention<convbert_names::layer>,
                                convbert_feed_forward<convbert_names::layer>>;
    using trunk = type_list<embeddings<convbert_names::embeddings, embedding_options{.project = "convbert.embeddings_project"}>, mask_to_bias,
                            encoder_stack<convbert_names::layer, block, convbert_context_policy>>;
    /// ConvBertClassificationHead applies hidden_act.
    /// The generator head applies get_activation("gelu"), whatever hidden_act says.
    using heads = classification_head_heads<lm_head<convbert_names::lm, activation::gelu>, &convbert_config::hidden_act>;
};

/// ConvBERT with a compile-time config.
template <convbert_config C, class Task = task::default_>
struct convbert : model_of<convbert_family, Task> {
    static_assert(check(C));
    static constexpr convbert_config config = C;
};

}  // namespace typeformer::inline v0
