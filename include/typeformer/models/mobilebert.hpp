// typeformer/models/mobilebert.hpp: MobileBERT (`model_type` "mobilebert").
//
// What differs from BERT:
//  - embeddings: a narrow word table (embedding_size); with `trigram_input`
//    each position's embedding is concatenated with its right and left
//    neighbours' (zero past the ends), then `embedding_transformation` maps
//    to hidden_size before positions and token types are added;
//  - blocks: bottlenecks (hidden_size -> intra_bottleneck_size) for the
//    attention's query/key (`key_query_shared_bottleneck`) and the residual;
//    attention and the feed-forwards run at the bottleneck width; the value
//    reads the block input (or the bottleneck, `use_bottleneck_attention`);
//    num_feedforward_networks - 1 extra post-norm feed-forwards; the output
//    bottleneck maps back to hidden_size with the block input as residual;
//  - norms: `normalization_type` "no_norm" (NoNorm: x · weight + bias, no
//    statistics) or "layer_norm". The embeddings' norm and the last
//    feed-forward's (`output.LayerNorm`) are built without the config's eps
//    (nn.LayerNorm's 1e-5); the others use layer_norm_eps;
//  - pooler: tanh(dense(first token)), or the first token itself when
//    `classifier_activation` is false;
//  - MLM head: transform (hidden -> hidden, LayerNorm), then one product with
//    [decoder.weightᵀ; dense.weight] ([embedding_size + (hidden -
//    embedding_size), vocab]): the tied word table covers the first
//    embedding_size features, `cls.predictions.dense` the rest.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// MobileBERT's `normalization_type`.
enum class mobilebert_norm { no_norm, layer_norm };

/// MobileBertConfig, with Transformers' defaults.
struct mobilebert_config {
    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 512;
    std::int64_t num_hidden_layers = 24;
    std::int64_t num_attention_heads = 4;
    std::int64_t intermediate_size = 512;
    activation hidden_act = activation::relu;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    std::int64_t embedding_size = 128;
    bool trigram_input = true;
    bool use_bottleneck = true;
    std::int64_t intra_bottleneck_size = 128;
    bool use_bottleneck_attention = false;
    bool key_query_shared_bottleneck = true;
    std::int64_t num_feedforward_networks = 4;
    mobilebert_norm normalization_type = mobilebert_norm::no_norm;
    bool classifier_activation = true;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    static constexpr void widths_rule(const mobilebert_config& c) {
        require(c.true_hidden_size() % c.num_attention_heads == 0,
                "the attention width (intra_bottleneck_size with use_bottleneck, else hidden_size) must be divisible "
                "by num_attention_heads");
        require(c.embedding_size <= c.hidden_size,
                "embedding_size must be at most hidden_size (the MLM head splits hidden_size into it and the rest)");
    }
    /// normalization_type: "no_norm" or "layer_norm"; anything else is refused.
    static void read_normalization_type(const config_reader& r, mobilebert_config& c) {
        std::string norm = c.normalization_type == mobilebert_norm::no_norm ? "no_norm" : "layer_norm";
        r.get("normalization_type", norm);
        if (norm != "no_norm" && norm != "layer_norm")
            throw error("config.unsupported", r.where() + ": /normalization_type: \"" + norm +
                                                  "\" is not supported (\"no_norm\" or \"layer_norm\")");
        c.normalization_type = norm == "no_norm" ? mobilebert_norm::no_norm : mobilebert_norm::layer_norm;
    }
    using self = mobilebert_config;
    using fields = extend<bert_core_rows<self, false>, pad_id_is_padding_idx,
                          field<"embedding_size", &self::embedding_size, rule::positive>,
                          field<"trigram_input", &self::trigram_input>,
                          field<"use_bottleneck", &self::use_bottleneck>,
                          field<"intra_bottleneck_size", &self::intra_bottleneck_size, rule::positive>,
                          field<"use_bottleneck_attention", &self::use_bottleneck_attention>,
                          field<"key_query_shared_bottleneck", &self::key_query_shared_bottleneck>,
                          field<"num_feedforward_networks", &self::num_feedforward_networks, rule::positive>,
                          internal<&self::normalization_type>,
                          field<"classifier_activation", &self::classifier_activation>,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>,
                          labels<&self::num_labels>,
                          never<"is_decoder", "a causal (decoder) attention mask is not exported for this model">,
                          rules<&self::widths_rule>,
                          // 4.x saves it; both versions recompute it from use_bottleneck (true_hidden_size())
                          no_effect<"true_hidden_size", std::int64_t>, reads<&self::read_normalization_type>>;

    /// The width of attention and the feed-forwards.
    [[nodiscard]] constexpr std::int64_t true_hidden_size() const {
        return use_bottleneck ? intra_bottleneck_size : hidden_size;
    }
    [[nodiscard]] constexpr encoder_shape shape() const {
        auto s = bert_like_shape(*this);
        s.embedding_size = embedding_size;
        return s;
    }
};

/// MobileBertConfig from config.json.
inline mobilebert_config mobilebert_config_from_json(const config_reader& r) {
    return load_config<mobilebert_config>(r);
}

/// NoNorm (x · weight + bias) or nn.LayerNorm(n, eps) at `scope`, as the
/// config's normalization_type says.
template <Backend B>
typename B::value mobilebert_normalize(B& b, std::string_view scope, const typename B::value& x, std::int64_t n,
                                       float eps, const mobilebert_config& c) {
    if (c.normalization_type == mobilebert_norm::layer_norm) return layer_norm(b, scope, x, n, eps);
    auto guard = b.scope(scope);
    const auto& weight = b.param("weight", {n});
    const auto& bias = b.param("bias", {n});
    return b.add(b.mul(x, weight), bias);
}

/// nn.LayerNorm's default eps, for the norms Transformers builds without the config's.
inline constexpr float torch_layer_norm_eps = 1e-5f;

/// Word embeddings (trigram-expanded and projected), + positions + token types, then the norm.
struct mobilebert_embeddings {
    using reads = slots<"input_ids", "token_type_ids">;
    using writes = slots<"hidden_states">;

    template <Backend B>
    static void forward(B& b, io<mobilebert_embeddings, typename B::value> s, const mobilebert_config& c) {
        const auto E = c.embedding_size, H = c.hidden_size;
        auto guard = b.scope("mobilebert.embeddings");
        const auto& ids = s[sl::input_ids];
        auto e = b.gather(b.param("word_embeddings.weight", {c.vocab_size, E}), ids);
        if (c.trigram_input) {
            // [e[t+1], e[t], e[t-1]] along the features, zero past either end
            constexpr auto end = std::numeric_limits<std::int64_t>::max();
            auto zero = b.mul(b.slice(e, 1, 0, 1), b.scalar(0.f));
            e = b.concat({b.concat({b.slice(e, 1, 1, end), zero}, 1), e, b.concat({zero, b.slice(e, 1, 0, -1)}, 1)},
                         2);
        }
        const auto width = c.trigram_input ? 3 * E : E;
        if (c.trigram_input || E != H) {
            e = dense(b, "embedding_transformation", e, width, H);
        } else {  // the module exists (and is saved) even where forward skips it
            auto unused = b.scope("embedding_transformation");
            (void)b.param("weight", {H, width});
            (void)b.param("bias", {H});
        }
        e = b.add(e, b.gather(b.param("position_embeddings.weight", {c.max_position_embeddings, H}), b.range(ids, 1)));
        e = b.add(e, b.gather(b.param("token_type_embeddings.weight", {c.type_vocab_size, H}), s[sl::token_type_ids]));
        s.set(sl::hidden_states, mobilebert_normalize(b, "LayerNorm", e, H, torch_layer_norm_eps, c));
    }
};

namespace mobilebert_names {
struct layer {
    static constexpr std::string_view stack = "mobilebert.encoder.layer";
};
/// A feed-forward's Linears, under `ffn.<j>` or the block itself.
struct ffn {
    static constexpr std::string_view ffn_in = "intermediate.dense", ffn_out = "output.dense";
};
}  // namespace mobilebert_names

/// One MobileBERT layer (MobileBertLayer).
struct mobilebert_block {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const bias_and_config<typename B::value, mobilebert_config>& ctx,
                                     const encoder_shape&) {
        const auto& c = ctx.config;
        const auto& bias = ctx.bias;
        const auto H = c.hidden_size, T = c.true_hidden_size();
        const auto eps = static_cast<float>(c.layer_norm_eps);
        auto bottleneck = [&](std::string_view scope) {
            auto guard = b.scope(scope);
            return mobilebert_normalize(b, "LayerNorm", dense(b, "dense", x, H, T), T, eps, c);
        };
        // the inputs of query/key and of value, and the attention's residual
        auto qk_in = x, v_in = x, residual = x;
        if (c.use_bottleneck) {
            residual = bottleneck("bottleneck.input");
            if (c.use_bottleneck_attention) qk_in = v_in = residual;
            else if (c.key_query_shared_bottleneck) qk_in = bottleneck("bottleneck.attention");
            if (c.use_bottleneck_attention && c.key_query_shared_bottleneck) {
                // built (and saved) whenever the config names it, though forward then skips it
                auto unused = b.scope("bottleneck.attention");
                for (const char* n : {"dense.bias", "LayerNorm.weight", "LayerNorm.bias"}) (void)b.param(n, {T});
                (void)b.param("dense.weight", {T, H});
            }
        }
        typename B::value a;
        {
            auto guard = b.scope("attention");
            auto q = dense(b, "self.query", qk_in, T, T);
            auto k = dense(b, "self.key", qk_in, T, T);
            auto v = dense(b, "self.value", v_in, c.use_bottleneck_attention ? T : H, T);
            typename B::value ctx;
            {
                auto self = b.scope("self");
                const float scale = 1.f / std::sqrt(static_cast<float>(T / c.num_attention_heads));
                ctx = b.attention(q, k, v, &bias, c.num_attention_heads, scale);
            }
            a = mobilebert_normalize(b, "output.LayerNorm", b.add(dense(b, "output.dense", ctx, T, T), residual), T,
                                     eps, c);
        }
        // post-norm feed-forwards at the bottleneck width: ffn.0 .. ffn.{n-2}, then the layer's own
        auto inner = c.shape();
        inner.hidden_size = T;
        auto residual_ffn = [&](float e) {
            auto f = feed_forward<mobilebert_names::ffn>::forward(b, a, inner);
            return mobilebert_normalize(b, "output.LayerNorm", b.add(f, a), T, e, c);
        };
        for (std::int64_t j = 0; j + 1 < c.num_feedforward_networks; ++j) {
            auto guard = b.scope("ffn." + std::to_string(j));
            a = residual_ffn(eps);
        }
        auto out = residual_ffn(torch_layer_norm_eps);  // MobileBertOutput's norm takes no eps
        if (!c.use_bottleneck) return out;
        auto guard = b.scope("output.bottleneck");
        return mobilebert_normalize(b, "LayerNorm", b.add(dense(b, "dense", out, T, H), x), H, eps, c);
    }
};

/// The first token, through dense + tanh when `classifier_activation`.
struct mobilebert_pooler {
    using reads = slots<"hidden_states">;
    using writes = slots<"pooled_output">;

    template <Backend B>
    static void forward(B& b, io<mobilebert_pooler, typename B::value> s, const mobilebert_config& c) {
        auto first = b.select(s[sl::hidden_states], 1, 0);
        if (c.classifier_activation)
            first = b.tanh(dense(b, "mobilebert.pooler.dense", first, c.hidden_size, c.hidden_size));
        s.set(sl::pooled_output, first);
    }
};

/// MobileBertLMPredictionHead: transform, then [decoder.weightᵀ; dense.weight] and the bias.
struct mobilebert_lm_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B>
    static void forward(B& b, io<mobilebert_lm_head, typename B::value> s, const mobilebert_config& c) {
        const auto H = c.hidden_size, E = c.embedding_size, V = c.vocab_size;
        auto guard = b.scope("cls.predictions");
        auto h = activate(b, c.hidden_act, dense(b, "transform.dense", s[sl::hidden_states], H, H));
        h = layer_norm(b, "transform.LayerNorm", h, H, static_cast<float>(c.layer_norm_eps));
        typename B::value w, bias;
        {
            auto dec = b.scope("decoder");
            w = b.transpose(b.param("weight", {V, E},
                                    c.tie_word_embeddings ? "mobilebert.embeddings.word_embeddings.weight" : ""),
                            {1, 0});  // [E, V]
            bias = b.param("bias", {V}, "cls.predictions.bias");
        }
        {
            auto rest = b.scope("dense");
            const auto& extra = b.param("weight", {H - E, V});  // [H - E, V]; empty when H == E
            if (H > E) w = b.concat({w, extra}, 0);
        }
        s.set(sl::logits, b.add(b.matmul(h, w), bias));
    }
};

struct mobilebert_family
    : family_base<"mobilebert", "mobilebert", mobilebert_config, &mobilebert_config_from_json,
                  task::encoder_features_no_clm>,
      text_encoder<mobilebert_family, "input_ids", "attention_mask", "token_type_ids"> {
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"};
    }

    using trunk = type_list<mobilebert_embeddings, mask_to_bias,
                            encoder_stack<mobilebert_names::layer, mobilebert_block, config_context>>;

    using heads = encoder_heads<mobilebert_lm_head, mobilebert_pooler>;
};

/// MobileBERT with a compile-time config.
template <mobilebert_config C, class Task = task::default_>
struct mobilebert : model_of<mobilebert_family, Task> {
    static_assert(check(C));
    static constexpr mobilebert_config config = C;
};

}  // namespace typeformer::inline v0
