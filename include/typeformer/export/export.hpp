// typeformer/export/export.hpp: build, check, write and validate an export.
//
// The user's main job, as a library: from a config and a checkpoint, build
// the ONNX graph of (family, task), check it with the ONNX checker and full
// shape inference, write it atomically, and validate it with ONNX Runtime
// against the reference pass at shapes the export never saw.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "typeformer/backend/eval.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/export/check.hpp"
#include "typeformer/export/stream.hpp"
#include "typeformer/export/onnxruntime.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

using tensor_map = std::map<std::string, eval_value, std::less<>>;

/// A built graph: the model without its weights, the initializers it needs
/// (each pointing at its checkpoint tensor) and what the parameter check noted.
struct built_graph {
    onnx::ModelProto model;
    std::vector<initializer_source> initializers;
    param_report params;
};

/// Build the graph of Family for Task and check the checkpoint against the
/// parameters it asks for (every problem reported in one error). No weight
/// is read: write it with write_onnx, or add the weights with materialize.
template <Family F, class Task>
built_graph build_graph(const typename F::config& c, const checkpoint& ck, int opset, std::string_view where) {
    onnx_backend b(&ck, opset);
    forward<model_of<F, Task>>(b, c);
    auto report = check_params(ck, b.requests(), F::base_prefix, F::ignored(), where);
    auto inits = b.initializers();
    return {std::move(b.model()), std::move(inits), std::move(report)};
}

/// The whole model in memory, weights included.
inline onnx::ModelProto materialize(built_graph g) {
    add_initializers(*g.model.mutable_graph(), g.initializers);
    return std::move(g.model);
}

/// What build_onnx returns: the model and what the parameter check noted.
struct built_model {
    onnx::ModelProto proto;
    param_report params;
};

/// Build the whole model in memory and run the checker with full shape
/// inference on it (tests and small models; the exporter streams instead).
template <Family F, class Task>
built_model build_onnx(const typename F::config& c, const checkpoint& ck, int opset, std::string_view where) {
    auto g = build_graph<F, Task>(c, ck, opset, where);
    auto report = std::move(g.params);
    auto model = materialize(std::move(g));
    check_onnx(model);
    return {std::move(model), std::move(report)};
}

/// The reference pass of Family for Task on the given inputs. Pass a cache
/// to convert the weights once across several runs.
template <Family F, class Task>
tensor_map reference_outputs(const typename F::config& c, const checkpoint& ck, const tensor_map& inputs,
                             weight_cache* cache = nullptr) {
    eval_backend b(&ck, cache);
    for (const auto& [name, v] : inputs) b.feed(name, v);
    forward<model_of<F, Task>>(b, c);
    return tensor_map(b.outputs().begin(), b.outputs().end());
}

/// Sizes of the dynamic axes used to make validation inputs.
struct axis_sizes {
    std::int64_t batch = 3, sequence = 9, choice = 3;
};

/// Deterministic inputs for a model: ids in [0, vocab), token types in
/// [0, min(2, type_vocab)), masks with the later rows padded (never a row
/// fully masked). The sequence never exceeds the model's position table.
template <class Model>
tensor_map make_inputs(const encoder_shape& sh, axis_sizes n, std::uint32_t seed = 42) {
    std::mt19937 rng(seed);
    n.sequence = std::min(n.sequence, sh.max_positions - sh.position_offset);
    tensor_map out;
    for_each_type(typename Model::inputs{}, [&]<class I>() {
        std::vector<std::size_t> shape;
        for (auto a : I::axes_type::names)
            shape.push_back(static_cast<std::size_t>(a == "batch" ? n.batch : a == "choice" ? n.choice : n.sequence));
        xt::xarray<std::int64_t> v = xt::zeros<std::int64_t>(shape);
        const auto seq = static_cast<std::size_t>(n.sequence);
        for (std::size_t k = 0; k < v.size(); ++k) {
            const std::size_t row = k / seq, pos = k % seq;
            if (I::name == "attention_mask")
                v.data()[k] = pos < seq - std::min(seq - 1, row % 3 * 2) ? 1 : 0;
            // dummy values of the inputs added by the roberta group (issue #3) below this line
            else if (I::name == "task_type_ids")
                v.data()[k] = static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(std::min<std::int64_t>(3, std::max<std::int64_t>(sh.task_type_vocab_size, 1))));

            // dummy values of the inputs added by the albert group (issue #3) below this line

            // dummy values of the inputs added by the sparse group (issue #3) below this line

            else if (I::name == "token_type_ids")
                v.data()[k] = static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(std::min<std::int64_t>(2, std::max<std::int64_t>(sh.type_vocab_size, 1))));
            else
                v.data()[k] = static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(sh.vocab_size));
        }
        out.emplace(std::string(I::name), eval_value(std::move(v)));
    });
    return out;
}

/// Largest |a - b|; +inf when the shapes differ, NaN-aware.
inline double max_abs_diff(const eval_value& a, const eval_value& b) {
    if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
    double m = 0;
    if (a.is_float() && b.is_float()) {
        for (std::size_t k = 0; k < a.f.size(); ++k) {
            const double d = std::abs(static_cast<double>(a.f.data()[k]) - b.f.data()[k]);
            if (std::isnan(d)) return std::numeric_limits<double>::infinity();
            m = std::max(m, d);
        }
    } else if (!a.is_float() && !b.is_float()) {
        for (std::size_t k = 0; k < a.i.size(); ++k)
            m = std::max(m, static_cast<double>(std::llabs(a.i.data()[k] - b.i.data()[k])));
    } else {
        return std::numeric_limits<double>::infinity();
    }
    return m;
}

inline std::string shape_tuple(const std::vector<std::int64_t>& s) {
    std::string r = "(";
    for (std::size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
    return r + (s.size() == 1 ? ",)" : ")");
}

/// Compare ONNX Runtime's outputs with the reference, printing Transformers'
/// familiar validation log. True when every output matches.
inline bool compare_outputs(const tensor_map& reference, const tensor_map& onnx, double atol, std::ostream& log) {
    bool ok = true;
    std::string ref_names, onnx_names;
    for (const auto& [n, v] : reference) ref_names += (ref_names.empty() ? "" : ", ") + n;
    for (const auto& [n, v] : onnx) onnx_names += (onnx_names.empty() ? "" : ", ") + n;
    if (ref_names == onnx_names) {
        log << "\t-[\u2713] ONNX model output names match reference model (" << onnx_names << ")\n";
    } else {
        log << "\t-[x] ONNX model output names (" << onnx_names << ") do not match reference model (" << ref_names
            << ")\n";
        ok = false;
    }
    for (const auto& [name, ref] : reference) {
        auto it = onnx.find(name);
        if (it == onnx.end()) continue;
        log << "\t- Validating ONNX Model output \"" << name << "\":\n";
        const auto rs = ref.shape(), os = it->second.shape();
        if (rs == os) {
            log << "\t\t-[\u2713] " << shape_tuple(os) << " matches " << shape_tuple(rs) << "\n";
        } else {
            log << "\t\t-[x] shape " << shape_tuple(os) << " doesn't match " << shape_tuple(rs) << "\n";
            ok = false;
            continue;
        }
        const double d = max_abs_diff(ref, it->second);
        std::ostringstream tol;
        tol << atol;
        if (d <= atol) {
            log << "\t\t-[\u2713] all values close (atol: " << tol.str() << ")\n";
        } else {
            log << "\t\t-[x] values not close enough, max diff: " << d << " (atol: " << tol.str() << ")\n";
            ok = false;
        }
    }
    return ok;
}

/// Write a file atomically: `write(stream)` fills a temporary file in the
/// same folder, which is flushed to disk and then renamed over `target`. On
/// any failure the temporary file is removed and `target` is left as it was.
template <class Writer>
void write_atomically(const std::filesystem::path& target, Writer&& write) {
    const auto tmp = target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
    auto fail = [&](const std::string& why) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw error("export.write", why);
    };
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail(tmp.string() + ": cannot open for writing");
        const bool wrote = write(static_cast<std::ostream&>(out));
        out.flush();
        if (!wrote || !out) fail(tmp.string() + ": write failed (disk full?)");
    }
    if (FILE* f = std::fopen(tmp.c_str(), "rb")) {
        ::fsync(::fileno(f));
        std::fclose(f);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, target, ec);
    if (ec) fail(target.string() + ": cannot move the written file into place (" + ec.message() + ")");
}

}  // namespace typeformer::inline v0
