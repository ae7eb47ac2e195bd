// typeformer/core/cache.hpp: a decoder's key/value cache as graph inputs and outputs.
//
// A with-past graph takes the cache of every layer as inputs
// `past_key_values.{i}.key` / `.value` and returns the grown cache as
// `present.{i}.key` / `.value` (Transformers' names).
// How many layers there are is a config value, so these specs expand at run
// time: the model's input list holds one `cache_inputs`, which declares
// 2 · num_layers graph inputs; `cache_outputs` likewise. For the compile-time
// wiring check each is one slot (`past_key_values`, `present`); layers reach
// the per-layer tensors through io::at / io::set_at ("0.key", "0.value", ...).
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/config.hpp"
#include "typeformer/core/dtype.hpp"
#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"

namespace typeformer::inline v0 {

/// How a cache tensor is laid out.
enum class kv_layout {
    heads_first,  ///< key and value [batch, kv_heads, sequence, head_dim] (GPT-2, Llama, ...)
    bloom,        ///< key [batch·heads, head_dim, sequence], value [batch·heads, sequence, head_dim]
};

/// The cache of one model: layers, key/value heads, head size and layout;
/// the values' head size where it differs from the keys' (DeepSeek-V3's
/// latent cache: the normalised latent as the key, the rotated key part
/// as the value). Some layers may have sizes of their own (Gemma 4's
/// full-attention layers: global_head_dim, num_global_key_value_heads):
/// `own_layers`, with `own_kv_heads` and `own_head_dim`; of_layer(i) is
/// layer i's shape.
struct kv_cache_shape {
    std::int64_t layers = 0, kv_heads = 0, head_dim = 0;
    kv_layout layout = kv_layout::heads_first;
    std::int64_t value_head_dim = 0;  ///< 0: head_dim
    layer_set own_layers{};           ///< layers whose sizes are own_kv_heads and own_head_dim
    std::int64_t own_kv_heads = 0, own_head_dim = 0;
    [[nodiscard]] constexpr std::int64_t value_dim() const { return value_head_dim > 0 ? value_head_dim : head_dim; }
    /// Layer i's shape: the own sizes on an own layer (heads-first keys and values of one head size).
    [[nodiscard]] constexpr kv_cache_shape of_layer(std::int64_t i) const {
        if (!own_layers.has(i)) return *this;
        kv_cache_shape s = *this;
        s.kv_heads = own_kv_heads;
        s.head_dim = own_head_dim;
        s.value_head_dim = 0;
        s.own_layers = {};
        return s;
    }
    /// Whether every layer has the same sizes.
    [[nodiscard]] constexpr bool uniform() const {
        for (std::int64_t i = 0; i < layers; ++i)
            if (own_layers.has(i) && (own_kv_heads != kv_heads || own_head_dim != head_dim)) return false;
        return true;
    }
};

/// The recurrent layers of a hybrid decoder (Qwen3-Next, Qwen3.5: Gated
/// DeltaNet layers among the attention ones), which carry states instead
/// of keys and values: `<Name>.{i}.conv`, the last conv_kernel - 1 inputs
/// of the layer's causal depthwise convolution [batch, conv_dim,
/// conv_kernel - 1], and `<Name>.{i}.recurrent`, the delta rule's state
/// [batch, value_heads, key_head_dim, value_head_dim]. Both have fixed
/// sizes; an empty past (the first step) is zeros.
struct linear_cache_shape {
    layer_set layers{};  ///< the recurrent layers; the others have keys and values
    std::int64_t conv_dim = 0, conv_kernel = 0, value_heads = 0, key_head_dim = 0, value_head_dim = 0;
};

/// A config with a KV cache says its shape with cache().
template <class C>
concept CacheConfig = requires(const C& c) {
    { c.cache() } -> std::same_as<kv_cache_shape>;
};

/// The axes of past input / present output axis names.
inline constexpr std::string_view past_axis = "past_sequence";
inline constexpr std::string_view total_axis = "past_sequence + sequence";

/// Axis names of one cache tensor (`key` or not) whose sequence axis is
/// `seq`. Static sizes are spelled as numbers ("4"), which inputs read as
/// static dims; `for_output` spells them "" instead (an output keeps the
/// size the graph computes).
inline std::vector<std::string> cache_axes(const kv_cache_shape& kv, bool key, std::string_view seq, bool for_output) {
    auto fixed = [&](std::int64_t n) { return for_output ? std::string() : std::to_string(n); };
    if (kv.layout == kv_layout::bloom) {
        if (key) return {"batch * num_heads", fixed(kv.head_dim), std::string(seq)};
        return {"batch * num_heads", std::string(seq), fixed(kv.value_dim())};
    }
    return {"batch", fixed(kv.kv_heads), std::string(seq), fixed(key ? kv.head_dim : kv.value_dim())};
}

/// The part names of layer i: "i.key", "i.value"; a recurrent layer's
/// (`recurrent`): "i.conv", "i.recurrent".
inline std::array<std::string, 2> cache_parts(std::int64_t i, bool recurrent = false) {
    if (recurrent) return {std::to_string(i) + ".conv", std::to_string(i) + ".recurrent"};
    return {std::to_string(i) + ".key", std::to_string(i) + ".value"};
}

/// A hybrid decoder's config says its recurrent layers with linear_cache().
template <class C>
concept LinearCacheConfig = requires(const C& c) {
    { c.linear_cache() } -> std::same_as<linear_cache_shape>;
};

/// Whether layer i of a config's decoder is a recurrent one (LinearCacheConfig).
template <class C>
constexpr bool recurrent_layer(const C& c, std::int64_t i) {
    if constexpr (LinearCacheConfig<C>) return c.linear_cache().layers.has(i);
    else return false;
}

/// A graph input or output as the graph names it, a per-layer spec
/// expanded (`past_key_values.0.key`, ...), with its axes ("batch",
/// "sequence", a static size spelled as a number, "" for an axis the graph
/// computes).
struct io_name {
    std::string name;
    std::vector<std::string> axes;
    friend bool operator==(const io_name&, const io_name&) = default;
};

/// A decoder's cache as graph inputs (`Output` false: `<Name>.{i}.key` and
/// `<Name>.{i}.value` for every layer, float32, sequence axis
/// `past_sequence`, 0 on the first step) or as the grown cache it returns
/// (`Output` true: sequence axis `past_sequence + sequence`). Like every
/// spec whose graph tensors depend on the config (`per_layer`), it spells
/// them out with expand(config).
template <fixed_string Name, bool Output>
struct kv_cache {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;
    /// A recurrent layer's states (fixed sizes, no past axis) are zeros at past length 0 (make_inputs).
    static constexpr bool zero_states_without_past = true;

    template <CacheConfig C>
    static std::vector<io_name> expand(const C& c) {
        const auto kv = c.cache();
        std::vector<io_name> v;
        for (std::int64_t i = 0; i < kv.layers; ++i) {
            if constexpr (LinearCacheConfig<C>) {
                const auto lc = c.linear_cache();
                if (lc.layers.has(i)) {
                    auto fixed = [&](std::int64_t n) { return Output ? std::string() : std::to_string(n); };
                    const auto parts = cache_parts(i, true);
                    v.push_back({std::string(name) + "." + parts[0],
                                 {"batch", fixed(lc.conv_dim), fixed(lc.conv_kernel - 1)}});
                    v.push_back({std::string(name) + "." + parts[1],
                                 {"batch", fixed(lc.value_heads), fixed(lc.key_head_dim), fixed(lc.value_head_dim)}});
                    continue;
                }
            }
            for (int k = 0; k < 2; ++k)
                v.push_back({std::string(name) + "." + cache_parts(i)[static_cast<std::size_t>(k)],
                             cache_axes(kv.of_layer(i), k == 0, Output ? total_axis : past_axis, Output)});
        }
        return v;
    }
};
template <fixed_string Name = "past_key_values">
using cache_inputs = kv_cache<Name, false>;
template <fixed_string Name = "present">
using cache_outputs = kv_cache<Name, true>;

// ---------------------------------------------------------------------------
// An encoder-decoder's cache (Optimum's names): for every decoder layer i,
// the self-attention's keys and values (`<Name>.{i}.decoder.key`, `.value`:
// [batch, heads, past_decoder_sequence, head_dim], growing by the new
// tokens) and the cross-attention's, computed once from the encoder's
// output (`<Name>.{i}.encoder.key`, `.value`: [batch, heads,
// encoder_sequence, head_dim]).

/// The axis names of an encoder-decoder's graphs.
inline constexpr std::string_view encoder_axis = "encoder_sequence";
inline constexpr std::string_view decoder_axis = "decoder_sequence";
inline constexpr std::string_view past_decoder_axis = "past_decoder_sequence";
inline constexpr std::string_view total_decoder_axis = "past_decoder_sequence + decoder_sequence";

/// The cache of an encoder-decoder: decoder layers, heads, head size.
struct seq2seq_cache_shape {
    std::int64_t layers = 0, heads = 0, head_dim = 0;
};

/// An encoder-decoder config says its cache's shape with seq2seq_cache().
template <class C>
concept Seq2SeqCacheConfig = requires(const C& c) {
    { c.seq2seq_cache() } -> std::same_as<seq2seq_cache_shape>;
};

/// The part names of layer i of an encoder-decoder's cache: "i.decoder.key",
/// "i.decoder.value", then, with `encoder`, "i.encoder.key", "i.encoder.value".
inline std::vector<std::string> seq2seq_cache_parts(std::int64_t i, bool encoder) {
    const auto n = std::to_string(i);
    std::vector<std::string> v = {n + ".decoder.key", n + ".decoder.value"};
    if (encoder) v.insert(v.end(), {n + ".encoder.key", n + ".encoder.value"});
    return v;
}

/// An encoder-decoder's cache as graph inputs (`Output` false: sequence axis
/// past_decoder_sequence) or outputs (past_decoder_sequence +
/// decoder_sequence); `Encoder`: with the cross-attention's part, whose
/// sequence axis is encoder_sequence (the with-past decoder returns only
/// the self-attention's: the cross-attention's does not change).
template <fixed_string Name, bool Output, bool Encoder = true>
struct seq2seq_cache {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;

    template <Seq2SeqCacheConfig C>
    static std::vector<io_name> expand(const C& c) {
        const auto kv = c.seq2seq_cache();
        auto fixed = [&](std::int64_t n) { return Output ? std::string() : std::to_string(n); };
        std::vector<io_name> v;
        for (std::int64_t i = 0; i < kv.layers; ++i)
            for (const auto& part : seq2seq_cache_parts(i, Encoder)) {
                const bool self = part.find(".decoder.") != std::string::npos;
                v.push_back({std::string(name) + "." + part,
                             {"batch", fixed(kv.heads),
                              std::string(self ? (Output ? total_decoder_axis : past_decoder_axis) : encoder_axis),
                              fixed(kv.head_dim)}});
            }
        return v;
    }
};
template <bool Encoder = true>
using seq2seq_cache_inputs = seq2seq_cache<"past_key_values", false, Encoder>;
template <bool Encoder = true>
using seq2seq_cache_outputs = seq2seq_cache<"present", true, Encoder>;

/// A float32 input whose last axis is the config's width (shape().hidden_size):
/// an encoder-decoder's `encoder_hidden_states` [batch, encoder_sequence, d_model].
template <fixed_string Name, fixed_string... Axes>
struct states_input {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;

    template <class C>
    static std::vector<io_name> expand(const C& c) {
        return {{std::string(name), {std::string(Axes.view())..., std::to_string(c.shape().hidden_size)}}};
    }
};

/// The image an image model takes: its channels, the size its config names
/// (image_size; 0 where it names none, as ResNet's) and whether the model
/// reads images of any size (convolutions) or of that size only (ViT's
/// learned positions).
struct image_shape {
    std::int64_t channels = 3;
    std::int64_t height = 0;
    std::int64_t width = 0;
    bool any_size = false;
};

/// A config that says which images its model takes (`image()`).
template <class C>
concept ImageConfig = requires(const C& c) {
    { c.image() } -> std::same_as<image_shape>;
};

/// The axis names of an image's height and width, where a model reads any size.
inline constexpr std::string_view height_axis = "height", width_axis = "width";

/// `pixel_values` [batch, channels, height, width], float32, as the config's
/// image() spells it: the channels fixed; height and width fixed at the one
/// size a model reads (ViT's learned positions: the graph states the size,
/// and ONNX Runtime refuses another by name), else the named axes "height"
/// and "width". `ConfigSize`: the config's size whatever image() says (a
/// task that reads that size only, as Swin's masked-im, whose decoder lays
/// the tokens on a square).
template <fixed_string Name = "pixel_values", bool ConfigSize = false>
struct image_input {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;

    template <ImageConfig C>
    static std::vector<io_name> expand(const C& c) {
        const auto im = c.image();
        if (!im.any_size || ConfigSize)
            return {{std::string(name), {"batch", std::to_string(im.channels), std::to_string(im.height),
                                         std::to_string(im.width)}}};
        return {{std::string(name), {"batch", std::to_string(im.channels), std::string(height_axis),
                                     std::string(width_axis)}}};
    }
};

/// Is this input or output spec one whose graph tensors the config spells
/// out (a cache: one tensor per layer and part)?
template <class Spec>
inline constexpr bool is_per_layer = requires { Spec::per_layer; };

}  // namespace typeformer::inline v0
