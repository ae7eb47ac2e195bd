// Llama: config defaults, rope_scaling and refusals (features and generation: test_models.cpp).
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "typeformer/export/pretrained.hpp"
#include "typeformer/models/llama.hpp"

#include "harness.hpp"

namespace {
tf::llama_config load_llama(const nlohmann::json& j) { return tf::llama_family::load(tf::config_reader(j, "config.json")); }

void expect_refused(const nlohmann::json& j, std::string_view id, std::string_view names) {
    try {
        (void)load_llama(j);
        ADD_FAILURE() << "accepted " << j.dump();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), id) << e.what();
        EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
}
}  // namespace

TEST(llama, config_defaults_are_transformers) {
    const auto c = load_llama(nlohmann::json::object());
    EXPECT_EQ(c.vocab_size, 32000);
    EXPECT_EQ(c.kv_heads(), 32);  // num_key_value_heads None: every head
    EXPECT_EQ(c.head_size(), 128);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(c.pad_token_id, -1);
    EXPECT_EQ(c.any_window(), 0);
    EXPECT_EQ(c.rotary().position_scale, 1.0);
}

TEST(llama, rope_scaling_linear_divides_positions) {
    const auto c = load_llama({{"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}}});
    EXPECT_EQ(c.rotary().position_scale, 4.0);
}

TEST(llama, refuses_what_it_cannot_export_exactly) {
    expect_refused({{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}, "config.unsupported", "/rope_scaling: /type");
    expect_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}}}, "config.unsupported", "/rope_type");
    expect_refused({{"rope_scaling", {{"type", "linear"}, {"factor", 1.0}}}}, "config.invalid", "/factor");
    expect_refused({{"head_dim", 64}}, "config.unsupported", "/head_dim");
    expect_refused({{"pretraining_tp", 3}}, "config.unsupported", "/pretraining_tp");
    expect_refused({{"num_key_value_heads", 5}}, "config.invalid", "num_key_value_heads");
}

// Transformers 5 writes the RoPE settings into rope_parameters: each one is
// honoured or refused by name, never skipped.
TEST(llama, rope_parameters_are_read_as_rope_theta_and_rope_scaling) {
    const auto c = load_llama({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 500000.0}}}});
    EXPECT_EQ(c.rope_theta, 500000.0);
    EXPECT_EQ(c.rotary().base, 500000.0);
    EXPECT_EQ(c.rotary().position_scale, 1.0);
    const auto linear = load_llama({{"rope_parameters", {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e4}}}});
    EXPECT_EQ(linear.rotary().position_scale, 2.0);
    // the same scaling written both ways (a config upgraded in place) is one setting
    EXPECT_NO_THROW(load_llama({{"rope_theta", 1e4},
                                {"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}},
                                {"rope_parameters", {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e4}}}}));
    expect_refused({{"rope_parameters", {{"rope_type", "llama3"}, {"factor", 8.0}, {"rope_theta", 5e5}}}},
                   "config.unsupported", "/rope_parameters: /rope_type");
    expect_refused({{"rope_parameters", {{"rope_type", "yarn"}, {"factor", 4.0}}}}, "config.unsupported",
                   "/rope_parameters: /rope_type");
    expect_refused({{"rope_theta", 1e4}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 5e5}}}},
                   "config.invalid", "/rope_theta and /rope_parameters/rope_theta disagree");
    expect_refused({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}},
                    {"rope_parameters", {{"rope_type", "linear"}, {"factor", 4.0}}}},
                   "config.invalid", "/rope_scaling and /rope_parameters disagree");
}

TEST(llama, mistral_and_qwen2_read_rope_theta_from_rope_parameters_and_refuse_a_scaling) {
    const auto q = tf::qwen2_family::load(
        tf::config_reader({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1000000.0}}}}, "config.json"));
    EXPECT_EQ(q.rotary().base, 1000000.0);
    for (auto load : {&tf::mistral_family::load, &tf::qwen2_family::load}) {
        const nlohmann::json j = {{"rope_parameters", {{"rope_type", "linear"}, {"factor", 2.0}}}};
        try {
            (void)(*load)(tf::config_reader(j, "config.json"));
            ADD_FAILURE() << "a RoPE scaling was accepted";
        } catch (const tf::error& e) {
            EXPECT_EQ(e.id(), "config.unsupported");
            EXPECT_NE(std::string(e.what()).find("/rope_parameters"), std::string::npos) << e.what();
        }
    }
}

// The log says which Transformers the export follows where 4.41 and 5.x
// compute differently, and warns when the checkpoint was saved by 5.x or by
// a release newer than the newest one checked.
TEST(llama, export_names_the_transformers_it_follows) {
    if (!tf::find_family("mistral")) GTEST_SKIP() << "mistral is not built";
    const auto tmp = std::filesystem::temp_directory_path() / ("tf-version-note-" + std::to_string(::getpid()));
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directories(tmp);
    std::filesystem::copy(fixture_dir("mistral", "causal-lm"), tmp / "model", std::filesystem::copy_options::recursive);
    auto export_saved_by = [&](const char* version) {
        auto json = tf::config_reader::load(tmp / "model" / "config.json");
        json["transformers_version"] = version;
        std::ofstream(tmp / "model" / "config.json") << json.dump();
        std::ostringstream log, warn;
        tf::export_options opt{.feature = "causal-lm", .validate = false, .force = true};
        opt.log = &log;
        opt.warnings = &warn;
        (void)tf::export_pretrained(tmp / "model", tmp / "onnx", opt);
        return std::pair{log.str(), warn.str()};
    };
    const auto [log4, warn4] = export_saved_by("4.41.2");
    EXPECT_NE(log4.find("mistral computes differently under Transformers 5"), std::string::npos) << log4;
    EXPECT_NE(log4.find("the export follows 4.41.2"), std::string::npos) << log4;
    EXPECT_EQ(warn4, "");
    const auto [log5, warn5] = export_saved_by("5.23.0");
    EXPECT_NE(warn5.find("warning: mistral computes differently under Transformers 5"), std::string::npos) << warn5;
    EXPECT_NE(warn5.find("the export follows 4.41.2, not 5.23.0 that saved this checkpoint"), std::string::npos)
        << warn5;
    EXPECT_EQ(warn5.find("newer than the newest release"), std::string::npos) << warn5;
    const auto [log9, warn9] = export_saved_by("9.1.0.dev0");
    EXPECT_NE(warn9.find("was saved by Transformers 9.1.0.dev0, newer than the newest release typeformer is "
                         "checked against (5.23.0)"),
              std::string::npos)
        << warn9;
    std::filesystem::remove_all(tmp);
}
