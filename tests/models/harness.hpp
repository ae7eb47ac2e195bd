// tests/models/harness.hpp: one family, every feature, against the real reference.
//
// For each (family, feature) fixture made by tools/fixtures/generate.py:
//  1. the reference pass on the fixture's inputs matches Transformers'
//     outputs (max abs diff <= 1e-5);
//  2. the ONNX export passes the checker with full shape inference, at the
//     lowest and the default opset, with the legacy input/output names and
//     named dynamic axes;
//  3. ONNX Runtime on the exported graph matches the reference pass within
//     the architecture's atol at shapes the fixture never used (batch 3 x
//     sequence 9, and batch 1 x sequence 1).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "typeformer/export/export.hpp"
#include "typeformer/io/safetensors.hpp"

namespace tf = typeformer;

inline std::filesystem::path fixture_dir(std::string_view model_type, std::string_view feature) {
    return std::filesystem::path(TYPEFORMER_FIXTURES) / model_type / feature;
}

/// The fixture's tensors named `<prefix>.<name>`, as eval values.
inline tf::tensor_map fixture_tensors(const tf::safetensors_file& f, std::string_view prefix) {
    tf::tensor_map out;
    for (const auto& t : f.tensors()) {
        if (!t.name.starts_with(prefix)) continue;
        std::vector<std::size_t> shape(t.shape.begin(), t.shape.end());
        std::string name(t.name.substr(prefix.size()));
        if (t.type == tf::dtype::i64) {
            xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(shape);
            tf::read_as_i64(t, std::span<std::int64_t>(a.data(), a.size()));
            out.emplace(name, tf::eval_value(std::move(a)));
        } else {
            xt::xarray<float> a = xt::zeros<float>(shape);
            tf::read_as_f32(t, std::span<float>(a.data(), a.size()));
            out.emplace(name, tf::eval_value(std::move(a)));
        }
    }
    return out;
}

template <class F, class Task>
void check_against_transformers() {
    using model = tf::model_of<F, Task>;
    const auto dir = fixture_dir(F::model_type, Task::name);
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto cfg = F::load(tf::config_reader(json, (dir / "config.json").string()));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix(std::string(F::base_prefix));
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto expected = fixture_tensors(io, "output.");
    ASSERT_FALSE(expected.empty());

    // 1. reference pass vs Transformers
    const auto got = tf::reference_outputs<F, Task>(cfg, ck, inputs);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, want] : expected) {
        ASSERT_TRUE(got.contains(name)) << "no output " << name;
        const double d = tf::max_abs_diff(got.at(name), want);
        EXPECT_LE(d, 1e-5) << F::model_type << "/" << Task::name << " output " << name << " vs Transformers";
    }

    // 2 and 3. export, check, run in ONNX Runtime at other shapes
    for (int opset : {tf::min_opset, tf::default_opset}) {
        auto built = tf::build_onnx<F, Task>(cfg, ck, opset, dir.string());
        const auto& g = built.proto.graph();
        // inputs and outputs: names, order and named axes as declared
        std::vector<std::string> in_names, out_names;
        std::vector<std::vector<std::string_view>> in_axes;
        tf::for_each_type(typename model::inputs{}, [&]<class I>() {
            in_names.emplace_back(I::name);
            in_axes.emplace_back(I::axes_type::names.begin(), I::axes_type::names.end());
        });
        tf::for_each_type(typename model::outputs{}, [&]<class O>() { out_names.emplace_back(O::name); });
        ASSERT_EQ(g.input_size(), static_cast<int>(in_names.size()));
        for (int k = 0; k < g.input_size(); ++k) {
            EXPECT_EQ(g.input(k).name(), in_names[static_cast<std::size_t>(k)]);
            const auto& shape = g.input(k).type().tensor_type().shape();
            const auto& want = in_axes[static_cast<std::size_t>(k)];
            EXPECT_EQ(shape.dim(0).dim_param(), "batch");
            EXPECT_NE(std::find(want.begin(), want.end(), "sequence"), want.end()) << in_names[static_cast<std::size_t>(k)];
            ASSERT_EQ(shape.dim_size(), static_cast<int>(want.size())) << in_names[static_cast<std::size_t>(k)];
            for (int d = 0; d < shape.dim_size(); ++d) {
                const auto a = want[static_cast<std::size_t>(d)];
                if (tf::static_extent(a) >= 0) EXPECT_EQ(shape.dim(d).dim_value(), tf::static_extent(a));
                else EXPECT_EQ(shape.dim(d).dim_param(), a) << in_names[static_cast<std::size_t>(k)] << " axis " << d;
            }
        }
        ASSERT_EQ(g.output_size(), static_cast<int>(out_names.size()));
        for (int k = 0; k < g.output_size(); ++k) {
            EXPECT_EQ(g.output(k).name(), out_names[static_cast<std::size_t>(k)]);
            EXPECT_EQ(g.output(k).type().tensor_type().shape().dim(0).dim_param(), "batch");
        }
        std::string bytes;
        ASSERT_TRUE(built.proto.SerializeToString(&bytes));
        tf::ort_runner ort(bytes, 1);
        for (tf::axis_sizes n : {tf::axis_sizes{3, 9, 3}, tf::axis_sizes{1, 1, 1}, tf::axis_sizes{2, 17, 4}}) {
            const auto feeds = tf::make_inputs<model>(cfg.shape(), n, 7);
            const auto ref = tf::reference_outputs<F, Task>(cfg, ck, feeds);
            const auto onnx = ort.run(feeds);
            ASSERT_EQ(onnx.size(), ref.size());
            for (const auto& [name, want] : ref) {
                ASSERT_TRUE(onnx.contains(name));
                EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), F::atol)
                    << F::model_type << "/" << Task::name << " opset " << opset << " output " << name << " at batch "
                    << n.batch << " sequence " << n.sequence;
            }
        }
    }
}

/// Run check_against_transformers for the task named `feature`.
template <class F>
void check_feature(std::string_view feature) {
    bool found = false;
    tf::for_each_type(typename F::features{}, [&]<class Task>() {
        if (Task::name == feature) {
            found = true;
            check_against_transformers<F, Task>();
        }
    });
    ASSERT_TRUE(found) << feature;
}

/// Feature names of a family, for INSTANTIATE_TEST_SUITE_P.
template <class F>
std::vector<std::string> feature_names() {
    std::vector<std::string> v;
    tf::for_each_type(typename F::features{}, [&]<class Task>() { v.emplace_back(Task::name); });
    return v;
}

inline std::string test_name(const testing::TestParamInfo<std::string>& info) {
    std::string s = info.param;
    for (auto& c : s)
        if (c == '-') c = '_';
    return s;
}
