// Both schemas: every fixture checkpoint exported with its own
// config.json (as Transformers 5 writes it) and again with the config.json
// that Transformers 4.41 writes for the same model
// (tests/fixtures_tf4_configs/, made by `generate.py --configs-only` under
// .venv-fixtures) gives the same ONNX graph, weights included, both read as
// 5.x's model code reads them (the default). A config the loader refuses
// must be refused with config.unsupported or config.invalid; a refusal or a
// different graph that is known today is listed, with why, in
// tests/fixtures_tf4_configs/known_failures.txt, so that the test passes
// today and fails on any new one (and on a listed one that is fixed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "../known_list.hpp"
#include "../models/harness.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path fixtures = TYPEFORMER_FIXTURES;
const fs::path tf4_configs = fixtures.parent_path() / "fixtures_tf4_configs";

/// "<folder>/<feature>" of every 4.41 config.json whose family is built.
std::vector<std::string> every_case() {
    std::vector<std::string> v;
    if (!fs::exists(tf4_configs)) return v;
    for (const auto& folder : fs::directory_iterator(tf4_configs)) {
        if (!folder.is_directory()) continue;
        for (const auto& feature : fs::directory_iterator(folder.path())) {
            if (!fs::exists(feature.path() / "config.json")) continue;
            const auto j = tf::config_reader::load(feature.path() / "config.json");
            if (j.contains("model_type") && tf::find_family(j["model_type"].get<std::string>()))
                v.push_back(folder.path().filename().string() + "/" + feature.path().filename().string());
        }
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// known_failures.txt: case <TAB> refused|differs <TAB> why.
std::map<std::string, std::pair<std::string, std::string>> known_failures() {
    std::map<std::string, std::pair<std::string, std::string>> m;
    for (const auto& [name, kind, why] : read_known_list(tf4_configs / "known_failures.txt")) m[name] = {kind, why};
    return m;
}

/// The feature's model with its weights, serialized (every graph of an encoder-decoder's feature, one after the other).
std::string exported(const tf::loaded_model& m, std::string_view feature) {
    std::string all;
    for (const auto* g : m.family().require(feature).graphs()) {
        auto model = tf::materialize(g->build(m.config, m.weights, tf::default_opset, "x"));
        std::string bytes;
        if (!model.SerializeToString(&bytes)) throw std::runtime_error("cannot serialize the model");
        all += std::string(g->graph) + ":" + bytes;
    }
    return all;
}

/// A scratch copy of a fixture folder, removed at the end.
struct scratch_dir {
    fs::path path;
    explicit scratch_dir(const std::string& name)
        : path(fs::temp_directory_path() / ("typeformer_schema_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

class config_schema : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(config_schema);

TEST_P(config_schema, transformers4_config_gives_the_same_graph) {
    const std::string name = GetParam();
    const auto slash = name.find('/');
    const std::string folder = name.substr(0, slash), feature = name.substr(slash + 1);
    const auto dir = fixtures / folder / feature;
    ASSERT_TRUE(fs::exists(dir / "config.json")) << dir;
    const auto known = known_failures();
    const auto listed = known.find(name);

    const auto json = tf::config_reader::load(dir / "config.json");
    const auto& family = tf::require_family(json.at("model_type").get<std::string>());
    const auto g = exported(tf::load_model(family, dir, json), feature);

    // the fixture folder with Transformers 4.41's config.json in place of its own
    std::string id = name;
    for (auto& c : id)
        if (c == '/') c = '_';
    scratch_dir tmp(id);
    for (const auto& e : fs::directory_iterator(dir)) fs::copy_file(e.path(), tmp.path / e.path().filename());
    fs::copy_file(tf4_configs / name / "config.json", tmp.path / "config.json", fs::copy_options::overwrite_existing);

    std::string outcome, detail;
    try {
        const auto json4 = tf::config_reader::load(tmp.path / "config.json");
        const auto g4 = exported(tf::load_model(family, tmp.path, json4), feature);
        if (g4 != g) outcome = "differs", detail = "the graph differs from the one the fixture's config.json gives";
    } catch (const tf::error& e) {
        detail = e.what();
        if (e.id() == "config.unsupported" || e.id() == "config.invalid") outcome = "refused";
        else FAIL() << name << ": Transformers 4.41's config.json fails with an error that is not a refusal: " << detail;
    }
    if (outcome.empty()) {
        if (listed != known.end())
            ADD_FAILURE() << "known_failures.txt: " << name << " gives the same graph now: remove the line";
        return;
    }
    std::cout << "[ " << outcome << " ] " << name << ": " << detail << "\n";
    if (listed == known.end())
        ADD_FAILURE() << name << ": with Transformers 4.41's config.json the export is " << outcome << ": " << detail;
    else if (listed->second.first != outcome)
        ADD_FAILURE() << "known_failures.txt: " << name << " is listed as " << listed->second.first << ", but it "
                      << outcome << ": " << detail;
}

INSTANTIATE_TEST_SUITE_P(fixtures, config_schema, testing::ValuesIn(every_case()),
                         [](const testing::TestParamInfo<std::string>& i) {
                             std::string s = i.param;
                             for (auto& c : s)
                                 if (c == '-' || c == '/') c = '_';
                             return s;
                         });

// Every listed failure names a case that exists.
TEST(config_schema_list, names_cases) {
    for (const auto& [name, entry] : known_failures()) {
        EXPECT_TRUE(fs::exists(tf4_configs / name / "config.json")) << "known_failures.txt: " << name;
        EXPECT_TRUE(entry.first == "refused" || entry.first == "differs") << "known_failures.txt: " << name;
    }
}
