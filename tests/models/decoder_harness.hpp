// tests/models/decoder_harness.hpp: one decoder family, every feature, against
// the real reference, plus generation through the with-past graph.
//
// For each (family, feature) fixture made by tools/fixtures/generate.py:
//  1. the reference pass on the fixture's inputs matches Transformers' outputs
//     (max abs diff <= 1e-5), the grown cache (present.*) included: for a
//     with-past feature the fixture's inputs are new tokens after the cache
//     of a real prefix, one row left-padded;
//  2. the export passes the checker with full shape inference at the lowest
//     and the default opset, with Transformers' input and output names in
//     order (input_ids, past_key_values.{i}.key/.value, attention_mask
//     [, position_ids]; the task's outputs, then present.{i}.key/.value) and
//     named dynamic axes;
//  3. ONNX Runtime matches the reference pass within the family's atol at
//     shapes the fixture never used, past lengths 0 (the first step) and
//     non-zero included.
// And generation: greedy decoding through ONNX Runtime on the
// causal-lm-with-past graph, feeding present back as past, gives the tokens
// Transformers' generate() gave, with the logits within atol at every step
// (and the reference pass's within 1e-5).
#pragma once

#include "harness.hpp"

/// Names and axes a model's graph inputs must have, the cache expanded.
template <class Model, class C>
std::vector<std::pair<std::string, std::vector<std::string>>> expected_inputs(const C& c) {
    std::vector<std::pair<std::string, std::vector<std::string>>> v;
    tf::for_each_type(typename Model::inputs{}, [&]<class I>() {
        if constexpr (tf::is_per_layer<I>) {
            const auto kv = c.cache();
            for (std::int64_t i = 0; i < kv.layers; ++i)
                for (int k = 0; k < 2; ++k)
                    v.emplace_back(std::string(I::name) + "." + tf::cache_parts(i)[static_cast<std::size_t>(k)],
                                   tf::cache_axes(kv, k == 0, tf::past_axis, false));
        } else {
            v.emplace_back(std::string(I::name),
                           std::vector<std::string>(I::axes_type::names.begin(), I::axes_type::names.end()));
        }
    });
    return v;
}

template <class Model, class C>
std::vector<std::string> expected_outputs(const C& c) {
    std::vector<std::string> v;
    tf::for_each_type(typename Model::outputs{}, [&]<class O>() {
        if constexpr (tf::is_per_layer<O>) {
            for (std::int64_t i = 0; i < c.cache().layers; ++i)
                for (const auto& part : tf::cache_parts(i)) v.push_back(std::string(O::name) + "." + part);
        } else {
            v.emplace_back(O::name);
        }
    });
    return v;
}

template <class F, class Task>
void check_decoder_against_transformers() {
    using model = tf::model_of<F, Task>;
    const auto dir = fixture_dir(F::model_type, Task::name);
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto cfg = F::load(tf::config_reader(json, (dir / "config.json").string()));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix(std::string(F::base_prefix));
    tf::tie_weights<F>(cfg, ck);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto expected = fixture_tensors(io, "output.");
    ASSERT_FALSE(expected.empty());

    // 1. reference pass vs Transformers
    tf::weight_cache weights;
    const auto got = tf::reference_outputs<F, Task>(cfg, ck, inputs, &weights);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, want] : expected) {
        ASSERT_TRUE(got.contains(name)) << "no output " << name;
        EXPECT_LE(tf::max_abs_diff(got.at(name), want), 1e-5)
            << F::model_type << "/" << Task::name << " output " << name << " vs Transformers";
    }

    // 2 and 3. export, check names and axes, run in ONNX Runtime at other shapes
    const auto want_in = expected_inputs<model>(cfg);
    const auto want_out = expected_outputs<model>(cfg);
    for (int opset : {tf::min_opset, tf::default_opset}) {
        auto built = tf::build_onnx<F, Task>(cfg, ck, opset, dir.string());
        const auto& g = built.proto.graph();
        ASSERT_EQ(g.input_size(), static_cast<int>(want_in.size()));
        for (int k = 0; k < g.input_size(); ++k) {
            const auto& [name, axes] = want_in[static_cast<std::size_t>(k)];
            EXPECT_EQ(g.input(k).name(), name);
            const auto& shape = g.input(k).type().tensor_type().shape();
            ASSERT_EQ(shape.dim_size(), static_cast<int>(axes.size())) << name;
            for (int d = 0; d < shape.dim_size(); ++d) {
                const auto& a = axes[static_cast<std::size_t>(d)];
                if (tf::static_extent(a) >= 0) EXPECT_EQ(shape.dim(d).dim_value(), tf::static_extent(a)) << name;
                else EXPECT_EQ(shape.dim(d).dim_param(), a) << name << " axis " << d;
            }
        }
        ASSERT_EQ(g.output_size(), static_cast<int>(want_out.size()));
        for (int k = 0; k < g.output_size(); ++k) EXPECT_EQ(g.output(k).name(), want_out[static_cast<std::size_t>(k)]);
        std::string bytes;
        ASSERT_TRUE(built.proto.SerializeToString(&bytes));
        tf::ort_runner ort(bytes, 1);
        for (tf::axis_sizes n : {tf::axis_sizes{3, 9, 3, 5}, tf::axis_sizes{1, 1, 1, 0}, tf::axis_sizes{2, 17, 4, 3},
                                 tf::axis_sizes{2, 4, 1, 0}, tf::axis_sizes{1, 1, 1, 12}}) {
            const auto feeds = tf::make_inputs<model>(cfg, n, 7);
            const auto ref = tf::reference_outputs<F, Task>(cfg, ck, feeds, &weights);
            const auto onnx = ort.run(feeds);
            ASSERT_EQ(onnx.size(), ref.size());
            for (const auto& [name, want] : ref) {
                ASSERT_TRUE(onnx.contains(name)) << name;
                EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), F::atol)
                    << F::model_type << "/" << Task::name << " opset " << opset << " output " << name << " at batch "
                    << n.batch << " sequence " << n.sequence << " past " << n.past;
            }
        }
    }
}

/// Greedy generation through the causal-lm-with-past graph vs the fixture's generate().
template <class F>
void check_generation() {
    using Task = tf::task::causal_lm_with_past;
    using model = tf::model_of<F, Task>;
    const auto dir = fixture_dir(F::model_type, Task::name);
    ASSERT_TRUE(std::filesystem::exists(dir / "generate.safetensors")) << dir << ": run tools/fixtures/generate.py";
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto cfg = F::load(tf::config_reader(json, (dir / "config.json").string()));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix(std::string(F::base_prefix));
    tf::tie_weights<F>(cfg, ck);
    const auto gen = fixture_tensors(tf::safetensors_file::open(dir / "generate.safetensors"), "gen.");
    const auto& prompt = gen.at("prompt").i;
    const auto& sequences = gen.at("sequences").i;
    const auto& logits = gen.at("logits").f;  // [N, B, V]
    const auto B = prompt.shape()[0], P = prompt.shape()[1], N = logits.shape()[0], V = logits.shape()[2];

    auto built = tf::build_onnx<F, Task>(cfg, ck, tf::default_opset, dir.string());
    std::string bytes;
    ASSERT_TRUE(built.proto.SerializeToString(&bytes));
    tf::ort_runner ort(bytes, 1);
    const bool takes_positions = std::find(ort.input_names().begin(), ort.input_names().end(), "position_ids") !=
                                 ort.input_names().end();

    // the first step: the prompt, an empty past (length 0)
    tf::tensor_map feeds;
    feeds.emplace("input_ids", tf::eval_value(xt::xarray<std::int64_t>(prompt)));
    const auto kv = cfg.cache();
    for (std::int64_t i = 0; i < kv.layers; ++i)
        for (int k = 0; k < 2; ++k) {
            std::vector<std::size_t> shape;
            for (const auto& a : tf::cache_axes(kv, k == 0, tf::past_axis, false))
                shape.push_back(a == tf::past_axis ? 0
                                : tf::static_extent(a) >= 0 ? static_cast<std::size_t>(tf::static_extent(a))
                                : a == "batch"              ? B
                                                            : B * static_cast<std::size_t>(kv.kv_heads));
            feeds.emplace("past_key_values." + tf::cache_parts(i)[static_cast<std::size_t>(k)],
                          tf::eval_value(xt::xarray<float>(xt::zeros<float>(shape))));
        }
    tf::weight_cache weights;
    std::size_t length = P;
    for (std::size_t step = 0; step < N; ++step) {
        const std::size_t S = feeds.at("input_ids").i.shape()[1];
        feeds.insert_or_assign("attention_mask", tf::eval_value(xt::xarray<std::int64_t>(xt::ones<std::int64_t>({B, length}))));
        if (takes_positions) {
            xt::xarray<std::int64_t> pos = xt::zeros<std::int64_t>({B, S});
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t s = 0; s < S; ++s) pos(b, s) = static_cast<std::int64_t>(length - S + s);
            feeds.insert_or_assign("position_ids", tf::eval_value(std::move(pos)));
        }
        const auto out = ort.run(feeds);
        const auto ref = tf::reference_outputs<F, Task>(cfg, ck, feeds, &weights);
        const auto& l = out.at("logits").f;  // [B, S, V]
        xt::xarray<std::int64_t> next = xt::zeros<std::int64_t>({B, std::size_t{1}});
        for (std::size_t b = 0; b < B; ++b) {
            double worst = 0, worst_ref = 0;
            std::size_t best = 0;
            for (std::size_t v = 0; v < V; ++v) {
                const float x = l(b, S - 1, v);
                worst = std::max(worst, std::abs(static_cast<double>(x) - logits(step, b, v)));
                worst_ref = std::max(worst_ref, std::abs(static_cast<double>(ref.at("logits").f(b, S - 1, v)) - logits(step, b, v)));
                if (x > l(b, S - 1, best)) best = v;
            }
            EXPECT_LE(worst, F::atol) << F::model_type << ": ONNX Runtime logits at step " << step << " row " << b;
            EXPECT_LE(worst_ref, 1e-5) << F::model_type << ": reference logits at step " << step << " row " << b;
            ASSERT_EQ(static_cast<std::int64_t>(best), sequences(b, P + step))
                << F::model_type << ": token at step " << step << " row " << b;
            next(b, 0) = static_cast<std::int64_t>(best);
        }
        // the next step: the chosen tokens, present as past
        feeds.insert_or_assign("input_ids", tf::eval_value(std::move(next)));
        for (const auto& [name, v] : out)
            if (name.starts_with("present."))
                feeds.insert_or_assign("past_key_values." + name.substr(8), v);
        ++length;
    }
}

/// Run check_decoder_against_transformers for the task named `feature`.
template <class F>
void check_decoder_feature(std::string_view feature) {
    bool found = false;
    tf::for_each_type(typename F::features{}, [&]<class Task>() {
        if (Task::name == feature) {
            found = true;
            check_decoder_against_transformers<F, Task>();
        }
    });
    ASSERT_TRUE(found) << feature;
}
