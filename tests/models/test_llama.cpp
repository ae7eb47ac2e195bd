// Llama: config defaults, rope_scaling and refusals (features and generation: test_models.cpp).
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
