// Seed-OSS: its biases, its head size and its defaults as Transformers 5.23
// reads them (features and generation: test_models.cpp).
#include "typeformer/models/seed_oss.hpp"

#include "harness.hpp"

namespace {
std::string seed_oss_with(const char* more) {
    return std::string(R"({"model_type": "seed_oss", "hidden_size": 32, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "num_hidden_layers": 2, "vocab_size": 99)") +
           more + "}";
}
tf::llama_config seed_oss_load(const std::string& text) { return config_from_text<tf::seed_oss_family>(text.c_str()); }
}  // namespace

// SeedOssConfig's defaults: biases on q, k, v (attention_bias true), none on
// o (attention_out_bias false) or the MLP; head_dim 128; pad_token_id 1.
TEST(seed_oss, defaults_are_transformers) {
    const auto c = seed_oss_load(seed_oss_with(""));
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    EXPECT_FALSE(c.mlp_bias);
    EXPECT_EQ(c.head_size(), 128);
    EXPECT_EQ(c.kv_heads(), 2);
    EXPECT_EQ(c.pad_token_id, 1);
    EXPECT_EQ(c.rotary().base, 10000.0);
    EXPECT_FALSE(c.rotary().interleaved);
    EXPECT_EQ(seed_oss_load(R"({"model_type": "seed_oss"})").kv_heads(), 8);
}

// attention_bias and attention_out_bias are two switches: q, k, v and o apart.
TEST(seed_oss, attention_bias_and_attention_out_bias_apart) {
    const auto out = seed_oss_load(seed_oss_with(R"(, "attention_bias": false, "attention_out_bias": true)"));
    EXPECT_FALSE(out.qkv_bias());
    EXPECT_TRUE(out.o_bias());
    const auto both = seed_oss_load(seed_oss_with(R"(, "attention_out_bias": true, "mlp_bias": true)"));
    EXPECT_TRUE(both.qkv_bias());
    EXPECT_TRUE(both.o_bias());
    EXPECT_TRUE(both.mlp_bias);
    const auto none = seed_oss_load(seed_oss_with(R"(, "attention_bias": false)"));
    EXPECT_FALSE(none.qkv_bias());
    EXPECT_FALSE(none.o_bias());
}

// head_dim null is hidden_size / num_attention_heads; the dropouts and
// pretraining_tp change nothing at inference.
TEST(seed_oss, head_dim_null_and_training_settings) {
    EXPECT_EQ(seed_oss_load(seed_oss_with(R"(, "head_dim": null)")).head_size(), 8);
    EXPECT_EQ(seed_oss_load(seed_oss_with(R"(, "head_dim": 16)")).head_size(), 16);
    const auto c = seed_oss_load(
        seed_oss_with(R"(, "residual_dropout": 0.3, "attention_dropout": 0.2, "pretraining_tp": 3)"));
    EXPECT_EQ(c.head_size(), 128);
    EXPECT_NE(config_error<tf::seed_oss_family>(seed_oss_with(R"(, "partial_rotary_factor": 0.5)").c_str())
                  .find("/partial_rotary_factor"),
              std::string::npos);
    EXPECT_NE(config_error<tf::seed_oss_family>(
                  seed_oss_with(R"(, "rope_parameters": {"rope_type": "dynamic", "factor": 2.0})").c_str())
                  .find("\"dynamic\" is not supported"),
              std::string::npos);
}
