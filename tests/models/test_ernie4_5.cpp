// ERNIE 4.5: its interleaved rotary embeddings, use_bias and its defaults as
// Transformers 5.23 reads them (features and generation: test_models.cpp).
#include "typeformer/models/ernie4_5.hpp"

#include "harness.hpp"

namespace {
std::string ernie4_5_with(const char* more) {
    return std::string(R"({"model_type": "ernie4_5", "hidden_size": 32, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "num_hidden_layers": 2, "vocab_size": 99)") +
           more + "}";
}
tf::llama_config ernie4_5_load(const std::string& text) { return config_from_text<tf::ernie4_5_family>(text.c_str()); }
}  // namespace

// Ernie4_5Config's defaults: no biases, theta 500000, head_dim 128, the LM
// head tied, pad_token_id 0; the rotary pairs interleaved over the whole head.
TEST(ernie4_5, defaults_are_transformers) {
    const auto c = ernie4_5_load(ernie4_5_with(""));
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    EXPECT_FALSE(c.mlp_bias);
    EXPECT_EQ(c.head_size(), 128);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.pad_token_id, 0);
    EXPECT_EQ(c.rms_norm_eps, 1e-5);
    EXPECT_EQ(c.rotary().base, 500000.0);
    EXPECT_TRUE(c.rotary().interleaved);
    EXPECT_EQ(c.rotary().dims, 128);
    EXPECT_EQ(ernie4_5_load(ernie4_5_with(R"(, "head_dim": null)")).head_size(), 8);
}

// use_bias is one switch for q, k, v, o, gate, up and down; null is none.
TEST(ernie4_5, use_bias_is_every_linear) {
    const auto c = ernie4_5_load(ernie4_5_with(R"(, "use_bias": true)"));
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_TRUE(c.o_bias());
    EXPECT_TRUE(c.mlp_bias);
    const auto n = ernie4_5_load(ernie4_5_with(R"(, "use_bias": null)"));
    EXPECT_FALSE(n.qkv_bias() || n.o_bias() || n.mlp_bias);
}

// The interleaved layout keeps a RoPE scaling's frequencies (yarn here);
// what it cannot compute is refused.
TEST(ernie4_5, scalings_and_refusals) {
    const auto y = ernie4_5_load(ernie4_5_with(R"(, "rope_parameters": {"rope_type": "yarn", "factor": 4.0,
        "rope_theta": 10000.0, "original_max_position_embeddings": 16})"));
    EXPECT_TRUE(y.rotary().interleaved);
    EXPECT_EQ(y.rotary().inv_freq.size(), 64u);
    EXPECT_NE(config_error<tf::ernie4_5_family>(ernie4_5_with(R"(, "partial_rotary_factor": 0.5)").c_str())
                  .find("/partial_rotary_factor"),
              std::string::npos);
    EXPECT_NE(config_error<tf::ernie4_5_family>(
                  ernie4_5_with(R"(, "rope_parameters": {"rope_type": "dynamic", "factor": 2.0})").c_str())
                  .find("\"dynamic\" is not supported"),
              std::string::npos);
}

// ernie4_5-yarn (tools/fixtures/cases/ernie4_5.py): a YaRN scaling on the
// interleaved pairs, against Transformers through the reference pass and
// ONNX Runtime, and greedy generation (also left-padded) giving its tokens.
TEST(ernie4_5, yarn_matches_transformers) {
    const auto dir = fixture_dir("ernie4_5-yarn", "causal-lm-with-past");
    check_fixture("ernie4_5", "causal-lm-with-past", dir);
    check_generation("ernie4_5", dir);
    check_generation("ernie4_5", dir, 0, "generate_padded.safetensors");
}
