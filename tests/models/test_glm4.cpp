// GLM-4: its defaults, its interleaved partial rotary embeddings, its q/k/v
// biases and its refusals (features and generation: test_models.cpp).
#include "typeformer/models/glm4.hpp"

#include "typeformer/backend/eval.hpp"

#include "harness.hpp"

namespace {
using glm4_f = tf::glm4_family;
constexpr const char* glm4_tiny_text =
    R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
        "intermediate_size": 37, "num_hidden_layers": 2, "vocab_size": 99, "pad_token_id": 1})";

std::string glm4_with(const char* extra) {
    auto j = nlohmann::json::parse(glm4_tiny_text);
    j.update(nlohmann::json::parse(extra));
    return j.dump();
}
}  // namespace

// Glm4Config's defaults: half of each 128-wide head turned, in GLM's
// interleaved layout; biases on q, k and v only; rms_norm_eps 1.5625e-7.
TEST(glm4, defaults_are_transformers) {
    const auto c = config_from_text<glm4_f>("{}");
    EXPECT_EQ(c.vocab_size, 151552);
    EXPECT_EQ(c.head_size(), 128);
    EXPECT_EQ(c.kv_heads(), 2);
    EXPECT_EQ(c.rotary().dims, 64);
    EXPECT_TRUE(c.rotary().interleaved);
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    EXPECT_FLOAT_EQ(c.shape().eps, 1.5625e-7f);
    EXPECT_EQ(c.pad_token_id, 151329);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(c.any_window(), 0);
}

// partial_rotary_factor at the top or in rope_parameters (where 5.x writes it);
// attention_bias false drops the q/k/v biases (o never has one).
TEST(glm4, reads_partial_rotary_factor_and_biases) {
    EXPECT_EQ(config_from_text<glm4_f>(glm4_with(R"({"partial_rotary_factor": 1.0})").c_str()).rotary().dims, 8);
    EXPECT_EQ(config_from_text<glm4_f>(glm4_tiny_text).rotary().dims, 4);
    const auto p = config_from_text<glm4_f>(glm4_with(
        R"({"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0, "partial_rotary_factor": 0.75}})")
                                                .c_str());
    EXPECT_EQ(p.rotary().dims, 6);
    EXPECT_EQ(p.rotary().base, 500.0);
    EXPECT_EQ(p.rotary().position_scale, 2.0);
    const auto nb = config_from_text<glm4_f>(glm4_with(R"({"attention_bias": false})").c_str());
    EXPECT_FALSE(nb.qkv_bias());
    EXPECT_FALSE(nb.o_bias());
}

// GLM's rotate_half turns neighbouring features (2i, 2i + 1) by angle i:
// with sin 1 and cos 0 on every angle, [a, b, c, d | e, f] (4 of 6 turned)
// becomes [-b, a, -d, c | e, f].
TEST(glm4, interleaved_rotary_turns_neighbours) {
    tf::eval_backend b;
    xt::xarray<float> x = {{{1.f, 2.f, 3.f, 4.f, 5.f, 6.f}}};  // [1, 1, 6]: one head of 6
    xt::xarray<float> s = xt::ones<float>({1, 2}), co = xt::zeros<float>({1, 2});
    tf::rotary_spec r;
    r.dims = 4;
    r.interleaved = true;
    const auto y = tf::apply_rotary(b, tf::eval_value(x), tf::eval_value(s), tf::eval_value(co), 1, 6, r);
    const xt::xarray<float> want = {{{-2.f, 1.f, -4.f, 3.f, 5.f, 6.f}}};
    EXPECT_EQ(y.f, want);
}

TEST(glm4, refuses_what_it_cannot_export_exactly) {
    EXPECT_NE(config_error<glm4_f>(glm4_with(R"({"token_classification_bias": false})").c_str())
                  .find("token_classification_bias"),
              std::string::npos);
    EXPECT_NE(config_error<glm4_f>(glm4_with(R"({"rope_parameters": {"rope_type": "dynamic", "factor": 2.0}})").c_str())
                  .find("config.unsupported: "),
              std::string::npos);
    // head_dim 8 · 0.75 = 6 features, 3 pairs: fine; 8 · 0.625 = 5 cannot turn in pairs
    EXPECT_EQ(config_error<glm4_f>(glm4_with(R"({"partial_rotary_factor": 0.75})").c_str()), "none");
    EXPECT_NE(config_error<glm4_f>(glm4_with(R"({"partial_rotary_factor": 0.625})").c_str()).find("must be even"),
              std::string::npos);
    EXPECT_NE(config_error<glm4_f>(glm4_with(R"({"is_causal": false})").c_str()).find("is_causal"), std::string::npos);
}

// tools/fixtures/cases/glm4.py's glm4-yarn: YaRN over the turned half of a
// 16-wide head, in GLM's interleaved layout, matches Transformers 5 through
// the reference pass and ONNX Runtime, and greedy generation (plain and
// left-padded) gives its tokens.
TEST(glm4, yarn_on_the_turned_features_matches_transformers5) {
    if (!tf::find_family("glm4")) GTEST_SKIP() << "glm4 is not built";
    const auto dir = fixture_dir("glm4-yarn", "causal-lm-with-past");
    check_fixture("glm4", "causal-lm-with-past", dir);
    check_generation("glm4", dir);
    check_generation("glm4", dir, 0, "generate_padded.safetensors");
}
