// The streaming writer: the file it writes is, once parsed, exactly the model
// built in memory (weights included), for f32 and f16 checkpoints, plain and
// transposed initializers; and it passes the full checker.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "typeformer/export/registry.hpp"

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const char* feature) { return fs::path(TYPEFORMER_FIXTURES) / "bert" / feature; }

/// The BERT fixture's config, as bert reads it.
tf::loaded_config bert_config(const fs::path& dir) {
    return tf::find_family("bert")->load(tf::config_reader(tf::config_reader::load(dir / "config.json"), "c"));
}

void expect_stream_equals_memory(std::string_view feature, const fs::path& dir, const tf::checkpoint& ck) {
    const auto cfg = bert_config(dir);
    auto g = cfg.family->require(feature).build(cfg, ck, 17, dir.string());
    tf::check_onnx_skeleton(g.model, g.initializers);
    std::ostringstream out;
    ASSERT_TRUE(tf::write_onnx(out, g.model, g.initializers));
    onnx::ModelProto parsed;
    ASSERT_TRUE(parsed.ParseFromString(out.str()));
    const auto memory = tf::materialize(std::move(g));
    EXPECT_EQ(parsed.graph().initializer_size(), memory.graph().initializer_size());
    EXPECT_TRUE(parsed.SerializeAsString() == memory.SerializeAsString());
    EXPECT_NO_THROW(tf::check_onnx(parsed));
}

}  // namespace

TEST(write_onnx, streamed_file_is_the_in_memory_model) {
    auto ck = tf::checkpoint::open(fixture("masked-lm"));
    ck.set_base_prefix("bert");
    expect_stream_equals_memory("masked-lm", fixture("masked-lm"), ck);
}

TEST(write_onnx, f16_checkpoint_is_converted_chunk_by_chunk) {
    // the same weights stored as F16: the graph's f32 initializers hold their exact values
    auto src = tf::safetensors_file::open(fixture("question-answering") / "model.safetensors");
    std::vector<std::vector<std::uint16_t>> halves;
    std::vector<tf::tensor_to_write> tensors;
    for (const auto& t : src.tensors()) {
        auto f = tf::to_f32(t);
        auto& h = halves.emplace_back(f.size());
        for (std::size_t k = 0; k < f.size(); ++k) {  // round to half through its bit pattern (normal range)
            std::uint32_t bits;
            std::memcpy(&bits, &f[k], 4);
            const std::uint32_t sign = (bits >> 16) & 0x8000u;
            const int exp = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
            h[k] = exp <= 0 ? static_cast<std::uint16_t>(sign)
                            : static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exp) << 10) | ((bits >> 13) & 0x3ffu));
        }
        tensors.push_back({std::string(t.name), tf::dtype::f16, t.shape,
                           std::as_bytes(std::span<const std::uint16_t>(h))});
    }
    const auto dir = fs::temp_directory_path() / ("typeformer_f16_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(fixture("question-answering") / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
    tf::write_safetensors(dir / "model.safetensors", tensors);
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("bert");
    EXPECT_EQ(ck.find("bert.embeddings.word_embeddings.weight")->type, tf::dtype::f16);
    expect_stream_equals_memory("question-answering", dir, ck);
    fs::remove_all(dir);
}

TEST(initializer_source, transposed_ranges_match_a_plain_transpose) {
    // a [5, 7] weight stored as [7, 5]; read back in every (first, count) window
    std::vector<float> w(35);
    for (std::size_t k = 0; k < w.size(); ++k) w[k] = static_cast<float>(k) * 0.5f - 3.f;
    const auto dir = fs::temp_directory_path() / ("typeformer_tr_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const tf::tensor_to_write t{"w", tf::dtype::f32, {5, 7}, std::as_bytes(std::span<const float>(w))};
    tf::write_safetensors(dir / "model.safetensors", std::span(&t, 1));
    auto ck = tf::checkpoint::open(dir);
    const tf::initializer_source s{"w.T", {7, 5}, ck.find("w"), true};
    for (std::int64_t first = 0; first < 35; ++first)
        for (std::int64_t count = 1; first + count <= 35; ++count) {
            std::vector<float> out(static_cast<std::size_t>(count));
            s.read(first, count, out.data());
            for (std::int64_t k = 0; k < count; ++k) {
                const auto idx = first + k, c = idx / 5, r = idx % 5;
                ASSERT_EQ(out[static_cast<std::size_t>(k)], w[static_cast<std::size_t>(r * 7 + c)]) << first << "+" << k;
            }
        }
    // a tall weight, read in whole output rows (the tiled path), against a plain transpose
    std::vector<float> tall(200 * 3);
    for (std::size_t k = 0; k < tall.size(); ++k) tall[k] = static_cast<float>(k);
    const tf::tensor_to_write t2{"tall", tf::dtype::f32, {200, 3}, std::as_bytes(std::span<const float>(tall))};
    tf::write_safetensors(dir / "tall.safetensors", std::span(&t2, 1));
    ck.add(tf::safetensors_file::open(dir / "tall.safetensors"));
    const tf::initializer_source s2{"tall.T", {3, 200}, ck.find("tall"), true};
    for (std::int64_t rows_at_once : {1, 2, 3}) {
        std::vector<float> out(600);
        for (std::int64_t first = 0; first < 600; first += rows_at_once * 200)
            s2.read(first, std::min<std::int64_t>(rows_at_once * 200, 600 - first), out.data() + first);
        for (std::int64_t c = 0; c < 3; ++c)
            for (std::int64_t r = 0; r < 200; ++r)
                ASSERT_EQ(out[static_cast<std::size_t>(c * 200 + r)], tall[static_cast<std::size_t>(r * 3 + c)]);
    }
    fs::remove_all(dir);
}

TEST(write_onnx_external, loads_from_another_folder_and_runs_like_the_single_file) {
    // model.onnx + model.onnx_data written through staged_output, moved into
    // place, then run by ONNX Runtime from another working directory: the
    // same outputs as the single-file export; offsets aligned, the data file
    // holds exactly the tensors
    auto ck = tf::checkpoint::open(fixture("masked-lm"));
    ck.set_base_prefix("bert");
    const auto cfg = bert_config(fixture("masked-lm"));
    const auto& masked_lm = cfg.family->require("masked-lm");
    auto g = masked_lm.build(cfg, ck, 17, "m");
    const auto root = fs::temp_directory_path() / ("typeformer_ext_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "elsewhere");
    {
        tf::staged_output out(root / "out");
        std::string model;
        out.write("model.onnx_data", [&](std::ostream& data) {
            std::ostringstream m;
            const bool ok = tf::write_onnx_external(m, data, "model.onnx_data", g.model, g.initializers);
            model = m.str();
            return ok;
        });
        out.write("model.onnx", [&](std::ostream& o) { return static_cast<bool>(o << model); });
        out.write("single.onnx", [&](std::ostream& o) { return tf::write_onnx(o, g.model, g.initializers); });
        out.commit();
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(root / "out"), fs::directory_iterator()), 3);
    onnx::ModelProto m;
    {
        std::ifstream in(root / "out" / "model.onnx", std::ios::binary);
        ASSERT_TRUE(m.ParseFromIstream(&in));
    }
    std::uint64_t end = 0;
    for (const auto& t : m.graph().initializer()) {
        ASSERT_EQ(t.data_location(), onnx::TensorProto::EXTERNAL);
        ASSERT_EQ(t.external_data_size(), 3);
        EXPECT_EQ(t.external_data(0).value(), "model.onnx_data");
        const std::uint64_t offset = std::stoull(t.external_data(1).value()), length = std::stoull(t.external_data(2).value());
        EXPECT_EQ(offset % tf::external_alignment, 0u) << t.name();
        end = std::max(end, offset + length);
    }
    EXPECT_EQ(fs::file_size(root / "out" / "model.onnx_data"), end);

    const auto cwd = fs::current_path();
    fs::current_path(root / "elsewhere");
    const auto inputs = masked_lm.make_inputs(cfg, {}, 42);
    tf::ort_runner external(fs::path("../out/model.onnx")), single(root / "out" / "single.onnx");
    const auto a = external.run(inputs), b = single.run(inputs);
    fs::current_path(cwd);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, v] : a) EXPECT_EQ(tf::max_abs_diff(v, b.at(name)), 0.0) << name;
    fs::remove_all(root);
}

TEST(staged_output, removed_unless_committed_and_recovers_what_a_kill_left) {
    const auto root = fs::temp_directory_path() / ("typeformer_stage_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    { std::ofstream(root / "model.onnx") << "previous"; }
    {
        tf::staged_output out(root);
        out.write("model.onnx", [](std::ostream& o) { return static_cast<bool>(o << "new"); });
        EXPECT_TRUE(fs::exists(out.staged("model.onnx")));
    }  // not committed: as if an error was thrown
    EXPECT_EQ(std::distance(fs::directory_iterator(root), fs::directory_iterator()), 1);
    // what a killed export leaves: a staging folder of a dead process, committed or not
    fs::create_directories(root / ".typeformer-staging.999999999");
    { std::ofstream(root / ".typeformer-staging.999999999" / "model.onnx") << "half"; }
    EXPECT_EQ(tf::staged_output::recover(root).size(), 1u);
    EXPECT_FALSE(fs::exists(root / ".typeformer-staging.999999999"));
    fs::create_directories(root / ".typeformer-staging.999999998");
    { std::ofstream(root / ".typeformer-staging.999999998" / "model.onnx") << "complete"; }
    { std::ofstream(root / ".typeformer-staging.999999998" / ".commit") << "model.onnx"; }
    EXPECT_EQ(tf::staged_output::recover(root).size(), 1u);
    std::string text;
    std::ifstream(root / "model.onnx") >> text;
    EXPECT_EQ(text, "complete");
    // a write that fails names the file and the cause
    {
        tf::staged_output out(root);
        try {
            out.write("model.onnx", [](std::ostream&) { return false; });
            FAIL() << "no error";
        } catch (const tf::error& e) {
            EXPECT_EQ(e.id(), "export.write");
            EXPECT_NE(std::string(e.what()).find((root / "model.onnx").string() + ": write failed"), std::string::npos);
        }
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(root), fs::directory_iterator()), 1);
    fs::remove_all(root);
}
