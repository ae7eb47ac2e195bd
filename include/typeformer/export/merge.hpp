// typeformer/export/merge.hpp: an encoder-decoder's two decoders as one
// graph (Optimum's decoder_model_merged.onnx).
//
// The first step's decoder (decoder_model: it reads encoder_hidden_states
// and returns the whole cache) and a later step's (decoder_with_past_model:
// it reads the cache and returns its self-attention part grown) become the
// two branches of one If node on a bool input `use_cache_branch` [1]; the
// weights, which both read under the same names, are stored once. The
// merged graph's inputs are the first decoder's, then the cache, then
// use_cache_branch; its outputs the first decoder's: the later branch
// returns the cross-attention's cache it was given (`present.{i}.encoder.*`
// = `past_key_values.{i}.encoder.*`). Both branches are the graphs the
// library built from the one forward definition; the merge only renames
// their intermediate values apart (`first/`, `with_past/`).
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/export/export.hpp"

namespace typeformer::inline v0 {

/// The name of the merged decoder's branch input.
inline constexpr const char* use_cache_branch = "use_cache_branch";

/// Merge the first step's decoder and a later step's into one graph (see
/// above). Both must come from the same family and config.
built_graph merge_decoders(built_graph first, built_graph later);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE built_graph merge_decoders(built_graph first, built_graph later) {
    const auto& g1 = first.model.graph();
    const auto& g2 = later.model.graph();
    // names every branch reads from the outer graph: graph inputs and weights
    std::set<std::string, std::less<>> outer;
    for (const auto& i : g1.input()) outer.insert(i.name());
    for (const auto& i : g2.input()) outer.insert(i.name());
    for (const auto& s : first.initializers) outer.insert(s.name);
    for (const auto& s : later.initializers) outer.insert(s.name);
    outer.insert(use_cache_branch);

    // a branch: the graph's nodes, its intermediate values renamed apart
    const auto branch = [&](const onnx::GraphProto& g, const std::string& prefix) {
        onnx::GraphProto b;
        b.set_name(prefix + "branch");
        std::set<std::string, std::less<>> own;
        for (const auto& n : g.node())
            for (const auto& o : n.output()) own.insert(o);
        const auto rename = [&](const std::string& x) { return own.contains(x) && !outer.contains(x) ? prefix + x : x; };
        for (const auto& n : g.node()) {
            auto* m = b.add_node();
            *m = n;
            if (!n.name().empty()) m->set_name(prefix + n.name());
            for (auto& x : *m->mutable_input()) x = rename(x);
            for (auto& x : *m->mutable_output()) x = rename(x);
        }
        for (const auto& o : g.output()) {
            auto* v = b.add_output();
            *v = o;
            v->set_name(rename(o.name()));
        }
        return b;
    };
    onnx::GraphProto else_branch = branch(g1, "first/");
    onnx::GraphProto then_branch = branch(g2, "with_past/");
    // the later branch's outputs in the first's order, the cross-attention's cache passed through
    {
        onnx::GraphProto ordered;
        ordered.set_name(then_branch.name());
        *ordered.mutable_node() = then_branch.node();
        for (const auto& o : g1.output()) {
            const std::string name = "with_past/" + o.name();
            const auto it = std::find_if(then_branch.output().begin(), then_branch.output().end(),
                                         [&](const onnx::ValueInfoProto& v) { return v.name() == name; });
            if (it != then_branch.output().end()) {
                *ordered.add_output() = *it;
                continue;
            }
            const std::string past = "past_key_values." + o.name().substr(std::string("present.").size());
            if (!o.name().starts_with("present.") || !outer.contains(past))
                throw error("export.merge", "the later decoder has no output " + o.name() + " nor an input " + past);
            auto* n = ordered.add_node();
            n->set_op_type("Identity");
            n->set_name("with_past/" + o.name() + "/Identity");
            n->add_input(past);
            n->add_output(name);
            auto* v = ordered.add_output();
            *v = o;
            v->set_name(name);
        }
        if (ordered.output_size() != then_branch.output_size() + (g1.output_size() - g2.output_size()))
            throw error("export.merge", "the decoders' outputs do not match");
        then_branch = std::move(ordered);
    }

    built_graph merged;
    merged.model = first.model;
    auto* g = merged.model.mutable_graph();
    g->clear_node();
    g->clear_input();
    g->clear_output();
    g->clear_value_info();
    g->set_name("decoder_model_merged");
    std::set<std::string, std::less<>> inputs;
    for (const auto* src : {&g1, &g2})
        for (const auto& i : src->input())
            if (inputs.insert(i.name()).second) *g->add_input() = i;
    {
        auto* flag = g->add_input();
        flag->set_name(use_cache_branch);
        auto* tt = flag->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto::BOOL);
        tt->mutable_shape()->add_dim()->set_dim_value(1);
    }
    auto* n = g->add_node();
    n->set_op_type("If");
    n->set_name("/decoder/If");
    n->add_input(use_cache_branch);
    for (const auto& o : g1.output()) {
        n->add_output(o.name());
        *g->add_output() = o;
    }
    auto* then_attr = n->add_attribute();
    then_attr->set_name("then_branch");
    then_attr->set_type(onnx::AttributeProto::GRAPH);
    *then_attr->mutable_g() = std::move(then_branch);
    auto* else_attr = n->add_attribute();
    else_attr->set_name("else_branch");
    else_attr->set_type(onnx::AttributeProto::GRAPH);
    *else_attr->mutable_g() = std::move(else_branch);

    merged.initializers = std::move(first.initializers);
    std::set<std::string, std::less<>> have;
    for (const auto& s : merged.initializers) have.insert(s.name);
    for (auto& s : later.initializers)
        if (have.insert(s.name).second) merged.initializers.push_back(std::move(s));
    merged.params = std::move(first.params);
    return merged;
}
#endif

}  // namespace typeformer::inline v0
