// typeformer/models/longt5.hpp: LongT5 (`model_type` "longt5"), exported in
// Optimum's layout as T5 is (models/t5.hpp): default, default-with-past,
// seq2seq-lm and seq2seq-lm-with-past.
//
// The decoder, the LM head, the FFN, the norms and the config keys LongT5
// shares with T5 are T5's (layers/t5.hpp, t5_config). The encoder's
// self-attention is LongT5's own, per encoder_attention_type, as
// Transformers 5.23 computes it:
//   - "local" (LocalSelfAttention): the sequence padded with zeros to a
//     multiple of block_len = local_radius + 1 and cut into blocks; each
//     query block attends to its own block and its two neighbours (3 ·
//     block_len keys, zero blocks past either end), where |key − query| <
//     block_len and both tokens are real; the relative position bias of
//     layer 0's table (bidirectional buckets of key − query) plus −1e10 where
//     masked, added to the unscaled scores;
//   - "transient-global" (TransientGlobalSelfAttention): the local
//     attention's keys and values plus side keys and values from one
//     aggregate per global block of global_block_size tokens (the sum of the
//     normed states of its tokens, through global_input_layer_norm, k and v);
//     the tokens' block ids, the orphan tokens of a last incomplete block
//     given to the block before, the global segment ids, and the side bias
//     (layer 0's global_relative_attention_bias of the block distance, −1e10
//     where a token's mask differs from the block's segment id) are
//     Transformers' own steps, in the same float32 arithmetic.
// Every shape that depends on the sequence (the block count, the padding, the
// global block count) is computed in the graph, so one export serves every
// length.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "typeformer/io/config_json.hpp"
#include "typeformer/layers/t5.hpp"
#include "typeformer/models/t5.hpp"

namespace typeformer::inline v0 {

/// LongT5Config: T5's keys (t5_config's rows) and the encoder's attention.
struct longt5_config : t5_config {
    std::int64_t local_radius = 127;
    std::int64_t global_block_size = 16;
    /// encoder_attention_type "transient-global" (else "local")
    bool transient_global = false;

    using base_config = t5_config;
    using self = longt5_config;
    static void read_attention_type(const config_reader& r, longt5_config& c);
    using fields = extend<t5_config::fields, field<"local_radius", &self::local_radius, rule::non_negative>,
                          field<"global_block_size", &self::global_block_size, rule::positive>,
                          internal<&self::transient_global>, reads<&self::read_attention_type>>;

    /// block_len: the local attention's block (and radius + 1)
    [[nodiscard]] constexpr std::int64_t block_len() const { return local_radius + 1; }
};

inline void longt5_config::read_attention_type(const config_reader& r, longt5_config& c) {
    std::string type = c.transient_global ? "transient-global" : "local";
    r.get("encoder_attention_type", type);
    if (type != "local" && type != "transient-global")
        throw error("config.unsupported", r.where() + ": /encoder_attention_type: \"" + type +
                                              "\" is not supported (\"local\" and \"transient-global\" are)");
    c.transient_global = type == "transient-global";
}

inline longt5_config longt5_config_from_json(const config_reader& r) { return load_config<longt5_config>(r); }

namespace detail::longt5 {

/// −1e10, the bias LongT5 gives a masked key (its original implementation's).
inline constexpr float masked = -1e10f;

/// x zero-padded along `axis` to `length` (int64 [1]) ≥ dim(x, axis), which
/// is less than dim + `block`: x, `block` − 1 zero rows, cut to `length`.
template <Backend B>
typename B::value pad_to(B& b, const typename B::value& x, std::int64_t axis, std::int64_t block,
                         const typename B::value& length) {
    if (block == 1) return x;
    const auto rank = static_cast<std::int64_t>(x.rank());
    if (axis < 0) axis += rank;
    std::vector<std::int64_t> rows(static_cast<std::size_t>(rank), 1);
    rows[static_cast<std::size_t>(axis)] = block - 1;
    auto zeros = b.reshape(b.constant_f32(std::vector<float>(static_cast<std::size_t>(block - 1), 0.f)), rows);
    auto zero = b.mul(b.slice(x, axis, 0, 1), b.scalar(0.f));  // x's other dims
    return b.slice_to(b.concat({x, b.add(zero, zeros)}, axis), axis, length);
}

/// Each block of x [B, n, L, ...] with its two neighbours along axis 2:
/// [B, n, 3L, ...], zero blocks before the first and after the last
/// (Transformers' _concatenate_3_blocks).
template <Backend B>
typename B::value three_blocks(B& b, const typename B::value& x) {
    auto zero = b.mul(b.slice(x, 1, 0, 1), b.scalar(0.f));
    auto padded = b.concat({zero, x, zero}, 1);  // [B, n + 2, L, ...]
    return b.concat({b.slice(padded, 1, 0, -2), b.slice(padded, 1, 1, -1),
                     b.slice(padded, 1, 2, std::numeric_limits<std::int64_t>::max())},
                    2);
}

/// What a LongT5 encoder builds once from the attention mask: the block
/// count's padded length, the local mask, and for transient-global the
/// tokens' global block ids and the global segment ids.
template <class V>
struct state {
    V mask;          ///< the attention mask [B, S], int64
    V length;        ///< S, int64 [1]
    V padded;        ///< n · L, int64 [1] (n = ceil(S / L))
    V local_bias;    ///< −1e10 where the local mask is false, else 0: [B, n, 1, L, 3L]
    V block_ids;     ///< transient-global: each token's global block, −1 for none: [B, S] int64
    V global_ids;    ///< 0 .. S / global_block_size − 1: [G] int64
    V segments;      ///< the global blocks' segment ids (1: below the row's highest block id): [B, G] int64
    V position_bias; ///< layer 0's, with the masks: [B, n, H, L, 3L (+ G)]
};

/// The local relative position bias [1, 1, H, L, 3L] from `table`
/// [buckets, H]: query i of a block at 3-block position L + i, key j.
template <Backend B>
typename B::value local_position_bias(B& b, const typename B::value& table, const t5_shape& sh, std::int64_t L) {
    std::vector<std::int64_t> buckets;
    buckets.reserve(static_cast<std::size_t>(3 * L * L));
    for (std::int64_t i = 0; i < L; ++i)
        for (std::int64_t j = 0; j < 3 * L; ++j)
            buckets.push_back(detail::t5::relative_bucket(j - (L + i), true, sh.buckets, sh.max_distance));
    auto bias = b.gather(table, b.reshape(b.constant_i64(buckets), {L, 3 * L}));  // [L, 3L, H]
    return b.unsqueeze(b.transpose(bias, {2, 0, 1}), {0, 1});
}

/// Transformers' _make_global_fixed_block_ids and segment ids, step by step
/// in its arithmetic: the float32 block position ((i + 1)·(1/g) − 1/g, as
/// its cumulative sum rounds it), +1 or −1000 by the mask, −1, floored; −1
/// for padding; tokens past the row's count of complete blocks (counted
/// at the block ends that are real tokens) given to its last one.
template <Backend B>
void global_blocks(B& b, state<typename B::value>& st, std::int64_t g) {
    using V = typename B::value;
    auto guard = b.scope("global_block_ids");
    const V& mask = st.mask;
    auto i64 = [&](const V& x) { return b.cast(x, dtype::i64); };
    auto pos = b.range(mask, 1);  // [S]
    const auto step = b.scalar(1.f / static_cast<float>(g));
    auto fixed = b.sub(b.mul(b.cast(b.add(pos, b.constant_i64({1})), dtype::f32), step), step);
    auto real = b.cast(b.not_equal(mask, b.constant_i64({0})), dtype::f32);
    auto sign = b.sub(b.mul(real, b.scalar(1001.f)), b.scalar(1000.f));  // 1 or −1000
    // non-negative for real tokens, where truncation is floor; padding is −1 below whatever it gives
    auto ids = b.clip(i64(b.sub(b.add(sign, fixed), b.scalar(1.f))), -1, std::numeric_limits<std::int64_t>::max());
    ids = b.add(b.mul(ids, mask), b.sub(mask, b.constant_i64({1})));
    // orphans: the count of block ends (position % g == g − 1) at tokens with an id, minus one
    auto within = b.sub(pos, b.mul(b.div(pos, b.constant_i64({g})), b.constant_i64({g})));
    auto ends = b.mul(i64(b.less(b.constant_i64({g - 2}), within)), i64(b.less(b.constant_i64({-1}), ids)));
    auto full = b.sub(b.unsqueeze(b.select(b.cumsum(ends, 1), 1, -1), {1}), b.constant_i64({1}));  // [B, 1]
    auto below = i64(b.less(ids, full));
    ids = b.add(b.mul(ids, below), b.mul(full, b.sub(b.constant_i64({1}), below)));
    st.block_ids = ids;
    // the global blocks 0 .. S / g − 1, and whether each is at most the row's highest id
    st.global_ids = b.slice_to(pos, 0, b.div(st.length, b.constant_i64({g})));
    auto top = b.gather_last(ids, b.unsqueeze(b.argmax(b.cast(ids, dtype::f32), 1), {1}));  // [B, 1]
    st.segments = i64(b.less(b.unsqueeze(st.global_ids, {0}), b.add(top, b.constant_i64({1}))));
}

/// The side bias [B, n, H, L, G] of layer 0 (global_relative_attention_bias
/// of global block − token block, −1e10 where the token's mask differs from
/// the block's segment id), padded and cut into the query blocks.
template <Backend B>
typename B::value side_bias(B& b, const state<typename B::value>& st, const t5_shape& sh, std::int64_t L) {
    using V = typename B::value;
    V rows;
    {
        auto g = b.scope("global_relative_attention_bias");
        const auto& w = b.param("weight", {sh.buckets, sh.heads});
        rows = b.gather(w, b.constant_i64(detail::t5::bucket_table(true, sh.buckets, sh.max_distance)));
    }
    const auto R = sh.max_distance;
    auto rel = b.sub(b.unsqueeze(st.global_ids, {0, 1}), b.unsqueeze(st.block_ids, {2}));  // [B, S, G]
    auto bias = b.transpose(b.gather(rows, b.add(b.clip(rel, -R, R), b.constant_i64({R}))), {0, 3, 1, 2});
    auto differs = b.cast(b.not_equal(b.unsqueeze(st.mask, {2}), b.unsqueeze(st.segments, {1})), dtype::f32);
    auto side = b.add(b.unsqueeze(b.mul(differs, b.scalar(masked)), {1}), bias);  // [B, H, S, G]
    auto by_block = b.transpose(side, {0, 1, 3, 2});                                 // [B, H, G, S]
    // the shape spelled out: with no global block (S < g) the tensor is empty and −1 is undefined
    auto to = b.concat({b.shape(by_block, 0, 3), b.div(st.padded, b.constant_i64({L})), b.constant_i64({L})}, 0);
    auto blocks = b.reshape(pad_to(b, by_block, 3, L, st.padded), to);  // [B, H, G, n, L]
    return b.transpose(blocks, {0, 3, 1, 4, 2});
}

}  // namespace detail::longt5

/// LongT5's encoder self-attention (t5_encoder's `SelfAttention` hook):
/// LocalSelfAttention or TransientGlobalSelfAttention, by the config.
struct longt5_self_attention {
    template <Backend B>
    static detail::longt5::state<typename B::value> context(B& b, const typename B::value&,
                                                            const typename B::value& mask, const longt5_config& c) {
        using namespace detail::longt5;
        using V = typename B::value;
        auto guard = b.scope("encoder_attention_mask");
        const auto L = c.block_len();
        state<V> st;
        st.mask = mask;
        st.length = b.shape(mask, 1, 2);
        auto block = b.constant_i64({L});
        st.padded = b.mul(b.div(b.add(st.length, b.constant_i64({L - 1})), block), block);
        // the local mask: both tokens real, in a block or its neighbours, and |key − query| < L
        auto real = b.cast(b.not_equal(mask, b.constant_i64({0})), dtype::f32);
        auto blocked = b.reshape(pad_to(b, real, 1, L, st.padded), {0, -1, L});     // [B, n, L]
        auto keys = three_blocks(b, b.unsqueeze(blocked, {3}));                      // [B, n, 3L, 1]
        std::vector<float> near;
        for (std::int64_t i = 0; i < L; ++i)
            for (std::int64_t j = 0; j < 3 * L; ++j) near.push_back(std::abs(j - (L + i)) < L ? 1.f : 0.f);
        auto local = b.mul(b.mul(b.unsqueeze(blocked, {3}), b.transpose(keys, {0, 1, 3, 2})),
                           b.reshape(b.constant_f32(near), {L, 3 * L}));             // [B, n, L, 3L]
        st.local_bias = b.unsqueeze(b.mul(b.sub(b.scalar(1.f), local), b.scalar(masked)), {2});
        if (c.transient_global) global_blocks(b, st, c.global_block_size);
        return st;
    }

    template <Backend B>
    static typename B::value forward(B& b, const typename B::value& x, detail::longt5::state<typename B::value>& st,
                                     std::int64_t layer, const longt5_config& c) {
        using namespace detail::longt5;
        using V = typename B::value;
        const auto sh = c.t5();
        const auto E = sh.width, H = sh.heads, D = sh.head_dim, I = sh.inner(), L = c.block_len();
        auto g = b.scope(c.transient_global ? "TransientGlobalSelfAttention" : "LocalSelfAttention");
        // [B, S, I] -> [B, n, L, H, D]
        auto blocks = [&](const V& y) { return b.reshape(pad_to(b, y, 1, L, st.padded), {0, -1, L, H, D}); };
        auto q = b.transpose(blocks(linear_no_bias(b, "q", x, E, I)), {0, 1, 3, 2, 4});  // [B, n, H, L, D]
        auto k = three_blocks(b, blocks(linear_no_bias(b, "k", x, E, I)));                // [B, n, 3L, H, D]
        auto v = three_blocks(b, blocks(linear_no_bias(b, "v", x, E, I)));
        if (c.transient_global) {
            // one aggregate per global block: the sum of its tokens' states, normed
            auto onehot = b.sub(b.scalar(1.f), b.cast(b.not_equal(b.unsqueeze(st.block_ids, {2}),
                                                                  b.unsqueeze(st.global_ids, {0, 1})),
                                                      dtype::f32));  // [B, S, G]
            auto aggregates = b.matmul(b.transpose(onehot, {0, 2, 1}), x);  // [B, G, E]
            auto globals = rms_norm(b, "global_input_layer_norm", aggregates, E, sh.eps);
            // [B, G, I] -> [B, 1, G, H, D], repeated over the n blocks
            auto tiles = b.mul(b.slice(k, 2, 0, 1), b.scalar(0.f));  // [B, n, 1, H, D] zeros
            auto side = [&](const char* name) {
                return b.add(b.reshape(linear_no_bias(b, name, globals, E, I), {0, 1, -1, H, D}), tiles);
            };
            k = b.concat({k, side("k")}, 2);
            v = b.concat({v, side("v")}, 2);
        }
        if (layer == 0) {
            V table;
            {
                auto t = b.scope("relative_attention_bias");
                table = b.param("weight", {sh.buckets, H});
            }
            st.position_bias = b.add(local_position_bias(b, table, sh, L), st.local_bias);  // [B, n, H, L, 3L]
            if (c.transient_global) st.position_bias = b.concat({st.position_bias, side_bias(b, st, sh, L)}, -1);
        }
        auto scores = b.matmul(q, b.transpose(k, {0, 1, 3, 4, 2}));  // [B, n, H, L, K]
        auto weights = b.softmax(b.add(scores, st.position_bias));
        auto ctx = b.matmul(weights, b.transpose(v, {0, 1, 3, 2, 4}));  // [B, n, H, L, D]
        auto merged = b.reshape(b.transpose(ctx, {0, 1, 3, 2, 4}), {0, -1, I});
        return linear_no_bias(b, "o", b.slice_to(merged, 1, st.length), I, E);
    }
};

/// LongT5: T5's graphs, decoder and LM head (t5_family_layers_of), its encoder's attention.
struct longt5_family : family_base<"longt5", "", longt5_config, &longt5_config_from_json, type_list<>>,
                       t5_family_layers_of<t5_encoder<t5_names, longt5_self_attention>> {
    using features = t5_family_layers_of<t5_encoder<t5_names, longt5_self_attention>>::features;
    /// Validated at atol 5e-5: measured with one graph (--monolith) at 9
    /// decoder tokens, ONNX Runtime and the reference are 2.1e-5 apart, and
    /// Transformers' own float32 is 1.5e-5 from its float64 on the same
    /// inputs: round-off, not a different function.
    static constexpr double atol = 5e-5;
};

}  // namespace typeformer::inline v0
