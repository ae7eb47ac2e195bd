// typeformer/core/slots.hpp: named slots, axis specs, model inputs/outputs and
// the compile-time wiring check.
//
// Layers talk through named slots. A layer states what it reads and what it
// writes; the model checks, at compile time, that every read is produced by a
// model input or an earlier layer and that every declared output is produced.
// A mistake is one static_assert whose instantiation names the slot:
//
//   In instantiation of 'struct layer_reads_a_slot_nothing_writes_before_it<
//       slot<fixed_string<14>{"pooled_output"}>, my_head, false>'
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "typeformer/core/dtype.hpp"
#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/type_list.hpp"

namespace typeformer::inline v0 {

template <fixed_string Name>
struct slot {
    static constexpr std::string_view name = Name.view();
};

/// slots<"a", "b"> = type_list<slot<"a">, slot<"b">>
template <fixed_string... Names>
using slots = type_list<slot<Names>...>;

/// Named axes of a tensor, e.g. axes<"batch", "sequence">. An empty name
/// ("") marks an axis whose size is fixed by the config (hidden size, labels);
/// a number ("4") an input axis of that fixed size (LayoutLM's bbox coordinates).
template <fixed_string... Names>
struct axes {
    static constexpr std::size_t rank = sizeof...(Names);
    static constexpr std::array<std::string_view, rank> names{Names.view()...};
};

/// The size an axis named by a number has ("4" -> 4); -1 for any other name.
[[nodiscard]] constexpr std::int64_t static_extent(std::string_view axis) noexcept {
    if (axis.empty()) return -1;
    std::int64_t n = 0;
    for (char ch : axis) {
        if (ch < '0' || ch > '9') return -1;
        n = n * 10 + (ch - '0');
    }
    return n;
}

/// A model input: slot name, element type and axes (all input axes are dynamic).
template <fixed_string Name, dtype Type, class Axes>
struct input {
    using slot_type = slot<Name>;
    using axes_type = Axes;
    static constexpr std::string_view name = Name.view();
    static constexpr dtype type = Type;
};

/// A model output: slot name and axes; named axes are dynamic, "" axes static.
template <fixed_string Name, class Axes>
struct output {
    using slot_type = slot<Name>;
    using axes_type = Axes;
    static constexpr std::string_view name = Name.view();
};

/// The commonly used slots, as values: io[sl::hidden_states].
namespace sl {
inline constexpr slot<"input_ids"> input_ids{};
inline constexpr slot<"attention_mask"> attention_mask{};
inline constexpr slot<"token_type_ids"> token_type_ids{};
inline constexpr slot<"hidden_states"> hidden_states{};
inline constexpr slot<"attention_bias"> attention_bias{};
inline constexpr slot<"pooled_output"> pooled_output{};
inline constexpr slot<"last_hidden_state"> last_hidden_state{};
inline constexpr slot<"logits"> logits{};
inline constexpr slot<"start_logits"> start_logits{};
inline constexpr slot<"end_logits"> end_logits{};
inline constexpr slot<"choice_shape"> choice_shape{};
}  // namespace sl

// ---------------------------------------------------------------------------
// The wiring check

/// Instantiated once per (read, layer): fails, naming both, when nothing
/// wrote the slot before the layer runs.
template <class Slot, class Layer, bool Produced>
struct layer_reads_a_slot_nothing_writes_before_it {
    static_assert(Produced,
                  "a layer reads a slot that neither a model input nor an earlier layer writes "
                  "(the slot and the layer are the template arguments above)");
    static constexpr bool value = Produced;
};

/// Instantiated once per declared output: fails, naming it, when no input or layer writes it.
template <class Slot, bool Produced>
struct model_output_is_never_written {
    static_assert(Produced,
                  "the model declares an output that no layer writes "
                  "(the slot is the template argument above)");
    static constexpr bool value = Produced;
};

namespace detail {
template <class Inputs>
struct input_slots;
template <class... I>
struct input_slots<type_list<I...>> {
    using type = type_list<typename I::slot_type...>;
};

template <class Layer, class Available, class Reads = typename Layer::reads>
struct layer_reads_ok;
template <class Layer, class Available, class... R>
struct layer_reads_ok<Layer, Available, type_list<R...>> {
    static constexpr bool value =
        (layer_reads_a_slot_nothing_writes_before_it<R, Layer, contains<Available, R>>::value && ...);
};

// Writes of the layers whose index is below I (lockstep expansion of two packs).
template <std::size_t I, class Idx, class Layers>
struct writes_before;
template <std::size_t I, std::size_t... J, class... L>
struct writes_before<I, std::index_sequence<J...>, type_list<L...>> {
    using type = concat<type_list<>, std::conditional_t<(J < I), typename L::writes, type_list<>>...>;
};

template <class Inputs, class Layers, class Idx = std::make_index_sequence<Layers::size>>
struct all_reads_ok;
template <class Inputs, class... L, std::size_t... I>
struct all_reads_ok<Inputs, type_list<L...>, std::index_sequence<I...>> {
    using seq = std::make_index_sequence<sizeof...(L)>;
    static constexpr bool value =
        (layer_reads_ok<L, concat<typename input_slots<Inputs>::type,
                                  typename writes_before<I, seq, type_list<L...>>::type>>::value &&
         ...);
};

template <class Inputs, class Layers, class Outputs>
struct all_outputs_ok;
template <class Inputs, class... L, class... O>
struct all_outputs_ok<Inputs, type_list<L...>, type_list<O...>> {
    using produced = concat<typename input_slots<Inputs>::type, typename L::writes...>;
    static constexpr bool value =
        (model_output_is_never_written<typename O::slot_type,
                                       contains<produced, typename O::slot_type>>::value &&
         ...);
};
}  // namespace detail

/// True when the layer list is correctly wired; otherwise a static_assert names the culprit.
template <class Inputs, class Layers, class Outputs>
inline constexpr bool wiring_ok = detail::all_reads_ok<Inputs, Layers>::value &&
                                  detail::all_outputs_ok<Inputs, Layers, Outputs>::value;

// ---------------------------------------------------------------------------
// The run-time side: a layer sees the slot store through an io view that only
// lets it touch what it declared.

template <class Value>
using slot_store = std::map<std::string, Value, std::less<>>;

template <class Layer, class Value>
class io {
public:
    explicit io(slot_store<Value>& store) : store_(store) {}

    template <fixed_string N>
    [[nodiscard]] const Value& operator[](slot<N>) const {
        static_assert(contains<typename Layer::reads, slot<N>>,
                      "a layer reads a slot that is not in its `reads` list");
        return store_.at(std::string(slot<N>::name));
    }

    template <fixed_string N>
    void set(slot<N>, Value v) {
        static_assert(contains<typename Layer::writes, slot<N>>,
                      "a layer writes a slot that is not in its `writes` list");
        store_.insert_or_assign(std::string(slot<N>::name), std::move(v));
    }

    /// A slot with per-layer parts (a KV cache): the value `<N>.<part>`,
    /// e.g. at(slot<"past_key_values">{}, "0.key") is "past_key_values.0.key".
    template <fixed_string N>
    [[nodiscard]] const Value& at(slot<N>, std::string_view part) const {
        static_assert(contains<typename Layer::reads, slot<N>>,
                      "a layer reads a slot that is not in its `reads` list");
        return store_.at(std::string(slot<N>::name) + "." + std::string(part));
    }
    template <fixed_string N>
    void set_at(slot<N>, std::string_view part, Value v) {
        static_assert(contains<typename Layer::writes, slot<N>>,
                      "a layer writes a slot that is not in its `writes` list");
        store_.insert_or_assign(std::string(slot<N>::name) + "." + std::string(part), std::move(v));
    }

    /// The same slots as the layer `Other` sees them: for a layer that runs
    /// another inside its own forward (its reads and writes are Other's).
    template <class Other>
    [[nodiscard]] io<Other, Value> as() const {
        return io<Other, Value>(store_);
    }

private:
    slot_store<Value>& store_;
};

}  // namespace typeformer::inline v0
