// typeformer/models/model.hpp: a model is inputs, a layer list and outputs;
// a family maps each task it supports to one.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/core/cache.hpp"
#include "typeformer/core/fields.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/type_list.hpp"
#include "typeformer/ops/vocabulary.hpp"
#include "typeformer/tasks/tasks.hpp"

namespace typeformer::inline v0 {

/// Keys that PreTrainedModel and PretrainedConfig read for every model
/// type, the same way whatever the family: load_config applies them
/// before the family's own rows.
using pretrained_config_rows = field_table<
    absent<"pruned_heads", "pruned attention heads change the layers' shapes">,
    absent<"quantization_config", "a quantized checkpoint">,
    absent<"fusion_config", "kernel fusion patches">,
    never<"is_heterogeneous", "per-layer config overrides">,
    absent<"_heterogeneity_spec", "per-layer config overrides">,
    each_is<"layer_types", "full_attention", "a layer of another attention kind">,
    absent<"mtp_layer_types", "multi-token-prediction layers">,
    each_is<"mlp_layer_types", "dense", "a sparse (mixture-of-experts) MLP">,
    // 5.x's cache (get_layer_types_and_kwargs) and masks read these for every model type
    absent<"attention_chunk_size", "chunked attention">, absent<"kv_sharing_modes", "key/value caches shared across layers">,
    absent<"per_layer_config", "per-layer config overrides">,
    // custom modelling code, used only with trust_remote_code: the export builds Transformers' own class for
    // model_type, as from_pretrained does without it
    no_effect<"auto_map", any_json>,
    // 5.x's check of rope_parameters (validate_rope): which keys it lets through; no effect on the model
    no_effect<"ignore_keys_at_rope_validation", any_json>,
    // initialisation only: the checkpoint holds the weights
    no_effect<"initializer_range", double>, no_effect<"init_std", double>, no_effect<"embed_init_std", double>,
    // dropout probabilities: training only, the export is the model in eval mode
    no_effect<"hidden_dropout_prob", double>, no_effect<"attention_probs_dropout_prob", double>,
    no_effect<"classifier_dropout", double>, no_effect<"classifier_dropout_prob", double>,
    no_effect<"attention_dropout", double>, no_effect<"hidden_dropout", double>, no_effect<"dropout", double>,
    no_effect<"summary_first_dropout", double>, no_effect<"summary_last_dropout", double>,
    no_effect<"resid_pdrop", double>, no_effect<"embd_pdrop", double>, no_effect<"attn_pdrop", double>,
    no_effect<"resid_dropout", double>, no_effect<"embed_dropout", double>, no_effect<"pooler_dropout", double>,
    no_effect<"cls_dropout", double>, no_effect<"seq_classif_dropout", double>, no_effect<"qa_dropout", double>>;

/// A config from config.json through its field table (core/fields.hpp):
/// `start` holds the defaults (a family's own, where several families
/// share one config type), every row of `Keys` reads or refuses its key,
/// then every rule of the config's table is checked; errors name the file
/// and the key. `Keys` is the config's table, or one that extends it with
/// the keys one model type reads its own way (models/llama.hpp).
template <TabulatedConfig C, class Keys = typename C::fields>
C load_config(const config_reader& r, C start = {}) {
    pretrained_config_rows::load_unowned<Keys>(r, start);
    Keys::load(r, start);
    check_loaded(start, r.where());
    return start;
}

/// The first of config.json's `architectures` that is one of `classes`, as
/// Transformers' auto classes pick a checkpoint's head (DeiT's and LeViT's
/// image classifiers, with or without the teacher); empty when none is.
inline std::string first_architecture_of(const config_reader& r, std::initializer_list<std::string_view> classes) {
    if (!r.has("architectures") || r.is_null("architectures")) return {};
    std::vector<std::string> names;
    r.get_list("architectures", names);
    for (const auto& n : names)
        for (const auto c : classes)
            if (n == c) return n;
    return {};
}

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

/// Does the family declare `inputs(Task)` and `layers(Task)` for this task?
template <class F, class Task>
concept DeclaresTask = requires {
    F::inputs(Task{});
    F::layers(Task{});
};

namespace detail {
template <class F, class... G>
constexpr bool declares_every_graph(type_list<G...>) {
    return (DeclaresTask<F, G> && ...);
}
template <class F, class... Task>
constexpr bool declares_every_task(type_list<Task...>) {
    return (declares_every_graph<F>(task::graphs_of<Task>{}) && ...);
}
}  // namespace detail

/// Does the family declare inputs(Task) and layers(Task) for every task of
/// its `features` (for each part of a task exported as several graphs)?
template <class F>
concept DeclaresEveryFeature = detail::declares_every_task<F>(typename F::features{});

/// A family (an architecture, one `model_type`) declares everything an
/// export uses: `model_type` (config.json's), `base_prefix` (the base
/// model's state-dict prefix), `atol` (its validation tolerance), `config`
/// and `load(config_reader)` (config.json read and checked), `ignored()`
/// (checkpoint tensors a model may leave unused; a family whose unused
/// tensors depend on the config also declares `ignored(const config&)`,
/// which the export then calls instead), `features` (a type_list of
/// tasks), and for each feature `inputs(Task)` and `layers(Task)`, function
/// declarations whose return types are type lists (overloads select per
/// task, at no compile cost). A family that lacks one fails here, naming it.
template <class F>
concept Family = requires(const config_reader& r) {
    { F::model_type } -> std::convertible_to<std::string_view>;
    { F::base_prefix } -> std::convertible_to<std::string_view>;
    { F::atol } -> std::convertible_to<double>;
    typename F::config;
    typename F::features;
    { F::load(r) } -> std::same_as<typename F::config>;
    { F::ignored() } -> std::same_as<std::vector<std::string>>;
} && DeclaresEveryFeature<F>;

/// Check a family for everything Family asks, one static_assert each, so
/// that an incomplete family fails with the name of what it lacks:
/// `static_assert(family_complete<my_family>());` after its declaration
/// (handle_of and export_model run it too).
template <class F>
consteval bool family_complete() {
    static_assert(requires { { F::model_type } -> std::convertible_to<std::string_view>; },
                  "a family declares `static constexpr std::string_view model_type` (config.json's model_type)");
    static_assert(requires { { F::base_prefix } -> std::convertible_to<std::string_view>; },
                  "a family declares `static constexpr std::string_view base_prefix` (the base model's prefix)");
    static_assert(requires { { F::atol } -> std::convertible_to<double>; },
                  "a family declares `static constexpr double atol` (its validation tolerance)");
    static_assert(requires { typename F::config; }, "a family declares `using config = ...` (its config type)");
    static_assert(requires { typename F::features; },
                  "a family declares `using features = type_list<task...>` (the tasks it exports)");
    if constexpr (requires { typename F::config; }) {
        static_assert(requires(const config_reader& r) { { F::load(r) } -> std::same_as<typename F::config>; },
                      "a family declares `static config load(const config_reader&)` (config.json to config)");
    }
    static_assert(requires { { F::ignored() } -> std::same_as<std::vector<std::string>>; },
                  "a family declares `static std::vector<std::string> ignored()` (tensors a model may leave unused)");
    if constexpr (requires { typename F::features; }) {
        static_assert(DeclaresEveryFeature<F>,
                      "a family declares `inputs(Task)` and `layers(Task)` for every task of its features");
    }
    return Family<F>;
}

/// What most families declare alike, as a base:
/// `struct bert_family : family_base<"bert", "bert", bert_config, &bert_config_from_json, task::encoder_features>`
/// gives `model_type`, `base_prefix`, `config`, `load` (calling `Load`),
/// `features` and `atol` = 1e-5, the legacy table's tolerance for most
/// architectures; a family declares its own `atol` where its tolerance
/// differs. `ignored()`, `inputs(Task)` and `layers(Task)` stay the
/// family's.
template <fixed_string ModelType, fixed_string BasePrefix, class Config, auto Load, class Features>
struct family_base {
    static constexpr std::string_view model_type = ModelType.view();
    static constexpr std::string_view base_prefix = BasePrefix.view();
    static constexpr double atol = 1e-5;
    using config = Config;
    using features = Features;

    static config load(const config_reader& r) { return Load(r); }
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

namespace detail {
template <class F>
auto dummy_inputs_or_none() {
    if constexpr (requires { typename F::dummy_inputs; }) return typename F::dummy_inputs{};
    else return type_list<>{};
}
}  // namespace detail

/// The validation values a family gives its inputs that make_inputs does
/// not know by name (`using dummy_inputs = type_list<dummy_input<...>...>`),
/// or none. An input left without them does not compile, so a misspelt
/// `dummy_inputs` cannot pass unnoticed.
template <class F>
using dummy_inputs_of = decltype(detail::dummy_inputs_or_none<F>());

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
    if constexpr (is_per_layer<I>) {  // a KV cache: one input per layer and part
        for (const auto& [name, axes] : I::expand(c)) {
            std::vector<std::string_view> views(axes.begin(), axes.end());
            store.insert_or_assign(name, b.input(name, I::type, views));
        }
    } else {
        store.insert_or_assign(std::string(I::name), b.input(I::name, I::type, I::axes_type::names));
    }
}
template <class O, class B, class C>
void emit_output(B& b, const slot_store<typename B::value>& store, const C& c) {
    if constexpr (is_per_layer<O>) {
        for (const auto& [name, axes] : O::expand(c)) {
            std::vector<std::string_view> views(axes.begin(), axes.end());
            b.output(name, store.at(name), views);
        }
    } else {
        b.output(O::name, store.at(std::string(O::name)), O::axes_type::names);
    }
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
