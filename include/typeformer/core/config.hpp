// typeformer/core/config.hpp: one check for compile-time and load-time configs.
//
// A config is a structural aggregate (usable as a template argument). Its
// `check` function is constexpr and made of require(...) calls. The same
// function runs
//   - in a static_assert, for a config given as a template argument: a failed
//     rule makes the compiler stop at the call of the non-constexpr
//     `invalid_config`, and its note prints the rule's sentence;
//   - at load time, for config.json: the same call throws typeformer::error
//     with id "config.invalid" and the same sentence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "typeformer/core/error.hpp"

namespace typeformer::inline v0 {

/// Not constexpr on purpose: reaching it during constant evaluation is the
/// compile-time error, and the compiler's note shows `why`.
[[noreturn]] inline void invalid_config(const char* why) { throw error("config.invalid", why); }

/// One rule of a config check: `ok` must hold, else `why` is the error.
constexpr bool require(bool ok, const char* why) {
    if (!ok) invalid_config(why);
    return true;
}

/// Whose model code a loader follows where two Transformers releases
/// compute the same config.json differently (docs/checkpoints.md lists
/// where): today's (5.x, the default) or 4.41's.
enum class follow_transformers : std::uint8_t { v5, v4_41 };

/// "5" or "4.41", as the command line spells it.
constexpr std::string_view to_string(follow_transformers f) { return f == follow_transformers::v5 ? "5" : "4.41"; }

/// A set of layer indices below `capacity`: a per-layer pattern of
/// config.json (SmolLM3's layers without RoPE, the layers layer_types
/// leaves without a window) as a structural member, so that a config that
/// holds one still works as a template argument.
struct layer_set {
    static constexpr std::int64_t capacity = 256;
    std::uint64_t bits[capacity / 64]{};

    [[nodiscard]] constexpr bool has(std::int64_t i) const {
        return i >= 0 && i < capacity && ((bits[i / 64] >> (i % 64)) & 1U) != 0;
    }
    /// Add layer i (0 <= i < capacity; the loaders refuse larger patterns by name).
    constexpr void add(std::int64_t i) { bits[i / 64] |= std::uint64_t{1} << (i % 64); }
    constexpr bool operator==(const layer_set&) const = default;
};

/// Activation functions as config.json names them (`hidden_act`, `activation`).
enum class activation { gelu, gelu_new, relu, silu, tanh };

[[nodiscard]] constexpr std::optional<activation> activation_from_name(std::string_view s) noexcept {
    if (s == "gelu") return activation::gelu;
    // gelu_new, gelu_pytorch_tanh and gelu_fast all compute the tanh approximation
    if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return activation::gelu_new;
    if (s == "relu") return activation::relu;
    if (s == "silu" || s == "swish") return activation::silu;
    if (s == "tanh") return activation::tanh;
    return std::nullopt;
}

[[nodiscard]] constexpr std::string_view name_of(activation a) noexcept {
    switch (a) {
        case activation::gelu: return "gelu";
        case activation::gelu_new: return "gelu_new";
        case activation::relu: return "relu";
        case activation::silu: return "silu";
        case activation::tanh: return "tanh";
    }
    return "?";
}

}  // namespace typeformer::inline v0
