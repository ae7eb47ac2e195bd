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

#include "typeformer/core/dtype.hpp"
#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"

namespace typeformer::inline v0 {

/// How a cache tensor is laid out.
enum class kv_layout {
    heads_first,  ///< key and value [batch, kv_heads, sequence, head_dim] (GPT-2, Llama, ...)
    bloom,        ///< key [batch·heads, head_dim, sequence], value [batch·heads, sequence, head_dim]
};

/// The cache of one model: layers, key/value heads, head size and layout.
struct kv_cache_shape {
    std::int64_t layers = 0, kv_heads = 0, head_dim = 0;
    kv_layout layout = kv_layout::heads_first;
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
        return {"batch * num_heads", std::string(seq), fixed(kv.head_dim)};
    }
    return {"batch", fixed(kv.kv_heads), std::string(seq), fixed(kv.head_dim)};
}

/// The part names of layer i: "i.key", "i.value".
inline std::array<std::string, 2> cache_parts(std::int64_t i) {
    return {std::to_string(i) + ".key", std::to_string(i) + ".value"};
}

/// The cache as graph inputs, `<Name>.{i}.key` and `<Name>.{i}.value` for
/// every layer, float32, sequence axis `past_sequence` (0 on the first step).
template <fixed_string Name = "past_key_values">
struct cache_inputs {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = dtype::f32;
    static constexpr bool per_layer = true;

    /// Declare the graph inputs and put them in the slot store.
    template <class B, class Store, CacheConfig C>
    static void declare(B& b, Store& store, const C& c) {
        const auto kv = c.cache();
        for (std::int64_t i = 0; i < kv.layers; ++i) {
            const auto parts = cache_parts(i);
            for (int k = 0; k < 2; ++k) {
                const auto axes = cache_axes(kv, k == 0, past_axis, false);
                std::vector<std::string_view> views(axes.begin(), axes.end());
                const auto full = std::string(name) + "." + parts[static_cast<std::size_t>(k)];
                store.insert_or_assign(full, b.input(full, type, views));
            }
        }
    }
};

/// The grown cache as graph outputs, `<Name>.{i}.key` and `.value`, sequence
/// axis `past_sequence + sequence`.
template <fixed_string Name = "present">
struct cache_outputs {
    using slot_type = slot<Name>;
    static constexpr std::string_view name = Name.view();
    static constexpr bool per_layer = true;

    template <class B, class Store, CacheConfig C>
    static void emit(B& b, const Store& store, const C& c) {
        const auto kv = c.cache();
        for (std::int64_t i = 0; i < kv.layers; ++i) {
            const auto parts = cache_parts(i);
            for (int k = 0; k < 2; ++k) {
                const auto axes = cache_axes(kv, k == 0, total_axis, true);
                std::vector<std::string_view> views(axes.begin(), axes.end());
                const auto full = std::string(name) + "." + parts[static_cast<std::size_t>(k)];
                b.output(full, store.at(full), views);
            }
        }
    }
};

/// Is this input or output spec a per-layer cache?
template <class Spec>
inline constexpr bool is_per_layer = requires { Spec::per_layer; };

}  // namespace typeformer::inline v0
