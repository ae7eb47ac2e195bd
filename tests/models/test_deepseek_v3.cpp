// DeepSeek-V3: its config's latent attention, routing and cache, and its
// refusals (features and generation: test_models.cpp).
#include "typeformer/models/deepseek_v3.hpp"

#include "harness.hpp"

namespace {
constexpr const char* deepseek_tiny = R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 4,
    "intermediate_size": 37, "num_hidden_layers": 3, "vocab_size": 99, "q_lora_rank": 24, "kv_lora_rank": 16,
    "qk_nope_head_dim": 6, "qk_rope_head_dim": 8, "v_head_dim": 10, "moe_intermediate_size": 16,
    "n_routed_experts": 8, "n_group": 4, "topk_group": 2, "num_experts_per_tok": 3, "n_shared_experts": 2,
    "first_k_dense_replace": 1)";

std::string deepseek_with(const char* extra) {
    std::string s = deepseek_tiny;
    s += extra;
    s += "}";
    return s;
}

tf::deepseek_v3_config deepseek_load(const char* extra) {
    return config_from_text<tf::deepseek_v3_family>(deepseek_with(extra).c_str());
}
std::string deepseek_refusal(const char* extra) {
    return config_error<tf::deepseek_v3_family>(deepseek_with(extra).c_str());
}
}  // namespace

// The latent cache: the normalised latent as the key, the rotated shared
// key part as the value, one head; head_dim is qk_rope_head_dim whatever
// config.json says (DeepseekV3Config.__post_init__).
TEST(deepseek_v3, latent_cache_and_rotary) {
    const auto c = deepseek_load(R"(, "head_dim": 99)");
    const auto kv = c.cache();
    EXPECT_EQ(kv.layers, 3);
    EXPECT_EQ(kv.kv_heads, 1);
    EXPECT_EQ(kv.head_dim, 16);
    EXPECT_EQ(kv.value_dim(), 8);
    EXPECT_EQ(tf::cache_axes(kv, false, tf::past_axis, false),
              (std::vector<std::string>{"batch", "1", "past_sequence", "8"}));
    const auto r = c.rotary();
    EXPECT_EQ(r.dims, 8);
    EXPECT_TRUE(r.interleaved);
    EXPECT_TRUE(r.halves_out);
    EXPECT_FALSE(deepseek_load(R"(, "rope_interleave": false)").rotary().interleaved);
    EXPECT_FLOAT_EQ(c.attention_scale(), 1.f / std::sqrt(14.f));
    EXPECT_EQ(c.q_lora_rank, 24);
    EXPECT_EQ(deepseek_load(R"(, "q_lora_rank": null)").q_lora_rank, 0);
}

// The router: sigmoid scores with the correction bias, 2 of 4 groups,
// routed_scaling_factor, shared experts moe_intermediate_size · n_shared
// wide; dense MLPs before first_k_dense_replace.
TEST(deepseek_v3, routing) {
    const auto c = deepseek_load(R"(, "routed_scaling_factor": 1.5, "norm_topk_prob": false)");
    const auto m = c.moe();
    EXPECT_EQ(m.scoring, tf::moe_scoring::sigmoid);
    EXPECT_TRUE(m.correction_bias);
    EXPECT_EQ(m.experts, 8);
    EXPECT_EQ(m.top_k, 3);
    EXPECT_EQ(m.groups, 4);
    EXPECT_EQ(m.topk_groups, 2);
    EXPECT_FALSE(m.normalize);
    EXPECT_EQ(m.scaling, 1.5);
    EXPECT_EQ(m.shared_intermediate, 32);
    EXPECT_FALSE(c.moe_layer(0));
    EXPECT_TRUE(c.moe_layer(1));
    EXPECT_TRUE(c.moe_layer(2));
    // Transformers 5's attribute_map: num_local_experts is n_routed_experts
    auto j = nlohmann::json::parse(deepseek_with(""));
    j.erase("n_routed_experts");
    j["num_local_experts"] = 16;
    EXPECT_EQ(config_from_text<tf::deepseek_v3_family>(j.dump().c_str()).moe().experts, 16);
    EXPECT_NE(deepseek_refusal(R"(, "num_local_experts": 6)").find("disagree"), std::string::npos);
}

// YaRN with mscale_all_dim scales the softmax by mscale² (yarn_apply_mscale);
// sin and cos by the mscale / mscale_all_dim ratio.
TEST(deepseek_v3, yarn_mscale_scales_the_softmax) {
    const auto c = deepseek_load(R"(, "max_position_embeddings": 2560, "rope_parameters": {"rope_type": "yarn",
        "rope_theta": 10000.0, "factor": 40.0, "original_max_position_embeddings": 64, "mscale": 0.707,
        "mscale_all_dim": 1.0})");
    const double m = 0.1 * std::log(40.0) + 1.0;
    EXPECT_FLOAT_EQ(c.attention_scale(), static_cast<float>(std::pow(14.0, -0.5) * m * m));
    EXPECT_NEAR(c.rotary().attention_factor, (0.1 * 0.707 * std::log(40.0) + 1.0) / m, 1e-12);
    // without mscale_all_dim the softmax keeps qk_head_dim^-0.5
    const auto plain = deepseek_load(R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0,
        "factor": 4.0, "original_max_position_embeddings": 64})");
    EXPECT_FLOAT_EQ(plain.attention_scale(), 1.f / std::sqrt(14.f));
}

TEST(deepseek_v3, refusals) {
    auto refused = [](const char* extra, std::string_view id, std::string_view names) {
        const auto e = deepseek_refusal(extra);
        EXPECT_TRUE(e.starts_with(id)) << extra << ": " << e;
        EXPECT_NE(e.find(names), std::string::npos) << extra << ": " << e;
    };
    refused(R"(, "num_key_value_heads": 2)", "config.invalid", "num_key_value_heads must equal");
    refused(R"(, "n_group": 3)", "config.invalid", "multiple of n_group");
    refused(R"(, "n_group": 8, "topk_group": 4)", "config.invalid", "two experts at least");
    refused(R"(, "topk_group": 5)", "config.invalid", "topk_group must be at most n_group");
    refused(R"(, "topk_group": 1)", "config.invalid", "num_experts_per_tok must be at most");
    refused(R"(, "qk_rope_head_dim": 7)", "config.invalid", "the rotary dimension must be even");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]})",
            "config.unsupported", "quantization_config");
    refused(R"(, "partial_rotary_factor": 0.5)", "config.unsupported", "partial_rotary_factor");
    refused(R"(, "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0})",
            "config.unsupported", "dynamic");
    refused(R"(, "token_classification_bias": false)", "config.unsupported", "token_classification_bias");
    EXPECT_EQ(deepseek_refusal(""), "none");
}

// tools/fixtures/cases/deepseek_v3.py's deepseek_v3-yarn (DeepSeek-V3's own
// scaling: YaRN with mscale and mscale_all_dim): the reference pass and ONNX
// Runtime match Transformers 5, and greedy generation (left-padded too) gives
// its tokens.
TEST(deepseek_v3, yarn_fixture_matches_transformers5_and_generates_its_tokens) {
    const auto dir = fixture_dir("deepseek_v3-yarn", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    check_fixture("deepseek_v3", "causal-lm-with-past", dir);
    check_generation("deepseek_v3", dir);
    check_generation("deepseek_v3", dir, 0, "generate_padded.safetensors");
}
