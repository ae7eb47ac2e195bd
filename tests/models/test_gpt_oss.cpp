// GPT-OSS: its config's defaults and switches, its refusals, and the
// gpt_oss-yarn fixture (every yarn key; features and generation of the
// gpt_oss fixtures: test_models.cpp).
#include "typeformer/models/gpt_oss.hpp"

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "harness.hpp"

namespace {
constexpr const char* gpt_oss_tiny_text = R"({"model_type": "gpt_oss", "hidden_size": 32, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 12, "num_hidden_layers": 4, "vocab_size": 99,
    "num_local_experts": 4, "num_experts_per_tok": 2})";

nlohmann::json gpt_oss_tiny() { return nlohmann::json::parse(gpt_oss_tiny_text); }

tf::gpt_oss_config gpt_oss_load(const nlohmann::json& j) {
    return tf::gpt_oss_family::load(tf::config_reader(j, "config.json"));
}

void gpt_oss_refused(const nlohmann::json& j, std::string_view id, std::string_view names) {
    try {
        (void)gpt_oss_load(j);
        ADD_FAILURE() << j.dump() << " accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), id) << e.what();
        EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
}
}  // namespace

// GptOssConfig's defaults: windows of 128 keys on the even layers, biases on
// q, k, v and o, the clamped SwiGLU's 1.702 and 7, and, without any RoPE key,
// its own yarn (factor 32 over 4096, beta_fast 32, beta_slow 1, no
// truncation) on rope_theta 150000.
TEST(gpt_oss, defaults_are_transformers) {
    const auto c = config_from_text<tf::gpt_oss_family>(gpt_oss_tiny_text);
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(c.window(i), i % 2 == 0 ? 128 : 0) << "layer " << i;
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_TRUE(c.o_bias());
    EXPECT_EQ(c.swiglu_alpha, 1.702);
    EXPECT_EQ(c.swiglu_limit, 7.0);
    EXPECT_EQ(c.rms_norm_eps, 1e-5);
    EXPECT_EQ(c.rope_theta, 150000.0);
    EXPECT_EQ(c.rope_scaling, tf::llama_config::rope_scaling_kind::yarn);
    EXPECT_EQ(c.rope_factor, 32.0);
    EXPECT_EQ(c.rope_original_max_positions, 4096);
    EXPECT_EQ(c.rope_beta_fast, 32.0);
    EXPECT_EQ(c.rope_beta_slow, 1.0);
    EXPECT_FALSE(c.rope_truncate);
    const auto r = c.rotary();
    EXPECT_EQ(r.base, 150000.0);
    EXPECT_DOUBLE_EQ(r.attention_factor, 0.1 * std::log(32.0) + 1.0);
    // the same yarn written out, as Transformers 5 saves it, reads the same
    auto written = gpt_oss_tiny();
    written["rope_parameters"] = nlohmann::json::parse(R"({"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0,
        "beta_slow": 1.0, "truncate": false, "original_max_position_embeddings": 4096, "rope_theta": 150000.0})");
    EXPECT_EQ(gpt_oss_load(written).rotary().inv_freq, r.inv_freq);
    // the router: the top-k of the logits, weighted by the softmax of those k only
    const auto m = c.moe();
    EXPECT_TRUE(m.softmax_over_top_k);
    EXPECT_EQ(m.experts, 4);
    EXPECT_EQ(m.top_k, 2);
    EXPECT_EQ(m.intermediate, 12);
    EXPECT_EQ(config_error<tf::gpt_oss_family>(gpt_oss_tiny_text), "none");
}

// The switches: layer_types, a null window, attention_bias, num_experts (num_local_experts' alias), the SwiGLU's.
TEST(gpt_oss, reads_its_switches) {
    auto j = gpt_oss_tiny();
    j["layer_types"] = {"full_attention", "full_attention", "sliding_attention", "full_attention"};
    j["sliding_window"] = 5;
    j["attention_bias"] = false;
    j["swiglu_alpha"] = 1.5;
    j["swiglu_limit"] = 0.25;
    auto c = gpt_oss_load(j);
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(c.window(i), i == 2 ? 5 : 0) << "layer " << i;
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    EXPECT_EQ(c.swiglu_alpha, 1.5);
    EXPECT_EQ(c.swiglu_limit, 0.25);

    j = gpt_oss_tiny();
    j["sliding_window"] = nullptr;
    gpt_oss_refused(j, "config.invalid", "/sliding_window: null with sliding layers");
    j["layer_types"] = std::vector<std::string>(4, "full_attention");
    EXPECT_EQ(gpt_oss_load(j).any_window(), 0);  // no sliding layer: no window needed

    j = gpt_oss_tiny();
    j.erase("num_local_experts");
    j["num_experts"] = 6;
    EXPECT_EQ(gpt_oss_load(j).moe().experts, 6);
    j["num_local_experts"] = 6;
    EXPECT_EQ(gpt_oss_load(j).moe().experts, 6);
    j["num_local_experts"] = 5;
    gpt_oss_refused(j, "config.invalid", "/num_experts and /num_local_experts disagree");

    // 4.x's schema: rope_theta and rope_scaling at the top, as the hub's checkpoints write them
    j = gpt_oss_tiny();
    j["rope_theta"] = 1000.0;
    j["rope_scaling"] = nlohmann::json::parse(R"({"rope_type": "yarn", "factor": 4.0, "beta_fast": 8.0,
        "beta_slow": 2.0, "truncate": true, "original_max_position_embeddings": 16})");
    c = gpt_oss_load(j);
    EXPECT_EQ(c.rope_theta, 1000.0);
    EXPECT_EQ(c.rope_factor, 4.0);
    EXPECT_EQ(c.rope_beta_fast, 8.0);
    EXPECT_EQ(c.rope_beta_slow, 2.0);
    EXPECT_TRUE(c.rope_truncate);
    EXPECT_EQ(c.rope_original_max_positions, 16);
}

TEST(gpt_oss, refuses_what_it_cannot_export) {
    auto j = gpt_oss_tiny();
    j["quantization_config"] = nlohmann::json::parse(R"({"quant_method": "gptq", "bits": 4})");
    gpt_oss_refused(j, "config.unsupported", "/quantization_config/quant_method: \"gptq\" is not supported");
    j["quantization_config"] = nlohmann::json::parse(R"({"quant_method": "mxfp4", "group_size": 64})");
    gpt_oss_refused(j, "config.unsupported", "/quantization_config/group_size");
    j["quantization_config"] = nlohmann::json::parse(R"({"quant_method": "mxfp4", "dequantize": true,
        "modules_to_not_convert": ["lm_head"]})");
    EXPECT_TRUE(gpt_oss_load(j).mxfp4_experts);
    EXPECT_FALSE(gpt_oss_load(gpt_oss_tiny()).mxfp4_experts);

    j = gpt_oss_tiny();
    j["token_classification_bias"] = false;
    gpt_oss_refused(j, "config.unsupported", "token_classification_bias");

    j = gpt_oss_tiny();
    j["layer_types"] = {"full_attention", "chunked_attention", "full_attention", "full_attention"};
    gpt_oss_refused(j, "config.unsupported", "/layer_types/1");
    j["layer_types"] = {"full_attention"};
    gpt_oss_refused(j, "config.invalid", "/layer_types");

    j = gpt_oss_tiny();
    j["num_experts_per_tok"] = 5;
    gpt_oss_refused(j, "config.invalid", "num_experts_per_tok must be at most num_local_experts");

    j = gpt_oss_tiny();
    j["swiglu_limit"] = 0.0;
    gpt_oss_refused(j, "config.invalid", "swiglu_limit");

    j = gpt_oss_tiny();
    j["partial_rotary_factor"] = 0.5;
    gpt_oss_refused(j, "config.unsupported", "partial_rotary_factor");

    j = gpt_oss_tiny();
    j["rope_parameters"] = nlohmann::json::parse(R"({"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1e4})");
    gpt_oss_refused(j, "config.unsupported", "\"dynamic\" is not supported");
}

// Every yarn key (theta 1000, factor 4 over 16, betas 8 and 2, truncate,
// mscale 2 / mscale_all_dim 1), made by Transformers 5: the reference and the
// export match it, greedy generation (also left-padded) gives its tokens, and
// the config in 4.x's schema gives the same graph.
TEST(gpt_oss, yarn_fixture_matches_transformers5) {
    const auto dir = fixture_dir("gpt_oss-yarn", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py under Transformers 5";
    check_fixture("gpt_oss", "causal-lm-with-past", dir);
    check_generation("gpt_oss", dir);
    check_generation("gpt_oss", dir, 0, "generate_padded.safetensors");
    check_rope_schemas("gpt_oss", "causal-lm-with-past", dir);
}

// MXFP4 as Transformers dequantizes it: value k of a row is byte k / 2's low
// nibble (even k) or high nibble (odd k), an FP4 e2m1 code (the sign in bit
// 3), times 2^(scale - 127) for each 32 values; the rows [E, R, K] come out
// transposed, [E, K, R].
TEST(gpt_oss, mxfp4_dequantizes_as_transformers) {
    // one expert, 2 rows of 32 values: row 0 bytes 0x2F (k even: code 15 = -6, k odd: code 2 = 1), scale 2^-1;
    // row 1 bytes 0x81 (0.5, then code 8 = -0), scale 2^3
    std::vector<std::uint8_t> blocks(32), scales{126, 130};
    for (std::size_t i = 0; i < 16; ++i) {
        blocks[i] = 0x2F;
        blocks[16 + i] = 0x81;
    }
    tf::tensor_view b, s;
    b.name = "x_blocks";
    b.type = tf::dtype::u8;
    b.shape = {1, 2, 1, 16};
    b.bytes = std::as_bytes(std::span<const std::uint8_t>(blocks));
    s.name = "x_scales";
    s.type = tf::dtype::u8;
    s.shape = {1, 2, 1};
    s.bytes = std::as_bytes(std::span<const std::uint8_t>(scales));
    const auto w = tf::detail::dequantize_mxfp4(b, s, 1, 2, 32);  // [1, 32, 2]
    ASSERT_EQ(w.size(), 64u);
    for (std::size_t k = 0; k < 32; ++k) {
        EXPECT_EQ(w[k * 2 + 0], k % 2 == 0 ? -3.f : 0.5f) << k;
        EXPECT_EQ(w[k * 2 + 1], k % 2 == 0 ? 4.f : -0.f) << k;
    }
    b.shape = {1, 2, 2, 16};
    try {
        (void)tf::detail::dequantize_mxfp4(b, s, 1, 2, 32);
        ADD_FAILURE() << "a mis-shaped block accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(std::string(e.id()), "checkpoint.mismatch");
        EXPECT_NE(std::string(e.what()).find("x_blocks [1, 2, 2, 16]"), std::string::npos) << e.what();
    }
}

// The experts stored as MXFP4 (gpt_oss-mxfp4, made by Transformers 5 from
// weights rounded to MXFP4; Transformers' own dequantization of the stored
// blocks gives those weights exactly): dequantized while loading, the
// reference and the export match Transformers, and greedy generation (also
// left-padded) gives its tokens. The same blocks under a config.json
// without quantization_config are refused by name.
TEST(gpt_oss, mxfp4_fixture_matches_transformers5) {
    const auto dir = fixture_dir("gpt_oss-mxfp4", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py under Transformers 5";
    check_fixture("gpt_oss", "causal-lm-with-past", dir);
    check_generation("gpt_oss", dir);
    check_generation("gpt_oss", dir, 0, "generate_padded.safetensors");

    auto json = tf::config_reader::load(dir / "config.json");
    ASSERT_EQ(json["quantization_config"]["quant_method"], "mxfp4");
    json.erase("quantization_config");
    try {
        (void)tf::load_model(tf::require_family("gpt_oss"), dir, json);
        ADD_FAILURE() << "MXFP4 blocks accepted without quantization_config";
    } catch (const tf::error& e) {
        EXPECT_EQ(std::string(e.id()), "checkpoint.mismatch");
        EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.experts.gate_up_proj: stored as MXFP4"),
                  std::string::npos) << e.what();
    }
}
