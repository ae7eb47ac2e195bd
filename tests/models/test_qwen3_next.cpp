// Qwen3-Next: its experts and shared expert, its fused linear-attention
// projections, its refusals (features, generation and padded generation:
// test_models.cpp; the hybrid layers' reading: test_qwen3_5_text.cpp).
#include "typeformer/models/qwen3_next.hpp"

#include "harness.hpp"

namespace {
using qwen3next = tf::qwen3_next_family;

constexpr const char* qwen3next_tiny = R"({"model_type": "qwen3_next", "hidden_size": 32, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 37, "num_hidden_layers": 4, "vocab_size": 99,
    "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 6,
    "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16, "shared_expert_intermediate_size": 20})";

std::string qwen3next_error(const char* extra) {
    auto j = nlohmann::json::parse(qwen3next_tiny);
    j.update(nlohmann::json::parse(extra));
    return config_error<qwen3next>(j.dump().c_str());
}
}  // namespace

// Qwen3NextConfig's defaults: the experts renormalised, every layer sparse,
// every fourth layer full attention, a quarter of each head rotated.
TEST(qwen3_next, defaults_are_transformers) {
    const auto c = config_from_text<qwen3next>(qwen3next_tiny);
    EXPECT_TRUE(c.moe().normalize);
    EXPECT_EQ(c.moe().experts, 4);
    for (std::int64_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(c.moe_layer(i)) << "layer " << i;
        EXPECT_EQ(tf::recurrent_layer(c, i), i != 3) << "layer " << i;
    }
    EXPECT_EQ(c.rotary().dims, 4);
    EXPECT_EQ(c.norm(), tf::norm_kind::rms_plus_one);
    const auto big = config_from_text<qwen3next>(R"({"model_type": "qwen3_next"})");
    EXPECT_EQ(big.num_experts, 512);
    EXPECT_EQ(big.num_experts_per_tok, 10);
    EXPECT_EQ(big.shared_expert_intermediate_size, 512);
    EXPECT_EQ(big.vocab_size, 151936);
    EXPECT_EQ(big.num_hidden_layers, 48);
}

// mlp_only_layers and decoder_sparse_step give the dense layers; no experts: every layer dense.
TEST(qwen3_next, dense_layers) {
    auto only = nlohmann::json::parse(qwen3next_tiny);
    only["mlp_only_layers"] = {0, 2};
    const auto a = config_from_text<qwen3next>(only.dump().c_str());
    EXPECT_FALSE(a.moe_layer(0));
    EXPECT_TRUE(a.moe_layer(1));
    EXPECT_FALSE(a.moe_layer(2));
    auto step = nlohmann::json::parse(qwen3next_tiny);
    step["decoder_sparse_step"] = 2;
    const auto b = config_from_text<qwen3next>(step.dump().c_str());
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(b.moe_layer(i), i % 2 == 1) << "layer " << i;
    auto none = nlohmann::json::parse(qwen3next_tiny);
    none["num_experts"] = 0;
    const auto d = config_from_text<qwen3next>(none.dump().c_str());
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_FALSE(d.moe_layer(i)) << "layer " << i;
}

TEST(qwen3_next, refusals_name_the_key) {
    EXPECT_NE(qwen3next_error(R"({"mlp_only_layers": [4]})").find("/mlp_only_layers"), std::string::npos);
    EXPECT_NE(qwen3next_error(R"({"num_experts_per_tok": 5})").find("num_experts_per_tok"), std::string::npos);
    EXPECT_NE(qwen3next_error(R"({"token_classification_bias": false})").find("token_classification_bias"),
              std::string::npos);
    EXPECT_NE(qwen3next_error(R"({"rope_scaling": {"rope_type": "yarn", "factor": 2.0}})").find("RoPE scaling"),
              std::string::npos);
    EXPECT_NE(qwen3next_error(R"({"layer_types": ["linear_attention", "full_attention", "mamba", "full_attention"]})")
                  .find("/layer_types/2"),
              std::string::npos);
}
