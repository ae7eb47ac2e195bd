// typeformer/layers/gated_delta.hpp: Gated DeltaNet, the linear-attention
// layer of the hybrid decoders (Qwen3-Next, Qwen3.5), as Transformers 5's
// Qwen3NextGatedDeltaNet and Qwen3_5GatedDeltaNet compute it.
//
//   x                      zeroed at padding tokens (the tables' token_mask)
//   q, k, v, z, b, a       projections: Qwen3.5's in_proj_qkv, in_proj_z, in_proj_b,
//                          in_proj_a; Qwen3-Next's in_proj_qkvz and in_proj_ba, grouped
//                          per key head ([q, k, v, z] and [b, a] of each key head)
//   conv                   a causal depthwise Conv1d (conv1d.weight [C, 1, K], no bias)
//                          over [q, k, v] (C = 2·key_dim + value_dim channels), after the
//                          K - 1 inputs of the past (the conv state), then hidden_act
//   q, k                   L2-normalised per head (x · rsqrt(Σx² + 1e-6)), q · Dk^-0.5;
//                          each key head serves value_heads / key_heads value heads
//   beta, g                sigmoid(b); -exp(A_log) · softplus(a + dt_bias)
//   delta rule             the recurrence (gated_delta_rule op) from the recurrent state
//   out                    RMSNorm per value head · weight (norm.weight [Dv]) · silu(z),
//                          then out_proj
//
// The layer's cache (layer_cache): key the last K - 1 inputs of the
// convolution [B, C, K - 1], value the recurrent state [B, Hv, Dk, Dv];
// without a past (a graph without cache inputs) both start at zero, as
// Transformers' first step.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "typeformer/layers/decoder.hpp"

namespace typeformer::inline v0 {

/// The sizes of a Gated DeltaNet layer (a config's linear_attention()).
struct gated_delta_shape {
    std::int64_t conv_kernel = 4;
    std::int64_t key_heads = 16, value_heads = 32;
    std::int64_t key_head_dim = 128, value_head_dim = 128;

    [[nodiscard]] constexpr std::int64_t key_dim() const { return key_heads * key_head_dim; }
    [[nodiscard]] constexpr std::int64_t value_dim() const { return value_heads * value_head_dim; }
    [[nodiscard]] constexpr std::int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
};

/// Gated DeltaNet at `Names::linear_attention` (module names relative to it:
/// `conv1d`, `A_log`, `dt_bias`, `norm`, `out_proj`, and the projections).
/// `Fused`: Qwen3-Next's in_proj_qkvz and in_proj_ba; otherwise Qwen3.5's
/// in_proj_qkv, in_proj_z, in_proj_b and in_proj_a. The config declares
/// `gated_delta_shape linear_attention() const`.
template <class Names, bool Fused>
struct gated_delta_net {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& input, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t, layer_cache<typename B::value>& cache) {
        using V = typename B::value;
        const auto sh = c.shape();
        const gated_delta_shape g = c.linear_attention();
        const std::int64_t H = sh.hidden_size, Hk = g.key_heads, Hv = g.value_heads, Dk = g.key_head_dim,
                           Dv = g.value_head_dim, Kd = g.key_dim(), Vd = g.value_dim(), C_ = g.conv_dim(),
                           K = g.conv_kernel, r = Hv / Hk;
        auto guard = b.scope(Names::linear_attention);
        const V x = t.has_token_mask ? b.mul(input, t.token_mask) : input;
        V mixed, z, beta_in, a_in;  // [B, S, C], [B, S, Vd], [B, S, Hv], [B, S, Hv]
        if constexpr (Fused) {
            // per key head: q [Dk], k [Dk], v [r·Dv], z [r·Dv]; then b [r], a [r]
            auto qkvz = b.reshape(linear_no_bias(b, "in_proj_qkvz", x, H, 2 * Kd + 2 * Vd), {0, 0, Hk, 2 * Dk + 2 * r * Dv});
            auto q = b.reshape(b.slice(qkvz, -1, 0, Dk), {0, 0, Kd});
            auto k = b.reshape(b.slice(qkvz, -1, Dk, 2 * Dk), {0, 0, Kd});
            auto v = b.reshape(b.slice(qkvz, -1, 2 * Dk, 2 * Dk + r * Dv), {0, 0, Vd});
            z = b.reshape(b.slice(qkvz, -1, 2 * Dk + r * Dv, 2 * Dk + 2 * r * Dv), {0, 0, Vd});
            mixed = b.concat({q, k, v}, -1);
            auto ba = b.reshape(linear_no_bias(b, "in_proj_ba", x, H, 2 * Hv), {0, 0, Hk, 2 * r});
            beta_in = b.reshape(b.slice(ba, -1, 0, r), {0, 0, Hv});
            a_in = b.reshape(b.slice(ba, -1, r, 2 * r), {0, 0, Hv});
        } else {
            mixed = linear_no_bias(b, "in_proj_qkv", x, H, C_);
            z = linear_no_bias(b, "in_proj_z", x, H, Vd);
            beta_in = linear_no_bias(b, "in_proj_b", x, H, Hv);
            a_in = linear_no_bias(b, "in_proj_a", x, H, Hv);
        }
        // zeros [B, dims...] for a first step without cache inputs
        auto zeros = [&](const V& like, std::vector<std::int64_t> dims) {
            std::vector<std::int64_t> ones(dims.size() + 1, 1);
            auto shape = b.concat({b.shape(like, 0, 1), b.constant_i64(dims)}, 0);
            return b.expand(b.reshape(b.scalar(0.f), ones), shape);
        };
        // the causal depthwise convolution over the past K - 1 inputs and these
        V conv_out;
        {
            auto cg = b.scope("conv1d");
            auto xt = b.transpose(mixed, {0, 2, 1});  // [B, C, S]
            const V past = cache.past_key ? *cache.past_key : zeros(xt, {C_, K - 1});
            auto full = b.concat({past, xt}, 2);      // [B, C, K - 1 + S]
            const auto& w = b.param("weight", {C_, 1, K});
            conv_out = b.transpose(activate(b, sh.act, b.conv1d(full, w, nullptr, 0, C_)), {0, 2, 1});  // [B, S, C]
            cache.key = b.slice(full, 2, -(K - 1), std::numeric_limits<std::int64_t>::max());
        }
        auto l2_normed = [&](const V& y) {  // y [B, S, Hk, Dk]: y · rsqrt(Σy² + 1e-6)
            auto sum = b.mul(b.unsqueeze(b.reduce_mean(b.mul(y, y), -1), {-1}), b.scalar(static_cast<float>(Dk)));
            return b.div(y, b.sqrt(b.add(sum, b.scalar(1e-6f))));
        };
        auto value_heads = [&](const V& y) {  // [B, S, Hk, Dk] -> [B, Hv, S, Dk], each key head r times in turn
            V rep = y;
            if (r > 1) {
                auto one = b.unsqueeze(y, {3});
                rep = b.reshape(b.concat(std::vector<V>(static_cast<std::size_t>(r), one), 3), {0, 0, Hv, Dk});
            }
            return b.transpose(rep, {0, 2, 1, 3});
        };
        auto q = l2_normed(b.reshape(b.slice(conv_out, -1, 0, Kd), {0, 0, Hk, Dk}));
        auto k = l2_normed(b.reshape(b.slice(conv_out, -1, Kd, 2 * Kd), {0, 0, Hk, Dk}));
        q = b.mul(value_heads(q), b.scalar(1.f / std::sqrt(static_cast<float>(Dk))));
        k = value_heads(k);
        auto v = b.transpose(b.reshape(b.slice(conv_out, -1, 2 * Kd, C_), {0, 0, Hv, Dv}), {0, 2, 1, 3});  // [B, Hv, S, Dv]
        auto beta = b.transpose(b.sigmoid(beta_in), {0, 2, 1});  // [B, Hv, S]
        V decay;
        {
            const auto& a_log = b.param("A_log", {Hv});
            const auto& dt_bias = b.param("dt_bias", {Hv});
            auto rate = b.mul(b.exp(a_log), b.scalar(-1.f));
            decay = b.transpose(b.mul(rate, b.softplus(b.add(a_in, dt_bias))), {0, 2, 1});  // [B, Hv, S]
        }
        const V state = cache.past_value ? *cache.past_value : zeros(x, {Hv, Dk, Dv});
        auto rule = b.gated_delta_rule(q, k, v, decay, beta, state);  // [B, Hv, S + Dk, Dv]
        cache.value = b.slice(rule, 2, -Dk, std::numeric_limits<std::int64_t>::max());
        auto out = b.transpose(b.slice(rule, 2, 0, -Dk), {0, 2, 1, 3});  // [B, S, Hv, Dv]
        {
            auto ng = b.scope("norm");
            const auto& w = b.param("weight", {Dv});
            auto var = b.unsqueeze(b.reduce_mean(b.mul(out, out), -1), {-1});
            auto normed = b.mul(b.div(out, b.sqrt(b.add(var, b.scalar(sh.eps)))), w);
            auto zh = b.reshape(z, {0, 0, Hv, Dv});
            out = b.reshape(b.mul(normed, b.mul(zh, b.sigmoid(zh))), {0, 0, Vd});
        }
        return linear_no_bias(b, "out_proj", out, Vd, H);
    }
};

/// The token mixer of a hybrid decoder layer: `Linear` (Gated DeltaNet) on
/// the layers the config's linear_cache() names, `Attention` on the others.
template <class Attention, class Linear>
struct hybrid_mixer {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        if (recurrent_layer(c, layer)) return Linear::forward(b, x, t, c, layer, cache);
        return Attention::forward(b, x, t, c, layer, cache);
    }
};

}  // namespace typeformer::inline v0
