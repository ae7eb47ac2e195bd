// Mistral 4: what it changes in DeepSeek-V3's config (the router, head_dim,
// the rotary part, YaRN and Llama 4's query scaling) and its refusals
// (features and generation: test_models.cpp).
#include "typeformer/models/mistral4.hpp"

#include "harness.hpp"

namespace {
constexpr const char* mistral4_tiny = R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 4,
    "intermediate_size": 37, "num_hidden_layers": 2, "vocab_size": 99, "q_lora_rank": 24, "kv_lora_rank": 16,
    "qk_nope_head_dim": 6, "qk_rope_head_dim": 8, "v_head_dim": 10, "moe_intermediate_size": 16,
    "n_routed_experts": 8, "n_group": 4, "topk_group": 2, "num_experts_per_tok": 3, "first_k_dense_replace": 1)";

std::string mistral4_with(const char* extra) {
    std::string s = mistral4_tiny;
    s += extra;
    s += "}";
    return s;
}
constexpr const char* mistral4_rope = R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0,
    "factor": 16.0, "original_max_position_embeddings": 4, "mscale": 1.0, "mscale_all_dim": 1.0,
    "llama_4_scaling_beta": 0.1})";
}  // namespace

// Without rope_parameters, Mistral4Config's own: YaRN (factor 128, original
// 8192, mscale = mscale_all_dim = 1), llama_4_scaling_beta 0.1; the softmax
// router; head_dim is qk_nope + qk_rope and the rotary part qk_rope.
TEST(mistral4, defaults_are_transformers) {
    const auto c = config_from_text<tf::mistral4_family>(mistral4_with("").c_str());
    EXPECT_EQ(c.head_dim, 14);
    EXPECT_EQ(c.rotary().dims, 8);
    EXPECT_TRUE(c.rotary().interleaved);
    EXPECT_EQ(c.rope_scaling, tf::llama_config::rope_scaling_kind::yarn);
    EXPECT_EQ(c.rope_factor, 128.0);
    EXPECT_EQ(c.rope_original_max_positions, 8192);
    EXPECT_EQ(c.rotary().attention_factor, 1.0);
    EXPECT_EQ(c.llama4_beta, 0.1);
    EXPECT_EQ(c.llama4_original, 8192);
    const double m = 0.1 * std::log(128.0) + 1.0;
    EXPECT_FLOAT_EQ(c.attention_scale(), static_cast<float>(std::pow(14.0, -0.5) * m * m));
    const auto moe = c.moe();
    EXPECT_EQ(moe.scoring, tf::moe_scoring::softmax);
    EXPECT_FALSE(moe.correction_bias);
    EXPECT_EQ(moe.scaling, 1.0);
    EXPECT_EQ(c.pad_token_id, 11);
    const auto given = config_from_text<tf::mistral4_family>(mistral4_with(mistral4_rope).c_str());
    EXPECT_EQ(given.llama4_original, 4);
    EXPECT_EQ(given.rope_factor, 16.0);
    EXPECT_EQ(given.rotary().dims, 8);
}

TEST(mistral4, refusals) {
    auto refused = [](const std::string& extra, std::string_view id, std::string_view names) {
        const auto e = config_error<tf::mistral4_family>(mistral4_with(extra.c_str()).c_str());
        EXPECT_TRUE(e.starts_with(id)) << extra << ": " << e;
        EXPECT_NE(e.find(names), std::string::npos) << extra << ": " << e;
    };
    refused(R"(, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0})", "config.unsupported",
            "only a \"yarn\" rope_type");
    refused(R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
        "original_max_position_embeddings": 4})",
            "config.unsupported", "llama_4_scaling_beta");
    refused(R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
        "original_max_position_embeddings": 4, "llama_4_scaling_beta": 0.1, "partial_rotary_factor": 1.0})",
            "config.unsupported", "partial_rotary_factor");
    refused(R"(, "num_key_value_heads": 2)", "config.invalid", "num_key_value_heads must equal");
    refused(R"(, "quantization_config": {"quant_method": "fp8"})", "config.unsupported", "quantization_config");
    EXPECT_EQ(config_error<tf::mistral4_family>(mistral4_with(mistral4_rope).c_str()), "none");
}
