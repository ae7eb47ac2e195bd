// typeformer/models/big_bird.hpp: BigBird (`model_type` "big_bird").
//
// BERT's embeddings, blocks and heads (gelu_new by default), with
// attention_type "block_sparse": Transformers runs full attention up to
// (5 + 2·num_random_blocks)·block_size tokens and block-sparse attention
// beyond. In eval mode the block-sparse pattern is deterministic (the
// "random" blocks are all block 0), so the exported graph spells it as dense
// attention under the block-sparse visibility bias, and chooses between the
// two regimes from the sequence length at run time: one graph that matches
// Transformers below and above the threshold.
//
// Block-sparse attention in eval mode, with n = ceil(S / block_size) blocks
// (Transformers pads to n·block_size with masked tokens and cuts them off):
//  - query blocks 0 and n-1 see every key;
//  - query block i in 1..n-2 sees key blocks 0, i-1, i, i+1 and n-1, and sees
//    block 0 once more per random block (1 + num_random_blocks copies of the
//    same keys in its softmax: a bias of log(1 + num_random_blocks));
//  - the context of a masked query token is zero.
// No causal mask applies in that regime, even with is_decoder (as in
// Transformers). Question answering derives token types and masks the
// question's logits from the first [SEP], as BigBirdForQuestionAnswering does.
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

/// attention_type: "block_sparse" or "original_full" (a config's
/// block_sparse); anything else is refused. BigBird's and BigBird-Pegasus's.
template <class C>
void read_block_sparse_attention_type(const config_reader& r, C& c) {
    std::string type = c.block_sparse ? "block_sparse" : "original_full";
    r.get("attention_type", type);
    if (type != "block_sparse" && type != "original_full")
        throw error("config.unsupported", r.where() + ": /attention_type: \"" + type +
                                              "\" is not supported (only \"block_sparse\" or \"original_full\")");
    c.block_sparse = type == "block_sparse";
}

/// BigBirdConfig, with Transformers' defaults.
struct big_bird_config {
    std::int64_t vocab_size = 50358;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    activation hidden_act = activation::gelu_new;
    std::int64_t max_position_embeddings = 4096;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    bool is_decoder = false;
    bool tie_word_embeddings = true;
    std::int64_t num_labels = 2;
    std::int64_t sep_token_id = 66;
    bool block_sparse = true;  // attention_type "block_sparse" (else "original_full")
    std::int64_t block_size = 64;
    std::int64_t num_random_blocks = 3;
    bool use_bias = true;

    static constexpr void bias_rule(const big_bird_config& c) {
        require(c.use_bias, "use_bias=false (attention projections without bias) is not supported");
    }
    using self = big_bird_config;
    using fields = extend<bert_core_rows<self>, field<"is_decoder", &self::is_decoder>, cross_attention_refused,
                          field<"tie_word_embeddings", &self::tie_word_embeddings>, labels<&self::num_labels>,
                          field<"sep_token_id", &self::sep_token_id>, internal<&self::block_sparse>,
                          field<"block_size", &self::block_size, rule::positive>,
                          field<"num_random_blocks", &self::num_random_blocks, rule::non_negative>,
                          field<"use_bias", &self::use_bias>, rules<&self::bias_rule>,
                          never<"rescale_embeddings", "embeddings scaled by sqrt(hidden_size)">,
                          only<"position_embedding_type", "absolute">,
                          // the word table's padding_idx, and the id block-sparse attention pads input_ids
                          // with up to a block multiple: those positions are masked out and cut off
                          no_effect<"pad_token_id", std::int64_t>, reads<&read_block_sparse_attention_type<self>>>;

    [[nodiscard]] constexpr encoder_shape shape() const { return bert_like_shape(*this, is_decoder); }
    /// The longest sequence Transformers runs with full attention under "block_sparse".
    [[nodiscard]] constexpr std::int64_t full_attention_limit() const {
        return (5 + 2 * num_random_blocks) * block_size;
    }
};

/// BigBirdConfig from config.json.
inline big_bird_config big_bird_config_from_json(const config_reader& r) { return load_config<big_bird_config>(r); }

namespace big_bird_names {
using embeddings = bert_embedding_names<"bert">;
using layer = bert_layer_names<"bert.encoder.layer">;  // BigBird's checkpoints name their modules bert.*
using lm = bert_lm_names<"bert">;
/// BigBirdForQuestionAnsweringHead: a post-LN feed-forward sublayer, then qa_outputs.
struct qa {
    static constexpr std::string_view ffn_in = "qa_classifier.intermediate.dense",
                                      ffn_out = "qa_classifier.output.dense", norm = "qa_classifier.output.LayerNorm";
};
}  // namespace big_bird_names

/// What the block-sparse blocks get: the additive bias [B, 1, S, S] and, when
/// the config is block-sparse, the per-query scale [B, S, 1] (0 for masked
/// queries above the threshold, else 1).
template <class V>
struct big_bird_context {
    V bias, query_scale;
    bool scale_queries;
};

/// encoder_stack's Context policy for BigBird: built once, handed to every block.
struct block_sparse_context {
    using reads = slots<"attention_bias", "query_scale">;

    template <Backend B, class Io>
    static big_bird_context<typename B::value> make(B&, const Io& s, const big_bird_config& c) {
        return {s[sl::attention_bias], s[slot<"query_scale">{}], c.block_sparse};
    }
};

/// BigBirdForQuestionAnswering's inputs from input_ids: token types 0 up to
/// the first [SEP] and 1 after it, and the question mask the head subtracts
/// 1e6 with (the question's tokens but the first).
struct big_bird_question {
    using reads = slots<"input_ids">;
    using writes = slots<"token_type_ids", "question_mask">;

    template <Backend B>
    static void forward(B& b, io<big_bird_question, typename B::value> s, const big_bird_config& c) {
        auto guard = b.scope("question_lengths");
        const auto& ids = s[sl::input_ids];
        // question_lengths = argmax(input_ids == sep) + 1 (1 when there is no [SEP])
        auto sep = b.constant_i64({c.sep_token_id});
        auto differs = b.add(b.cast(b.less(ids, sep), dtype::f32), b.cast(b.less(sep, ids), dtype::f32));
        auto length = b.unsqueeze(b.add(b.argmax(b.sub(b.scalar(1.f), differs), 1), b.constant_i64({1})), {1});
        auto pos = b.range(ids, 1);
        auto in_question = b.cast(b.less(pos, length), dtype::i64);  // [B, S]
        s.set(sl::token_type_ids, b.sub(b.constant_i64({1}), in_question));
        auto not_first = b.cast(b.less(b.constant_i64({0}), pos), dtype::f32);
        s.set(slot<"question_mask">{}, b.mul(b.cast(in_question, dtype::f32), not_first));
    }
};

/// The block-sparse attention's context from the attention mask [B, S], for
/// either regime, chosen by the sequence length. `c` gives is_decoder,
/// block_sparse, block_size, num_random_blocks and full_attention_limit()
/// (BigBird's config, BigBird-Pegasus's).
template <Backend B, class C>
big_bird_context<typename B::value> block_sparse_context_of(B& b, const typename B::value& mask, const C& c) {
    auto full = attention_bias(b, mask, c.is_decoder);
    // query_scale unread: blocks scale queries only when block-sparse
    if (!c.block_sparse) return {full, mask, false};
    auto f32 = [&](const typename B::value& x) { return b.cast(x, dtype::f32); };
    auto one_f = b.scalar(1.f);
    auto nott = [&](const typename B::value& x) { return b.sub(one_f, x); };
    const auto one = b.constant_i64({1}), two = b.constant_i64({2});
    const auto block = b.constant_i64({c.block_size});
    auto length = b.shape(mask, 1, 2);                                       // [1]
    auto last = b.sub(b.div(b.add(length, b.constant_i64({c.block_size - 1})), block), one);  // n - 1
    auto blocks = b.div(b.range(mask, 1), block);                           // [S]: block of each token
    auto row = b.unsqueeze(blocks, {1}), col = b.unsqueeze(blocks, {0});     // [S, 1], [1, S]
    auto first_row = f32(b.less(row, one)), last_row = nott(f32(b.less(row, last)));
    auto first_col = f32(b.less(col, one)), last_col = nott(f32(b.less(col, last)));
    auto near = b.mul(f32(b.less(b.sub(row, col), two)), f32(b.less(b.sub(col, row), two)));
    auto hidden = b.mul(b.mul(b.mul(nott(first_row), nott(last_row)), b.mul(nott(first_col), nott(last_col))),
                        nott(near));                                        // [S, S]: not in the pattern
    auto middle_row = b.mul(nott(first_row), nott(last_row));
    auto repeats = b.mul(first_col, middle_row);                             // block 0 seen 1 + r times
    auto keys = f32(b.unsqueeze(mask, {1, 2}));                              // [B, 1, 1, S]
    auto keep = b.mul(nott(hidden), keys);                                   // [B, 1, S, S]
    auto sparse = b.add(b.mul(nott(keep), b.scalar(-3.4028234663852886e38f)),
                        b.mul(repeats, b.scalar(static_cast<float>(std::log1p(
                                               static_cast<double>(c.num_random_blocks))))));
    // above the threshold: 1; both terms stay finite, so the blend is exact
    auto is_sparse = f32(b.less(b.constant_i64({c.full_attention_limit()}), length));  // [1]
    auto masked_query = nott(f32(b.unsqueeze(mask, {2})));                  // [B, S, 1]
    return {b.add(b.mul(full, nott(is_sparse)), b.mul(sparse, is_sparse)), nott(b.mul(masked_query, is_sparse)),
            true};
}

/// The attention bias for either regime (block_sparse_context_of), in slots.
struct block_sparse_bias {
    using reads = slots<"attention_mask">;
    using writes = slots<"attention_bias", "query_scale">;

    template <Backend B>
    static void forward(B& b, io<block_sparse_bias, typename B::value> s, const big_bird_config& c) {
        auto guard = b.scope("extended_attention_mask");
        auto ctx = block_sparse_context_of(b, s[sl::attention_mask], c);
        s.set(sl::attention_bias, ctx.bias);
        s.set(slot<"query_scale">{}, ctx.query_scale);
    }
};

/// Attention of q, k, v [B, S, E] under the block-sparse context: scores
/// scaled by head_dim^-0.5, the context's bias, and each query's context
/// scaled by query_scale where the config is block-sparse.
template <Backend B>
typename B::value block_sparse_attend(B& b, const typename B::value& q, const typename B::value& k,
                                      const typename B::value& v, const big_bird_context<typename B::value>& ctx,
                                      std::int64_t hidden, std::int64_t heads) {
    const float scale = 1.f / std::sqrt(static_cast<float>(hidden / heads));
    auto out = b.attention(q, k, v, &ctx.bias, heads, scale);
    return ctx.scale_queries ? b.mul(out, ctx.query_scale) : out;
}

/// BERT's self-attention, with the context of each query scaled by the
/// context's query_scale (zero for masked queries in the block-sparse regime).
template <class Names>
struct block_sparse_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const big_bird_context<typename B::value>& ctx,
                                     const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        auto q = dense(b, Names::q, x, hsz, hsz);
        auto k = dense(b, Names::k, x, hsz, hsz);
        auto v = dense(b, Names::v, x, hsz, hsz);
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            out = block_sparse_attend(b, q, k, v, ctx, hsz, sh.num_heads);
        }
        return dense(b, Names::o, out, hsz, hsz);
    }
};

/// BigBirdForQuestionAnsweringHead and the question mask: a post-LN
/// feed-forward sublayer, qa_outputs, then logits - 1e6 on question tokens.
struct big_bird_qa_head {
    using reads = slots<"hidden_states", "question_mask">;
    using writes = slots<"start_logits", "end_logits">;

    template <Backend B>
    static void forward(B& b, io<big_bird_qa_head, typename B::value> s, const big_bird_config& c) {
        using names = big_bird_names::qa;
        const auto sh = c.shape();
        const auto& h = s[sl::hidden_states];
        auto x = layer_norm(b, names::norm, b.add(h, feed_forward<names>::forward(b, h, sh)), sh.hidden_size, sh.eps);
        auto logits = dense(b, "qa_classifier.qa_outputs", x, sh.hidden_size, 2);
        auto guard = b.scope("qa_classifier");
        auto penalty = b.mul(s[slot<"question_mask">{}], b.scalar(1e6f));
        s.set(sl::start_logits, b.sub(b.select(logits, -1, 0), penalty));
        s.set(sl::end_logits, b.sub(b.select(logits, -1, 1), penalty));
    }
};

struct big_bird_family
    : family_base<"big_bird", "bert", big_bird_config, &big_bird_config_from_json,
                  task::encoder_features> {
    static std::vector<std::string> ignored() { return {"embeddings.position_ids", "pooler.weight", "pooler.bias"}; }

    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, "input_ids", "attention_mask">;

    using stack = encoder_stack<big_bird_names::layer,
                                encoder_block<big_bird_names::layer, block_sparse_attention<big_bird_names::layer>>,
                                block_sparse_context>;
    template <bool Question = false>
    // No token_type_ids input: every token adds row 0 of the token-type table,
    // except in question answering, where big_bird_question derives them from the first [SEP].
    using trunk = concat<std::conditional_t<Question,
                                            type_list<big_bird_question, embeddings<big_bird_names::embeddings>>,
                                            type_list<embeddings<big_bird_names::embeddings,
                                                                 embedding_options{.token_type_input = false}>>>,
                         type_list<block_sparse_bias, stack>>;
    using pooler = first_token_pooler<"bert.pooler", activation::tanh>;

    struct heads : encoder_heads<lm_head<big_bird_names::lm>, pooler> {
        using encoder_heads<lm_head<big_bird_names::lm>, pooler>::of;
        /// BigBirdClassificationHead: first token, dense, hidden_act, out_proj.
        static auto of(task::sequence_classification)
            -> type_list<first_token_pooler<"classifier.dense", &big_bird_config::hidden_act>,
                         pooled_classifier<"classifier.out_proj">>;
    };
    using fold = type_list<fold_choices<"input_ids", "attention_mask">>;

    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, trunk<>, heads, fold>;
    /// Question answering derives its token types in the trunk, and has its own head.
    static auto layers(task::question_answering) -> concat<trunk<true>, type_list<big_bird_qa_head>>;
};

/// BigBird with a compile-time config.
template <big_bird_config C, class Task = task::default_>
struct big_bird : model_of<big_bird_family, Task> {
    static_assert(check(C));
    static constexpr big_bird_config config = C;
};

}  // namespace typeformer::inline v0
