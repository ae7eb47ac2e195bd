// typeformer/core/fixed_string.hpp: a string usable as a template argument.
//
// Slot names, axis names and input/output names are template arguments, so
// that a wiring mistake is a compile-time error whose text shows the name:
//   slot<typeformer::fixed_string<14>{"pooled_output"}>
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace typeformer::inline v0 {

template <std::size_t N>
struct fixed_string {
    char data[N]{};

    constexpr fixed_string(const char (&s)[N]) noexcept { std::copy_n(s, N, data); }

    [[nodiscard]] constexpr std::string_view view() const noexcept { return {data, N - 1}; }
    constexpr operator std::string_view() const noexcept { return view(); }

    template <std::size_t M>
    [[nodiscard]] constexpr bool operator==(const fixed_string<M>& o) const noexcept {
        return view() == o.view();
    }
};

/// A module name of up to 95 characters, as a member of an options struct
/// that is itself a template argument (`embedding_options{.project = "..."}`):
/// unlike fixed_string, one type whatever the length.
struct module_name {
    char data[96]{};
    std::size_t size = 0;

    constexpr module_name() noexcept = default;
    template <std::size_t N>
    consteval module_name(const char (&s)[N]) noexcept : size(N - 1) {  // NOLINT: implicit on purpose
        static_assert(N <= sizeof data, "a module name has at most 95 characters");
        std::copy_n(s, N, data);
    }

    [[nodiscard]] constexpr std::string_view view() const noexcept { return {data, size}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size == 0; }
};

}  // namespace typeformer::inline v0
