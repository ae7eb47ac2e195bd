// Llama: config defaults, rope_scaling and refusals (features and generation: test_models.cpp).
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <numbers>
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
    expect_refused({{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}, "config.unsupported",
                   "/rope_scaling: /type: \"dynamic\" is not supported");
    expect_refused({{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}, "config.unsupported",
                   "even in Transformers 5");
    expect_refused({{"rope_scaling", {{"rope_type", "longrope"}, {"short_factor", {1}}, {"long_factor", {1}}}}},
                   "config.unsupported", "/rope_type: \"longrope\"");
    expect_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}}}, "config.invalid", "/low_freq_factor: missing");
    expect_refused({{"rope_scaling", {{"rope_type", "yarn"}}}}, "config.invalid", "/factor: missing");
    expect_refused({{"rope_scaling", {{"type", "linear"}, {"factor", 1.0}}}}, "config.invalid", "/factor");
    expect_refused({{"partial_rotary_factor", 0.5}}, "config.unsupported", "/partial_rotary_factor");
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
    expect_refused({{"rope_parameters", {{"rope_type", "su"}, {"factor", 8.0}, {"rope_theta", 5e5}}}},
                   "config.unsupported", "/rope_parameters: /rope_type: \"su\"");
    expect_refused({{"rope_theta", 1e4}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 5e5}}}},
                   "config.invalid", "/rope_theta and /rope_parameters/rope_theta disagree");
    expect_refused({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}},
                    {"rope_parameters", {{"rope_type", "linear"}, {"factor", 4.0}}}},
                   "config.invalid", "/rope_scaling and /rope_parameters disagree");
}

TEST(llama, mistral_and_qwen2_read_rope_parameters_as_llama_does) {
    const auto q = tf::qwen2_family::load(
        tf::config_reader({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1000000.0}}}}, "config.json"));
    EXPECT_EQ(q.rotary().base, 1000000.0);
    for (auto load : {&tf::mistral_family::load, &tf::qwen2_family::load}) {
        const nlohmann::json j = {{"rope_parameters", {{"rope_type", "linear"}, {"factor", 2.0}}}, {"head_dim", 16}};
        const auto c = (*load)(tf::config_reader(j, "config.json"));
        EXPECT_EQ(c.rotary().position_scale, 2.0);
        EXPECT_EQ(c.cache().head_dim, 16);
    }
}

// Llama 3.1's scaling, computed as Transformers 5's _compute_llama3_parameters
// does: theta 500000 over head size 8 gives wavelengths 6.3, 167, 4443 and
// 118000; with original 256, low_freq_factor 1 and high_freq_factor 4 the
// first is kept (< 64), the second blended, the last two divided by 8.
TEST(llama, llama3_scaling_keeps_blends_and_divides_by_wavelength) {
    const auto c = load_llama({{"hidden_size", 32}, {"num_attention_heads", 4},
                               {"rope_parameters", {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8.0},
                                                    {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                                                    {"original_max_position_embeddings", 256}}}});
    const auto r = c.rotary();
    ASSERT_EQ(r.inv_freq.size(), 4u);
    const double plain[] = {1.0, std::pow(500000.0, -0.25), std::pow(500000.0, -0.5), std::pow(500000.0, -0.75)};
    EXPECT_NEAR(r.inv_freq[0], plain[0], 1e-7);
    const double smooth = (256 / (2 * std::numbers::pi / plain[1]) - 1) / 3;
    EXPECT_NEAR(r.inv_freq[1], (1 - smooth) * plain[1] / 8 + smooth * plain[1], 1e-7);
    EXPECT_NEAR(r.inv_freq[2], plain[2] / 8, 1e-9);
    EXPECT_NEAR(r.inv_freq[3], plain[3] / 8, 1e-10);
    EXPECT_EQ(r.attention_factor, 1.0);
    // a top-level original_max_position_embeddings wins over the scaling's, as 5.x standardises it
    auto j = nlohmann::json{{"original_max_position_embeddings", 64},
                            {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 256}}}};
    EXPECT_EQ(load_llama(j).rope_original_max_positions, 64);
    j["rope_scaling"]["high_freq_factor"] = 1.0;
    expect_refused(j, "config.invalid", "0 < low_freq_factor < high_freq_factor");
}

// YaRN's attention factor: explicit, from mscale / mscale_all_dim, or 0.1 ln(factor) + 1.
TEST(llama, yarn_attention_factor_follows_transformers) {
    auto yarn = [](nlohmann::json extra = nlohmann::json::object()) {
        nlohmann::json rs = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 4096}};
        rs.update(extra);
        return load_llama({{"rope_parameters", rs}, {"max_position_embeddings", 16384}}).rotary();
    };
    EXPECT_NEAR(yarn().attention_factor, 0.1 * std::log(4.0) + 1, 1e-12);
    EXPECT_EQ(yarn({{"attention_factor", 1.25}}).attention_factor, 1.25);
    EXPECT_NEAR(yarn({{"mscale", 2.0}, {"mscale_all_dim", 1.0}}).attention_factor,
                (0.2 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1), 1e-12);
    // factor null: max_position_embeddings / original
    EXPECT_NEAR(yarn({{"factor", nullptr}}).attention_factor, 0.1 * std::log(4.0) + 1, 1e-12);
    expect_refused({{"rope_parameters", {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", -1.0}}}},
                   "config.invalid", "positive beta_fast and beta_slow");
    // the ramp: head size 128, theta 10000, original 4096, betas 32 and 1: low 20, high 46
    const auto r = yarn();
    ASSERT_EQ(r.inv_freq.size(), 64u);
    EXPECT_NEAR(r.inv_freq[0], 1.0, 1e-7);
    EXPECT_NEAR(r.inv_freq[63], std::pow(10000.0, -126.0 / 128) / 4, 1e-10);  // float32
}

// The fixtures of tools/fixtures/cases/rope.py, made by Transformers 5: each
// scaling and head size matches Transformers through the reference pass and
// ONNX Runtime, greedy generation gives Transformers' tokens, and the same
// config written in 4.x's schema (rope_theta and rope_scaling) gives the
// same graph.
class rope_fixture : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(rope_fixture);
TEST_P(rope_fixture, matches_transformers5_and_generates_its_tokens) {
    const auto dir = fixture_dir(GetParam(), "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py under Transformers 5";
    const std::string model_type = tf::config_reader::load(dir / "config.json").at("model_type");
    if (!tf::find_family(model_type)) GTEST_SKIP() << model_type << " is not built";
    check_fixture(model_type, "causal-lm-with-past", dir);
    // Transformers 5's Phi-3 generate() recomputes the sequence once it grows past
    // original_max_position_embeddings (4 here), so that every position takes the long factors
    check_generation(model_type, dir, model_type == "phi3" ? 4 : 0);
    check_rope_schemas(model_type, "causal-lm-with-past", dir);
}
INSTANTIATE_TEST_SUITE_P(models, rope_fixture,
                         testing::Values("llama-llama3", "llama-yarn", "llama-head-dim", "mistral-head-dim",
                                         "qwen2-yarn", "phi3-partial-rotary"),
                         test_name);

// The log says which Transformers the export follows where 4.41 and 5.x
// compute differently, and warns when the checkpoint was saved by the other
// major version or by a release newer than the newest one checked.
TEST(llama, export_names_the_transformers_it_follows) {
    if (!tf::find_family("mistral")) GTEST_SKIP() << "mistral is not built";
    const auto tmp = std::filesystem::temp_directory_path() / ("tf-version-note-" + std::to_string(::getpid()));
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directories(tmp);
    std::filesystem::copy(fixture_dir("mistral", "causal-lm"), tmp / "model", std::filesystem::copy_options::recursive);
    auto export_saved_by = [&](const char* version, tf::follow_transformers follow = tf::follow_transformers::v5) {
        auto json = tf::config_reader::load(tmp / "model" / "config.json");
        json["transformers_version"] = version;
        std::ofstream(tmp / "model" / "config.json") << json.dump();
        std::ostringstream log, warn;
        tf::export_options opt{.feature = "causal-lm", .validate = false, .force = true};
        opt.follow = follow;
        opt.log = &log;
        opt.warnings = &warn;
        (void)tf::export_pretrained(tmp / "model", tmp / "onnx", opt);
        return std::pair{log.str(), warn.str()};
    };
    const auto [log5, warn5] = export_saved_by("5.23.0");
    EXPECT_NE(log5.find("mistral computes differently under Transformers 4.41 and 5"), std::string::npos) << log5;
    EXPECT_NE(log5.find("the export follows 5.23.0 (--follow-transformers 4.41 follows 4.41.2)"), std::string::npos)
        << log5;
    EXPECT_EQ(warn5, "");
    const auto [log4, warn4] = export_saved_by("4.41.2");
    EXPECT_NE(warn4.find("warning: mistral computes differently"), std::string::npos) << warn4;
    EXPECT_NE(warn4.find("the export follows 5.23.0, not 4.41.2 that saved this checkpoint"), std::string::npos)
        << warn4;
    const auto [log41, warn41] = export_saved_by("4.41.2", tf::follow_transformers::v4_41);
    EXPECT_NE(log41.find("the export follows 4.41.2 (--follow-transformers 5 follows 5.23.0)"), std::string::npos)
        << log41;
    EXPECT_EQ(warn41, "");
    EXPECT_EQ(warn5.find("newer than the newest release"), std::string::npos) << warn5;
    const auto [log9, warn9] = export_saved_by("9.1.0.dev0");
    EXPECT_NE(warn9.find("was saved by Transformers 9.1.0.dev0, newer than the newest release typeformer is "
                         "checked against (5.23.0)"),
              std::string::npos)
        << warn9;
    std::filesystem::remove_all(tmp);
}
