// typeformer/core/fields.hpp: a config is a table of fields.
//
// A config is a structural aggregate: its data members hold the values and
// Transformers' defaults. Its `fields` table says, once per member, which
// config.json key fills it and which rule it obeys:
//
//   struct bert_config {
//       std::int64_t vocab_size = 30522;
//       std::int64_t hidden_size = 768;
//       std::int64_t num_attention_heads = 12;
//       ...
//       using self = bert_config;
//       using fields = field_table<
//           field<"vocab_size", &self::vocab_size, rule::positive>,
//           field<"hidden_size", &self::hidden_size, rule::positive>,
//           field<"num_attention_heads", &self::num_attention_heads, rule::positive>,
//           multiple_of<"hidden_size", "num_attention_heads">,
//           ...>;
//   };
//
// From the table derive
//   - `check(c)`: every rule, constexpr, so `static_assert(check(C))` stops a
//     compile-time config with the rule's sentence as a template argument
//     in the error ("config_rule_broken<... "hidden_size must be divisible
//     by num_attention_heads">"), and the loader throws config.invalid with
//     the same sentence;
//   - `load_config<C>(reader)` (io/config_json.hpp): every key read over the
//     defaults, every refusal applied, then the check.
// Every data member has exactly one row (a `field`, `labels` or `internal`);
// `check` counts them against the aggregate's members, so a member without
// a row does not compile.
//
// Rows:
//   field<Key, &C::m, Rule = rule::any, Read = read::as_is>
//                              config.json's Key into m; Rule checks it
//   labels<&C::m>              num_labels as Transformers derives it
//                              (len(id2label), else num_labels); positive
//   internal<&C::m, Rule>      a member no key fills directly: a family's
//                              fixed setting or one a `reads` row computes
//   true_under_4_41<&C::m>     a bool member true when the config is read as
//                              Transformers 4.41's model code reads it
//                              (config_reader::follow), where 4.41
//                              computes differently from 5.x
//   only<Key, Value>           a string key that must hold Value (or be
//                              absent): anything else is config.unsupported
//   never<Key, Why>            a boolean key that must be false
//   always<Key, Why>           a boolean key that must be true (or absent)
//   absent<Key, Why>           a key that must be absent, null or empty
//                              (a quantization_config, non-empty
//                              pruned_heads): anything else is refused
//   each_is<Key, Value, Why>   a list whose every item is Value (5.x's
//                              layer_types: "full_attention")
//   no_effect<Key, T>          a key Transformers reads that cannot change
//                              the exported function (it only initialises
//                              weights the checkpoint stores, or steers a
//                              path the export does not take): its type is
//                              checked (any_json: any value), and a comment
//                              at the row says why
//   encoder_generic_keys, decoder_generic_keys, causal_key
//                              the keys Transformers 5 reads for every
//                              model type, for a model whose code reads
//                              none of them (see below)
//   multiple_of<A, B>          field A divisible by field B (by key)
//   rules<&f>                  constexpr void f(const C&): rules across
//                              fields, written with require(ok, "sentence")
//   reads<&f>                  void f(const config_reader&, C&): keys that
//                              need code (nested objects, keys that depend
//                              on each other); runs after the plain rows
//   owns<Key>                  a `reads` function of the table reads Key,
//                              which a generic row (load_config's
//                              pretrained_config_rows) would otherwise
//                              refuse: Qwen2's layer_types, GPT-OSS's
//                              quantization_config, Llama 4's
//                              attention_chunk_size
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "typeformer/core/config.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/fixed_string.hpp"

namespace typeformer::inline v0 {

namespace detail {
/// `a` and `b` as one fixed_string, `between` in the middle.
template <fixed_string A, fixed_string Between, fixed_string B>
consteval auto join() {
    constexpr std::size_t na = A.view().size(), nm = Between.view().size(), nb = B.view().size();
    char buf[na + nm + nb + 1]{};
    std::size_t i = 0;
    for (char ch : A.view()) buf[i++] = ch;
    for (char ch : Between.view()) buf[i++] = ch;
    for (char ch : B.view()) buf[i++] = ch;
    return fixed_string<na + nm + nb + 1>(buf);
}
}  // namespace detail

/// Not constexpr on purpose: reaching it while a compile-time config is
/// checked is the compile error, and `Sentence` (the broken rule) shows in
/// its text. At load time it throws config.invalid with the same sentence.
template <fixed_string Sentence>
[[noreturn]] void config_rule_broken() {
    invalid_config(Sentence.data);
}

/// The rules one field can obey on its own.
namespace rule {
struct any {
    static constexpr bool holds(const auto&) { return true; }
};
struct positive {
    static constexpr fixed_string says = "must be positive";
    static constexpr bool holds(const auto& v) { return v > 0; }
};
struct non_negative {
    static constexpr fixed_string says = "must not be negative";
    static constexpr bool holds(const auto& v) { return v >= 0; }
};
/// Positive, or the value that stands for None (-1 or 0, as the field's default says).
template <auto None>
struct positive_or {
    static constexpr fixed_string says = "must be positive or null";
    static constexpr bool holds(const auto& v) { return v > 0 || v == None; }
};
}  // namespace rule

/// How a `field` reads its key.
namespace read {
/// The value when present; absent and null keep the default.
struct as_is {
    template <class Reader, class T>
    static void from(const Reader& r, const char* key, T& out) {
        r.get(key, out);
    }
};
/// As as_is, but null (Transformers' None) sets `None`: a default that is
/// not None (Mistral's num_key_value_heads 8) must not survive a null.
template <auto None>
struct null_is {
    template <class Reader, class T>
    static void from(const Reader& r, const char* key, T& out) {
        if (r.is_null(key)) out = None;
        r.get(key, out);
    }
};
}  // namespace read

namespace detail {
template <auto Member>
struct member_traits;
template <class C, class T, T C::*M>
struct member_traits<M> {
    using config = C;
    using type = T;
};
/// The shape every row has; a row overrides what it uses.
struct row {
    static constexpr std::string_view key{};
    static constexpr std::string_view generic_key{};  ///< a generic row a family's `owns` row replaces
    static constexpr std::string_view owned{};        ///< owns<Key>: the key a family reads its own way
    static constexpr std::size_t members = 0;
    template <class Table, class C>
    static constexpr void check(const C&) {}
    template <class Reader, class C>
    static void load(const Reader&, C&) {}
};
}  // namespace detail

template <fixed_string Key, auto Member, class Rule = rule::any, class Read = read::as_is>
struct field : detail::row {
    static constexpr std::string_view key = Key.view();
    static constexpr std::size_t members = 1;
    static constexpr auto member = Member;
    template <class Table, class C>
    static constexpr void check(const C& c) {
        if constexpr (!std::is_same_v<Rule, rule::any>)
            if (!Rule::holds(c.*Member)) config_rule_broken<detail::join<Key, " ", Rule::says>()>();
    }
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        Read::from(r, Key.data, c.*Member);
    }
};

template <auto Member>
struct labels : detail::row {
    static constexpr std::string_view key = "num_labels";
    static constexpr std::size_t members = 1;
    static constexpr auto member = Member;
    template <class Table, class C>
    static constexpr void check(const C& c) {
        if (!(c.*Member > 0)) config_rule_broken<"num_labels must be positive">();
    }
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        r.get_num_labels(c.*Member);
    }
};

template <auto Member, class Rule = rule::any, fixed_string Name = "">
struct internal : detail::row {
    static constexpr std::size_t members = 1;
    template <class Table, class C>
    static constexpr void check(const C& c) {
        if constexpr (!std::is_same_v<Rule, rule::any>)
            if (!Rule::holds(c.*Member)) config_rule_broken<detail::join<Name, " ", Rule::says>()>();
    }
};

template <auto Member>
struct true_under_4_41 : detail::row {
    static constexpr std::size_t members = 1;
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        c.*Member = r.follows() == follow_transformers::v4_41;
    }
};

template <fixed_string Key, fixed_string Value>
struct only : detail::row {
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        r.require_value(Key.data, Value.view());
    }
};

template <fixed_string Key, fixed_string Why>
struct never : detail::row {
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        r.require_false(Key.data, Why.view());
    }
};

template <fixed_string Key, fixed_string Why>
struct always : detail::row {
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        bool v = true;
        r.get(Key.data, v);
        if (!v)
            throw error("config.unsupported",
                        r.where() + ": /" + std::string(Key.view()) + ": false is not supported (" + std::string(Why.view()) + ")");
    }
};

template <fixed_string Key, fixed_string Why>
struct absent : detail::row {
    static constexpr std::string_view generic_key = Key.view();  // an owns<Key> row takes it over
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        const auto* v = r.raw(Key.data);
        if (v && !v->empty())
            throw error("config.unsupported", r.where() + ": /" + std::string(Key.view()) + ": " + v->dump() +
                                                  " is not supported (" + std::string(Why.view()) + ")");
    }
};

template <fixed_string Key, fixed_string Value, fixed_string Why>
struct each_is : detail::row {
    static constexpr std::string_view generic_key = Key.view();
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        const auto* v = r.raw(Key.data);
        if (!v) return;
        bool ok = v->is_array();
        if (ok)
            for (const auto& item : *v) ok = ok && item.is_string() && item.template get<std::string>() == Value.view();
        if (!ok)
            throw error("config.unsupported", r.where() + ": /" + std::string(Key.view()) + ": " + v->dump() +
                                                  " is not supported (only \"" + std::string(Value.view()) +
                                                  "\" items: " + std::string(Why.view()) + ")");
    }
};

/// no_effect's type for a key whose value may be anything (an object, a list).
struct any_json {};

template <fixed_string Key, class T>
struct no_effect : detail::row {
    template <class Reader, class C>
    static void load(const Reader& r, C&) {
        if constexpr (std::is_same_v<T, any_json>) {
            (void)r.has(Key.data);
        } else {
            T ignored{};
            r.get(Key.data, ignored);
        }
    }
};

template <fixed_string A, fixed_string B>
struct multiple_of : detail::row {
    template <class Table, class C>
    static constexpr void check(const C& c) {
        const auto b = Table::template value<B>(c);
        if (!(b > 0 && Table::template value<A>(c) % b == 0))
            config_rule_broken<detail::join<A, " must be divisible by ", B>()>();
    }
};

template <auto F>
struct rules : detail::row {
    template <class Table, class C>
    static constexpr void check(const C& c) {
        F(c);
    }
};

template <auto F>
struct reads : detail::row {};

template <fixed_string Key>
struct owns : detail::row {
    static constexpr std::string_view owned = Key.view();
};

namespace detail {
template <class Row>
inline constexpr bool is_reads = false;
template <auto F>
inline constexpr bool is_reads<reads<F>> = true;
template <class Row>
struct reads_call {
    template <class Reader, class C>
    static void load(const Reader&, C&) {}
};
template <auto F>
struct reads_call<reads<F>> {
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        F(r, c);
    }
};
}  // namespace detail

/// A config's rows, in the order they are read and checked (`reads` rows
/// run after every plain row).
template <class... Rows>
struct field_table {
    using rows = std::tuple<Rows...>;
    static constexpr std::size_t members = (std::size_t{0} + ... + Rows::members);

    /// The value of the `field` whose key is Key.
    template <fixed_string Key, class C>
    static constexpr auto value(const C& c) {
        constexpr std::size_t i = [] {
            constexpr std::string_view keys[] = {Rows::key...};
            for (std::size_t k = 0; k < sizeof...(Rows); ++k)
                if (keys[k] == Key.view()) return k;
            return sizeof...(Rows);
        }();
        // an error here means a multiple_of<...> row names a key no `field` row has
        static_assert(i < sizeof...(Rows), "a rule names a key that no field of the table reads");
        return c.*std::tuple_element_t<i, rows>::member;
    }
    template <class C>
    static constexpr void check(const C& c) {
        (Rows::template check<field_table>(c), ...);
    }
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        (Rows::load(r, c), ...);
        (detail::reads_call<Rows>::load(r, c), ...);
    }
    /// Does an `owns<Key>` row of this table take `key` over from the generic rows?
    static constexpr bool owns_key(std::string_view key) { return !key.empty() && ((Rows::owned == key) || ...); }
    /// The rows, less the generic ones whose key `Own` owns (load_config: the
    /// rows every config shares, under a family table that reads some of them).
    template <class Own, class Reader, class C>
    static void load_unowned(const Reader& r, C& c) {
        ((Own::owns_key(Rows::generic_key) ? void() : Rows::load(r, c)), ...);
        (detail::reads_call<Rows>::load(r, c), ...);
    }
};

namespace detail {
template <class Base, class... Rows>
struct extend_impl;
template <class... B, class... Rows>
struct extend_impl<field_table<B...>, Rows...> {
    using type = field_table<B..., Rows...>;
};
}  // namespace detail

/// A derived config's table: its base's rows, then its own.
template <class BaseTable, class... Rows>
using extend = typename detail::extend_impl<BaseTable, Rows...>::type;

namespace detail {
struct any_member {
    template <class T>
    constexpr operator T() const;  // declared only: used in unevaluated brace-initialisation
};
/// How many initialisers the aggregate C takes (its members, a base counting one).
template <class C, class... A>
consteval std::size_t aggregate_arity() {
    if constexpr (requires { C{A{}..., any_member{}}; }) return aggregate_arity<C, A..., any_member>();
    else return sizeof...(A);
}
template <class C>
consteval bool rows_cover_members() {
    if constexpr (!std::is_aggregate_v<C>) return true;  // a config with constructors: not counted
    else if constexpr (requires { typename C::base_config; })
        return aggregate_arity<C>() == 1 + C::fields::members - C::base_config::fields::members;
    else return aggregate_arity<C>() == C::fields::members;
}
}  // namespace detail

/// A config with a field table.
template <class C>
concept TabulatedConfig = requires { typename C::fields; };

/// Every rule of the table: the compile-time check (`static_assert(check(C))`)
/// and, through check_loaded, the load-time one.
template <TabulatedConfig C>
constexpr bool check(const C& c) {
    // an error here means a data member of the config has no row in its `fields` table
    static_assert(detail::rows_cover_members<C>(),
                  "every data member of a config has one row (field, labels or internal) in its `fields` table");
    C::fields::check(c);
    return true;
}

/// Rows that read and check several keys as one row of a table.
template <class... Rows>
struct row_group : detail::row {
    template <class Reader, class C>
    static void load(const Reader& r, C& c) {
        (Rows::load(r, c), ...);
    }
};

/// The keys Transformers 5 reads for every model type in its generic code,
/// as one row for the table of a config whose model code reads none of them:
///   rope_parameters  PretrainedConfig.__post_init__ standardises it; a
///                    model without RoPE settings of its own never reads it
///                    (no effect);
///   head_dim         validate_architecture compares head_dim · num_heads
///                    with embed_dim, keys these configs do not have; the
///                    model's head size is hidden_size / heads (no effect);
///   is_causal        the forward wrapper and create_causal_mask take it as
///                    the kind of mask (false: bidirectional). An encoder
///                    refuses any value: 5.x's SDPA path would make an
///                    unpadded batch causal where its eager path does not.
///                    A decoder refuses false.
/// A config whose model reads its own RoPE settings and head_dim (the Llama
/// family) takes causal_key alone.
using causal_key = always<"is_causal", "a bidirectional mask in a causal model">;
using encoder_generic_keys =
    row_group<no_effect<"rope_parameters", any_json>, no_effect<"head_dim", std::int64_t>,
              absent<"is_causal", "Transformers 5 reads it as the kind of mask, which its eager and SDPA paths "
                                  "apply differently to an encoder">>;
using decoder_generic_keys =
    row_group<no_effect<"rope_parameters", any_json>, no_effect<"head_dim", std::int64_t>, causal_key>;

}  // namespace typeformer::inline v0
