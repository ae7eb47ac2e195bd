// typeformer/models/squeezebert.hpp: SqueezeBERT (`model_type` "squeezebert").
//
// BERT's embeddings, post-LN blocks, pooler and heads, with every Linear of
// the blocks a grouped 1x1 Conv1d (groups from the config: q_groups, k_groups,
// v_groups, post_attention_groups, intermediate_groups, output_groups).
// Transformers runs the blocks in [batch, channels, sequence] layout; a 1x1
// Conv1d is a per-position map of the channels, so here the blocks stay in
// [batch, sequence, channels] and the convolutions are grouped Linears
// (conv1x1, layers/encoder.hpp). The blocks' LayerNorms are built without the
// config: eps 1e-12 whatever `layer_norm_eps` says (the embeddings' and the
// LM head's follow it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

/// The conv groups of a SqueezeBERT block.
struct squeezebert_groups {
    std::int64_t q, k, v, post_attention, intermediate, output;
};

/// SqueezeBertConfig, with Transformers' defaults.
struct squeezebert_config {
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
    std::int64_t q_groups = 4;
    std::int64_t k_groups = 4;
    std::int64_t v_groups = 4;
    std::int64_t post_attention_groups = 1;
    std::int64_t intermediate_groups = 4;
    std::int64_t output_groups = 4;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;

    static constexpr void embedding_rule(const squeezebert_config& c) {
        require(c.embedding_size == c.hidden_size,
                "embedding_size must equal hidden_size (SqueezeBertEncoder asserts it)");
    }
    using self = squeezebert_config;
    using fields = extend<bert_core_rows<self>, pad_id_is_padding_idx, field<"embedding_size", &self::embedding_size>,
                          rules<&self::embedding_rule>, field<"q_groups", &self::q_groups, rule::positive>,
                          multiple_of<"hidden_size", "q_groups">, field<"k_groups", &self::k_groups, rule::positive>,
                          multiple_of<"hidden_size", "k_groups">, field<"v_groups", &self::v_groups, rule::positive>,
                          multiple_of<"hidden_size", "v_groups">,
                          field<"post_attention_groups", &self::post_attention_groups, rule::positive>,
                          multiple_of<"hidden_size", "post_attention_groups">,
                          field<"intermediate_groups", &self::intermediate_groups, rule::positive>,
                          multiple_of<"hidden_size", "intermediate_groups">,
                          multiple_of<"intermediate_size", "intermediate_groups">,
                          field<"output_groups", &self::output_groups, rule::positive>,
                          multiple_of<"hidden_size", "output_groups">,
                          multiple_of<"intermediate_size", "output_groups">,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          never<"is_decoder", "a causal (decoder) attention mask is not exported for this model">>;

    [[nodiscard]] constexpr encoder_shape shape() const { return bert_like_shape(*this); }
    [[nodiscard]] constexpr squeezebert_groups groups() const {
        return {q_groups, k_groups, v_groups, post_attention_groups, intermediate_groups, output_groups};
    }
};

/// SqueezeBertConfig from config.json.
inline squeezebert_config squeezebert_config_from_json(const config_reader& r) {
    return load_config<squeezebert_config>(r);
}

/// What a SqueezeBERT block is handed: the attention bias and the config (its conv groups).
template <class V>
using squeezebert_context = bias_and_config<V, squeezebert_config>;

/// Self-attention with grouped 1x1 convs for q, k, v and the output (`o`,
/// post_attention.conv1d). Names as self_attention's.
template <class Names>
struct squeezebert_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const squeezebert_context<typename B::value>& ctx, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        const auto g = ctx.config.groups();
        auto q = conv1x1(b, Names::q, x, hsz, hsz, g.q);
        auto k = conv1x1(b, Names::k, x, hsz, hsz, g.k);
        auto v = conv1x1(b, Names::v, x, hsz, hsz, g.v);
        const float scale = 1.f / std::sqrt(static_cast<float>(hsz / sh.num_heads));
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            out = b.attention(q, k, v, &ctx.bias, sh.num_heads, scale);
        }
        return conv1x1(b, Names::o, out, hsz, hsz, g.post_attention);
    }
};

/// The feed-forward with grouped 1x1 convs. Names as feed_forward's.
template <class Names>
struct squeezebert_feed_forward {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x,
                                     const squeezebert_context<typename B::value>& ctx, const encoder_shape& sh) {
        const auto g = ctx.config.groups();
        auto f = activate(b, sh.act, conv1x1(b, Names::ffn_in, x, sh.hidden_size, sh.intermediate_size, g.intermediate));
        return conv1x1(b, Names::ffn_out, f, sh.intermediate_size, sh.hidden_size, g.output);
    }
};

namespace squeezebert_names {
using embeddings = bert_embedding_names<"transformer">;
struct layer {
    static constexpr std::string_view stack = "transformer.encoder.layers", q = "attention.query",
                                      k = "attention.key", v = "attention.value", attention = "attention",
                                      o = "post_attention.conv1d", attn_norm = "post_attention.layernorm",
                                      ffn_in = "intermediate.conv1d", ffn_out = "output.conv1d",
                                      out_norm = "output.layernorm";
};
using lm = bert_lm_names<"transformer">;
}  // namespace squeezebert_names

/// A block: encoder_block with the conv policies, LayerNorm eps 1e-12.
struct squeezebert_block {
    using names = squeezebert_names::layer;
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const squeezebert_context<typename B::value>& ctx,
                                     encoder_shape sh) {
        sh.eps = 1e-12f;  // SqueezeBertLayerNorm(cout): the default eps, not layer_norm_eps
        return encoder_block<names, squeezebert_attention<names>, squeezebert_feed_forward<names>>::forward(b, x, ctx,
                                                                                                            sh);
    }
};

struct squeezebert_family
    : family_base<"squeezebert", "transformer", squeezebert_config, &squeezebert_config_from_json,
                  task::encoder_features_no_clm>,
      text_encoder<squeezebert_family, "input_ids", "attention_mask", "token_type_ids"> {
    static std::vector<std::string> ignored() {
        return {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"};
    }

    using trunk = type_list<embeddings<squeezebert_names::embeddings>, mask_to_bias,
                            encoder_stack<squeezebert_names::layer, squeezebert_block, config_context>>;
    using pooler = first_token_pooler<"transformer.pooler.dense", activation::tanh>;

    using heads = encoder_heads<lm_head<squeezebert_names::lm>, pooler>;
};

/// SqueezeBERT with a compile-time config.
template <squeezebert_config C, class Task = task::default_>
struct squeezebert : model_of<squeezebert_family, Task> {
    static_assert(check(C));
    static constexpr squeezebert_config config = C;
};

}  // namespace typeformer::inline v0
