// typeformer/core/type_list.hpp: the few type-list primitives the library needs.
//
// Everything is a pack expansion or an alias: no recursive walks, so long
// lists of layers cost little to compile (see Boost.Mp11's design notes).
#pragma once

#include <cstddef>
#include <type_traits>

namespace typeformer::inline v0 {

template <class... T>
struct type_list {
    static constexpr std::size_t size = sizeof...(T);
};

namespace detail {
template <class... Lists>
struct concat_impl;
template <>
struct concat_impl<> {
    using type = type_list<>;
};
template <class... A>
struct concat_impl<type_list<A...>> {
    using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat_impl<type_list<A...>, type_list<B...>, Rest...> {
    // an error here means one of the arguments of concat<> is not a type_list
    using type = typename concat_impl<type_list<A..., B...>, Rest...>::type;
};

}  // namespace detail

/// concat<type_list<A...>, type_list<B...>, ...> = type_list<A..., B...>
template <class... Lists>
using concat = typename detail::concat_impl<Lists...>::type;

/// contains<List, T>: is T one of the list's elements?
template <class List, class T>
inline constexpr bool contains = false;
template <class... E, class T>
inline constexpr bool contains<type_list<E...>, T> = (std::is_same_v<E, T> || ...);

/// Call f.template operator()<T>() for each T of the list, in order.
template <class... T, class F>
constexpr void for_each_type(type_list<T...>, F&& f) {
    (f.template operator()<T>(), ...);
}

}  // namespace typeformer::inline v0
