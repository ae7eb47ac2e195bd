// The streaming writer: the file it writes is, once parsed, exactly the model
// built in memory (weights included), for f32 and f16 checkpoints, plain and
// transposed initializers; and it passes the full checker.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "typeformer/export/registry.hpp"

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const char* feature) { return fs::path(TYPEFORMER_FIXTURES) / "bert" / feature; }

/// The BERT fixture's config, as bert reads it.
tf::loaded_config bert_config(const fs::path& dir) {
    return tf::find_family("bert")->load(tf::config_reader(tf::config_reader::load(dir / "config.json"), "c"));
}

void expect_stream_equals_memory(std::string_view feature, const fs::path& dir, const tf::checkpoint& ck,
                                 tf::graph_options o = 17, onnx::ModelProto* written = nullptr) {
    const auto cfg = bert_config(dir);
    auto g = cfg.family->require(feature).build(cfg, ck, o, dir.string());
    tf::check_onnx_skeleton(g.model, g.initializers);
    std::ostringstream out;
    ASSERT_TRUE(tf::write_onnx(out, g.model, g.initializers));
    onnx::ModelProto parsed;
    ASSERT_TRUE(parsed.ParseFromString(out.str()));
    const auto memory = tf::materialize(std::move(g));
    EXPECT_EQ(parsed.graph().initializer_size(), memory.graph().initializer_size());
    EXPECT_TRUE(parsed.SerializeAsString() == memory.SerializeAsString());
    EXPECT_NO_THROW(tf::check_onnx(parsed));
    if (written) *written = std::move(parsed);
}

const onnx::TensorProto* initializer(const onnx::ModelProto& m, const std::string& name) {
    for (const auto& t : m.graph().initializer())
        if (t.name() == name) return &t;
    return nullptr;
}

}  // namespace

TEST(write_onnx, streamed_file_is_the_in_memory_model) {
    auto ck = tf::checkpoint::open(fixture("masked-lm"));
    ck.set_base_prefix("bert");
    expect_stream_equals_memory("masked-lm", fixture("masked-lm"), ck);
}

TEST(write_onnx, quantized_weights_are_made_while_streamed) {
    // --quantize int8: the streamed file is the in-memory model; a Linear's weight is int8 [in, out] with a
    // scale per output channel, an embedding table int8 with a scale per row, from the checkpoint's values;
    // neither keeps a float copy
    auto ck = tf::checkpoint::open(fixture("masked-lm"));
    ck.set_base_prefix("bert");
    onnx::ModelProto m;
    expect_stream_equals_memory("masked-lm", fixture("masked-lm"), ck, tf::graph_options(17, tf::quantization::int8), &m);
    const auto check = [&](const std::string& weight, bool per_row) {
        SCOPED_TRACE(weight);
        const auto* view = ck.find(weight);
        ASSERT_NE(view, nullptr);
        const auto rows = static_cast<std::size_t>(view->shape[0]), cols = static_cast<std::size_t>(view->shape[1]);
        std::vector<float> w(rows * cols);
        tf::read_as_f32(*view, w);
        const std::string base = weight + (per_row ? ".rows" : ".T");
        const auto* q = initializer(m, base + ".int8");
        const auto* s = initializer(m, base + ".scale");
        ASSERT_TRUE(q && s);
        EXPECT_EQ(q->data_type(), onnx::TensorProto::INT8);
        EXPECT_EQ(initializer(m, weight + (per_row ? "" : ".T")), nullptr) << "a float copy is stored too";
        ASSERT_EQ(q->raw_data().size(), rows * cols);
        ASSERT_EQ(s->raw_data().size(), rows * 4);
        for (std::size_t r = 0; r < rows; ++r) {  // a channel is a row of the checkpoint's tensor, both ways
            float largest = 0, scale = 0;
            for (std::size_t c = 0; c < cols; ++c) largest = std::max(largest, std::abs(w[r * cols + c]));
            std::memcpy(&scale, s->raw_data().data() + 4 * r, 4);
            ASSERT_EQ(scale, largest / 127.f) << "row " << r;
            for (std::size_t c = 0; c < cols; ++c) {
                // the values as stored: [in, out] for a Linear, [rows, width] for a table
                const auto at = per_row ? r * cols + c : c * rows + r;
                const auto v = static_cast<std::int8_t>(q->raw_data()[at]);
                ASSERT_EQ(v, static_cast<std::int8_t>(std::nearbyint(w[r * cols + c] / scale))) << r << ", " << c;
            }
        }
    };
    check("bert.encoder.layer.0.attention.self.query.weight", false);
    check("bert.encoder.layer.1.output.dense.weight", false);
    check("bert.embeddings.word_embeddings.weight", true);
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
    std::ostringstream notes;  // what it did, said where it is told to
    EXPECT_EQ(tf::staged_output::recover(root, "model.onnx", &notes).size(), 1u);
    EXPECT_EQ(notes.str(), "typeformer: removed what an interrupted export left (.typeformer-staging.999999999)\n");
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

// The progress line: its text, redrawn in place, ended by a newline; and
// the writer advancing it by every tensor and every byte it writes.
TEST(progress_line, text_says_what_is_done_of_the_total_the_rate_and_the_time_left) {
    std::ostringstream out;
    tf::progress_line p(out, "typeformer: writing weights", 4, 5'000'000, std::chrono::hours(1));
    p.add_bytes(1'000'000);
    p.end_tensor();
    EXPECT_EQ(p.text(2.0, false), "typeformer: writing weights: 1/4 tensors, 1.0/5.0 MB (20%), 0.5 MB/s, 8 s left");
    EXPECT_EQ(p.text(0.0, false), "typeformer: writing weights: 1/4 tensors, 1.0/5.0 MB (20%), 0.0 MB/s, ? s left");
    EXPECT_EQ(p.text(2.0, true), "typeformer: writing weights: 1/4 tensors, 1.0/5.0 MB (20%), 0.5 MB/s, done in 2.0 s");
    EXPECT_EQ(out.str(), "");  // within the interval: not drawn
}

TEST(progress_line, redrawn_in_place_and_ended_by_a_newline) {
    std::ostringstream out;
    {
        tf::progress_line p(out, "typeformer: writing weights", 2, 3'000'000, std::chrono::nanoseconds(0));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        p.add_bytes(1'000'000);
        p.end_tensor();
        p.add_bytes(2'000'000);
        p.end_tensor();
        p.finish();
        p.add_bytes(1);  // finished: nothing more is drawn
        p.finish();
    }
    const auto s = out.str();
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.front(), '\r');
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1);
    std::vector<std::string> lines;  // each drawing, after its '\r'
    std::stringstream in(s.substr(1));
    for (std::string line; std::getline(in, line, '\r');) lines.push_back(line);
    ASSERT_EQ(lines.size(), 5u);  // four updates, then the final line
    const std::regex update(R"(typeformer: writing weights: [0-2]/2 tensors, [0-9.]+/3\.0 MB \([0-9]+%\), [0-9.]+ MB/s, [0-9]+ s left *)");
    for (std::size_t k = 0; k + 1 < lines.size(); ++k) EXPECT_TRUE(std::regex_match(lines[k], update)) << lines[k];
    EXPECT_TRUE(lines[0].starts_with("typeformer: writing weights: 0/2 tensors, 1.0/3.0 MB (33%), ")) << lines[0];
    EXPECT_TRUE(std::regex_match(
        lines.back(),
        std::regex(R"(typeformer: writing weights: 2/2 tensors, 3\.0/3\.0 MB \(100%\), [0-9.]+ MB/s, done in [0-9.]+ s *\n)")))
        << lines.back();
    // a shorter line is padded with blanks over what the longer one left
    for (std::size_t k = 1; k < lines.size(); ++k) EXPECT_GE(lines[k].size(), lines[k - 1].size()) << k;
}

TEST(progress_line, destroyed_unfinished_ends_the_line_it_drew) {
    std::ostringstream drawn, not_drawn;
    {
        tf::progress_line p(drawn, "w", 1, 10, std::chrono::nanoseconds(0));
        tf::progress_line q(not_drawn, "w", 1, 10, std::chrono::hours(1));
        p.add_bytes(5);
        q.add_bytes(5);
    }  // as when a write fails: the error message starts on its own line
    EXPECT_TRUE(drawn.str().starts_with("\rw: 0/1 tensors, ")) << drawn.str();
    EXPECT_TRUE(drawn.str().ends_with(" s left\n")) << drawn.str();
    EXPECT_EQ(not_drawn.str(), "");
}

TEST(progress_enabled, automatic_only_on_a_terminal_stderr) {
    std::ostringstream file;
    EXPECT_TRUE(tf::progress_enabled(tf::progress_mode::always, file));
    EXPECT_FALSE(tf::progress_enabled(tf::progress_mode::never, std::cerr));
    EXPECT_FALSE(tf::progress_enabled(tf::progress_mode::automatic, file));
    EXPECT_FALSE(tf::progress_enabled(tf::progress_mode::automatic, std::cout));
    EXPECT_EQ(tf::progress_enabled(tf::progress_mode::automatic, std::cerr), ::isatty(STDERR_FILENO) == 1);
}

TEST(write_onnx, advances_the_progress_line_by_every_tensor_and_byte) {
    auto ck = tf::checkpoint::open(fixture("masked-lm"));
    ck.set_base_prefix("bert");
    const auto cfg = bert_config(fixture("masked-lm"));
    auto g = cfg.family->require("masked-lm").build(cfg, ck, 17, fixture("masked-lm").string());
    std::uint64_t bytes = 0;
    for (const auto& i : g.initializers) bytes += i.byte_size();
    for (const bool external : {false, true}) {
        std::ostringstream line, model, data;
        tf::progress_line p(line, "w", g.initializers.size(), bytes, std::chrono::hours(1));
        tf::write_report report;
        report.progress = &p;
        ASSERT_TRUE(external ? tf::write_onnx_external(model, data, "model.onnx_data", g.model, g.initializers, &report)
                             : tf::write_onnx(model, g.model, g.initializers, &report));
        EXPECT_EQ(p.tensors(), g.initializers.size());
        EXPECT_EQ(p.bytes(), bytes);
        p.finish();
        EXPECT_TRUE(line.str().starts_with("\rw: " + std::to_string(g.initializers.size()) + "/" +
                                           std::to_string(g.initializers.size()) + " tensors, "))
            << line.str();
    }
}

// --list-features: config.json's model_type, or transformers.onnx's (with "-" for "_")
TEST(find_family_any_spelling, dashes_and_underscores_are_one) {
    const auto named = [](std::string_view model_type) {
        tf::family_handle f;
        f.model_type = model_type;
        return f;
    };
    const auto neo = named("gpt_neo"), xlmr = named("xlm-roberta"), xlm = named("xlm");
    const tf::family_handle* families[] = {&neo, &xlmr, &xlm};
    EXPECT_EQ(tf::find_family_any_spelling("gpt_neo", families), &neo);
    EXPECT_EQ(tf::find_family_any_spelling("gpt-neo", families), &neo);
    EXPECT_EQ(tf::find_family_any_spelling("xlm-roberta", families), &xlmr);
    EXPECT_EQ(tf::find_family_any_spelling("xlm_roberta", families), &xlmr);
    EXPECT_EQ(tf::find_family_any_spelling("xlm", families), &xlm);
    EXPECT_EQ(tf::find_family_any_spelling("gpt.neo", families), nullptr);
    EXPECT_EQ(tf::find_family_any_spelling("gpt-ne", families), nullptr);
    EXPECT_EQ(tf::find_family_any_spelling("GPT-NEO", families), nullptr);
    EXPECT_EQ(tf::find_family("gpt-neo", families), nullptr);  // config.json's model_type is matched as it is
}
