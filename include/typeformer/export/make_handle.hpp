// typeformer/export/make_handle.hpp: compile a family into its run-time handle.
//
// handle_of<F>() instantiates everything an export and its validation need
// of F (the graph of every feature, the reference pass, the dummy inputs),
// once. Include this header in the one translation unit that registers the
// family (typeformer_add_families in CMake generates it); everything else
// uses the handle (export/handle.hpp).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "typeformer/export/handle.hpp"
#include "typeformer/export/merge.hpp"

namespace typeformer::inline v0 {

/// A family whose graph depends on its config, declared as the variants it
/// chooses from: `variants` (a type_list of families, which share their
/// model_type, config type and features) and `choose(config_reader)`, the
/// index of the variant a config.json needs. DeBERTa's token_type_ids input,
/// present iff type_vocab_size > 0, is one.
template <class S>
concept FamilyChoice = requires(const config_reader& r) {
    typename S::variants;
    { S::choose(r) } -> std::convertible_to<std::size_t>;
};

template <class F>
const family_handle& handle_of();

namespace detail::erase {

/// The graph inputs or outputs a model declares, the cache expanded.
template <class C, class Specs>
std::vector<io_name> io_names(const C& c, Specs) {
    std::vector<io_name> v;
    for_each_type(Specs{}, [&]<class S>() {
        if constexpr (is_per_layer<S>) {
            for (auto& n : S::expand(c)) v.push_back(std::move(n));
        } else {
            v.push_back({std::string(S::name), std::vector<std::string>(S::axes_type::names.begin(),
                                                                        S::axes_type::names.end())});
        }
    });
    return v;
}

/// The typed config behind a loaded_config, checked to be this family's.
template <class F>
const typename F::config& config_of(const loaded_config& c) {
    if (c.family != &handle_of<F>() || !c.config)
        throw error("export.family", "a config loaded by " +
                                         std::string(c.family ? c.family->model_type : std::string_view("nothing")) +
                                         " was passed to " + std::string(F::model_type) +
                                         "'s handle (a family's config only works with the family that loaded it)");
    return *static_cast<const typename F::config*>(c.config.get());
}

/// One graph of a family: a task, or a part of the task `Feature`.
template <Family F, class Task, class Feature = Task>
feature_handle graph_of() {
    using model = model_of<F, Task>;
    feature_handle h;
    h.name = Task::name;
    h.has_past = task::has_past<Task>;
    h.empty_past = task::has_past<Task> && !task::is_later_step<Task>;
    h.build = [](const loaded_config& c, const checkpoint& ck, graph_options o, std::string_view where) {
        return build_graph<F, Task, Feature>(config_of<F>(c), ck, o, where);
    };
    h.reference = [](const loaded_config& c, const checkpoint& ck, const tensor_map& inputs, weight_cache* cache) {
        return reference_outputs<F, Task>(config_of<F>(c), ck, inputs, cache);
    };
    h.make_inputs = [](const loaded_config& c, axis_sizes n, std::uint32_t seed) {
        return typeformer::make_inputs<model, dummy_inputs_of<F>>(config_of<F>(c), n, seed);
    };
    h.inputs = [](const loaded_config& c) { return io_names(config_of<F>(c), typename model::inputs{}); };
    h.outputs = [](const loaded_config& c) { return io_names(config_of<F>(c), typename model::outputs{}); };
    return h;
}

/// The merged decoder of an encoder-decoder's task (export/merge.hpp): the
/// first step's decoder `First` and a later step's `Later` behind
/// use_cache_branch. Its reference pass is the branch's decoder's; its
/// validation inputs are the later step's (with a past) or the first's
/// (without, the cache inputs then empty), plus the flag.
template <Family F, class Task, class First, class Later>
feature_handle merged_of() {
    using first = model_of<F, First>;
    using later = model_of<F, Later>;
    feature_handle h;
    h.name = "decoder_model_merged";
    h.graph = h.name;
    h.has_past = true;
    h.empty_past = true;
    h.build = [](const loaded_config& c, const checkpoint& ck, graph_options o, std::string_view where) {
        return merge_decoders(build_graph<F, First, Task>(config_of<F>(c), ck, o, where),
                              build_graph<F, Later, Task>(config_of<F>(c), ck, o, where));
    };
    h.reference = [](const loaded_config& c, const checkpoint& ck, const tensor_map& inputs, weight_cache* cache) {
        const auto flag = inputs.find(use_cache_branch);
        if (flag == inputs.end() || flag->second.i.size() != 1)
            throw error("validate.input", std::string("the merged decoder needs ") + use_cache_branch + " [1]");
        if (flag->second.i(0) == 0) return reference_outputs<F, First>(config_of<F>(c), ck, inputs, cache);
        auto out = reference_outputs<F, Later>(config_of<F>(c), ck, inputs, cache);
        const std::string past = "past_key_values.";
        for (const auto& [name, v] : inputs)  // the cross-attention's cache, passed through
            if (name.starts_with(past) && name.find(".encoder.") != std::string::npos)
                out.emplace("present." + name.substr(past.size()), v);
        return out;
    };
    h.make_inputs = [](const loaded_config& c, axis_sizes n, std::uint32_t seed) {
        const auto& cfg = config_of<F>(c);
        const bool with_past = n.past > 0;
        auto in = with_past ? typeformer::make_inputs<later, dummy_inputs_of<F>>(cfg, n, seed)
                            : typeformer::make_inputs<first, dummy_inputs_of<F>>(cfg, n, seed);
        // the other branch's inputs, which this one does not read: the encoder's states, or an empty cache
        auto other = with_past ? typeformer::make_inputs<first, dummy_inputs_of<F>>(cfg, n, seed)
                               : typeformer::make_inputs<later, dummy_inputs_of<F>>(cfg, n, seed);
        for (auto& [name, v] : other) in.emplace(name, std::move(v));
        in.insert_or_assign(use_cache_branch,
                            eval_value(xt::xarray<std::int64_t>({with_past ? std::int64_t{1} : std::int64_t{0}}),
                                       dtype::boolean));
        return in;
    };
    h.inputs = [](const loaded_config& c) {
        auto v = io_names(config_of<F>(c), typename first::inputs{});
        for (auto& n : io_names(config_of<F>(c), typename later::inputs{}))
            if (std::none_of(v.begin(), v.end(), [&](const io_name& x) { return x.name == n.name; }))
                v.push_back(std::move(n));
        v.push_back({use_cache_branch, {"1"}});
        return v;
    };
    h.outputs = [](const loaded_config& c) { return io_names(config_of<F>(c), typename first::outputs{}); };
    return h;
}

template <Family F, class Task, class First, class Later>
feature_handle merged_of_list(type_list<First, Later>) {
    return merged_of<F, Task, First, Later>();
}

template <Family F, class Task>
feature_handle feature_of() {
    if constexpr (task::has_parts<Task>) {
        feature_handle h;
        h.name = Task::name;
        for_each_type(typename Task::parts{}, [&]<class Part>() {
            auto p = graph_of<F, Part, Task>();
            p.graph = Part::name;
            h.has_past = h.has_past || p.has_past;
            h.parts.push_back(std::move(p));
        });
        if constexpr (requires { typename Task::merged; })
            h.parts.push_back(merged_of_list<F, Task>(typename Task::merged{}));
        if constexpr (requires { F::monolith(Task{}); })
            h.monolith = std::make_shared<const feature_handle>(graph_of<F, decltype(F::monolith(Task{}))>());
        return h;
    } else {
        return graph_of<F, Task>();
    }
}

template <Family F>
family_handle family_of() {
    family_handle h;
    h.model_type = F::model_type;
    h.base_prefix = F::base_prefix;
    h.atol = F::atol;
    h.load = [](const config_reader& r) {
        return loaded_config{std::make_shared<const typename F::config>(F::load(r)), &handle_of<F>()};
    };
    h.tie_weights = [](const loaded_config& c, checkpoint& ck) { typeformer::tie_weights<F>(config_of<F>(c), ck); };
    if constexpr (requires(const typename F::config& c) { c.shape().max_positions; })
        h.dims = [](const loaded_config& c) {
            const auto s = config_of<F>(c).shape();
            return model_dims{s.hidden_size, s.num_heads, s.max_positions};
        };
    for_each_type(typename F::features{}, [&]<class Task>() { h.features.push_back(feature_of<F, Task>()); });
    return h;
}

/// The feature `Task` of whichever variant loaded the config.
template <class Task>
const feature_handle& chosen(const loaded_config& c) {
    return *c.family->feature(Task::name);
}

/// A FamilyChoice's handle: the first variant's names, every operation
/// forwarded to the variant that loaded the config.
template <FamilyChoice S, class First, class... Rest>
family_handle choice_of(type_list<First, Rest...>) {
    family_handle h;
    h.model_type = First::model_type;
    h.base_prefix = First::base_prefix;
    h.atol = First::atol;
    h.load = [](const config_reader& r) {
        const std::size_t k = S::choose(r);
        const family_handle* variants[] = {&handle_of<First>(), &handle_of<Rest>()...};
        if (k > sizeof...(Rest))
            throw error("export.family", std::string(First::model_type) + ": no variant " + std::to_string(k));
        return variants[k]->load(r);
    };
    h.tie_weights = [](const loaded_config& c, checkpoint& ck) { c.family->tie_weights(c, ck); };
    h.dims = [](const loaded_config& c) { return c.family->dims ? c.family->dims(c) : model_dims{}; };
    for_each_type(typename First::features{}, [&]<class Task>() {
        static_assert(!task::has_parts<Task>, "a family chosen among variants exports no feature of several graphs");
        feature_handle f;
        f.name = Task::name;
        f.has_past = task::has_past<Task>;
        f.build = [](const loaded_config& c, const checkpoint& ck, graph_options o, std::string_view where) {
            return chosen<Task>(c).build(c, ck, o, where);
        };
        f.reference = [](const loaded_config& c, const checkpoint& ck, const tensor_map& in, weight_cache* w) {
            return chosen<Task>(c).reference(c, ck, in, w);
        };
        f.make_inputs = [](const loaded_config& c, axis_sizes n, std::uint32_t seed) {
            return chosen<Task>(c).make_inputs(c, n, seed);
        };
        f.inputs = [](const loaded_config& c) { return chosen<Task>(c).inputs(c); };
        f.outputs = [](const loaded_config& c) { return chosen<Task>(c).outputs(c); };
        h.features.push_back(f);
    });
    return h;
}

}  // namespace detail::erase

/// The handle of a family (or of a FamilyChoice), built once. A type that
/// is neither fails to compile, naming what it lacks (family_complete).
template <class F>
const family_handle& handle_of() {
    if constexpr (FamilyChoice<F>) {
        static const family_handle h = detail::erase::choice_of<F>(typename F::variants{});
        return h;
    } else {
        static_assert(family_complete<F>(), "see the static_assert above: the family is incomplete");
        static const family_handle h = detail::erase::family_of<F>();
        return h;
    }
}

}  // namespace typeformer::inline v0
