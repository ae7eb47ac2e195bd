// typeformer/layers/encoder.hpp: the blocks of a BERT-style text encoder.
//
// Each layer is a type with `reads`, `writes` and a static `forward` written
// once against the Backend concept. Architectures differ in module names, so
// the blocks take a names policy; the numbers come from the config's
// `shape()`, an `encoder_shape`.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "typeformer/core/config.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// The numbers every encoder block needs, whatever the config calls them.
struct encoder_shape {
    std::int64_t vocab_size, hidden_size, num_heads, intermediate_size, num_layers, max_positions,
        type_vocab_size;
    activation act;
    float eps;
    bool causal;
    std::int64_t num_labels;
    /// Width of the embedding tables when it differs from hidden_size (ALBERT,
    /// ELECTRA, MobileBERT); 0: the same as hidden_size.
    std::int64_t embedding_size = 0;
    /// Index of the first real position in the position table (RoBERTa's
    /// padding_idx + 1, where positions count from the padding index).
    std::int64_t position_offset = 0;

    [[nodiscard]] constexpr std::int64_t embedding_width() const {
        return embedding_size > 0 ? embedding_size : hidden_size;
    }
};

/// Config concept: a structural config with a shape() view.
template <class C>
concept EncoderConfig = requires(const C& c) {
    { c.shape() } -> std::same_as<encoder_shape>;
};

/// Word + learned absolute position (+ token type) embeddings, then LayerNorm.
/// Names: `scope`, `word`, `position`, `token_type` (empty: none), `norm`.
template <class Names>
struct embeddings {
    static constexpr bool token_types = !Names::token_type.empty();
    using reads = std::conditional_t<token_types, slots<"input_ids", "token_type_ids">, slots<"input_ids">>;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<embeddings, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto guard = b.scope(Names::scope);
        const auto& ids = s[sl::input_ids];
        auto h = b.gather(b.param(std::string(Names::word) + ".weight", {sh.vocab_size, sh.hidden_size}), ids);
        auto positions = b.range(ids, 1);
        h = b.add(h, b.gather(b.param(std::string(Names::position) + ".weight", {sh.max_positions, sh.hidden_size}),
                              positions));
        if constexpr (token_types)
            h = b.add(h, b.gather(b.param(std::string(Names::token_type) + ".weight",
                                          {sh.type_vocab_size, sh.hidden_size}),
                                  s[sl::token_type_ids]));
        s.set(sl::hidden_states, layer_norm(b, Names::norm, h, sh.hidden_size, sh.eps));
    }
};

/// The additive attention bias from `attention_mask` (causal when the config is a decoder).
struct mask_to_bias {
    using reads = slots<"attention_mask">;
    using writes = slots<"attention_bias">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<mask_to_bias, typename B::value> s, const C& c) {
        auto guard = b.scope("extended_attention_mask");
        s.set(sl::attention_bias, attention_bias(b, s[sl::attention_mask], c.shape().causal));
    }
};

/// Where a block's LayerNorms sit: after each residual sum (BERT: LN(x + f(x)))
/// or before each sublayer (x + f(LN(x))).
enum class norm_placement { post, pre };

namespace detail {
template <class Names>
constexpr norm_placement placement_of() {
    if constexpr (requires { Names::placement; }) return Names::placement;
    else return norm_placement::post;
}
}  // namespace detail

/// What the stack hands every block: the additive attention bias itself
/// (BERT), or a context struct whose `bias` member is it (rotary tables,
/// relative embeddings ride along in the struct).
template <class V, class Ctx>
const V& attention_bias_of(const Ctx& ctx) {
    if constexpr (requires { ctx.bias; }) return ctx.bias;
    else return ctx;
}

/// The identity position transform: BERT's positions are in the embeddings.
struct no_position_transform {
    template <Backend B, class Ctx>
    static void apply(B&, typename B::value&, typename B::value&, typename B::value&, const Ctx&,
                      const encoder_shape&) {}
};

/// Multi-head self-attention as BERT spells it: q, k, v Linears, scaled dot
/// product with the additive bias, then the output Linear `o`.
/// Names: `q`, `k`, `v`, `attention` (the scope of the score computation), `o`.
/// An attention policy has this signature; `Ctx` is whatever the stack's
/// context policy made (BERT: the additive bias). `Positions` transforms the
/// projected q, k, v before the scores (RoFormer: rotary, layers/rotary.hpp).
template <class Names, class Positions = no_position_transform>
struct self_attention {
    template <Backend B, class Ctx>
    static typename B::value forward(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        auto q = dense(b, Names::q, x, hsz, hsz);
        auto k = dense(b, Names::k, x, hsz, hsz);
        auto v = dense(b, Names::v, x, hsz, hsz);
        const float scale = 1.f / std::sqrt(static_cast<float>(hsz / sh.num_heads));
        typename B::value out;
        {
            auto guard = b.scope(Names::attention);
            Positions::apply(b, q, k, v, ctx, sh);
            out = b.attention(q, k, v, &attention_bias_of<typename B::value>(ctx), sh.num_heads, scale);
        }
        return dense(b, Names::o, out, hsz, hsz);
    }
};

/// The position-wise feed-forward: Linear, activation, Linear.
/// Names: `ffn_in`, `ffn_out`.
template <class Names>
struct feed_forward {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const encoder_shape& sh) {
        auto f = activate(b, sh.act, dense(b, Names::ffn_in, x, sh.hidden_size, sh.intermediate_size));
        return dense(b, Names::ffn_out, f, sh.intermediate_size, sh.hidden_size);
    }
};

/// One transformer encoder block, the template every text encoder shares:
///   post-LN (default): h = LN_a(x + Attn(x));  y = LN_o(h + FFN(h))
///   pre-LN:            h = x + Attn(LN_a(x));  y = h + FFN(LN_o(h))
/// Names: `attn_norm`, `out_norm`, optional `placement` (a norm_placement),
/// plus what the attention and feed-forward policies read.
template <class Names, class Attention = self_attention<Names>, class Ffn = feed_forward<Names>>
struct encoder_block {
    static constexpr norm_placement placement = detail::placement_of<Names>();

    template <Backend B, class Ctx>
    static typename B::value forward(B& b, const typename B::value& x, const Ctx& ctx, const encoder_shape& sh) {
        const auto hsz = sh.hidden_size;
        if constexpr (placement == norm_placement::post) {
            auto h = layer_norm(b, Names::attn_norm, b.add(x, Attention::forward(b, x, ctx, sh)), hsz, sh.eps);
            return layer_norm(b, Names::out_norm, b.add(h, Ffn::forward(b, h, sh)), hsz, sh.eps);
        } else {
            auto h = b.add(x, Attention::forward(b, layer_norm(b, Names::attn_norm, x, hsz, sh.eps), ctx, sh));
            return b.add(h, Ffn::forward(b, layer_norm(b, Names::out_norm, h, hsz, sh.eps), sh));
        }
    }
};

/// The default stack context: the additive attention bias, handed to every block.
struct bias_context {
    using reads = slots<"attention_bias">;

    template <Backend B, class Io, EncoderConfig C>
    static typename B::value make(B&, const Io& s, const C&) {
        return s[sl::attention_bias];
    }
};

/// num_layers blocks at `<Names::stack>.<i>`. `Context` computes, once per
/// graph, what every block is handed (`make(b, slots, config)`, reading the
/// slots it lists in `reads`): by default the attention bias; RoFormer's
/// rotary_context adds the sin/cos tables, so they are built once, not per layer.
template <class Names, class Block = encoder_block<Names>, class Context = bias_context>
struct encoder_stack {
    using reads = concat<slots<"hidden_states">, typename Context::reads>;
    using writes = slots<"hidden_states">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<encoder_stack, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto h = s[sl::hidden_states];
        const auto ctx = Context::template make<B>(b, s, c);
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
            h = Block::forward(b, h, ctx, sh);
        }
        s.set(sl::hidden_states, h);
    }
};

// shared layers added by the roberta group (issue #3) go below this line

// shared layers added by the albert group (issue #3) go below this line

// shared layers added by the mobilebert group (issue #3) go below this line

// shared layers added by the convbert group (issue #3) go below this line

// shared layers added by the deberta group (issue #3) go below this line

// shared layers added by the sparse group (issue #3) go below this line

}  // namespace typeformer::inline v0
