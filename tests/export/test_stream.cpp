// The streaming writer: the file it writes is, once parsed, exactly the model
// built in memory (weights included), for f32 and f16 checkpoints, plain and
// transposed initializers; and it passes the full checker.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "typeformer/export/export.hpp"
#include "typeformer/models/bert.hpp"

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const char* feature) { return fs::path(TYPEFORMER_FIXTURES) / "bert" / feature; }

template <class Task>
void expect_stream_equals_memory(const fs::path& dir, const tf::checkpoint& ck) {
    const auto cfg = tf::bert_family::load(tf::config_reader(tf::config_reader::load(dir / "config.json"), "c"));
    auto g = tf::build_graph<tf::bert_family, Task>(cfg, ck, 17, dir.string());
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
    expect_stream_equals_memory<tf::task::masked_lm>(fixture("masked-lm"), ck);
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
    expect_stream_equals_memory<tf::task::question_answering>(dir, ck);
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
