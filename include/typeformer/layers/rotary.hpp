// typeformer/layers/rotary.hpp: rotary position embeddings for encoder stacks.
//
// RoFormer keeps no absolute positions: q and k (and v, with rotary_value)
// of every layer are turned, pair by pair, by position-dependent angles. The
// sin and cos tables depend only on the sequence, so the stack's context
// policy builds them once per graph and hands them to every block; the
// attention policy applies the `rotary` op.
#pragma once

#include <cstdint>
#include <string_view>

#include "typeformer/layers/encoder.hpp"

namespace typeformer::inline v0 {

/// The context of a rotary stack: the attention bias plus sin and cos [S, D/2].
template <class V>
struct rotary_tables {
    V bias, sin, cos;
    bool rotate_value = false;  // also turn v (RoFormer's rotary_value)
};

/// The config of a rotary encoder says whether v turns too (`rotary_value`).
template <class C>
concept RotaryEncoderConfig = EncoderConfig<C> && requires(const C& c) {
    { c.rotary_value } -> std::convertible_to<bool>;
};

/// Reads the sinusoidal table at `<Names::rotary_table>.weight`
/// [max_positions, head_dim], sines in its first half and cosines in its
/// second (as Transformers stores RoFormer's embed_positions), at positions
/// 0..S-1. `rotate_value` is the config's `rotary_value`.
template <class Names>
struct rotary_context {
    using reads = slots<"hidden_states", "attention_bias">;

    template <Backend B, class Io, RotaryEncoderConfig C>
    static rotary_tables<typename B::value> make(B& b, const Io& s, const C& c) {
        const auto sh = c.shape();
        const auto d = sh.hidden_size / sh.num_heads;
        auto guard = b.scope(Names::rotary_table);
        auto rows = b.gather(b.param("weight", {sh.max_positions, d}), b.range(s[sl::hidden_states], 1));
        auto halves = b.reshape(rows, {0, 2, d / 2});  // [S, 2, D/2]: sines, cosines
        rotary_tables<typename B::value> t{s[sl::attention_bias], b.select(halves, 1, 0), b.select(halves, 1, 1)};
        t.rotate_value = c.rotary_value;
        return t;
    }
};

/// The position transform of self_attention for a rotary stack.
struct rotary_positions {
    template <Backend B>
    static void apply(B& b, typename B::value& q, typename B::value& k, typename B::value& v,
                      const rotary_tables<typename B::value>& t, const encoder_shape& sh) {
        const std::int64_t d = sh.hidden_size / sh.num_heads;
        const rotary_layout l{sh.num_heads, d, d, true};  // interleaved pairs over whole heads
        q = b.rotary(q, t.sin, t.cos, l);
        k = b.rotary(k, t.sin, t.cos, l);
        if (t.rotate_value) v = b.rotary(v, t.sin, t.cos, l);
    }
};

/// BERT's self-attention with rotary positions on q and k (and v).
template <class Names>
using rotary_self_attention = self_attention<Names, rotary_positions>;

}  // namespace typeformer::inline v0
