// typeformer/layers/decoder.hpp: the blocks of a decoder-only language model
// with a KV cache (GPT-2, GPT-Neo, GPT-J, CodeGen, BLOOM, the Llama family).
//
// One stack, one block template and one attention core serve them all; what
// differs is switched by the family's names policy, its config and small
// policies (how q/k/v are projected, which MLP, which norm):
//
//   decoder_stack<Names, Block, Context, Past>   layers <Names::stack>.<i>, the cache in and out
//   decoder_block<Names, Attention, Mlp, Norm, Parallel>
//                                                pre-norm, sequential (GPT-2, Llama) or
//                                                parallel attention + MLP (GPT-J, CodeGen)
//   cached_attention(...)                        rotary (interleaved or half-split, partial),
//                                                past concat, grouped-query heads, causal
//                                                bias or a sliding window per layer, ALiBi
//
// The causal bias, the rotary tables and the ALiBi bias are built once per
// graph by the stack's context (`decoder_context`) from `input_ids`,
// `attention_mask` and `position_ids`; one graph serves the first step
// (past length 0) and every later one: the past length is
// dim(attention_mask, 1) - dim(input_ids, 1), read at run time.
#pragma once

#include <concepts>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/config.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/layers/heads.hpp"
#include "typeformer/tasks/tasks.hpp"
#include "typeformer/ops/composite.hpp"
#include "typeformer/ops/decomposed.hpp"

namespace typeformer::inline v0 {

/// The optional behaviours of a decoder, which a config opts into by name:
///
///   static constexpr decoder_hooks hooks{.rotary = true, .attention_scale = true};
///
/// Each one set needs its member, and each member present needs it set:
///   rotary            rotary_spec rotary() const          rotary sin/cos tables
///   windows           std::int64_t window(std::int64_t layer) const (0: all keys) and
///                     std::int64_t any_window() const (the one span of the windowed layers, 0: none)
///   alibi             bool alibi() const                  BLOOM's ALiBi
///   masks             mask_sum masks() const              how the masks add up (default: single)
///   attention_scale   float attention_scale() const       scales the causal mask (mask_sum::scaled_...)
///   multipliers       decoder_multipliers multipliers() const  Granite's: the embeddings times one,
///                     each sublayer's output times one before its residual add, the logits divided
///   softcaps          decoder_softcaps softcaps() const   Gemma 2's: cap · tanh(x / cap) on the
///                     attention scores and on the logits
///   local_rotary      rotary_spec local_rotary() const    Gemma 3's: a second rotary table, for the
///                     layers with a window (window(layer) > 0; rotary() serves the others); same
///                     dims and layout as rotary(), another base or scaling. Needs rotary and windows.
///   chunks            std::int64_t attention_chunk() const  Llama 4's: the windowed layers
///                     (window(layer) > 0) see the keys of their query's chunk of this many
///                     tokens, counted from each row's first unmasked one (chunked_bias), instead
///                     of a sliding window; 0: the sliding window. Needs windows.
///   kv_sharing        std::int64_t kv_source(std::int64_t layer) const  Gemma 4's shared keys and
///                     values: -1 where the layer computes its own, else the earlier layer whose
///                     keys and values (past included) it attends to, computing none. The cache
///                     (cache().layers) holds only the layers before the first sharing one; the
///                     stack runs num_hidden_layers (shape().num_layers). Sharing layers come last.
/// A misspelt or mistyped member, or a hook set without its member, is a
/// compile error that names the hook (see DecoderConfig).
struct decoder_hooks {
    bool rotary = false;
    bool windows = false;
    bool alibi = false;
    bool masks = false;
    bool attention_scale = false;
    bool multipliers = false;
    bool softcaps = false;
    bool local_rotary = false;
    bool chunks = false;
    bool kv_sharing = false;
};

/// The caps of the softcaps hook (Gemma 2's attn_logit_softcapping and
/// final_logit_softcapping): x becomes cap · tanh(x / cap); 0: none.
struct decoder_softcaps {
    float attention = 0.f;  ///< on the scaled scores, before the masks
    float logits = 0.f;     ///< on the LM head's logits
};

/// The scalar multipliers of the multipliers hook (Granite's
/// embedding_multiplier, residual_multiplier and logits_scaling), applied
/// in float32 as torch applies a Python float to a float32 tensor.
struct decoder_multipliers {
    float embedding = 1.f;       ///< word embeddings × this
    float residual = 1.f;        ///< residual + sublayer output × this
    float logits_divisor = 1.f;  ///< logits ÷ this
};

namespace detail {
template <class C>
consteval bool decoder_hooks_checked();
}  // namespace detail

/// The encoder_shape of a config with GPT2Config's names (vocab_size,
/// n_embd, n_head, n_layer, n_positions, activation_function,
/// layer_norm_epsilon, num_labels) and an `inner()` MLP width: GPT-2's and GPT-J's.
template <class C>
[[nodiscard]] constexpr encoder_shape gpt2_like_shape(const C& c) {
    return {.vocab_size = c.vocab_size,
            .hidden_size = c.n_embd,
            .num_heads = c.n_head,
            .intermediate_size = c.inner(),
            .num_layers = c.n_layer,
            .max_positions = c.n_positions,
            .type_vocab_size = 0,
            .act = c.activation_function,
            .eps = static_cast<float>(c.layer_norm_epsilon),
            .causal = true,
            .num_labels = c.num_labels};
}

/// A decoder config: an encoder_shape view (for the shared heads), its cache,
/// and the hooks it opts into, each with its member (decoder_hooks).
template <class C>
concept DecoderConfig = EncoderConfig<C> && CacheConfig<C> && detail::decoder_hooks_checked<C>();

// ---------------------------------------------------------------------------
// Modules without biases and in GPT-2's Conv1D layout

/// nn.Linear(in, out, bias=False) at `scope`.
template <Backend B>
typename B::value linear_no_bias(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                                 std::int64_t out, std::string_view tied_weight = {}) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {out, in}, tied_weight);
    return b.linear(x, w, nullptr);
}

/// nn.Linear(in, out) with or without its bias.
template <Backend B>
typename B::value linear(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                         std::int64_t out, bool bias) {
    return bias ? dense(b, scope, x, in, out) : linear_no_bias(b, scope, x, in, out);
}

/// GPT-2's Conv1D(out, in) at `scope`: x · weight + bias, weight stored [in, out].
template <Backend B>
typename B::value conv1d_linear(B& b, std::string_view scope, const typename B::value& x, std::int64_t in,
                                std::int64_t out) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {in, out});
    const auto& bias = b.param("bias", {out});
    return b.add(b.matmul(x, w), bias);
}

/// RMSNorm (Llama's, T5's): x / sqrt(mean(x²) + eps) · weight; Gemma's
/// scales by (1 + weight) instead (`plus_one`).
template <Backend B>
typename B::value rms_norm(B& b, std::string_view scope, const typename B::value& x, std::int64_t n, float eps,
                           bool plus_one = false) {
    auto guard = b.scope(scope);
    const auto& w = b.param("weight", {n});
    if (plus_one) return b.rms_norm(x, b.add(w, b.scalar(1.f)), eps);
    return b.rms_norm(x, w, eps);
}

/// RMSNorm as x · (1 / sqrt(mean(x²) + eps)), times `weight` where the
/// module has one (Gemma 4: torch.pow(·, -0.5), which torch computes as the
/// reciprocal of the square root, then a product; rms_norm divides).
template <Backend B>
typename B::value rms_norm_reciprocal(B& b, std::string_view scope, const typename B::value& x, std::int64_t n,
                                      float eps, bool weight = true) {
    auto guard = b.scope(scope);
    auto var = b.unsqueeze(b.reduce_mean(b.mul(x, x), -1), {-1});
    auto normed = b.mul(x, b.div(b.scalar(1.f), b.sqrt(b.add(var, b.scalar(eps)))));
    return weight ? b.mul(normed, b.param("weight", {n})) : normed;
}

/// Which norm a decoder uses.
enum class norm_kind {
    layer_norm,    ///< nn.LayerNorm (weight and bias)
    layer_norm_plain,  ///< nn.LayerNorm(elementwise_affine=False): no weight, no bias (OPT)
    rms,           ///< RMSNorm · weight (Llama, Mistral, Qwen2, Phi-3)
    rms_plus_one,  ///< RMSNorm · (1 + weight) (Gemma)
    rms_reciprocal,  ///< RMSNorm · weight, x times 1 / sqrt(...) (Gemma 4; rms_norm_reciprocal)
};

template <Backend B>
typename B::value norm(B& b, norm_kind k, std::string_view scope, const typename B::value& x, std::int64_t n,
                       float eps) {
    if (k == norm_kind::layer_norm) return layer_norm(b, scope, x, n, eps);
    if (k == norm_kind::layer_norm_plain) {
        auto guard = b.scope(scope);
        return b.layer_norm(x, b.constant_f32(std::vector<float>(static_cast<std::size_t>(n), 1.f)),
                            b.constant_f32(std::vector<float>(static_cast<std::size_t>(n), 0.f)), eps);
    }
    if (k == norm_kind::rms_reciprocal) return rms_norm_reciprocal(b, scope, x, n, eps);
    return rms_norm(b, scope, x, n, eps, k == norm_kind::rms_plus_one);
}

// ---------------------------------------------------------------------------
// Positions, masks, rotary tables

/// The past length, dim(mask, 1) - dim(ids, 1), as an int64 [1].
template <Backend B>
typename B::value past_length(B& b, const typename B::value& ids, const typename B::value& mask) {
    return b.sub(b.shape(mask, 1, 2), b.shape(ids, 1, 2));
}

/// Positions past, past + 1, ..., past + S - 1 as position_ids [1, S]: what
/// Transformers uses when it is not given position_ids (the legacy exporter
/// gave none).
struct decoder_positions {
    using reads = slots<"input_ids", "attention_mask">;
    using writes = slots<"position_ids">;

    template <Backend B, class C>
    static void forward(B& b, io<decoder_positions, typename B::value> s, const C&) {
        auto guard = b.scope("position_ids");
        const auto& ids = s[sl::input_ids];
        s.set(slot<"position_ids">{}, b.unsqueeze(b.add(b.range(ids, 1), past_length(b, ids, s[sl::attention_mask])), {0}));
    }
};

/// A trunk's first layers where the graph takes no position_ids input
/// (`Input` false): decoder_positions; none where it takes them.
template <bool Input>
using decoder_positions_unless = std::conditional_t<Input, type_list<>, type_list<decoder_positions>>;

/// How an architecture's attention combines its masks. The choices give the
/// same result except for a query whose every visible key is padding (a
/// left-padding position), where Transformers' outputs depend on it; they are
/// reproduced, so every output position matches.
enum class mask_sum {
    /// one bias, finfo.min on every hidden key (the Llama family, BLOOM)
    single,
    /// where(causal, scores, min) plus (1 - mask)·min: a future padding key
    /// gets -inf (GPT-2, GPT-J, CodeGen)
    causal_plus_padding,
    /// where(causal, scores, min) · scale plus (1 - mask)·min: the scale
    /// applies to the causal mask too (GPT-J, which scales after masking)
    scaled_causal_plus_padding,
    /// where(causal ∧ window, scores, min) plus min on every future or
    /// padding key (_prepare_4d_causal_attention_mask): a future key gets -inf
    /// (GPT-Neo)
    window_plus_causal_padding,
};

/// The additive bias [B, 1, S, T] of causal self-attention over a cache: key
/// j is visible from the query at absolute position p (= past + i) iff
/// mask[b, j] = 1, j <= p and, with a window `span` > 0, p - j < span.
/// Hidden keys get finfo(float32).min, as Transformers adds, summed as
/// `sum` says.
template <Backend B>
typename B::value causal_bias(B& b, const typename B::value& ids, const typename B::value& mask, std::int64_t span,
                              mask_sum sum = mask_sum::single, float scale = 1.f) {
    auto col = b.unsqueeze(b.range(mask, 1), {0});                                          // [1, T]
    auto row = b.unsqueeze(b.add(b.range(ids, 1), past_length(b, ids, mask)), {1});         // [S, 1]
    auto causal = b.cast(b.less(col, b.add(row, b.constant_i64({1}))), dtype::f32);          // j <= p
    auto seen = causal;
    if (span > 0) seen = b.mul(seen, b.cast(b.less(b.sub(row, col), b.constant_i64({span})), dtype::f32));
    auto keep = b.cast(b.unsqueeze(mask, {1, 2}), dtype::f32);                               // [B, 1, 1, T]
    auto lowest = b.scalar(-3.4028234663852886e38f);
    auto hidden = [&](const typename B::value& m) { return b.mul(b.sub(b.scalar(1.f), m), lowest); };
    switch (sum) {
        case mask_sum::causal_plus_padding: return b.add(hidden(seen), hidden(keep));
        case mask_sum::scaled_causal_plus_padding:
            return b.add(b.mul(hidden(seen), b.scalar(scale)), hidden(keep));
        case mask_sum::window_plus_causal_padding: return b.add(hidden(seen), hidden(b.mul(keep, causal)));
        case mask_sum::single: break;
    }
    return hidden(b.mul(keep, seen));                                                        // [B, 1, S, T]
}

/// The additive bias [B, 1, S, T] of chunked causal attention (Llama 4's
/// chunked_attention layers, as Transformers' create_chunked_causal_mask
/// builds it): key j is visible from the query at absolute position p iff
/// mask[b, j] = 1, j <= p and (j - l) // chunk == (p - l) // chunk, where l
/// is row b's count of leading masked tokens (its left padding). For j <= p
/// the last is j >= p - ((p - l) mod chunk); a query inside the left padding
/// (p < l) sees no key either way. Hidden keys get finfo(float32).min.
template <Backend B>
typename B::value chunked_bias(B& b, const typename B::value& ids, const typename B::value& mask, std::int64_t chunk) {
    auto col = b.unsqueeze(b.range(mask, 1), {0});                                   // [1, T]
    auto row = b.unsqueeze(b.add(b.range(ids, 1), past_length(b, ids, mask)), {1});  // [S, 1]
    auto causal = b.cast(b.less(col, b.add(row, b.constant_i64({1}))), dtype::f32);   // [S, T]
    // l: the index of the first unmasked key (argmax of the mask; a row without one sees nothing anyway)
    auto lead = b.unsqueeze(b.argmax(b.cast(mask, dtype::f32), 1), {1, 2});          // [B, 1, 1]
    auto rel = b.sub(row, lead);                                                      // [B, S, 1]: p - l
    rel = b.sub(rel, b.mul(rel, b.cast(b.less(rel, b.constant_i64({0})), dtype::i64)));  // max(p - l, 0)
    auto c = b.constant_i64({chunk});
    auto start = b.sub(row, b.sub(rel, b.mul(b.div(rel, c), c)));                     // p - ((p - l) mod chunk)
    auto in_chunk = b.sub(b.scalar(1.f), b.cast(b.less(col, start), dtype::f32));    // [B, S, T]
    auto keep = b.cast(b.unsqueeze(mask, {1}), dtype::f32);                           // [B, 1, T]
    auto seen = b.mul(b.mul(causal, in_chunk), keep);                                 // [B, S, T]
    auto hidden = b.mul(b.sub(b.scalar(1.f), seen), b.scalar(-3.4028234663852886e38f));
    return b.unsqueeze(hidden, {1});                                                  // [B, 1, S, T]
}

/// Rotary position embeddings as a config states them.
struct rotary_spec {
    std::int64_t dims = 0;      ///< rotated features per head (the first `dims`); 0: no rotary
    double base = 10000.0;      ///< θ of inv_freq = 1 / θ^(2i / dims)
    bool interleaved = false;   ///< pairs (2i, 2i+1) (GPT-J, CodeGen) or halves (i, i + dims/2) (Llama)
    /// With interleaved: the turned pairs written back as halves (y_2i at i,
    /// y_2i+1 at i + dims/2), as DeepSeek-V3's apply_rotary_pos_emb_interleave writes them.
    bool halves_out = false;
    double position_scale = 1;  ///< linear scaling: positions divided by this factor
    /// Per-frequency divisors of inv_freq (Phi-3's "su"/longrope short or long
    /// factors); empty: none.
    std::vector<double> inv_freq_divisors{};
    /// Phi-3's long factors and the length past which they apply.
    std::vector<double> long_inv_freq_divisors{};
    std::int64_t original_max_positions = 0;
    double attention_factor = 1;  ///< sin and cos scaled by this (longrope's and yarn's mscale)
    /// The inverse frequencies themselves (R/2 of them), where a scaling
    /// computes them (llama3, yarn); empty: from base and the divisors.
    std::vector<float> inv_freq{};
};

/// inv_freq as Transformers' rope init functions compute it, in float32
/// (torch: θ raised to a float32 arange over dims, times the factor, then
/// the reciprocal): 1 / (divisor_i · θ^(float(2i) / dims)), divisor_i from
/// `divisors` (Phi-3's factors) or 1.
inline std::vector<float> rotary_inv_freq(const rotary_spec& r, const std::vector<double>& divisors) {
    std::vector<float> f(static_cast<std::size_t>(r.dims / 2));
    for (std::size_t i = 0; i < f.size(); ++i) {
        const float e = static_cast<float>(2 * i) / static_cast<float>(r.dims);
        const float divisor = divisors.empty() ? 1.0f : static_cast<float>(divisors[i]);
        f[i] = 1.0f / (divisor * std::pow(static_cast<float>(r.base), e));
    }
    return f;
}

/// What a decoder stack hands every block: the causal bias, the windowed
/// bias (when some layer has a window), the rotary sin/cos [.., S, R/2]
/// (when rotary), those of the windowed layers (the local_rotary hook), an
/// ALiBi bias [B, H, 1, T] (BLOOM) and, where a family's context makes them,
/// per-layer inputs (Gemma 4's [B, S, P], by layer; empty: none).
template <class V>
struct decoder_tables {
    V bias;
    V local_bias;
    bool has_local = false;
    V sin, cos;
    bool has_rotary = false;
    V local_sin, local_cos;
    bool has_local_rotary = false;
    V alibi;
    bool has_alibi = false;
    /// A hybrid decoder's (LinearCacheConfig) recurrent layers zero the
    /// padding tokens of their input: [B, S, 1], 1 at a token, 0 at
    /// padding; 1 everywhere for a single new token (Transformers'
    /// create_recurrent_attention_mask: a decode step is never masked).
    V token_mask;
    bool has_token_mask = false;
    V position_ids;  ///< the positions the tables were made for, with the rotary hook (Mistral 4's query scaling reads them)
    std::vector<V> per_layer{};
};

namespace detail {
/// The hooks a config opts into (none when it declares no `hooks`).
template <class C>
constexpr decoder_hooks hooks_of() {
    if constexpr (requires { { C::hooks } -> std::convertible_to<decoder_hooks>; }) return C::hooks;
    else return {};
}

/// Every hook set has its member, well typed; every member present has its
/// hook set. One static_assert per hook, in the hook's name.
template <class C>
consteval bool decoder_hooks_checked() {
    constexpr decoder_hooks h = hooks_of<C>();
    constexpr bool rotary = requires(const C& c) { c.rotary(); };
    static_assert(h.rotary == rotary,
                  "decoder hook rotary: a config declares `rotary_spec rotary() const` iff it sets hooks.rotary");
    static_assert(!rotary || requires(const C& c) { { c.rotary() } -> std::same_as<rotary_spec>; },
                  "decoder hook rotary: rotary() returns a rotary_spec");
    constexpr bool windows = requires(const C& c) { c.window(std::int64_t{}); };
    constexpr bool any_window = requires(const C& c) { c.any_window(); };
    static_assert(h.windows == windows && h.windows == any_window,
                  "decoder hook windows: a config declares `std::int64_t window(std::int64_t layer) const` and "
                  "`std::int64_t any_window() const` iff it sets hooks.windows");
    static_assert(!windows || !any_window || requires(const C& c) {
        { c.window(std::int64_t{}) } -> std::same_as<std::int64_t>;
        { c.any_window() } -> std::same_as<std::int64_t>;
    }, "decoder hook windows: window(layer) and any_window() return std::int64_t");
    constexpr bool alibi = requires(const C& c) { c.alibi(); };
    static_assert(h.alibi == alibi, "decoder hook alibi: a config declares `bool alibi() const` iff it sets hooks.alibi");
    static_assert(!alibi || requires(const C& c) { { c.alibi() } -> std::same_as<bool>; },
                  "decoder hook alibi: alibi() returns bool");
    constexpr bool masks = requires(const C& c) { c.masks(); };
    static_assert(h.masks == masks, "decoder hook masks: a config declares `mask_sum masks() const` iff it sets hooks.masks");
    static_assert(!masks || requires(const C& c) { { c.masks() } -> std::same_as<mask_sum>; },
                  "decoder hook masks: masks() returns a mask_sum");
    constexpr bool scale = requires(const C& c) { c.attention_scale(); };
    static_assert(h.attention_scale == scale,
                  "decoder hook attention_scale: a config declares `float attention_scale() const` iff it sets "
                  "hooks.attention_scale");
    static_assert(!scale || requires(const C& c) { { c.attention_scale() } -> std::same_as<float>; },
                  "decoder hook attention_scale: attention_scale() returns float");
    constexpr bool multipliers = requires(const C& c) { c.multipliers(); };
    static_assert(h.multipliers == multipliers,
                  "decoder hook multipliers: a config declares `decoder_multipliers multipliers() const` iff it sets "
                  "hooks.multipliers");
    static_assert(!multipliers || requires(const C& c) { { c.multipliers() } -> std::same_as<decoder_multipliers>; },
                  "decoder hook multipliers: multipliers() returns a decoder_multipliers");
    constexpr bool softcaps = requires(const C& c) { c.softcaps(); };
    static_assert(h.softcaps == softcaps,
                  "decoder hook softcaps: a config declares `decoder_softcaps softcaps() const` iff it sets "
                  "hooks.softcaps");
    static_assert(!softcaps || requires(const C& c) { { c.softcaps() } -> std::same_as<decoder_softcaps>; },
                  "decoder hook softcaps: softcaps() returns a decoder_softcaps");
    constexpr bool local_rotary = requires(const C& c) { c.local_rotary(); };
    static_assert(h.local_rotary == local_rotary,
                  "decoder hook local_rotary: a config declares `rotary_spec local_rotary() const` iff it sets "
                  "hooks.local_rotary");
    static_assert(!local_rotary || requires(const C& c) { { c.local_rotary() } -> std::same_as<rotary_spec>; },
                  "decoder hook local_rotary: local_rotary() returns a rotary_spec");
    static_assert(!h.local_rotary || (h.rotary && h.windows),
                  "decoder hook local_rotary: the windowed layers' rotary table needs hooks.rotary and hooks.windows");
    constexpr bool kv_sharing = requires(const C& c) { c.kv_source(std::int64_t{}); };
    static_assert(h.kv_sharing == kv_sharing,
                  "decoder hook kv_sharing: a config declares `std::int64_t kv_source(std::int64_t layer) const` iff "
                  "it sets hooks.kv_sharing");
    static_assert(!kv_sharing || requires(const C& c) { { c.kv_source(std::int64_t{}) } -> std::same_as<std::int64_t>; },
                  "decoder hook kv_sharing: kv_source(layer) returns std::int64_t");
    constexpr bool chunks = requires(const C& c) { c.attention_chunk(); };
    static_assert(h.chunks == chunks,
                  "decoder hook chunks: a config declares `std::int64_t attention_chunk() const` iff it sets "
                  "hooks.chunks");
    static_assert(!chunks || requires(const C& c) { { c.attention_chunk() } -> std::same_as<std::int64_t>; },
                  "decoder hook chunks: attention_chunk() returns std::int64_t");
    static_assert(!h.chunks || h.windows, "decoder hook chunks: the chunked layers are the windowed ones (hooks.windows)");
    return true;
}

template <class C>
std::int64_t any_window(const C& c) {
    if constexpr (hooks_of<C>().windows) return c.any_window();
    else return 0;
}
template <class C>
mask_sum mask_sum_of(const C& c) {
    if constexpr (hooks_of<C>().masks) return c.masks();
    else return mask_sum::single;
}
template <class C>
float mask_scale_of(const C& c) {
    if constexpr (hooks_of<C>().attention_scale) return c.attention_scale();
    else return 1.f;
}
template <class C>
std::int64_t attention_chunk_of(const C& c) {
    if constexpr (hooks_of<C>().chunks) return c.attention_chunk();
    else return 0;
}
template <class C>
std::int64_t window_of(const C& c, std::int64_t layer) {
    if constexpr (hooks_of<C>().windows) return c.window(layer);
    else return 0;
}
/// The softcaps hook's cap on the attention scores (0: none).
template <class C>
float attention_softcap(const C& c) {
    if constexpr (hooks_of<C>().softcaps) return c.softcaps().attention;
    else return 0.f;
}
/// cap · tanh(x / cap), as Transformers computes it (divide, tanh, multiply).
template <Backend B>
typename B::value softcap(B& b, const typename B::value& x, float cap) {
    return b.mul(b.tanh(b.div(x, b.scalar(cap))), b.scalar(cap));
}
/// A sublayer's output as it joins the residual: times the multipliers hook's residual.
template <Backend B, class C>
typename B::value to_residual(B& b, const C& c, const typename B::value& y) {
    if constexpr (hooks_of<C>().multipliers) return b.mul(y, b.scalar(c.multipliers().residual));
    else return y;
}
}  // namespace detail

/// ALiBi slopes of `heads` heads (BLOOM's build_alibi_tensor), float32.
/// As there, the bases are float32 tensors (rounded before the powers are
/// taken): torch's vectorised powf may still differ from this correctly
/// rounded power by 1 ulp (16 heads and more).
inline std::vector<float> alibi_slopes(std::int64_t heads) {
    std::int64_t closest = 1;
    while (closest * 2 <= heads) closest *= 2;
    const double base = static_cast<float>(std::pow(2.0, -std::pow(2.0, -(std::log2(static_cast<double>(closest)) - 3))));
    std::vector<float> s;
    for (std::int64_t i = 1; i <= closest; ++i) s.push_back(static_cast<float>(std::pow(base, static_cast<double>(i))));
    if (closest != heads) {
        const double extra =
            static_cast<float>(std::pow(2.0, -std::pow(2.0, -(std::log2(static_cast<double>(2 * closest)) - 3))));
        const std::int64_t rest = std::min(closest, heads - closest);
        for (std::int64_t i = 0; i < rest; ++i)
            s.push_back(static_cast<float>(std::pow(extra, static_cast<double>(1 + 2 * i))));
    }
    return s;
}

/// The ALiBi bias [B, H, 1, T] from the attention mask [B, T]: slope_h ·
/// ((cumsum(mask) - 1) · mask), each key's position among the unmasked
/// tokens. With `bfloat16` (Falcon's build_alibi_tensor), as torch computes
/// it in bfloat16: the slopes and the positions rounded to bfloat16, then
/// their product.
template <Backend B>
typename B::value alibi_bias(B& b, const typename B::value& mask, std::int64_t heads, bool bfloat16 = false) {
    auto slopes = b.constant_f32(alibi_slopes(heads));                                            // [H]
    auto pos = b.cast(b.mul(b.sub(b.cumsum(mask, -1), b.constant_i64({1})), mask), dtype::f32);  // [B, T]
    if (bfloat16) slopes = b.round_bf16(slopes), pos = b.round_bf16(pos);
    auto alibi = b.mul(b.unsqueeze(slopes, {0, 2, 3}), b.unsqueeze(pos, {1, 2}));
    return bfloat16 ? b.round_bf16(alibi) : alibi;
}

/// The default context of a decoder stack (see decoder_tables). Reads
/// input_ids, attention_mask and position_ids.
struct decoder_context {
    using reads = slots<"input_ids", "attention_mask", "position_ids">;

    template <Backend B, class Io, DecoderConfig C>
    static decoder_tables<typename B::value> make(B& b, const Io& s, const C& c) {
        decoder_tables<typename B::value> t;
        const auto& ids = s[sl::input_ids];
        const auto& mask = s[sl::attention_mask];
        {
            auto guard = b.scope("causal_mask");
            t.bias = causal_bias(b, ids, mask, 0, detail::mask_sum_of(c), detail::mask_scale_of(c));
            if (const auto w = detail::any_window(c); w > 0) {
                auto g = b.scope("window");
                if (const auto chunk = detail::attention_chunk_of(c); chunk > 0)
                    t.local_bias = chunked_bias(b, ids, mask, chunk);
                else
                    t.local_bias = causal_bias(b, ids, mask, w, detail::mask_sum_of(c), detail::mask_scale_of(c));
                t.has_local = true;
            }
        }
        if constexpr (detail::hooks_of<C>().rotary) {
            t.position_ids = s[slot<"position_ids">{}];
            const rotary_spec r = c.rotary();
            if (r.dims > 0) {
                auto guard = b.scope("rotary_emb");
                rotary_tables(b, r, s[slot<"position_ids">{}], t.sin, t.cos);
                t.has_rotary = true;
            }
            if constexpr (detail::hooks_of<C>().local_rotary) {
                const rotary_spec local = c.local_rotary();
                // the same features, unless the windowed layers' head size is not the others' (a cache with
                // sizes of its own on some layers: Gemma 4's full-attention layers)
                const auto kv = c.cache();
                if ((local.dims != r.dims && kv.uniform()) || local.interleaved != r.interleaved)
                    throw error("config.invalid", "local_rotary: the windowed layers' rotary table must turn the "
                                                  "same features in the same layout as rotary()'s");
                if (r.dims > 0 && detail::any_window(c) > 0) {
                    auto guard = b.scope("rotary_emb_local");
                    rotary_tables(b, local, s[slot<"position_ids">{}], t.local_sin, t.local_cos);
                    t.has_local_rotary = true;
                }
            }
        }
        if constexpr (detail::hooks_of<C>().alibi) {
            if (c.alibi()) {
                auto guard = b.scope("alibi");
                t.alibi = alibi_bias(b, mask, c.shape().num_heads);
                t.has_alibi = true;
            }
        }
        if constexpr (LinearCacheConfig<C>) {
            auto guard = b.scope("token_mask");
            // the mask's last S columns: positions past .. past + S - 1
            auto cols = b.add(b.range(ids, 1), past_length(b, ids, mask));                         // [S]
            auto keep = b.transpose(b.gather(b.transpose(b.cast(mask, dtype::f32), {1, 0}), cols), {1, 0});  // [B, S]
            auto single = b.cast(b.less(b.shape(ids, 1, 2), b.constant_i64({2})), dtype::f32);   // [1]: S == 1
            keep = b.sub(b.add(keep, single), b.mul(keep, single));                                 // keep or single
            t.token_mask = b.unsqueeze(keep, {-1});
            t.has_token_mask = true;
        }
        return t;
    }

private:
    template <Backend B>
    static void rotary_tables(B& b, const rotary_spec& r, const typename B::value& position_ids,
                              typename B::value& sin, typename B::value& cos) {
        auto pos = b.unsqueeze(b.cast(position_ids, dtype::f32), {-1});  // [.., S, 1]
        if (r.position_scale != 1.0) pos = b.div(pos, b.scalar(static_cast<float>(r.position_scale)));
        auto inv = b.constant_f32(r.inv_freq.empty() ? rotary_inv_freq(r, r.inv_freq_divisors) : r.inv_freq);  // [R/2]
        if (!r.long_inv_freq_divisors.empty()) {
            // Phi-3 "su"/"yarn" (Transformers 4.41): the long factors when
            // max(position_ids) + 1 > original_max_position_embeddings, i.e.
            // when any position of this call is >= the original context (over
            // the whole batch, per forward call: a cache keeps its keys as
            // they were rotated), chosen at run time
            auto inv_long = b.constant_f32(rotary_inv_freq(r, r.long_inv_freq_divisors));
            auto beyond = b.cast(b.less(b.constant_i64({r.original_max_positions - 1}),
                                        b.reshape(position_ids, {1, -1})), dtype::f32);           // [1, B·S]
            auto use_long = b.cast(b.less(b.scalar(0.f), b.reduce_mean(beyond, -1)), dtype::f32);  // [1]
            inv = b.add(b.mul(inv_long, use_long), b.mul(inv, b.sub(b.scalar(1.f), use_long)));
        }
        auto angles = b.mul(pos, inv);  // [.., S, R/2]
        sin = b.sin(angles);
        cos = b.cos(angles);
        if (r.attention_factor != 1.0) {
            sin = b.mul(sin, b.scalar(static_cast<float>(r.attention_factor)));
            cos = b.mul(cos, b.scalar(static_cast<float>(r.attention_factor)));
        }
    }
};

/// Rotary embedding on the first r.dims features of every head of x
/// [B, S, N·D], with sin and cos [.., S, R/2] ([S, R/2] or [B, S, R/2]): the
/// rotary op.
///   interleaved: pairs (2i, 2i+1) turn by angle i (GPT-J's rotate_every_two);
///   half-split:  pairs (i, i + R/2) (Llama's rotate_half).
/// With halves_out (DeepSeek-V3's apply_rotary_pos_emb_interleave, pairs
/// (2i, 2i+1) written back at (i, i + R/2)): the features de-interleaved
/// first (evens, then odds), then turned half-split, which is the same
/// arithmetic.
template <Backend B>
typename B::value apply_rotary(B& b, const typename B::value& x, const typename B::value& sin,
                               const typename B::value& cos, std::int64_t heads, std::int64_t head_dim,
                               const rotary_spec& r) {
    const std::int64_t R = r.dims;
    if (!(r.interleaved && r.halves_out)) return b.rotary(x, sin, cos, {heads, head_dim, R, r.interleaved});
    auto xh = b.reshape(x, {0, 0, heads, head_dim});  // [B, S, N, D]
    auto rot = R < head_dim ? b.slice(xh, -1, 0, R) : xh;
    auto halves = b.reshape(b.transpose(b.reshape(rot, {0, 0, 0, R / 2, 2}), {0, 1, 2, 4, 3}), {0, 0, 0, R});
    if (R < head_dim) halves = b.concat({halves, b.slice(xh, -1, R, head_dim)}, -1);
    return b.rotary(b.reshape(halves, {0, 0, heads * head_dim}), sin, cos, {heads, head_dim, R, false});
}

// ---------------------------------------------------------------------------
// The attention core

/// One layer's cache: the past it was given (null on a model without past
/// inputs) and the present it returns, both [B, KVH, T, D]. A recurrent
/// layer of a hybrid decoder (layers/gated_delta.hpp) keeps its states
/// there instead: key its convolution's state, value its recurrent state.
template <class V>
struct layer_cache {
    const V* past_key = nullptr;
    const V* past_value = nullptr;
    V key, value;
    /// An earlier layer's keys and values [B, KVH, T, D] (past included)
    /// that this layer attends to instead of its own (the kv_sharing hook);
    /// it then writes no key or value.
    const V* shared_key = nullptr;
    const V* shared_value = nullptr;
};

/// Self-attention over a cache, from projected q [B, S, H·D] and k, v
/// [B, S, KVH·D]: rotary on q and k when the tables have it and `rotate`,
/// past keys and values prepended (the result is the layer's present),
/// grouped-query heads (H / KVH query heads share one key/value head),
/// scores scaled, plus ALiBi, plus the causal (or, with `local`, the
/// windowed) bias; softmax; the weighted values merged back to [B, S, H·D].
/// The core is the grouped_attention op (ONNX's Attention from opset 23).
/// With `local`, the rotary tables are the windowed layers' where the
/// tables have them (the local_rotary hook). With `sinks` ([H], GPT-OSS's
/// and Granite SWA's learned attention sinks), each head's softmax takes
/// one more logit, its sink, whose share is dropped: the probabilities are
/// exp(s_j) / (sum_j exp(s_j) + exp(sink)), as Transformers' softmax(s) ·
/// sigmoid(logsumexp(s) - sink) scales them (composed at every opset).
template <Backend B>
typename B::value cached_attention(B& b, typename B::value q, typename B::value k, const typename B::value& v,
                                   const decoder_tables<typename B::value>& t, layer_cache<typename B::value>& cache,
                                   const attention_dims& a, const rotary_spec* rotate, bool local,
                                   const typename B::value* sinks = nullptr) {
    const std::int64_t H = a.heads, KVH = a.kv_heads, D = a.head_dim;
    if (rotate && t.has_rotary) {
        auto guard = b.scope("rotary");
        const bool own = local && t.has_local_rotary;
        const auto& sin = own ? t.local_sin : t.sin;
        const auto& cos = own ? t.local_cos : t.cos;
        q = apply_rotary(b, q, sin, cos, H, D, *rotate);
        if (!cache.shared_key) k = apply_rotary(b, k, sin, cos, KVH, D, *rotate);
    }
    auto heads_first = [&](const typename B::value& x, std::int64_t n) {
        return b.transpose(b.reshape(x, {0, 0, n, D}), {0, 2, 1, 3});  // [B, n, S, D]
    };
    typename B::value kh, vh;
    if (cache.shared_key) {  // another layer's keys and values, past included (kv_sharing); k and v unused
        kh = *cache.shared_key;
        vh = *cache.shared_value;
    } else {
        kh = heads_first(k, KVH);
        vh = heads_first(v, KVH);
        if (cache.past_key) {
            kh = b.concat({*cache.past_key, kh}, 2);
            vh = b.concat({*cache.past_value, vh}, 2);
        }
        cache.key = kh;
        cache.value = vh;
    }
    auto bias = local ? t.local_bias : t.bias;     // [B, 1, S, T]
    if (t.has_alibi) bias = b.add(t.alibi, bias);  // [B, H, S, T]
    auto qh = heads_first(q, H);
    typename B::value ctx;  // [B, H, S, D]
    if (sinks) {
        // ONNX's Attention has no sink logit: composed at every opset. The
        // sink [1, H, 1, 1] expanded to [B, H, S, 1]
        auto scores = decomposed::attention_scores(b, qh, kh, &bias, a);
        auto sink = b.expand(b.reshape(*sinks, {1, H, 1, 1}), b.concat({b.shape(scores, 0, 3), b.constant_i64({1})}, 0));
        auto keys = b.shape(scores, 3, 4);  // [1]: T
        auto probs = b.slice_to(b.softmax(b.concat({scores, sink}, -1)), -1, keys);
        ctx = decomposed::attention_context(b, probs, vh, a);
    } else {
        ctx = b.grouped_attention(qh, kh, vh, &bias, a);
    }
    ctx = b.transpose(ctx, {0, 2, 1, 3});  // [B, S, H, D]
    return b.reshape(ctx, {0, 0, H * D});
}

// ---------------------------------------------------------------------------
// Attention policies (an attention policy has
//   forward(b, x, tables, config, layer, cache) -> [B, S, hidden])

namespace detail {
/// What the Llama family's attention policies share after their
/// projections q [B, S, H·D], k and v [B, S, KVH·D]: the cached attention in
/// the scope `attention` (rotary when `rotate`, grouped-query heads, the
/// config's scale and softcap, the windowed bias on a layer with a window),
/// a learned sink logit per head joined to each softmax where `sinks`
/// (`<attention>.sinks`, GPT-OSS), times sigmoid(gate) where given
/// (Qwen3-Next's gated attention), then
/// the output Linear `o` (a bias when the config's o_bias()).
template <Backend B, DecoderConfig C>
typename B::value attend_and_project(B& b, std::string_view attention, std::string_view o,
                                     const typename B::value& q, const typename B::value& k,
                                     const typename B::value& v, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache,
                                     bool rotate, const typename B::value* gate = nullptr, bool sinks = false) {
    const auto sh = c.shape();
    const auto kv = c.cache().of_layer(layer);
    const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
    rotary_spec r;
    if constexpr (hooks_of<C>().local_rotary) r = window_of(c, layer) > 0 && t.has_local_rotary ? c.local_rotary() : c.rotary();
    else r = c.rotary();
    typename B::value out;
    {
        auto guard = b.scope(attention);
        typename B::value sink;
        if (sinks) sink = b.param("sinks", {H});
        out = cached_attention(b, q, k, v, t, cache, {H, KVH, D, c.attention_scale(), attention_softcap(c)},
                               rotate ? &r : nullptr, window_of(c, layer) > 0, sinks ? &sink : nullptr);
        if (gate) out = b.mul(out, b.sigmoid(*gate));
    }
    return linear(b, o, out, H * D, sh.hidden_size, c.o_bias());
}
}  // namespace detail

/// Llama's attention: q, k, v and o Linears, biases on q, k, v when the
/// config's qkv_bias() says (Qwen2: always; Llama: `attention_bias`), and o's
/// when o_bias() says; rotary from the config (`PerLayerRope`: on the layers
/// the config's rope_layer(layer) names, SmolLM3); grouped-query heads;
/// scale 1/√head_dim; the windowed bias on layers with a window; with
/// `Sinks`, a learned sink logit per head, `<attention>.sinks` [heads],
/// joined to each softmax (GPT-OSS; cached_attention).
/// Names: `q`, `k`, `v`, `o`, `attention` (the scope of the core).
template <class Names, bool PerLayerRope = false, bool Sinks = false>
struct projected_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const auto kv = c.cache();
        const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
        const bool qkv_bias = c.qkv_bias();
        auto q = linear(b, Names::q, x, sh.hidden_size, H * D, qkv_bias);
        auto k = linear(b, Names::k, x, sh.hidden_size, KVH * D, qkv_bias);
        auto v = linear(b, Names::v, x, sh.hidden_size, KVH * D, qkv_bias);
        bool rotate = true;
        if constexpr (PerLayerRope) rotate = c.rope_layer(layer);
        return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, rotate, nullptr,
                                          Sinks);
    }
};

/// projected_attention with q and k RMS-normalised before the rotary
/// embeddings: `Names::q_norm` / `Names::k_norm` over each head's head_dim
/// features (`PerHead`: Qwen3, Gemma 3, a weight [head_dim]) or over the
/// whole projection (OLMo 2: a weight [heads · head_dim]), eps the config's,
/// scaled by (1 + weight) where the config's norm() is Gemma's; rotary on
/// every layer, or (`PerLayerRope`, EXAONE 4) on those the config's
/// rope_layer(layer) names.
/// `Gated` (Qwen3-Next, Qwen3.5): `Names::q` projects to twice the heads,
/// each head's head_dim query features then head_dim gate features; the
/// attention's output is multiplied by sigmoid(gate) before `o`.
template <class Names, bool PerHead, bool Gated = false, bool PerLayerRope = false>
struct qk_normed_attention {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const auto kv = c.cache();
        const std::int64_t H = sh.num_heads, D = kv.head_dim, KVH = kv.kv_heads;
        const bool qkv_bias = c.qkv_bias();
        const bool plus_one = c.norm() == norm_kind::rms_plus_one;
        auto normed = [&](std::string_view scope, const typename B::value& y, std::int64_t heads) {
            if constexpr (PerHead)
                return b.reshape(rms_norm(b, scope, b.reshape(y, {0, 0, heads, D}), D, sh.eps, plus_one),
                                 {0, 0, heads * D});
            else
                return rms_norm(b, scope, y, heads * D, sh.eps, plus_one);
        };
        auto k = normed(Names::k_norm, linear(b, Names::k, x, sh.hidden_size, KVH * D, qkv_bias), KVH);
        auto v = linear(b, Names::v, x, sh.hidden_size, KVH * D, qkv_bias);
        bool rotate = true;
        if constexpr (PerLayerRope) rotate = c.rope_layer(layer);
        if constexpr (Gated) {
            auto qg = b.reshape(linear(b, Names::q, x, sh.hidden_size, 2 * H * D, qkv_bias), {0, 0, H, 2 * D});
            auto gate = b.reshape(b.slice(qg, -1, D, 2 * D), {0, 0, H * D});
            auto q = normed(Names::q_norm, b.reshape(b.slice(qg, -1, 0, D), {0, 0, H * D}), H);
            return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, rotate,
                                              &gate);
        } else {
            auto q = normed(Names::q_norm, linear(b, Names::q, x, sh.hidden_size, H * D, qkv_bias), H);
            return detail::attend_and_project(b, Names::attention, Names::o, q, k, v, t, c, layer, cache, rotate);
        }
    }
};

// ---------------------------------------------------------------------------
// MLP policies (forward(b, x, config) -> [B, S, hidden])

/// Linear, activation, Linear, both with biases (GPT-Neo, GPT-J, BLOOM), or
/// with them where the config's bool member `Bias` says (OPT's
/// `&opt_config::enable_bias`, Falcon's `mlp_bias` read from `bias`). Names: `fc_in`, `fc_out`; the activation
/// is the config's hidden_act.
template <class Names, auto Bias = true>
struct plain_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        const auto sh = c.shape();
        bool bias = true;
        if constexpr (std::is_same_v<decltype(Bias), bool>) bias = Bias;
        else bias = c.*Bias;
        auto h = activate(b, sh.act, linear(b, Names::fc_in, x, sh.hidden_size, sh.intermediate_size, bias));
        return linear(b, Names::fc_out, h, sh.intermediate_size, sh.hidden_size, bias);
    }
};

/// down(act(gate(x)) · up(x)), no biases (Llama, Mistral, Qwen2, Gemma).
/// Names: `gate`, `up`, `down`.
template <class Names>
struct gated_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        const auto sh = c.shape();
        auto g = activate(b, sh.act, linear_no_bias(b, Names::gate, x, sh.hidden_size, sh.intermediate_size));
        auto u = linear_no_bias(b, Names::up, x, sh.hidden_size, sh.intermediate_size);
        return linear_no_bias(b, Names::down, b.mul(g, u), sh.intermediate_size, sh.hidden_size);
    }
};

/// How a router turns its logits into scores.
enum class moe_scoring : std::uint8_t {
    softmax,  ///< over the experts, float32 (Mixtral, Qwen3-MoE, Mistral 4)
    sigmoid,  ///< each expert on its own (DeepSeek-V3)
};

/// The routing of a sparse mixture-of-experts MLP (a config's `moe()`).
struct moe_spec {
    std::int64_t experts = 0;       ///< num_local_experts, num_experts
    std::int64_t top_k = 0;         ///< num_experts_per_tok
    std::int64_t intermediate = 0;  ///< each expert's gated MLP width
    bool normalize = true;          ///< the top-k weights divided by their sum (Mixtral; Qwen3-MoE's norm_topk_prob)
    /// GPT-OSS: the top_k picked from the router's logits, and the softmax
    /// taken over those top_k logits only (normalize is then moot).
    bool softmax_over_top_k = false;
    moe_scoring scoring = moe_scoring::softmax;
    /// The router's `e_score_correction_bias` [experts] added to the scores
    /// for choosing only; the weights are the scores themselves (DeepSeek-V3).
    bool correction_bias = false;
    /// Group-limited routing (n_group, topk_group): the experts split into
    /// `groups` groups of experts / groups, each scored by the sum of its two
    /// best choice scores; only the experts of the `topk_groups` best groups
    /// can be chosen. topk_groups == groups: no limit.
    std::int64_t groups = 1, topk_groups = 1;
    double normalize_eps = 0;  ///< added to the sum the weights are divided by (DeepSeek-V3: 1e-20)
    double scaling = 1;        ///< the weights times this (routed_scaling_factor)
    /// Shared experts: one gated MLP this wide at `Names::shared_experts`
    /// (`gate_proj`, `up_proj`, `down_proj` as the experts name theirs),
    /// added to every token's output; 0: none.
    std::int64_t shared_intermediate = 0;
    /// The experts as Transformers 5 holds them (Mistral 4's checkpoints):
    /// `Names::experts`.gate_up_proj [experts, 2 · intermediate, hidden]
    /// (gate rows, then up rows) and .down_proj [experts, hidden,
    /// intermediate]; false: one gated MLP a module (`<experts>.<e>.gate_proj`, ...).
    bool fused_experts = false;
};

namespace detail {
/// The gated MLP at `<at><gate>`, `<at><up>`, `<at><down>` (no biases), width I.
template <class Names, Backend B>
typename B::value expert_mlp(B& b, const std::string& at, const typename B::value& x, std::int64_t H, std::int64_t I,
                             activation act) {
    auto g = activate(b, act, linear_no_bias(b, at + std::string(Names::expert_gate), x, H, I));
    auto u = linear_no_bias(b, at + std::string(Names::expert_up), x, H, I);
    return linear_no_bias(b, at + std::string(Names::expert_down), b.mul(g, u), I, H);
}

/// The experts as Transformers 5 holds them, at `scope`: gate_up_proj
/// [E, 2I, H] (gate rows, then up rows) and down_proj [E, H, I]; each
/// expert's gated MLP of x [B, S, H] times its weight (weights [B, S, E], 0
/// where not picked), added up in expert order.
template <Backend B>
typename B::value fused_experts(B& b, std::string_view scope, const typename B::value& x,
                                const typename B::value& weights, std::int64_t E, std::int64_t H, std::int64_t I,
                                activation act) {
    typename B::value gate_up, down;  // [E, H, 2I] and [E, I, H]
    {
        auto g = b.scope(scope);
        gate_up = b.transpose(b.param("gate_up_proj", {E, 2 * I, H}), {0, 2, 1});
        down = b.transpose(b.param("down_proj", {E, H, I}), {0, 2, 1});
    }
    typename B::value out;
    for (std::int64_t e = 0; e < E; ++e) {
        auto gu = b.matmul(x, b.select(gate_up, 0, e));  // [B, S, 2I]: gate, up
        auto h = b.mul(activate(b, act, b.slice(gu, -1, 0, I)), b.slice(gu, -1, I, 2 * I));
        auto y = b.mul(b.matmul(h, b.select(down, 0, e)), b.slice(weights, -1, e, e + 1));
        out = e == 0 ? y : b.add(out, y);
    }
    return out;
}

/// `x` with the one-hot rows `hot` pushed below every other value (out of
/// the next argmax).
template <Backend B>
typename B::value push_down(B& b, const typename B::value& x, const typename B::value& hot) {
    return b.add(x, b.mul(hot, b.scalar(-3.0e38f)));
}

/// The one-hot [.., n] of idx [.., 1] over the last axis of x.
template <Backend B>
typename B::value one_hot_last(B& b, const typename B::value& x, const typename B::value& idx, std::int64_t axis) {
    auto hot = b.cast(b.cast(b.not_equal(b.range(x, axis), idx), dtype::i64), dtype::f32);
    return b.sub(b.scalar(1.f), hot);
}

/// Each expert's routing weight [B, S, E] from the router's logits
/// [B, S, E], 0 where the token did not pick the expert:
///   - the scores: the softmax (or, moe_spec::scoring, the sigmoid) of the
///     logits, in float32; with softmax_over_top_k (GPT-OSS) the logits
///     themselves;
///   - the choice: the scores plus `correction` where given (DeepSeek-V3's
///     e_score_correction_bias), the experts outside the best groups out of
///     it under group-limited routing;
///   - the top_k experts of the choice, as top_k argmaxes in turn (a tie
///     goes to the lower index), weighted by their scores: divided by their
///     sum (plus normalize_eps) when normalize (summed in the top-k order,
///     as torch sums topk's values), or with softmax_over_top_k the softmax
///     of the top_k logits; times the spec's scaling.
template <Backend B>
typename B::value moe_weights(B& b, const typename B::value& logits, const moe_spec& m,
                              const typename B::value* correction = nullptr) {
    const std::int64_t E = m.experts;
    auto probs = m.softmax_over_top_k             ? logits
                 : m.scoring == moe_scoring::sigmoid ? b.sigmoid(logits)
                                                     : b.softmax(logits);  // [B, S, E]
    auto choice = correction ? b.add(probs, *correction) : probs;
    if (m.groups > 1 && m.topk_groups < m.groups) {
        const std::int64_t G = m.groups, P = E / G;
        auto grouped = b.reshape(choice, {0, 0, G, P});                  // [B, S, G, P]
        auto i1 = b.unsqueeze(b.argmax(grouped, -1), {-1});              // [B, S, G, 1]
        auto second = push_down(b, grouped, one_hot_last(b, grouped, i1, 3));
        auto i2 = b.unsqueeze(b.argmax(second, -1), {-1});
        auto best = b.reshape(b.add(b.gather_last(grouped, i1), b.gather_last(grouped, i2)), {0, 0, G});
        typename B::value keep;                                          // [B, S, G]: 1 on the kept groups
        auto left = best;
        for (std::int64_t k = 0; k < m.topk_groups; ++k) {
            auto hot = one_hot_last(b, best, b.unsqueeze(b.argmax(left, -1), {-1}), 2);
            keep = k == 0 ? hot : b.add(keep, hot);
            left = push_down(b, left, hot);
        }
        keep = b.reshape(b.mul(b.unsqueeze(keep, {-1}),
                               b.constant_f32(std::vector<float>(static_cast<std::size_t>(P), 1.f))),
                         {0, 0, E});                                     // [B, S, E]
        choice = b.add(b.mul(choice, keep), b.mul(b.sub(b.scalar(1.f), keep), b.scalar(-3.4028234663852886e38f)));
    }
    auto left = choice;
    std::vector<typename B::value> picked, value;
    for (std::int64_t k = 0; k < m.top_k; ++k) {
        auto idx = b.unsqueeze(b.argmax(left, -1), {-1});  // [B, S, 1]
        auto hot = one_hot_last(b, probs, idx, 2);         // one-hot [B, S, E]
        picked.push_back(hot);
        value.push_back(b.gather_last(probs, idx));        // [B, S, 1]
        left = push_down(b, left, hot);
    }
    if (m.softmax_over_top_k) {
        auto top = b.softmax(b.concat(value, -1));  // [B, S, K]
        for (std::int64_t k = 0; k < m.top_k; ++k) value[static_cast<std::size_t>(k)] = b.slice(top, -1, k, k + 1);
    }
    auto total = value[0];
    for (std::size_t k = 1; k < value.size(); ++k) total = b.add(total, value[k]);
    if (m.normalize_eps != 0) total = b.add(total, b.scalar(static_cast<float>(m.normalize_eps)));
    typename B::value weights;
    for (std::size_t k = 0; k < picked.size(); ++k) {
        auto v = m.normalize && !m.softmax_over_top_k ? b.div(value[k], total) : value[k];
        if (m.scaling != 1) v = b.mul(v, b.scalar(static_cast<float>(m.scaling)));
        auto w = b.mul(picked[k], v);
        weights = k == 0 ? w : b.add(weights, w);
    }
    return weights;
}
}  // namespace detail

/// A sparse mixture-of-experts MLP (Mixtral, Qwen3-MoE, DeepSeek-V3,
/// Mistral 4), evaluated densely with the same result as Transformers'
/// per-expert loop:
///   - the router `Names::router` (a Linear without bias) scores each token
///     for each expert, softmax or sigmoid in float32 (moe_spec::scoring),
///     plus the correction bias for choosing where the spec says;
///   - with group-limited routing, the experts outside the best groups out
///     of the choice;
///   - the top_k experts per token, as top_k argmaxes in turn (a tie goes to
///     the lower index), their scores divided by their sum when
///     normalize (summed in the top-k order, as torch sums topk's values),
///     times the spec's scaling;
///   - every expert's gated MLP, `Names::experts`.<e>.`Names::expert_gate` /
///     `expert_up` / `expert_down` (no biases), times its weight (0 where
///     the token did not pick it), added up in expert order, as Transformers
///     adds the picked experts' outputs (adding an exact 0 changes nothing);
///     then the shared experts' MLP, where the spec has them.
/// The config declares `moe_spec moe() const`.
template <class Names>
struct sparse_moe_mlp {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c) {
        static_assert(requires { { c.moe() } -> std::same_as<moe_spec>; },
                      "sparse_moe_mlp: the config declares moe_spec moe() const");
        const auto sh = c.shape();
        const moe_spec m = c.moe();
        const std::int64_t H = sh.hidden_size, E = m.experts, I = m.intermediate;
        typename B::value correction;
        if (m.correction_bias) {
            auto g = b.scope(Names::router);
            correction = b.param("e_score_correction_bias", {E});
        }
        // [B, S, E]: each expert's weight, 0 where not picked
        auto weights = detail::moe_weights(b, linear_no_bias(b, Names::router, x, H, E), m,
                                           m.correction_bias ? &correction : nullptr);
        typename B::value out;
        if (m.fused_experts) {
            out = detail::fused_experts(b, Names::experts, x, weights, E, H, I, sh.act);
        } else {
            for (std::int64_t e = 0; e < E; ++e) {
                auto y = detail::expert_mlp<Names>(b, std::string(Names::experts) + "." + std::to_string(e) + ".", x,
                                                   H, I, sh.act);
                y = b.mul(y, b.slice(weights, -1, e, e + 1));
                out = e == 0 ? y : b.add(out, y);
            }
        }
        if (m.shared_intermediate > 0) {
            if constexpr (requires { Names::shared_experts; })
                out = b.add(out, detail::expert_mlp<Names>(b, std::string(Names::shared_experts) + ".", x, H,
                                                           m.shared_intermediate, sh.act));
            else
                throw error("config.invalid", "sparse_moe_mlp: shared experts without Names::shared_experts");
        }
        return out;
    }
};

/// An MLP that differs per layer (Qwen3-MoE's mlp_only_layers and
/// decoder_sparse_step): the sparse mixture of experts where the config's
/// moe_layer(layer) says, else the gated MLP of intermediate_size (no
/// biases, `Names::gate`, `up`, `down`). The blocks pass the layer to an
/// MLP policy that declares `per_layer`.
template <class Names>
struct sparse_or_dense_mlp {
    static constexpr bool per_layer = true;
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const C& c, std::int64_t layer) {
        if (c.moe_layer(layer)) return sparse_moe_mlp<Names>::forward(b, x, c);
        return gated_mlp<Names>::forward(b, x, c);
    }
};

namespace detail {
/// Mlp::forward, with the layer for a policy that declares per_layer.
template <class Mlp, Backend B, class C>
typename B::value run_mlp(B& b, const typename B::value& x, const C& c, std::int64_t layer) {
    if constexpr (requires { Mlp::per_layer; }) {
        static_assert(Mlp::per_layer, "an MLP policy's per_layer is true or absent");
        return Mlp::forward(b, x, c, layer);
    } else {
        return Mlp::forward(b, x, c);
    }
}
}  // namespace detail

// ---------------------------------------------------------------------------
// The block and the stack

/// One decoder layer, pre-norm:
///   sequential: h = x + Attn(N1(x));  y = h + MLP(N2(h))      (GPT-2, Llama, BLOOM)
///   parallel:   n = N1(x);            y = x + Attn(n) + MLP(n) (GPT-J, CodeGen)
/// Names: `norm_1`, `norm_2` (unused when parallel); the norm kind and eps
/// come from the config's norm() and shape().eps.
template <class Names, class Attention, class Mlp, bool Parallel = false>
struct decoder_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const norm_kind nk = c.norm();
        static_assert(!Parallel || !detail::hooks_of<C>().multipliers,
                      "decoder_block: the multipliers hook applies to sequential blocks only");
        auto n1 = norm(b, nk, Names::norm_1, x, sh.hidden_size, sh.eps);
        if constexpr (Parallel) {
            auto a = Attention::forward(b, n1, t, c, layer, cache);
            return b.add(b.add(a, detail::run_mlp<Mlp>(b, n1, c, layer)), x);
        } else {
            auto h = b.add(x, detail::to_residual(b, c, Attention::forward(b, n1, t, c, layer, cache)));
            return b.add(h, detail::to_residual(b, c,
                                                detail::run_mlp<Mlp>(
                                                    b, norm(b, nk, Names::norm_2, h, sh.hidden_size, sh.eps), c, layer)));
        }
    }
};

/// One decoder layer, attention and MLP in parallel, each after a norm of
/// its own (GPT-NeoX's parallel residual, Falcon's new decoder architecture):
///   y = x + (MLP(N2(x)) + Attn(N1(x)))
/// Names: `norm_1`, `norm_2`.
template <class Names, class Attention, class Mlp>
struct two_norm_parallel_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const norm_kind nk = c.norm();
        auto a = Attention::forward(b, norm(b, nk, Names::norm_1, x, sh.hidden_size, sh.eps), t, c, layer, cache);
        auto m = detail::run_mlp<Mlp>(b, norm(b, nk, Names::norm_2, x, sh.hidden_size, sh.eps), c, layer);
        return b.add(b.add(m, a), x);
    }
};

/// One decoder layer with norms on the sublayers' outputs, before each
/// residual add (OLMo 2: `Pre` false; Gemma 2 also normalises the inputs):
///   h = x + P1(Attn(Pre ? N1(x) : x));  y = h + P2(MLP(Pre ? N2(h) : h))
/// Names: `post_norm_1`, `post_norm_2` (and `norm_1`, `norm_2` with Pre).
template <class Names, class Attention, class Mlp, bool Pre>
struct post_norm_block {
    template <Backend B, DecoderConfig C>
    static typename B::value forward(B& b, const typename B::value& x, const decoder_tables<typename B::value>& t,
                                     const C& c, std::int64_t layer, layer_cache<typename B::value>& cache) {
        const auto sh = c.shape();
        const norm_kind nk = c.norm();
        auto in = [&](std::string_view scope, const typename B::value& y) {
            if constexpr (Pre) return norm(b, nk, scope, y, sh.hidden_size, sh.eps);
            else return y;
        };
        std::string_view norm_1{}, norm_2{};
        if constexpr (Pre) norm_1 = Names::norm_1, norm_2 = Names::norm_2;
        auto a = Attention::forward(b, in(norm_1, x), t, c, layer, cache);
        auto h = b.add(x, detail::to_residual(b, c, norm(b, nk, Names::post_norm_1, a, sh.hidden_size, sh.eps)));
        auto m = detail::run_mlp<Mlp>(b, in(norm_2, h), c, layer);
        return b.add(h, detail::to_residual(b, c, norm(b, nk, Names::post_norm_2, m, sh.hidden_size, sh.eps)));
    }
};

namespace detail {
/// A cache tensor from its graph layout to [B, KVH, T, D], and back.
template <Backend B>
typename B::value cache_to_heads_first(B& b, const typename B::value& x, const kv_cache_shape& kv, bool key) {
    if (kv.layout == kv_layout::heads_first) return x;
    // BLOOM: key [B·H, D, T], value [B·H, T, D]. T is the inferred (-1)
    // extent: a run-time 0 in a Reshape shape would copy an input dim, and
    // the past is empty on the first step.
    const std::int64_t H = kv.kv_heads, D = kv.head_dim;
    auto batch = b.div(b.shape(x, 0, 1), b.constant_i64({H}));
    auto split = b.reshape(x, b.concat({batch, b.constant_i64(key ? std::vector<std::int64_t>{H, D, -1}
                                                                    : std::vector<std::int64_t>{H, -1, D})}, 0));
    return key ? b.transpose(split, {0, 1, 3, 2}) : split;
}
template <Backend B>
typename B::value cache_from_heads_first(B& b, const typename B::value& x, const kv_cache_shape& kv, bool key) {
    if (kv.layout == kv_layout::heads_first) return x;
    const std::int64_t H = kv.kv_heads, D = kv.head_dim;
    auto y = key ? b.transpose(x, {0, 1, 3, 2}) : x;
    auto rows = b.mul(b.shape(x, 0, 1), b.constant_i64({H}));
    return b.reshape(y, b.concat({rows, b.constant_i64(key ? std::vector<std::int64_t>{D, -1}
                                                           : std::vector<std::int64_t>{-1, D})}, 0));
}
}  // namespace detail

/// num_layers blocks at `<Names::stack>.<i>`, with the cache: with `Past`,
/// layer i reads past_key_values.{i}.key/.value and writes present.{i}.*
/// (in the config's cache layout). The context is made once per graph.
template <class Names, class Block, class Context = decoder_context, bool Past = false>
struct decoder_stack {
    using reads = concat<slots<"hidden_states">, typename Context::reads,
                         std::conditional_t<Past, slots<"past_key_values">, slots<>>>;
    using writes = concat<slots<"hidden_states">, std::conditional_t<Past, slots<"present">, slots<>>>;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<decoder_stack, typename B::value> s, const C& c) {
        const auto all = c.cache();
        auto h = s[sl::hidden_states];
        const auto t = Context::template make<B>(b, s, c);
        constexpr bool sharing = detail::hooks_of<C>().kv_sharing;
        // with kv_sharing, the layers after the cache's share an earlier layer's keys and values
        const std::int64_t layers = sharing ? c.shape().num_layers : all.layers;
        std::vector<layer_cache<typename B::value>> kept;
        if constexpr (sharing) kept.resize(static_cast<std::size_t>(layers));
        for (std::int64_t i = 0; i < layers; ++i) {
            const auto kv = all.of_layer(i);
            auto guard = b.scope(std::string(Names::stack) + "." + std::to_string(i));
            layer_cache<typename B::value> cache;
            if constexpr (sharing) {
                const std::int64_t source = c.kv_source(i);
                if ((source >= 0) != (i >= all.layers) || source >= i)
                    throw error("config.invalid", "layer " + std::to_string(i) + " shares the keys and values of layer " +
                                                      std::to_string(source) + ", but the cache holds " +
                                                      std::to_string(all.layers) + " layers");
                if (source >= 0) {
                    const auto& from = kept[static_cast<std::size_t>(source)];
                    cache.shared_key = &from.key;
                    cache.shared_value = &from.value;
                    h = Block::forward(b, h, t, c, i, cache);
                    continue;
                }
            }
            const bool recurrent = recurrent_layer(c, i);  // states, not keys and values (LinearCacheConfig)
            [[maybe_unused]] const auto parts = cache_parts(i, recurrent);
            typename B::value past_k, past_v;
            if constexpr (Past) {
                auto g = b.scope("past");
                past_k = s.at(slot<"past_key_values">{}, parts[0]);
                past_v = s.at(slot<"past_key_values">{}, parts[1]);
                if (!recurrent) {
                    past_k = detail::cache_to_heads_first(b, past_k, kv, true);
                    past_v = detail::cache_to_heads_first(b, past_v, kv, false);
                }
                cache.past_key = &past_k;
                cache.past_value = &past_v;
            }
            h = Block::forward(b, h, t, c, i, cache);
            if constexpr (sharing) {
                kept[static_cast<std::size_t>(i)].key = cache.key;
                kept[static_cast<std::size_t>(i)].value = cache.value;
            }
            if constexpr (Past) {
                auto g = b.scope("present");
                s.set_at(slot<"present">{}, parts[0], recurrent ? cache.key : detail::cache_from_heads_first(b, cache.key, kv, true));
                s.set_at(slot<"present">{}, parts[1], recurrent ? cache.value : detail::cache_from_heads_first(b, cache.value, kv, false));
            }
        }
        s.set(sl::hidden_states, h);
    }
};

/// The final norm of a pre-norm stack at `Scope` (GPT-2's ln_f, Llama's norm).
template <fixed_string Scope>
struct decoder_final_norm {
    using reads = slots<"hidden_states">;
    using writes = slots<"hidden_states">;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<decoder_final_norm, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        s.set(sl::hidden_states, norm(b, c.norm(), Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.eps));
    }
};

/// What decoder_embeddings does beyond GPT-2's, set by name
/// (`decoder_embeddings<Names, decoder_embedding_options{.scale_by_sqrt_hidden = true}>`).
struct decoder_embedding_options {
    /// A LayerNorm after the embeddings, its full module path (BLOOM's
    /// `transformer.word_embeddings_layernorm`); empty: none.
    module_name norm{};
    /// Multiply the embeddings by √hidden_size (Gemma).
    bool scale_by_sqrt_hidden = false;
};

/// Word embeddings `<Names::word>` plus, when `Names::position` is not empty,
/// learned positions `<Names::position>` gathered at position_ids; then what
/// the options add. Full module paths.
template <class Names, decoder_embedding_options Options = decoder_embedding_options{}>
struct decoder_embeddings {
    static_assert(!requires { Names::norm; } && !requires { Names::scale_by_sqrt_hidden; },
                  "decoder_embeddings: norm and scale_by_sqrt_hidden are decoder_embedding_options, "
                  "not members of the Names policy");
    static constexpr std::string_view norm_name = Options.norm.view();
    static constexpr bool positions = !Names::position.empty();
    using reads = std::conditional_t<positions, slots<"input_ids", "position_ids">, slots<"input_ids">>;
    using writes = slots<"hidden_states">;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<decoder_embeddings, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        typename B::value h;
        {
            auto guard = b.scope(Names::word);
            h = b.gather(b.param("weight", {sh.vocab_size, sh.hidden_size}), s[sl::input_ids]);
        }
        if constexpr (positions) {
            auto guard = b.scope(Names::position);
            h = b.add(h, b.gather(b.param("weight", {sh.max_positions, sh.hidden_size}), s[slot<"position_ids">{}]));
        }
        if constexpr (!norm_name.empty()) h = layer_norm(b, norm_name, h, sh.hidden_size, sh.eps);
        if constexpr (Options.scale_by_sqrt_hidden)
            h = b.mul(h, b.scalar(static_cast<float>(std::sqrt(static_cast<double>(sh.hidden_size)))));
        if constexpr (detail::hooks_of<C>().multipliers) h = b.mul(h, b.scalar(c.multipliers().embedding));
        s.set(sl::hidden_states, h);
    }
};

// ---------------------------------------------------------------------------
// Heads

/// The causal LM head at `Scope`: a Linear to the vocabulary, tied to the
/// word embeddings `TiedTo` when the config says tie_word_embeddings, with a
/// bias when `Bias` (GPT-J, CodeGen).
template <fixed_string Scope, fixed_string TiedTo, bool Bias = false>
struct decoder_lm_head {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<decoder_lm_head, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const std::string_view tied = c.tie_word_embeddings ? TiedTo.view() : std::string_view{};
        typename B::value logits;
        if constexpr (Bias) {
            logits = dense(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.vocab_size, tied);
        } else {
            logits = linear_no_bias(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.vocab_size, tied);
        }
        if constexpr (detail::hooks_of<C>().multipliers) logits = b.div(logits, b.scalar(c.multipliers().logits_divisor));
        if constexpr (detail::hooks_of<C>().softcaps)
            if (c.softcaps().logits > 0.f) logits = detail::softcap(b, logits, c.softcaps().logits);
        s.set(sl::logits, logits);
    }
};

/// Sequence classification of a decoder (GPT2ForSequenceClassification and
/// kin): the Linear `Scope` (no bias) scores every token, and one token's
/// score is kept per row: the rightmost token that is not pad_token_id
/// (Transformers 5; 0 when every token is), or, as Transformers 4.41 picks
/// it (the config's pool_before_first_pad), the last token before the first
/// padding token: (first index of pad_token_id) - 1, modulo S (the last
/// token when there is none). The two differ when a row holds pad_token_id
/// before its last real token. Without a pad_token_id in the config, the
/// last token. The config declares `bool pool_before_first_pad`.
template <fixed_string Scope>
struct last_token_classifier {
    using reads = slots<"hidden_states", "input_ids">;
    using writes = slots<"logits">;

    template <Backend B, DecoderConfig C>
    static void forward(B& b, io<last_token_classifier, typename B::value> s, const C& c) {
        static_assert(requires { { c.pool_before_first_pad } -> std::convertible_to<bool>; },
                      "last_token_classifier: the config declares bool pool_before_first_pad (true: Transformers "
                      "4.41's pooling; a true_under_4_41 row sets it)");
        const auto sh = c.shape();
        auto scores = linear_no_bias(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.num_labels);  // [B, S, L]
        auto guard = b.scope("pooled_logits");
        if (c.pad_token_id < 0) {
            s.set(sl::logits, b.select(scores, 1, -1));
            return;
        }
        const auto& ids = s[sl::input_ids];
        auto not_pad = b.cast(b.cast(b.not_equal(ids, b.constant_i64({c.pad_token_id})), dtype::i64), dtype::f32);
        typename B::value idx;
        if (c.pool_before_first_pad) {
            // argmax of (ids == pad): 1 - not_pad
            auto first_pad = b.argmax(b.sub(b.scalar(1.f), not_pad), 1);  // [B]
            idx = b.sub(first_pad, b.constant_i64({1}));                   // -1 when none or at 0
            auto len = b.shape(ids, 1, 2);                                 // [1]
            idx = b.add(idx, b.mul(len, b.cast(b.less(idx, b.constant_i64({0})), dtype::i64)));  // % S
        } else {
            idx = last_flagged(b, not_pad);  // the rightmost real token
        }
        s.set(sl::logits, token_at(b, scores, idx));
    }
};

// ---------------------------------------------------------------------------
// A family's layer lists

namespace detail {
template <class Task, class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of;  // a task the family does not list
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::default_, Lm, Sc, Tc, Qa> { using type = expose_hidden_states; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::default_with_past, Lm, Sc, Tc, Qa> { using type = expose_hidden_states; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::causal_lm, Lm, Sc, Tc, Qa> { using type = Lm; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::causal_lm_with_past, Lm, Sc, Tc, Qa> { using type = Lm; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::sequence_classification, Lm, Sc, Tc, Qa> { using type = Sc; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::token_classification, Lm, Sc, Tc, Qa> { using type = Tc; };
template <class Lm, class Sc, class Tc, class Qa>
struct decoder_head_of<task::question_answering, Lm, Sc, Tc, Qa> { using type = Qa; };
}  // namespace detail

/// A decoder family's layers for a task: its trunk (a template over the
/// task, which says whether the stack has a cache), then the task's head:
/// the hidden states (default, default-with-past), the LM head `Lm`
/// (causal-lm, causal-lm-with-past), or the classifier the family gives for
/// sequence classification (`Sc`), token classification (`Tc`) or question
/// answering (`Qa`). A family declares all its tasks at once:
///   template <class Task>
///   static auto layers(Task) -> decoder_layers<trunk, Task, lm, last_token_classifier<"score">>;
template <template <class> class Trunk, class Task, class Lm, class Sc = void, class Tc = void, class Qa = void>
using decoder_layers = concat<Trunk<Task>, type_list<typename detail::decoder_head_of<Task, Lm, Sc, Tc, Qa>::type>>;

}  // namespace typeformer::inline v0
