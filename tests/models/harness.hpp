// tests/models/harness.hpp: a family's features against the real reference.
//
// The families are the exporter's own (the typeformer_families library, each
// compiled once), reached through their handles. For each (model_type,
// feature) fixture made by tools/fixtures/generate.py:
//  1. the reference pass on the fixture's inputs matches Transformers'
//     outputs (max abs diff <= 1e-5); for a with-past feature the inputs are
//     new tokens after the cache of a real prefix, one row left-padded, and
//     the grown cache (present.*) is compared too;
//  2. the export passes the checker with full shape inference at the lowest,
//     the default and the highest opset (validated_opsets), with the declared input and output names in
//     order (the cache expanded: past_key_values.{i}.key/.value,
//     present.{i}.key/.value) and named dynamic axes;
//  3. ONNX Runtime matches the reference pass within the family's atol at
//     shapes the fixture never used (decoders: past lengths 0, the first
//     step, and non-zero too).
// And generation: greedy decoding through ONNX Runtime on the
// causal-lm-with-past graph, feeding present back as past, gives the tokens
// Transformers' generate() gave, with the logits within atol at every step
// (and the reference pass's within 1e-5).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "typeformer/export/pretrained.hpp"
#include "typeformer/export/registry.hpp"
#include "typeformer/io/safetensors.hpp"

#include <unistd.h>

#include <xtensor/xbuilder.hpp>

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

/// The typed config behind a loaded one (the test knows the family's config type).
template <class C>
const C& typed_config(const tf::loaded_config& c) {
    return *static_cast<const C*>(c.config.get());
}

/// `c` with its config replaced by `edited` (same family): to run a fixture's
/// weights under a changed setting.
template <class C>
tf::loaded_config with_config(const tf::loaded_config& c, C edited) {
    return {std::make_shared<const C>(std::move(edited)), c.family};
}

/// The model code of the Transformers that made the fixture (io.safetensors'
/// `transformers` metadata): fixtures made by 4.41 (any 4.x before 4.50)
/// are read as 4.41 computes them; the others (4.57 computes these families
/// as 5.x does), and those without the metadata (tests/fixtures_layouts/:
/// BERT, the same under both), as 5.x does.
inline tf::follow_transformers fixture_follows(const std::filesystem::path& dir) {
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto it = io.metadata().find("transformers");
    if (it == io.metadata().end()) return tf::follow_transformers::v5;
    const auto v = tf::detail::pretrained::version_parts(it->second);
    return v.size() >= 2 && v[0] == 4 && v[1] < 50 ? tf::follow_transformers::v4_41 : tf::follow_transformers::v5;
}

/// Whether the fixture's forward call set interpolate_pos_encoding
/// (io.safetensors' `forward` metadata, the call's extra arguments as JSON).
inline bool fixture_interpolates(const std::filesystem::path& dir) {
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto it = io.metadata().find("forward");
    if (it == io.metadata().end()) return false;
    const auto forward = nlohmann::json::parse(it->second);
    for (const auto& [key, value] : forward.items())
        if (key != "interpolate_pos_encoding") throw std::runtime_error(dir.string() + ": unknown forward argument " + key);
    return forward.value("interpolate_pos_encoding", false);
}

/// A fixture folder loaded as the exporter loads a checkpoint, following
/// the Transformers that made it, with the forward arguments it was run with.
inline tf::loaded_model load_fixture(std::string_view model_type, const std::filesystem::path& dir) {
    const auto json = tf::config_reader::load(dir / "config.json");
    if (const auto* c = tf::find_composite(model_type)) {  // a multimodal checkpoint: its text decoder
        const auto text = tf::composite_text_config(*c, json, (dir / "config.json").string());
        return tf::load_model(tf::require_family(text["model_type"].get<std::string>()), dir, json,
                              fixture_follows(dir), c);
    }
    return tf::load_model(tf::require_family(model_type), dir, json, fixture_follows(dir), nullptr,
                          fixture_interpolates(dir));
}

/// max |got - want| over the positions a fixture defines: every position,
/// except where io.safetensors' `compare` metadata is "real-queries" (the
/// Transformers that made it computes something unspecified at padded
/// query positions): there an output [B, S, ...] is compared only where
/// attention_mask [B, S] is 1.
inline double fixture_diff(const tf::safetensors_file& io, const tf::tensor_map& inputs, const tf::eval_value& got,
                           const tf::eval_value& want) {
    const auto it = io.metadata().find("compare");
    if (it == io.metadata().end()) return tf::max_abs_diff(got, want);
    if (it->second != "real-queries") throw std::runtime_error("unknown compare metadata " + it->second);
    const auto& mask = inputs.at("attention_mask").i;
    const auto& g = got.f;
    const auto& w = want.f;
    if (g.shape() != w.shape()) return std::numeric_limits<double>::infinity();
    if (mask.dimension() != 2 || g.dimension() < 2 || g.shape()[0] != mask.shape()[0] ||
        g.shape()[1] != mask.shape()[1])
        return tf::max_abs_diff(got, want);  // not per query position ([B, labels])
    const std::size_t B = g.shape()[0], S = g.shape()[1], inner = g.size() / (B * S);
    double worst = 0;
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t s = 0; s < S; ++s) {
            if (mask(b, s) == 0) continue;
            for (std::size_t k = 0; k < inner; ++k) {
                const std::size_t at = (b * S + s) * inner + k;
                const double d = std::abs(static_cast<double>(g.data()[at]) - static_cast<double>(w.data()[at]));
                if (!(d <= worst)) worst = d;  // NaN wins
            }
        }
    return worst;
}

/// The config family F reads from config.json's text (a family test's
/// defaults and refusals).
template <class F>
typename F::config config_from_text(const char* text) {
    const auto j = nlohmann::json::parse(text);
    return F::load(tf::config_reader(j, "config.json"));
}
/// "<error id>: <message>" of F reading config.json's text; "none" when it reads it.
template <class F>
std::string config_error(const char* text) {
    try {
        (void)config_from_text<F>(text);
    } catch (const tf::error& e) {
        return std::string(e.id()) + ": " + e.what();
    }
    return "none";
}

/// The opsets every export is run at: the lowest (the most composed), the
/// default, and the highest, where layer norm, GELU, RMS norm, rotary and
/// attention are the opset's own ops.
inline constexpr std::array<int, 3> validated_opsets{tf::min_opset, tf::default_opset, tf::max_opset};

/// The model of (model_type, feature) built in memory, checked with full
/// shape inference, serialized for ONNX Runtime.
inline std::string onnx_bytes(const tf::loaded_model& m, const tf::feature_handle& f, int opset,
                              const std::filesystem::path& dir, onnx::GraphProto* graph = nullptr) {
    auto model = tf::materialize(f.build(m.config, m.weights, opset, dir.string()));
    tf::check_onnx(model);
    if (graph) *graph = model.graph();
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw std::runtime_error("cannot serialize the model");
    return bytes;
}

/// The graph's inputs or outputs against the declared ones: names in order, named axes.
template <class Values>
void expect_io(const Values& got, const std::vector<tf::io_name>& want, std::string_view what) {
    ASSERT_EQ(got.size(), static_cast<int>(want.size())) << what;
    for (int k = 0; k < got.size(); ++k) {
        const auto& [name, axes] = want[static_cast<std::size_t>(k)];
        EXPECT_EQ(got.Get(k).name(), name) << what << " " << k;
        const auto& shape = got.Get(k).type().tensor_type().shape();
        ASSERT_EQ(shape.dim_size(), static_cast<int>(axes.size())) << name;
        if (tf::static_extent(axes[0]) < 0) {  // not a fixed-size input (a merged decoder's use_cache_branch [1])
            EXPECT_EQ(shape.dim(0).dim_param(), axes[0] == "batch * num_heads" ? axes[0] : "batch") << name;
        }
        for (int d = 0; d < shape.dim_size(); ++d) {
            const auto& a = axes[static_cast<std::size_t>(d)];
            if (a.empty()) continue;  // an output axis the graph computes
            if (tf::static_extent(a) >= 0) EXPECT_EQ(shape.dim(d).dim_value(), tf::static_extent(a)) << name;
            else EXPECT_EQ(shape.dim(d).dim_param(), a) << name << " axis " << d;
        }
    }
}

/// 1-3 above for the fixture in `dir` (default: tests/fixtures/<model_type>/<feature>).
inline void check_fixture(std::string_view model_type, std::string_view feature, std::filesystem::path dir = {}) {
    if (dir.empty()) dir = fixture_dir(model_type, feature);
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto m = load_fixture(model_type, dir);
    const auto& family = m.family();
    const auto& f = family.require(feature);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto expected = fixture_tensors(io, "output.");
    ASSERT_FALSE(expected.empty());

    // 1. reference pass vs Transformers
    tf::weight_cache weights;
    const auto got = f.reference(m.config, m.weights, inputs, &weights);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, want] : expected) {
        ASSERT_TRUE(got.contains(name)) << "no output " << name;
        EXPECT_LE(fixture_diff(io, inputs, got.at(name), want), 1e-5)
            << dir << " output " << name << " vs Transformers";
    }

    // 2 and 3. export, check names and axes, run in ONNX Runtime at other shapes
    // an image model that reads any size: at the config's size and at sizes the export never saw
    bool any_image_size = false;
    for (const auto& [name, axes] : f.inputs(m.config))
        for (const auto& a : axes) any_image_size = any_image_size || a == tf::height_axis;
    const auto sizes = family.has_cache()
                           ? std::vector<tf::axis_sizes>{{3, 9, 3, 5}, {1, 1, 1, 0}, {2, 17, 4, 3}, {2, 4, 1, 0}, {1, 1, 1, 12}}
                       : any_image_size
                           ? std::vector<tf::axis_sizes>{{.batch = 3}, {.batch = 1, .height = 37, .width = 45},
                                                         {.batch = 2, .height = 64, .width = 29}}
                           : std::vector<tf::axis_sizes>{{3, 9, 3}, {1, 1, 1}, {2, 17, 4}};
    for (int opset : validated_opsets) {
        onnx::GraphProto g;
        tf::ort_runner ort(onnx_bytes(m, f, opset, dir, &g), 1);
        expect_io(g.input(), f.inputs(m.config), "inputs");
        expect_io(g.output(), f.outputs(m.config), "outputs");
        for (const auto& n : sizes) {
            const auto feeds = f.make_inputs(m.config, n, 7);
            const auto ref = f.reference(m.config, m.weights, feeds, &weights);
            const auto onnx = ort.run(feeds);
            ASSERT_EQ(onnx.size(), ref.size());
            for (const auto& [name, want] : ref) {
                ASSERT_TRUE(onnx.contains(name)) << name;
                EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), family.atol)
                    << model_type << "/" << feature << " opset " << opset << " output " << name << " at batch "
                    << n.batch << " sequence " << n.sequence << " past " << n.past << " image " << n.height << " x "
                    << n.width;
            }
        }
    }
}

/// config.json as Transformers 5 writes it: rope_theta and rope_scaling
/// ({type, ...} or {rope_type, ...}) moved into rope_parameters ({rope_type,
/// rope_theta, ...}; rope_type "default" when there is no scaling). With
/// rope_local_base_freq (Gemma 3), keyed by layer type: those settings
/// under "full_attention", {rope_type "default", rope_theta
/// rope_local_base_freq} under "sliding_attention".
inline nlohmann::json transformers5_rope_schema(nlohmann::json j) {
    if (j.contains("rope_local_base_freq")) {
        const auto local = j["rope_local_base_freq"];
        j.erase("rope_local_base_freq");
        j = transformers5_rope_schema(j);
        j["rope_parameters"] = {{"full_attention", j["rope_parameters"]},
                                {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", local}}}};
        return j;
    }
    nlohmann::json params = j.contains("rope_scaling") && j["rope_scaling"].is_object() ? j["rope_scaling"]
                                                                                         : nlohmann::json::object();
    if (params.contains("type")) {
        params["rope_type"] = params["type"];
        params.erase("type");
    }
    if (!params.contains("rope_type")) params["rope_type"] = "default";
    if (j.contains("rope_theta")) params["rope_theta"] = j["rope_theta"];
    j.erase("rope_theta");
    j.erase("rope_scaling");
    j["rope_parameters"] = params;
    return j;
}

/// config.json as Transformers 4.x writes it: rope_parameters ({rope_type,
/// rope_theta, partial_rotary_factor, ...}) split into rope_theta and
/// partial_rotary_factor at the top and rope_scaling ({rope_type, ...}; none
/// for rope_type "default"); keyed by layer type (Gemma 3), the
/// "full_attention" object so, and the "sliding_attention" rope_theta as
/// rope_local_base_freq.
inline nlohmann::json transformers4_rope_schema(nlohmann::json j) {
    if (j.at("rope_parameters").contains("full_attention")) {  // keyed by layer type (Gemma 3)
        const auto keyed = j["rope_parameters"];
        j["rope_parameters"] = keyed["full_attention"];
        j = transformers4_rope_schema(j);
        if (keyed.contains("sliding_attention") && keyed["sliding_attention"].contains("rope_theta"))
            j["rope_local_base_freq"] = keyed["sliding_attention"]["rope_theta"];
        return j;
    }
    auto params = j.at("rope_parameters");
    j.erase("rope_parameters");
    for (const char* key : {"rope_theta", "partial_rotary_factor"})
        if (params.contains(key)) {
            j[key] = params[key];
            params.erase(key);
        }
    if (params.value("rope_type", "default") != "default") j["rope_scaling"] = params;
    return j;
}

/// The fixture's config in Transformers 5's RoPE schema gives the same graph
/// as in 4.x's, and its reference pass still matches Transformers (`dir`:
/// a fixture written in either schema; default tests/fixtures/<model_type>/<feature>).
inline void check_rope_schemas(std::string_view model_type, std::string_view feature, std::filesystem::path dir = {}) {
    if (dir.empty()) dir = fixture_dir(model_type, feature);
    const auto saved = tf::config_reader::load(dir / "config.json");
    ASSERT_TRUE(saved.contains("rope_theta") || saved.contains("rope_parameters")) << dir;
    const auto json4 = saved.contains("rope_parameters") ? transformers4_rope_schema(saved) : saved;
    const auto json5 = saved.contains("rope_parameters") ? saved : transformers5_rope_schema(saved);
    const auto& family = tf::require_family(model_type);
    const auto follow = fixture_follows(dir);
    const auto m4 = tf::load_model(family, dir, json4, follow), m5 = tf::load_model(family, dir, json5, follow);
    const auto& f = family.require(feature);
    std::string g4, g5;
    ASSERT_TRUE(f.build(m4.config, m4.weights, tf::default_opset, "x").model.SerializeToString(&g4));
    ASSERT_TRUE(f.build(m5.config, m5.weights, tf::default_opset, "x").model.SerializeToString(&g5));
    EXPECT_TRUE(g4 == g5) << model_type << ": the graph differs when config.json has rope_parameters";
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto got = f.reference(m5.config, m5.weights, inputs, nullptr);
    for (const auto& [name, want] : fixture_tensors(io, "output."))
        EXPECT_LE(fixture_diff(io, inputs, got.at(name), want), 1e-5) << model_type << " output " << name;
}

/// Greedy generation through the causal-lm-with-past graph vs the fixture's
/// generate() (`dir`: default tests/fixtures/<model_type>/causal-lm-with-past).
/// `restart_at` > 0: when the past reaches that length, the next step feeds
/// the whole sequence with an empty past, as Transformers 5's Phi-3
/// generate() drops its cache once the sequence grows past
/// original_max_position_embeddings (the long RoPE factors then apply to
/// every position); 0 for a Phi-3 fixture made by 5.x: that length.
/// `file`: generate_padded.safetensors holds a left-padded prompt (gen.mask,
/// 0 on row 1's first tokens): the mask grows by a 1 each step, and the
/// positions are generate()'s, cumsum(mask) - 1 (1 at padding).
inline void check_generation(std::string_view model_type, std::filesystem::path dir = {},
                             std::size_t restart_at = 0, std::string_view file = "generate.safetensors") {
    if (dir.empty()) dir = fixture_dir(model_type, "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir / file)) << dir << ": run tools/fixtures/generate.py";
    const auto m = load_fixture(model_type, dir);
    const auto& f = m.family().require("causal-lm-with-past");
    const double atol = m.family().atol;
    if (restart_at == 0 && model_type == "phi3" && fixture_follows(dir) == tf::follow_transformers::v5) {
        const auto json = tf::config_reader::load(dir / "config.json");
        std::int64_t original = 4096;  // Phi3Config's default
        if (json.contains("rope_parameters") && json["rope_parameters"].contains("original_max_position_embeddings"))
            original = json["rope_parameters"]["original_max_position_embeddings"].get<std::int64_t>();
        if (json.contains("original_max_position_embeddings"))
            original = json["original_max_position_embeddings"].get<std::int64_t>();
        restart_at = static_cast<std::size_t>(original);
    }
    const auto gen = fixture_tensors(tf::safetensors_file::open(dir / file), "gen.");
    const auto& prompt = gen.at("prompt").i;
    const auto& sequences = gen.at("sequences").i;
    const auto& logits = gen.at("logits").f;  // [N, B, V]
    const auto B = prompt.shape()[0], P = prompt.shape()[1], N = logits.shape()[0], V = logits.shape()[2];

    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    const bool takes_positions = std::find(ort.input_names().begin(), ort.input_names().end(), "position_ids") !=
                                 ort.input_names().end();

    // the first step: the prompt and an empty past (length 0), as make_inputs spells it
    const auto empty = f.make_inputs(m.config, {.batch = static_cast<std::int64_t>(B), .sequence = 1, .past = 0}, 7);
    auto feeds = empty;
    feeds.insert_or_assign("input_ids", tf::eval_value(xt::xarray<std::int64_t>(prompt)));
    xt::xarray<std::int64_t> tokens = prompt;  // [B, length]
    xt::xarray<std::int64_t> mask = gen.contains("mask") ? gen.at("mask").i : xt::ones<std::int64_t>({B, P});
    // a left-padded prompt: positions from the mask, fed as position_ids where the graph takes them (a graph
    // without them, ALiBi's, counts them from the mask itself)
    if (gen.contains("mask")) {
        ASSERT_EQ(restart_at, 0u) << model_type << ": no restart with a left-padded prompt";
    }
    tf::weight_cache weights;
    std::size_t length = P;
    for (std::size_t step = 0; step < N; ++step) {
        const std::size_t S = feeds.at("input_ids").i.shape()[1];
        feeds.insert_or_assign("attention_mask", tf::eval_value(xt::xarray<std::int64_t>(mask)));
        if (takes_positions) {
            xt::xarray<std::int64_t> pos = xt::zeros<std::int64_t>({B, S});
            for (std::size_t b = 0; b < B; ++b) {
                std::int64_t seen = 0;  // cumsum(mask) - 1, 1 at padding, as generate() derives them
                for (std::size_t j = 0; j < length; ++j) {
                    seen += mask(b, j);
                    if (j >= length - S) pos(b, j - (length - S)) = mask(b, j) == 0 ? 1 : seen - 1;
                }
            }
            feeds.insert_or_assign("position_ids", tf::eval_value(std::move(pos)));
        }
        const auto out = ort.run(feeds);
        const auto ref = f.reference(m.config, m.weights, feeds, &weights);
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
            EXPECT_LE(worst, atol) << model_type << ": ONNX Runtime logits at step " << step << " row " << b;
            EXPECT_LE(worst_ref, 1e-5) << model_type << ": reference logits at step " << step << " row " << b;
            ASSERT_EQ(static_cast<std::int64_t>(best), sequences(b, P + step))
                << model_type << ": token at step " << step << " row " << b;
            next(b, 0) = static_cast<std::int64_t>(best);
        }
        // the next step: the chosen tokens, present as past
        tokens = xt::concatenate(xt::xtuple(tokens, next), 1);
        mask = xt::concatenate(xt::xtuple(mask, xt::xarray<std::int64_t>(xt::ones<std::int64_t>({B, std::size_t{1}}))), 1);
        ++length;
        if (restart_at > 0 && length - 1 == restart_at) {  // the whole sequence again, with an empty past
            feeds = empty;
            feeds.insert_or_assign("input_ids", tf::eval_value(xt::xarray<std::int64_t>(tokens)));
            continue;
        }
        feeds.insert_or_assign("input_ids", tf::eval_value(std::move(next)));
        for (const auto& [name, v] : out)
            if (name.starts_with("present.")) feeds.insert_or_assign("past_key_values." + name.substr(8), v);
    }
}

/// Test names: "pytorch_bin".
inline std::string test_name(const testing::TestParamInfo<std::string>& info) {
    std::string s = info.param;
    for (auto& c : s)
        if (c == '-') c = '_';
    return s;
}

/// Test names: "bert_masked_lm".
inline std::string feature_test_name(const testing::TestParamInfo<std::pair<std::string, std::string>>& info) {
    std::string s = info.param.first + "_" + info.param.second;
    for (auto& c : s)
        if (c == '-') c = '_';
    return s;
}

// ---------------------------------------------------------------------------
// Encoder-decoders: a feature of several graphs (encoder_model,
// decoder_model, decoder_with_past_model)

/// A scratch output folder for export_pretrained, removed with it; named
/// after the running test.
struct export_folder {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("tf-export-" + std::to_string(::getpid()) + "-" +
                                 testing::UnitTest::GetInstance()->current_test_info()->name());
    export_folder() { std::filesystem::remove_all(dir); }
    ~export_folder() { std::filesystem::remove_all(dir); }
    export_folder(const export_folder&) = delete;
    export_folder& operator=(const export_folder&) = delete;
    /// Export `model` as `feature`, validated: the log; with `error_id`, a
    /// typeformer::error's id there and its text returned.
    std::string exported(const std::filesystem::path& model, std::string feature, std::string* error_id = nullptr) const {
        std::ostringstream log, warn;
        tf::export_options opt{.feature = std::move(feature), .validate = true, .force = true};
        opt.log = &log;
        opt.warnings = &warn;
        try {
            const auto r = tf::export_pretrained(model, dir, opt);
            EXPECT_TRUE(r.ok()) << log.str();
            return log.str();
        } catch (const tf::error& e) {
            if (!error_id) throw;
            *error_id = e.id();
            return e.what();
        }
    }
};

/// The fixture of an encoder-decoder feature: its own folder, or, for a
/// feature whose graphs are a subset of seq2seq-lm-with-past's (seq2seq-lm:
/// the encoder and a decoder returning logits only), that one's.
inline std::filesystem::path seq2seq_fixture_dir(std::string_view model_type, std::string_view feature) {
    const auto own = fixture_dir(model_type, feature);
    if (std::filesystem::exists(own) || feature == "default") return own;
    return fixture_dir(model_type, "seq2seq-lm-with-past");
}

/// 1-3 of check_fixture for each graph of an encoder-decoder feature: the
/// fixture's io.safetensors holds `<graph>.input.<name>` and
/// `<graph>.output.<name>` (tools/fixtures/seq2seq.py); each graph's
/// reference pass matches Transformers on the outputs it has there, and
/// ONNX Runtime matches the reference at other sizes (the encoder's
/// length, the decoder's new tokens and its past all varied). `dir`: a
/// variant's folder (default: the feature's own, or seq2seq_fixture_dir's).
inline void check_seq2seq_fixture(std::string_view model_type, std::string_view feature,
                                  std::filesystem::path dir = {}) {
    if (dir.empty()) dir = seq2seq_fixture_dir(model_type, feature);
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto m = load_fixture(model_type, dir);
    const auto& family = m.family();
    const auto& f = family.require(feature);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    tf::weight_cache weights;
    for (const auto* g : f.graphs()) {
        SCOPED_TRACE(std::string(feature) + " " + std::string(g->graph));
        const std::string prefix(g->graph);
        const auto outputs = g->outputs(m.config);
        // the merged decoder's branches are the two decoders, compared with Transformers as parts
        const bool merged = g->graph == "decoder_model_merged";
        if (!merged) {
            const auto inputs = fixture_tensors(io, prefix + ".input.");
            const auto expected = fixture_tensors(io, prefix + ".output.");
            ASSERT_FALSE(inputs.empty()) << dir << ": no " << prefix << ".input.* tensors";
            // 1. reference pass vs Transformers, on every output the fixture has (the task's own output at least)
            const auto got = g->reference(m.config, m.weights, inputs, &weights);
            ASSERT_TRUE(expected.contains(outputs.front().name))
                << dir << ": no " << prefix << ".output." << outputs.front().name;
            std::size_t compared = 0;
            for (const auto& o : outputs) {
                ASSERT_TRUE(got.contains(o.name)) << "no output " << o.name;
                if (!expected.contains(o.name)) continue;
                ++compared;
                EXPECT_LE(tf::max_abs_diff(got.at(o.name), expected.at(o.name)), 1e-5)
                    << dir << " " << prefix << " output " << o.name << " vs Transformers";
            }
            EXPECT_GE(compared, std::size_t{1});
        }
        // 2 and 3. export, names and axes, ONNX Runtime at other sizes (the merged decoder: both branches)
        std::vector<tf::axis_sizes> sizes{{3, 9, 3, 5, 4}, {1, 1, 1, 1, 1}, {2, 17, 4, 3, 2}};
        if (merged) sizes.insert(sizes.end(), {{3, 9, 3, 0, 4}, {1, 1, 1, 0, 1}});
        for (int opset : validated_opsets) {
            onnx::GraphProto graph;
            tf::ort_runner ort(onnx_bytes(m, *g, opset, dir, &graph), 1);
            expect_io(graph.input(), g->inputs(m.config), "inputs");
            expect_io(graph.output(), outputs, "outputs");
            for (const auto& n : sizes) {
                const auto feeds = g->make_inputs(m.config, n, 7);
                const auto ref = g->reference(m.config, m.weights, feeds, &weights);
                const auto onnx = ort.run(feeds);
                ASSERT_EQ(onnx.size(), ref.size());
                for (const auto& [name, want] : ref) {
                    ASSERT_TRUE(onnx.contains(name)) << name;
                    EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), family.atol)
                        << model_type << "/" << feature << " " << prefix << " opset " << opset << " output " << name
                        << " at batch " << n.batch << " encoder " << n.sequence << " decoder " << n.decoder
                        << " past " << n.past;
                }
            }
        }
    }
}

/// seq2seq-lm as one graph (--monolith): on the seq2seq-lm fixture's encoder
/// input and first decoder step (encoder_model.input.*, decoder_model.input.input_ids),
/// the reference pass gives Transformers' first-step logits
/// (decoder_model.output.logits); ONNX Runtime matches the reference within
/// the family's atol at other encoder lengths and decoder lengths
/// (check_seq2seq_fixture's, and 6 and 9 decoder tokens, where mT5's and
/// LongT5's round-off is largest: their atol, 5e-5, says why).
inline void check_monolith(std::string_view model_type) {
    const auto dir = seq2seq_fixture_dir(model_type, "seq2seq-lm");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto m = load_fixture(model_type, dir);
    const auto& f = m.family().require("seq2seq-lm");
    ASSERT_TRUE(f.monolith) << model_type << "'s seq2seq-lm has no single-graph form";
    const auto& g = *f.monolith;
    EXPECT_EQ(g.graph, "model");
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto encoder = fixture_tensors(io, "encoder_model.input.");
    const auto decoder = fixture_tensors(io, "decoder_model.input.");
    const auto expected = fixture_tensors(io, "decoder_model.output.");
    ASSERT_EQ(tf::max_abs_diff(decoder.at("encoder_attention_mask"), encoder.at("attention_mask")), 0.0);
    const tf::tensor_map inputs{{"input_ids", encoder.at("input_ids")},
                                {"attention_mask", encoder.at("attention_mask")},
                                {"decoder_input_ids", decoder.at("input_ids")}};
    tf::weight_cache weights;
    const auto got = g.reference(m.config, m.weights, inputs, &weights);
    ASSERT_EQ(got.size(), std::size_t{1});
    EXPECT_LE(tf::max_abs_diff(got.at("logits"), expected.at("logits")), 1e-5) << dir << " logits vs Transformers";
    for (int opset : validated_opsets) {
        onnx::GraphProto graph;
        tf::ort_runner ort(onnx_bytes(m, g, opset, dir, &graph), 1);
        expect_io(graph.input(), g.inputs(m.config), "inputs");
        expect_io(graph.output(), g.outputs(m.config), "outputs");
        for (const tf::axis_sizes n : {tf::axis_sizes{3, 9, 3, 0, 4}, tf::axis_sizes{1, 1, 1, 0, 1},
                                       tf::axis_sizes{2, 17, 4, 0, 2}, tf::axis_sizes{3, 9, 3, 0, 6},
                                       tf::axis_sizes{2, 13, 3, 0, 9}}) {
            const auto feeds = g.make_inputs(m.config, n, 7);
            const auto ref = g.reference(m.config, m.weights, feeds, &weights);
            const auto onnx = ort.run(feeds);
            EXPECT_LE(tf::max_abs_diff(onnx.at("logits"), ref.at("logits")), m.family().atol)
                << model_type << " monolith opset " << opset << " at batch " << n.batch << " encoder " << n.sequence
                << " decoder " << n.decoder;
        }
    }
}

/// Greedy generation through an encoder-decoder's graphs vs the fixture's
/// generate() (generate.safetensors of seq2seq-lm-with-past: gen.prompt and
/// gen.mask, the encoder's input with padding; gen.sequences, the decoder
/// start token and the new tokens; gen.logits [N, B, V]): the encoder once,
/// decoder_model on the start token, then decoder_with_past_model on each
/// new token with present fed back as past; the logits within atol at
/// every step (the reference pass's within 1e-5), the tokens equal.
inline void check_seq2seq_generation(std::string_view model_type, std::filesystem::path dir = {}) {
    if (dir.empty()) dir = fixture_dir(model_type, "seq2seq-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir / "generate.safetensors")) << dir << ": run tools/fixtures/generate.py";
    const auto m = load_fixture(model_type, dir);
    const auto& f = m.family().require("seq2seq-lm-with-past");
    const double atol = m.family().atol;
    const auto gen = fixture_tensors(tf::safetensors_file::open(dir / "generate.safetensors"), "gen.");
    const auto& prompt = gen.at("prompt").i;
    const auto& mask = gen.at("mask").i;
    const auto& sequences = gen.at("sequences").i;
    const auto& logits = gen.at("logits").f;  // [N, B, V]
    const auto B = prompt.shape()[0], N = logits.shape()[0], V = logits.shape()[2];
    ASSERT_EQ(sequences.shape()[1], N + 1);

    tf::weight_cache weights;
    auto run = [&](std::string_view graph, const tf::tensor_map& feeds, tf::tensor_map* ref) {
        const auto* g = f.part(graph);
        EXPECT_NE(g, nullptr) << graph;
        tf::ort_runner ort(onnx_bytes(m, *g, tf::default_opset, dir), 1);
        if (ref) *ref = g->reference(m.config, m.weights, feeds, &weights);
        return ort.run(feeds);
    };
    tf::tensor_map encoder_in{{"input_ids", tf::eval_value(xt::xarray<std::int64_t>(prompt))},
                              {"attention_mask", tf::eval_value(xt::xarray<std::int64_t>(mask))}};
    const auto encoded = run("encoder_model", encoder_in, nullptr);

    const auto* first = f.part("decoder_model");
    const auto* later = f.part("decoder_with_past_model");
    const auto* merged = f.part("decoder_model_merged");
    ASSERT_TRUE(first && later && merged);
    tf::ort_runner ort_first(onnx_bytes(m, *first, tf::default_opset, dir), 1);
    tf::ort_runner ort_later(onnx_bytes(m, *later, tf::default_opset, dir), 1);
    tf::ort_runner ort_merged(onnx_bytes(m, *merged, tf::default_opset, dir), 1);
    // twice: decoder_model then decoder_with_past_model, and the merged decoder alone
    for (const bool through_merged : {false, true}) {
    SCOPED_TRACE(through_merged ? "decoder_model_merged" : "decoder_model, decoder_with_past_model");
    tf::tensor_map feeds{{"encoder_attention_mask", tf::eval_value(xt::xarray<std::int64_t>(mask))},
                         {"input_ids", tf::eval_value(xt::xarray<std::int64_t>(xt::view(sequences, xt::all(), xt::range(0, 1))))},
                         {"encoder_hidden_states", encoded.at("last_hidden_state")}};
    if (through_merged) {  // the first step: use_cache_branch false and an empty cache, as Optimum feeds it
        const auto empty = merged->make_inputs(m.config, {.batch = static_cast<std::int64_t>(B), .sequence = 1,
                                                          .past = 0, .decoder = 1}, 7);
        for (const auto& [name, v] : empty)
            if (name.starts_with("past_key_values.") || name == "use_cache_branch") feeds.insert_or_assign(name, v);
    }
    for (std::size_t step = 0; step < N; ++step) {
        const bool is_first = step == 0;
        if (through_merged)
            feeds.insert_or_assign("use_cache_branch", tf::eval_value(xt::xarray<std::int64_t>({is_first ? 0 : 1}),
                                                                      tf::dtype::boolean));
        const auto out = through_merged ? ort_merged.run(feeds) : (is_first ? ort_first : ort_later).run(feeds);
        const auto ref = (through_merged ? merged : is_first ? first : later)->reference(m.config, m.weights, feeds, &weights);
        const auto& l = out.at("logits").f;  // [B, 1, V]
        xt::xarray<std::int64_t> next = xt::zeros<std::int64_t>({B, std::size_t{1}});
        for (std::size_t b = 0; b < B; ++b) {
            double worst = 0, worst_ref = 0;
            std::size_t best = 0;
            for (std::size_t v = 0; v < V; ++v) {
                const float x = l(b, 0, v);
                worst = std::max(worst, std::abs(static_cast<double>(x) - logits(step, b, v)));
                worst_ref = std::max(worst_ref, std::abs(static_cast<double>(ref.at("logits").f(b, 0, v)) - logits(step, b, v)));
                if (x > l(b, 0, best)) best = v;
            }
            EXPECT_LE(worst, atol) << model_type << ": ONNX Runtime logits at step " << step << " row " << b;
            EXPECT_LE(worst_ref, 1e-5) << model_type << ": reference logits at step " << step << " row " << b;
            ASSERT_EQ(static_cast<std::int64_t>(best), sequences(b, step + 1))
                << model_type << ": token at step " << step << " row " << b;
            next(b, 0) = static_cast<std::int64_t>(best);
        }
        // the next step: the chosen tokens, present as past (the encoder's part from the first step; the
        // merged decoder returns it at every step, and takes the encoder's states at every step)
        if (is_first && !through_merged) feeds.erase("encoder_hidden_states");
        feeds.insert_or_assign("input_ids", tf::eval_value(std::move(next)));
        for (const auto& [name, v] : out)
            if (name.starts_with("present.")) feeds.insert_or_assign("past_key_values." + name.substr(8), v);
    }
    }
}
