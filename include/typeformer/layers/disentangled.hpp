// typeformer/layers/disentangled.hpp: DeBERTa's disentangled attention and
// what it shares between DeBERTa and DeBERTa-v2.
//
// Attention scores are content-to-content plus, per `pos_att_type`,
// content-to-position (c2p: query · key projection of the relative
// embedding of j - i) and position-to-content (p2c: key · query projection of
// the relative embedding of i - j), all scaled by 1/√(d · (1 + #types)). The
// relative distances index a table of 2·span relative embeddings: clamped to
// ±span (DeBERTa, v2 without buckets), or first mapped to log buckets (v2's
// `position_buckets`). The softmax is XSoftmax: query i and key j must both
// be real tokens, and a padded query's probabilities are all zero.
//
// The blocks are encoder_block's post-LN template with the attention policy
// below; the stack (disentangled_encoder) builds, once, the context every
// block reads (masks, relative indices, relative embeddings) and applies
// v2's ConvLayer after the first block.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/error.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/ops/composite.hpp"

namespace typeformer::inline v0 {

/// What disentangled attention reads from the config, beyond encoder_shape.
struct disentangled_spec {
    bool relative = false;       // relative_attention
    bool c2p = false, p2c = false;  // pos_att_type
    std::int64_t span = 0;       // the relative-embedding table has 2·span rows
    std::int64_t buckets = 0;    // v2 position_buckets (> 0: log buckets)
    std::int64_t max_relative = 0;  // max_relative_positions, resolved
    bool share_att_key = false;  // v2: positions projected by the content query/key Linears
    bool norm_rel_embeddings = false;  // v2 norm_rel_ebd "layer_norm"
    std::int64_t conv_kernel = 0, conv_groups = 1;  // v2 ConvLayer (0: none)
    activation conv_act = activation::tanh;

    /// 1 + the number of position attention types: scores are scaled by 1/√(d · this).
    [[nodiscard]] constexpr std::int64_t scale_factor() const { return 1 + (c2p ? 1 : 0) + (p2c ? 1 : 0); }
};

template <class C>
concept DisentangledConfig = EncoderConfig<C> && requires(const C& c) {
    { c.disentangled() } -> std::same_as<disentangled_spec>;
};

/// DeBERTa-v2's make_log_bucket_position for one relative distance, in
/// float32 as PyTorch computes it.
inline std::int64_t log_bucket_position(std::int64_t r, std::int64_t bucket_size, std::int64_t max_position) {
    const std::int64_t mid = bucket_size / 2;
    const std::int64_t abs_pos = (r < mid && r > -mid) ? mid - 1 : std::llabs(r);
    if (abs_pos <= mid) return r;
    const float ratio = static_cast<float>(abs_pos) / static_cast<float>(mid);
    const float denom = std::log(static_cast<float>(static_cast<double>(max_position - 1) / static_cast<double>(mid)));
    const float log_pos = std::ceil(std::log(ratio) / denom * static_cast<float>(mid - 1)) + static_cast<float>(mid);
    return static_cast<std::int64_t>(r > 0 ? log_pos : -log_pos);
}

/// The row of the relative-embedding table for relative distance r = i - j.
inline std::int64_t relative_row(std::int64_t r, const disentangled_spec& s) {
    const std::int64_t p = s.buckets > 0 ? log_bucket_position(r, s.buckets, s.max_relative) : r;
    return std::min(std::max(p + s.span, std::int64_t{0}), 2 * s.span - 1);
}

/// With log buckets: the rows for r in [-R, R], R the first distance from
/// which the row no longer changes (it saturates at 0 and 2·span - 1).
inline std::vector<std::int64_t> bucket_row_table(const disentangled_spec& s) {
    constexpr std::int64_t cap = std::int64_t{1} << 22;
    std::int64_t R = std::max<std::int64_t>(s.buckets, 1);
    while (R < cap && (relative_row(R, s) != 2 * s.span - 1 || relative_row(-R, s) != 0)) ++R;
    if (R == cap) throw error("config.invalid", "position_buckets and max_relative_positions give no bounded bucket table");
    std::vector<std::int64_t> t(static_cast<std::size_t>(2 * R + 1));
    for (std::int64_t r = -R; r <= R; ++r) t[static_cast<std::size_t>(r + R)] = relative_row(r, s);
    return t;
}

/// What every disentangled block reads, built once per stack.
template <class V>
struct disentangled_context {
    V mask;       // [B, 1, S, S] float32: 1 where query i and key j are both real tokens
    V bias;       // [B, 1, S, S]: 0 there, finfo(float32).min elsewhere
    V c2p_rows;   // [S, S] int64: row of the relative table for (i, j), relative attention only
    V p2c_rows;   // its transpose: the p2c gather index
    V rel;        // [2·span, hidden] relative embeddings (after LayerNorm when norm_rel_ebd)
    disentangled_spec spec;
};

/// Disentangled self-attention, written once for both versions. The names
/// policy says how each version projects: `qkv(b, x, sh)` returns the
/// content query, key and value [B, S, H·D] with their biases,
/// `pos_key(b, rel, sh, spec)` and `pos_query(...)` the projected relative
/// embeddings [2·span, H·D]; `attention` scopes the score computation, `o`
/// is the output Linear.
template <class Names>
struct disentangled_attention {
    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, const disentangled_context<typename B::value>& ctx,
                                     const encoder_shape& sh) {
        using V = typename B::value;
        const auto hsz = sh.hidden_size, H = sh.num_heads, D = hsz / H;
        const auto& spec = ctx.spec;
        auto [q, k, v] = Names::qkv(b, x, sh);
        V pos_key, pos_query;
        if (spec.relative && spec.c2p) pos_key = Names::pos_key(b, ctx.rel, sh, spec);
        if (spec.relative && spec.p2c) pos_query = Names::pos_query(b, ctx.rel, sh, spec);
        V out;
        {
            auto guard = b.scope(Names::attention);
            const auto scale = b.scalar(std::sqrt(static_cast<float>(D * spec.scale_factor())));
            auto heads = [&](const V& t) { return b.transpose(b.reshape(t, {0, 0, H, D}), {0, 2, 1, 3}); };  // [B, H, S, D]
            auto rel_heads = [&](const V& t) { return b.transpose(b.reshape(t, {0, H, D}), {1, 2, 0}); };   // [H, D, 2·span]
            auto qh = b.div(heads(q), scale);
            auto kh = heads(k);
            auto scores = b.matmul(qh, b.transpose(kh, {0, 1, 3, 2}));  // [B, H, S, S]
            if (spec.relative && spec.c2p)
                scores = b.add(scores, b.gather_last(b.matmul(qh, rel_heads(pos_key)), ctx.c2p_rows));
            if (spec.relative && spec.p2c) {
                auto p2c = b.gather_last(b.matmul(kh, b.div(rel_heads(pos_query), scale)), ctx.p2c_rows);
                scores = b.add(scores, b.transpose(p2c, {0, 1, 3, 2}));
            }
            // XSoftmax: masked scores, softmax, then the masked probabilities zeroed
            auto probs = b.mul(b.softmax(b.add(scores, ctx.bias)), ctx.mask);
            out = b.reshape(b.transpose(b.matmul(probs, heads(v)), {0, 2, 1, 3}), {0, 0, hsz});
        }
        return dense(b, Names::o, out, hsz, hsz);
    }
};

/// The encoder: context, then num_layers blocks at `<Names::stack>.<i>`, and
/// v2's ConvLayer (`<Names::encoder>.conv`) on the first block's output.
/// Names: `stack`, `encoder` (holds rel_embeddings, LayerNorm and conv).
template <class Names, class Block>
struct disentangled_encoder {
    using reads = slots<"hidden_states", "attention_mask">;
    using writes = slots<"hidden_states">;

    template <Backend B, DisentangledConfig C>
    static void forward(B& b, io<disentangled_encoder, typename B::value> s, const C& c) {
        using V = typename B::value;
        const auto sh = c.shape();
        disentangled_context<V> ctx;
        ctx.spec = c.disentangled();
        const auto& spec = ctx.spec;
        const auto& x = s[sl::hidden_states];
        V token_mask;  // [B, S, 1]
        {
            auto guard = b.scope(Names::encoder);
            auto m = b.cast(s[sl::attention_mask], dtype::f32);  // [B, S]
            token_mask = b.unsqueeze(m, {2});
            ctx.mask = b.mul(b.unsqueeze(m, {1, 2}), b.unsqueeze(m, {1, 3}));  // [B, 1, S, S]
            ctx.bias = b.mul(b.sub(b.scalar(1.f), ctx.mask), b.scalar(std::numeric_limits<float>::lowest()));
            if (spec.relative) {
                ctx.c2p_rows = relative_rows(b, x, spec);
                ctx.p2c_rows = b.transpose(ctx.c2p_rows, {1, 0});
                ctx.rel = b.param("rel_embeddings.weight", {2 * spec.span, sh.hidden_size});
                if (spec.norm_rel_embeddings) ctx.rel = layer_norm(b, "LayerNorm", ctx.rel, sh.hidden_size, sh.eps);
            }
        }
        auto h = x;
        for (std::int64_t i = 0; i < sh.num_layers; ++i) {
            {
                auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
                h = Block::forward(b, h, ctx, sh);
            }
            if (i == 0 && spec.conv_kernel > 0) h = conv_layer(b, x, h, token_mask, sh, spec);
        }
        s.set(sl::hidden_states, h);
    }

private:
    /// [S, S] int64: the relative-table row for query i and key j.
    template <Backend B>
    static typename B::value relative_rows(B& b, const typename B::value& x, const disentangled_spec& spec) {
        auto pos = b.range(x, 1);
        auto rel = b.sub(b.unsqueeze(pos, {1}), b.unsqueeze(pos, {0}));  // i - j
        if (spec.buckets <= 0) return b.clip(b.add(rel, b.constant_i64({spec.span})), 0, 2 * spec.span - 1);
        const auto table = bucket_row_table(spec);
        const auto R = static_cast<std::int64_t>(table.size() / 2);
        auto at = b.reshape(b.add(b.clip(rel, -R, R), b.constant_i64({R})), {1, -1});
        auto rows = b.gather_last(b.unsqueeze(b.constant_i64(table), {0}), at);
        return b.reshape(rows, b.shape(rel, 0, 2));
    }

    /// ConvLayer: LN(residual + act(conv(x) masked)), masked.
    template <Backend B>
    static typename B::value conv_layer(B& b, const typename B::value& x, const typename B::value& residual,
                                        const typename B::value& token_mask, const encoder_shape& sh,
                                        const disentangled_spec& spec) {
        const auto hsz = sh.hidden_size;
        auto guard = b.scope(std::string(Names::encoder) + ".conv");
        typename B::value out;
        {
            auto conv = b.scope("conv");
            const auto& w = b.param("weight", {hsz, hsz / spec.conv_groups, spec.conv_kernel});
            const auto& bias = b.param("bias", {hsz});
            out = b.conv1d(b.transpose(x, {0, 2, 1}), w, &bias, (spec.conv_kernel - 1) / 2, spec.conv_groups);
        }
        out = activate(b, spec.conv_act, b.mul(b.transpose(out, {0, 2, 1}), token_mask));
        return b.mul(layer_norm(b, "LayerNorm", b.add(residual, out), hsz, sh.eps), token_mask);
    }
};

}  // namespace typeformer::inline v0
