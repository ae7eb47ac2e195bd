// Qwen3.5 (text): its hybrid layers, its cache's states, its refusals
// (features, generation and padded generation: test_models.cpp).
#include "typeformer/models/qwen3_5_text.hpp"

#include "harness.hpp"

namespace {
using qwen35 = tf::qwen3_5_text_family;

constexpr const char* qwen35_tiny = R"({"model_type": "qwen3_5_text", "hidden_size": 32, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 37, "num_hidden_layers": 5, "vocab_size": 99,
    "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 6})";

nlohmann::json qwen35_json(const char* extra = "{}") {
    auto j = nlohmann::json::parse(qwen35_tiny);
    j.update(nlohmann::json::parse(extra));
    return j;
}
std::string qwen35_error(const nlohmann::json& j) { return config_error<qwen35>(j.dump().c_str()); }
}  // namespace

// Qwen3_5TextConfig's defaults: every fourth layer has full attention, a
// quarter of each head rotated, (1 + weight) norms; the linear layers' sizes.
TEST(qwen3_5_text, defaults_are_transformers) {
    const auto c = config_from_text<qwen35>(qwen35_tiny);
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(tf::recurrent_layer(c, i), i != 3) << "layer " << i;
    EXPECT_EQ(c.rotary().dims, 4);  // int(16 · 0.25)
    EXPECT_EQ(c.rotary().base, 10000.0);
    EXPECT_EQ(c.norm(), tf::norm_kind::rms_plus_one);
    EXPECT_EQ(c.linear_attention().conv_kernel, 4);
    EXPECT_EQ(c.linear_attention().conv_dim(), 2 * 16 + 24);
    const auto big = config_from_text<qwen35>(R"({"model_type": "qwen3_5_text"})");
    EXPECT_EQ(big.linear_attention().conv_dim(), 2 * 16 * 128 + 32 * 128);
    EXPECT_EQ(big.head_size(), 256);
    EXPECT_EQ(big.rotary().dims, 64);
    EXPECT_EQ(big.vocab_size, 248320);
}

// layer_types wins over full_attention_interval; the interval alone places the full layers.
TEST(qwen3_5_text, reads_layer_types_and_interval) {
    const auto c = config_from_text<qwen35>(
        qwen35_json(R"({"layer_types": ["full_attention", "linear_attention", "linear_attention",
                        "full_attention", "linear_attention"], "full_attention_interval": 2})").dump().c_str());
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(tf::recurrent_layer(c, i), i != 0 && i != 3) << "layer " << i;
    const auto every_other = config_from_text<qwen35>(qwen35_json(R"({"full_attention_interval": 2})").dump().c_str());
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(tf::recurrent_layer(every_other, i), i % 2 == 0) << "layer " << i;
    const auto half = config_from_text<qwen35>(
        qwen35_json(R"({"rope_parameters": {"rope_type": "default", "rope_theta": 5000.0,
                        "partial_rotary_factor": 0.5, "mrope_section": [1, 1, 2]}})").dump().c_str());
    EXPECT_EQ(half.rotary().dims, 8);
    EXPECT_EQ(half.rotary().base, 5000.0);
}

// The cache: keys and values on the attention layers, the convolution's and
// the recurrence's states on the linear ones, with fixed sizes; zeros for
// the first step (past length 0), as Transformers starts them.
TEST(qwen3_5_text, cache_holds_states_on_linear_layers) {
    const auto j = qwen35_json(R"({"num_hidden_layers": 2, "layer_types": ["linear_attention", "full_attention"]})");
    const auto& family = tf::require_family("qwen3_5_text");
    const auto c = family.load(tf::config_reader(j, "config.json"));
    const auto& f = family.require("causal-lm-with-past");
    std::map<std::string, std::vector<std::string>> in, out;
    for (const auto& i : f.inputs(c)) in[i.name] = i.axes;
    for (const auto& o : f.outputs(c)) out[o.name] = o.axes;
    EXPECT_EQ(in.at("past_key_values.0.conv"), (std::vector<std::string>{"batch", "56", "3"}));
    EXPECT_EQ(in.at("past_key_values.0.recurrent"), (std::vector<std::string>{"batch", "4", "8", "6"}));
    EXPECT_EQ(in.at("past_key_values.1.key"), (std::vector<std::string>{"batch", "2", "past_sequence", "16"}));
    EXPECT_FALSE(in.contains("past_key_values.0.key"));
    EXPECT_FALSE(in.contains("past_key_values.1.conv"));
    EXPECT_TRUE(out.contains("present.0.conv") && out.contains("present.0.recurrent") && out.contains("present.1.value"));
    const auto first = f.make_inputs(c, {.batch = 2, .sequence = 3, .past = 0}, 7);
    EXPECT_EQ(xt::amax(xt::abs(first.at("past_key_values.0.recurrent").f))(), 0.f);
    EXPECT_EQ(xt::amax(xt::abs(first.at("past_key_values.0.conv").f))(), 0.f);
    EXPECT_EQ(first.at("past_key_values.1.key").f.shape()[2], 0u);
    const auto later = f.make_inputs(c, {.batch = 2, .sequence = 3, .past = 4}, 7);
    EXPECT_GT(xt::amax(xt::abs(later.at("past_key_values.0.recurrent").f))(), 0.f);
}

// What Transformers computes otherwise, or cannot build, is refused by name.
TEST(qwen3_5_text, refusals_name_the_key) {
    EXPECT_NE(qwen35_error(qwen35_json(R"({"layer_types": ["linear_attention", "sliding_attention",
              "linear_attention", "full_attention", "linear_attention"]})")).find("/layer_types/1"), std::string::npos);
    EXPECT_NE(qwen35_error(qwen35_json(R"({"layer_types": ["linear_attention"]})")).find("config.invalid"),
              std::string::npos);
    EXPECT_NE(qwen35_error(qwen35_json(R"({"rope_parameters": {"rope_type": "linear", "factor": 2.0,
              "rope_theta": 10000.0}})")).find("RoPE scaling"), std::string::npos);
    EXPECT_NE(qwen35_error(qwen35_json(R"({"linear_num_value_heads": 3})")).find("linear_num_key_heads"),
              std::string::npos);
    EXPECT_NE(qwen35_error(qwen35_json(R"({"linear_conv_kernel_dim": 1})")).find("linear_conv_kernel_dim"),
              std::string::npos);
    EXPECT_NE(qwen35_error(qwen35_json(R"({"is_causal": false})")).find("is_causal"), std::string::npos);
}
