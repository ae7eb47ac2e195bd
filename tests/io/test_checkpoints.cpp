// Checkpoint layouts: sharded safetensors, f16/bf16, PyTorch .bin
// (zip and legacy, sharded, non-contiguous), tied weights under either name,
// and the restricted pickle reader refusing what a state dict does not need.
// Fixtures: tools/fixtures/layouts.py -> tests/fixtures_layouts/.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "typeformer/io/hub.hpp"
#include "typeformer/io/pickle.hpp"
#include "typeformer/io/pytorch.hpp"
#include "typeformer/io/zip.hpp"
#include "../models/harness.hpp"

namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

fs::path layouts() { return fs::path(TYPEFORMER_FIXTURES).parent_path() / "fixtures_layouts"; }

std::string error_of(auto&& f) {
    try {
        f();
    } catch (const tf::error& e) {
        return e.what();
    }
    return "no error";
}

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

/// A layout fixture (a BERT) loaded as the exporter loads it: prefix and ties set.
tf::loaded_model open_layout(const fs::path& dir) { return load_fixture("bert", dir); }

}  // namespace

// -- every layout: the reference pass on its weights matches Transformers ------

class layout : public testing::TestWithParam<std::string> {};

TEST_P(layout, reference_matches_transformers_and_onnxruntime) {
    const auto dir = layouts() / GetParam();
    ASSERT_TRUE(fs::exists(dir)) << dir << ": run tools/fixtures/layouts.py";
    const auto m = open_layout(dir);
    const auto& f = m.family().require("masked-lm");
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto expected = fixture_tensors(io, "output.");
    const auto got = f.reference(m.config, m.weights, inputs, nullptr);
    EXPECT_LE(tf::max_abs_diff(got.at("logits"), expected.at("logits")), 1e-5) << GetParam();

    // the export reads the same tensors (converted to float32 while written) and ONNX Runtime agrees
    auto built = f.build(m.config, m.weights, tf::default_opset, dir.string());
    for (const auto& u : built.params.unused) ADD_FAILURE() << "unused " << u;
    auto model = tf::materialize(std::move(built));
    tf::check_onnx(model);
    std::string bytes;
    ASSERT_TRUE(model.SerializeToString(&bytes));
    tf::ort_runner ort(bytes, 1);
    const auto feeds = f.make_inputs(m.config, {3, 9, 3}, 7);
    EXPECT_LE(tf::max_abs_diff(ort.run(feeds).at("logits"),
                               f.reference(m.config, m.weights, feeds, nullptr).at("logits")),
              1e-5);
}

INSTANTIATE_TEST_SUITE_P(checkpoints, layout,
                         testing::Values("sharded-safetensors", "f16-safetensors", "bf16-safetensors", "pytorch-bin",
                                         "pytorch-bin-legacy", "bf16-pytorch-bin", "sharded-bin",
                                         "noncontiguous-bin", "tied-head-only"),
                         test_name);

TEST(checkpoints, layouts_are_named_and_dtypes_kept_as_stored) {
    EXPECT_EQ(open_layout(layouts() / "sharded-safetensors").weights.layout(), "sharded safetensors (4 files)");
    EXPECT_EQ(open_layout(layouts() / "sharded-bin").weights.layout(), "sharded pytorch zip (4 files)");
    EXPECT_EQ(open_layout(layouts() / "pytorch-bin").weights.layout(), "pytorch zip");
    EXPECT_EQ(open_layout(layouts() / "pytorch-bin-legacy").weights.layout(), "pytorch legacy");
    const auto f16 = std::move(open_layout(layouts() / "f16-safetensors").weights);
    EXPECT_EQ(f16.stored_dtypes(), "F16");
    EXPECT_EQ(f16.find("bert.embeddings.word_embeddings.weight")->type, tf::dtype::f16);
    EXPECT_EQ(open_layout(layouts() / "bf16-pytorch-bin").weights.stored_dtypes(), "BF16");
}

TEST(checkpoints, tied_weights_resolve_under_either_name) {
    const auto tied = open_layout(layouts() / "tied-head-only");
    // stored under the head's name only: the embedding is found through the tie
    const auto& head_only = tied.weights;
    EXPECT_EQ(head_only.find("bert.embeddings.word_embeddings.weight"), nullptr);
    std::string used;
    const auto* t = tf::resolve(head_only, {"bert.embeddings.word_embeddings.weight", "", {64, 16}}, &used);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(used, "cls.predictions.decoder.weight");
    // without the tie declared, the embedding is reported missing, by name
    auto untied = tf::checkpoint::open(layouts() / "tied-head-only");
    untied.set_base_prefix("bert");
    EXPECT_NE(error_of([&] {
                  tied.family().require("default").build(tied.config, untied, 17, "tied-head-only");
              }).find("missing tensor bert.embeddings.word_embeddings.weight"),
              std::string::npos);
    // stored twice (torch.save keeps both names): both views share the same bytes
    const auto both = std::move(open_layout(layouts() / "pytorch-bin").weights);
    ASSERT_NE(both.find("cls.predictions.decoder.weight"), nullptr);
    EXPECT_EQ(both.find("cls.predictions.decoder.weight")->bytes.data(),
              both.find("bert.embeddings.word_embeddings.weight")->bytes.data());
}

// -- the restricted pickle reader -------------------------------------------------

TEST(pickle, malicious_pickle_is_refused_and_nothing_runs) {
    const fs::path pwned = "/tmp/typeformer-pickle-pwned";
    fs::remove(pwned);
    const auto msg = error_of([&] { tf::checkpoint::open(layouts() / "malicious"); });
    EXPECT_NE(msg.find("[pickle.refused]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("refusing global posix.system"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nothing was executed"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(pwned));
}

TEST(pickle, refuses_every_way_to_build_or_call_objects) {
    struct refused {
        std::string pickle, message;
    };
    const std::vector<refused> cases = {
        {"\x80\x02" "cbuiltins\neval\n" "X\x01\x00\x00\x00" "1" "\x85R."s, "refusing global builtins.eval"},
        {"\x80\x04" "\x8c\x08" "builtins" "\x8c\x04" "exec" "\x93."s, "refusing global builtins.exec"},
        {"\x80\x02" "ctorch\nload\n."s, "refusing global torch.load"},
        {"\x80\x02" "(cos\nsystem\nX\x01\x00\x00\x00" "x" "o."s, "refusing global os.system"},
        {"\x80\x02(X\x01\x00\x00\x00xi__main__\nEvil\n."s, "refusing opcode INST"},
        {"\x80\x02" "ccollections\nOrderedDict\n)\x81."s, "refusing opcode NEWOBJ"},
        {"\x80\x02\x82\x01."s, "refusing opcode EXT1"},
        {"\x80\x02Pid\n."s, "refusing opcode PERSID"},
        {"\x80\x02" "ctorch\nFloatStorage\n)R."s, "not a callable this reader knows"},
        {"(S'text protocol 0'\n."s, "opcode 'S' is not one a PyTorch state dict uses"},
        {"\x80\x06N."s, "pickle protocol 6"},
    };
    for (const auto& c : cases) {
        const auto msg = error_of([&] { (void)tf::pickle_data::read(bytes_of(c.pickle), "p"); });
        EXPECT_NE(msg.find("[pickle.refused]"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    }
}

TEST(pickle, malformed_pickles_are_errors_not_crashes) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {""s, "no STOP"},
        {"\x80\x02}"s, "no STOP"},
        {"\x80\x02X\xff\x00\x00\x00" "ab."s, "truncated: a string of 255 bytes"},
        {"\x80\x02h\x05."s, "memo entry 5 was never stored"},
        {"\x80\x02."s, "pops from an empty stack"},
        {"\x80\x02(\x85."s, "pops from an empty stack"},
        {"\x80\x02" "a."s, "pops from an empty stack"},
        {"\x80\x02N}\x85s."s, "empty stack"},
        {"\x80\x02]NNs."s, "SETITEM(S) on a list"},
        {"\x80\x02u."s, "without a MARK"},
    };
    for (const auto& [p, want] : cases) {
        const auto msg = error_of([&] { (void)tf::pickle_data::read(bytes_of(p), "p"); });
        EXPECT_NE(msg.find("[pickle.format]"), std::string::npos) << msg;
        EXPECT_NE(msg.find(want), std::string::npos) << msg;
    }
    // a list that contains itself: read, owned by the arena, no recursion
    const std::string cycle = "\x80\x02]q\x00h\x00" "a."s;
    const auto data = tf::pickle_data::read(bytes_of(cycle), "p");
    ASSERT_EQ(data.root().items.size(), 1u);
    EXPECT_EQ(data.root().items[0], &data.root());
}

TEST(pytorch, state_dict_shapes_are_checked_against_storages) {
    // a tensor reaching past its storage, an expanded view, a non-tensor value, a non-dict root
    auto bin = [](const std::string& tensor_args) {
        return ("\x80\x02}(X\x01\x00\x00\x00w" "ctorch._utils\n_rebuild_tensor_v2\n(("
                           "X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x04tQ"s) +
               tensor_args + "\x89}tRu."s;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {bin("K\x00K\x05\x85K\x01\x85"s), "reach past its storage of 4 elements"},
        {bin("K\x00K\x08\x85K\x00\x85"s), "has more elements than its storage"},
        {bin("K\x00K\x02\x85"s), "_rebuild_tensor_v2 with 5 arguments"},
        {"\x80\x02}(X\x01\x00\x00\x00wK\x01u."s, "state dict entry \"w\" is a int, expected a tensor"},
        {"\x80\x02]."s , "the pickle holds a list, expected a state dict"},
    };
    std::string storage(16, '\0');
    for (const auto& [pkl, want] : cases) {
        const auto msg = error_of([&] {
            // wrap in a stored zip like torch.save's
            std::string zip;
            std::vector<std::pair<std::string, std::string>> entries = {{"a/data.pkl", pkl}, {"a/data/0", storage}};
            std::string central;
            auto u16 = [](std::string& s, unsigned v) { s += char(v & 0xff), s += char(v >> 8); };
            auto u32 = [&](std::string& s, unsigned v) { u16(s, v & 0xffff), u16(s, v >> 16); };
            for (const auto& [name, data] : entries) {
                const auto at = static_cast<unsigned>(zip.size());
                u32(zip, 0x04034b50), u16(zip, 20), u16(zip, 0), u16(zip, 0), u32(zip, 0), u32(zip, 0);
                u32(zip, static_cast<unsigned>(data.size())), u32(zip, static_cast<unsigned>(data.size()));
                u16(zip, static_cast<unsigned>(name.size())), u16(zip, 0);
                zip += name + data;
                u32(central, 0x02014b50), u16(central, 20), u16(central, 20), u16(central, 0), u16(central, 0);
                u32(central, 0), u32(central, 0), u32(central, static_cast<unsigned>(data.size()));
                u32(central, static_cast<unsigned>(data.size())), u16(central, static_cast<unsigned>(name.size()));
                u16(central, 0), u16(central, 0), u16(central, 0), u16(central, 0), u32(central, 0), u32(central, at);
                central += name;
            }
            const auto dir_at = static_cast<unsigned>(zip.size());
            zip += central;
            u32(zip, 0x06054b50), u16(zip, 0), u16(zip, 0), u16(zip, 2), u16(zip, 2);
            u32(zip, static_cast<unsigned>(central.size())), u32(zip, dir_at), u16(zip, 0);
            (void)tf::pytorch_file::read(bytes_of(zip), "mem.bin");
        });
        EXPECT_NE(msg.find(want), std::string::npos) << msg;
    }
}

TEST(pytorch, not_a_checkpoint_and_compressed_archives_are_refused) {
    EXPECT_NE(error_of([] { (void)tf::pytorch_file::read(bytes_of("hello"), "x.bin"); }).find("[pytorch.format]"),
              std::string::npos);
    EXPECT_NE(error_of([] { (void)tf::pytorch_file::read(bytes_of("PK\x03\x04 truncated"), "x.bin"); }).find("[zip.format]"),
              std::string::npos);
    // the real fixture with its first entry's compression method patched to deflate
    std::ifstream in(layouts() / "pytorch-bin" / "pytorch_model.bin", std::ios::binary);
    std::string zip((std::istreambuf_iterator<char>(in)), {});
    const auto dir = zip.rfind("PK\x01\x02");  // the last central directory entry
    ASSERT_NE(dir, std::string::npos);
    zip[dir + 10] = 8;
    const auto msg = error_of([&] { (void)tf::pytorch_file::read(bytes_of(zip), "x.bin"); });
    EXPECT_NE(msg.find("[zip.entry]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("compressed entry (method 8)"), std::string::npos) << msg;
    // truncated legacy file
    std::ifstream leg(layouts() / "pytorch-bin-legacy" / "pytorch_model.bin", std::ios::binary);
    std::string legacy((std::istreambuf_iterator<char>(leg)), {});
    legacy.resize(legacy.size() - 100);
    EXPECT_NE(error_of([&] { (void)tf::pytorch_file::read(bytes_of(legacy), "x.bin"); }).find("is truncated"),
              std::string::npos);
}

// -- sharded checkpoints: a broken index is reported, naming the file -------------

TEST(checkpoints, broken_shard_indexes_are_refused) {
    const auto tmp = fs::temp_directory_path() / ("typeformer-shards-" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    const auto src = layouts() / "sharded-safetensors";
    for (const auto& e : fs::directory_iterator(src)) fs::copy(e.path(), tmp / e.path().filename());
    const auto index = tmp / "model.safetensors.index.json";
    std::ifstream in(index);
    const auto json = nlohmann::json::parse(in);
    auto write = [&](const nlohmann::json& j) { std::ofstream(index) << j.dump(); };
    auto open_error = [&] { return error_of([&] { tf::checkpoint::open(tmp); }); };

    auto j = json;
    j["weight_map"]["bert.pooler.dense.weight"] = "../../etc/passwd";
    write(j);
    EXPECT_NE(open_error().find("\"../../etc/passwd\" is not a file name in this folder"), std::string::npos);

    j = json;
    j["weight_map"]["bert.pooler.dense.weight"] = "model-00009-of-00009.safetensors";
    write(j);
    EXPECT_NE(open_error().find("shard model-00009-of-00009.safetensors (holding bert.pooler.dense.weight, ...) is missing"),
              std::string::npos);

    j = json;
    j["weight_map"]["not.there"] = "model-00001-of-00004.safetensors";
    write(j);
    EXPECT_NE(open_error().find("tensor not.there is listed in shard model-00001-of-00004.safetensors, which lacks it"),
              std::string::npos);

    write(nlohmann::json::array());
    EXPECT_NE(open_error().find("[checkpoint.index]"), std::string::npos);

    // one tensor in two shards
    j = json;
    const auto moved = j["weight_map"].begin().key();
    const std::string shard = j["weight_map"].begin().value();
    j["weight_map"][moved] = "extra.safetensors";
    write(j);
    fs::copy_file(tmp / shard, tmp / "extra.safetensors");
    const auto msg = open_error();
    EXPECT_NE(msg.find("[checkpoint.duplicate] tensor " + moved + " is stored twice"), std::string::npos) << msg;
    fs::remove_all(tmp);
}

TEST(checkpoints, folder_without_weights_names_every_layout) {
    const auto msg = error_of([] { tf::checkpoint::open(layouts()); });
    EXPECT_NE(msg.find("[checkpoint.missing]"), std::string::npos);
    EXPECT_NE(msg.find("model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json"),
              std::string::npos);
}

// -- --dtype fp16: float -> half rounding ------------------------------------------

TEST(dtype, float_to_half_round_trips_every_half_and_rounds_to_nearest_even) {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const float f = tf::half_to_float(static_cast<std::uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(tf::half_to_float(tf::float_to_half(f))));
            continue;
        }
        ASSERT_EQ(tf::float_to_half(f), h) << h;
    }
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(1.f + 1.f / 2048)), 1.f);            // a tie: to even (down)
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(1.f + 3.f / 2048)), 1.f + 1.f / 512);  // a tie: to even (up)
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(1.f + 3.f / 4096)), 1.f + 1.f / 1024); // above half: up
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(65519.f)), 65504.f);
    EXPECT_TRUE(std::isinf(tf::half_to_float(tf::float_to_half(65520.f))));
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(std::ldexp(1.f, -24) * 0.75f)), std::ldexp(1.f, -24));  // subnormal
    EXPECT_EQ(tf::half_to_float(tf::float_to_half(std::ldexp(1.f, -26))), 0.f);
    // bfloat16: 8 significant bits, rounded to nearest even
    EXPECT_EQ(tf::bf16_to_float(tf::float_to_bf16(1.f + 1.f / 256)), 1.f);               // a tie: to even (down)
    EXPECT_EQ(tf::bf16_to_float(tf::float_to_bf16(1.f + 3.f / 256)), 1.f + 1.f / 64);    // a tie: to even (up)
    EXPECT_EQ(tf::bf16_to_float(tf::float_to_bf16(1.f + 3.f / 512)), 1.f + 1.f / 128);   // above half: up
    EXPECT_EQ(tf::bf16_to_float(tf::float_to_bf16(-3.f)), -3.f);
    EXPECT_TRUE(std::isnan(tf::bf16_to_float(tf::float_to_bf16(std::nanf("")))));
}

TEST(weight_cache, bounded_reference_pass_is_exact) {
    // keep_bytes a quarter of the model, at least the largest weight (the
    // exporter keeps 4 x the largest, at least 1 GiB): the reference pass
    // must drop weights and convert some again, and give the same outputs
    // bit for bit
    const auto dir = layouts() / "pytorch-bin";
    const auto m = open_layout(dir);
    const auto& f = m.family().require("masked-lm");
    const auto built = f.build(m.config, m.weights, tf::default_opset, dir.string());
    std::size_t total = 0, largest = 0;
    for (const auto& i : built.initializers) {
        total += static_cast<std::size_t>(i.numel()) * 4;
        largest = std::max(largest, static_cast<std::size_t>(i.numel()) * 4);
    }
    const auto feeds = f.make_inputs(m.config, {3, 9, 3}, 7);
    tf::weight_cache all;
    const auto want = f.reference(m.config, m.weights, feeds, &all);
    tf::weight_cache bounded({.keep_bytes = std::max(largest, total / 4)});
    ASSERT_LT(2 * bounded.settings().keep_bytes, total) << "the fixture is too small to drop anything";
    for (int pass = 0; pass < 2; ++pass) {
        const auto got = f.reference(m.config, m.weights, feeds, &bounded);
        ASSERT_EQ(got.size(), want.size());
        for (const auto& [name, v] : want) EXPECT_EQ(tf::max_abs_diff(got.at(name), v), 0.0) << name;
    }
    EXPECT_LT(bounded.size(), all.size());            // it keeps fewer weights
    EXPECT_GT(bounded.converted(), 2 * bounded.size());  // and converted some again in the second pass
    EXPECT_EQ(all.converted(), all.size());
}

TEST(dtype, fp16_export_stores_half_weights_and_outputs) {
    const auto dir = layouts() / "pytorch-bin";
    const auto m = open_layout(dir);
    const auto& f = m.family().require("masked-lm");
    auto built = f.build(m.config, m.weights, tf::default_opset, dir.string());
    tf::to_fp16(built.model, built.initializers);
    for (const auto& s : built.initializers) EXPECT_EQ(s.stored, tf::dtype::f16) << s.name;
    tf::check_onnx_skeleton(built.model, built.initializers);
    const auto model = tf::materialize(std::move(built));
    EXPECT_EQ(model.graph().output(0).type().tensor_type().elem_type(), tf::onnx_type(tf::dtype::f16));
    std::string bytes;
    ASSERT_TRUE(model.SerializeToString(&bytes));
    tf::ort_runner ort(bytes, 1);
    const auto feeds = f.make_inputs(m.config, {3, 9, 3}, 7);
    tf::weight_cache rounded({.round_to_fp16 = true});
    const auto ref = f.reference(m.config, m.weights, feeds, &rounded);
    const double d = tf::max_abs_diff(ort.run(feeds).at("logits"), ref.at("logits"));
    EXPECT_LE(d, tf::fp16_atol);
    EXPECT_GT(d, 0.0);  // the outputs really are float16
}

// -- --model org/name from the Hugging Face cache ---------------------------------

TEST(hub, resolves_refs_and_commits_offline) {
    const auto cache = fs::temp_directory_path() / ("typeformer-hub-" + std::to_string(::getpid()));
    fs::remove_all(cache);
    const auto repo = cache / "models--org--tiny-bert";
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "snapshots" / "0123abcd");
    fs::create_directories(repo / "blobs");
    for (const auto& e : fs::directory_iterator(layouts() / "pytorch-bin")) {
        // the cache's layout: files in blobs/, symlinked from the snapshot
        fs::copy_file(e.path(), repo / "blobs" / e.path().filename());
        fs::create_symlink(repo / "blobs" / e.path().filename(), repo / "snapshots" / "0123abcd" / e.path().filename());
    }
    std::ofstream(repo / "refs" / "main") << "0123abcd";

    EXPECT_EQ(tf::find_in_hub_cache("org/tiny-bert", "main", cache), repo / "snapshots" / "0123abcd");
    EXPECT_EQ(tf::find_in_hub_cache("org/tiny-bert", "0123abcd", cache), repo / "snapshots" / "0123abcd");
    auto msg = error_of([&] { (void)tf::find_in_hub_cache("org/tiny-bert", "v2", cache); });
    EXPECT_NE(msg.find("[hub.not_cached] org/tiny-bert: revision v2 is not in the cache"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cached refs: main"), std::string::npos) << msg;
    msg = error_of([&] { (void)tf::find_in_hub_cache("org/other", "main", cache); });
    EXPECT_NE(msg.find("not in the Hugging Face cache (looked for " + (cache / "models--org--other").string()),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("huggingface-cli download org/other"), std::string::npos) << msg;
    EXPECT_NE(error_of([&] { (void)tf::find_in_hub_cache("../../etc", "main", cache); }).find("[hub.invalid]"),
              std::string::npos);
    EXPECT_NE(error_of([&] { (void)tf::find_in_hub_cache("org/tiny-bert", "../../x", cache); }).find("[hub.invalid]"),
              std::string::npos);

    // the environment: HF_HUB_CACHE first, then HF_HOME/hub
    ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
    EXPECT_EQ(tf::resolve_model("org/tiny-bert"), repo / "snapshots" / "0123abcd");
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HUGGINGFACE_HUB_CACHE");
    ::setenv("HF_HOME", (cache / "home").c_str(), 1);
    EXPECT_EQ(tf::hub_cache_dir(), cache / "home" / "hub");
    ::unsetenv("HF_HOME");
    // a folder is taken as it is
    EXPECT_EQ(tf::resolve_model(layouts().string()), layouts());
    fs::remove_all(cache);
}

TEST(hub, the_cached_snapshot_loads_through_symlinks) {
    const auto cache = fs::temp_directory_path() / ("typeformer-hub2-" + std::to_string(::getpid()));
    fs::remove_all(cache);
    const auto snap = cache / "models--tiny" / "snapshots" / "c0ffee";
    fs::create_directories(snap);
    fs::create_directories(cache / "models--tiny" / "refs");
    std::ofstream(cache / "models--tiny" / "refs" / "main") << "c0ffee\n";
    for (const auto& e : fs::directory_iterator(layouts() / "sharded-safetensors"))
        fs::create_symlink(e.path(), snap / e.path().filename());
    const auto dir = tf::find_in_hub_cache("tiny", "main", cache);
    EXPECT_EQ(open_layout(dir).weights.layout(), "sharded safetensors (4 files)");
    fs::remove_all(cache);
}
