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

}  // namespace typeformer::inline v0
