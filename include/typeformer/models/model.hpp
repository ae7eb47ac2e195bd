// typeformer/models/model.hpp: a model is inputs, a layer list and outputs;
// a family maps each task it supports to one.
#pragma once

#include <string_view>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/type_list.hpp"
#include "typeformer/ops/vocabulary.hpp"
#include "typeformer/tasks/tasks.hpp"

namespace typeformer::inline v0 {

/// A model: its config type, its inputs, its layers and its outputs. The
/// wiring is checked when the type is completed.
template <class Config, class Inputs, class Layers, class Outputs>
struct model {
    using config_type = Config;
    using inputs = Inputs;
    using layers = Layers;
    using outputs = Outputs;
    static_assert(wiring_ok<Inputs, Layers, Outputs>);
};

/// A family (an architecture, one `model_type`) declares
///   model_type, base_prefix, config, features (a type_list of tasks),
///   inputs(Task) and layers(Task) as function declarations whose return
///   types are type lists (overloads select per task, at no compile cost).
template <class F>
concept Family = requires {
    { F::model_type } -> std::convertible_to<std::string_view>;
    { F::base_prefix } -> std::convertible_to<std::string_view>;
    typename F::config;
    typename F::features;
};

namespace detail {
/// A task's outputs, or the family's own when it declares `outputs(Task)`
/// (Longformer's default adds pooler_output).
template <class F, class Task>
auto outputs_of() {
    if constexpr (requires { F::outputs(Task{}); }) return decltype(F::outputs(Task{})){};
    else return typename Task::outputs{};
}
}  // namespace detail

/// The model a family builds for a task.
template <class F, class Task>
using model_of = model<typename F::config, decltype(F::inputs(Task{})), decltype(F::layers(Task{})),
                       decltype(detail::outputs_of<F, Task>())>;

/// Does the family support the task?
template <class F, class Task>
inline constexpr bool supports = contains<typename F::features, Task>;

namespace detail {
template <class Layer, class B, class C>
void run_layer(B& b, slot_store<typename B::value>& store, const C& c) {
    Layer::forward(b, io<Layer, typename B::value>(store), c);
}
template <class I, class B, class C>
void declare_input(B& b, slot_store<typename B::value>& store, const C& c) {
    if constexpr (is_per_layer<I>) I::declare(b, store, c);  // a KV cache: one input per layer and part
    else store.insert_or_assign(std::string(I::name), b.input(I::name, I::type, I::axes_type::names));
}
template <class O, class B, class C>
void emit_output(B& b, const slot_store<typename B::value>& store, const C& c) {
    if constexpr (is_per_layer<O>) O::emit(b, store, c);
    else b.output(O::name, store.at(std::string(O::name)), O::axes_type::names);
}
template <class Model, class B, class... I, class... L, class... O>
void run_model(B& b, const typename Model::config_type& c, type_list<I...>, type_list<L...>, type_list<O...>) {
    slot_store<typename B::value> store;
    (declare_input<I>(b, store, c), ...);
    (run_layer<L>(b, store, c), ...);
    (emit_output<O>(b, store, c), ...);
}
}  // namespace detail

/// Run a model's forward on a backend: inputs, every layer in order, outputs.
template <class Model, Backend B>
void forward(B& b, const typename Model::config_type& c) {
    detail::run_model<Model>(b, c, typename Model::inputs{}, typename Model::layers{}, typename Model::outputs{});
}

}  // namespace typeformer::inline v0
