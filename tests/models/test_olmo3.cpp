// OLMo 3: its windows, its two rotary tables as Transformers 5.23 reads them,
// and its refusals (features and generation: test_models.cpp).
#include "typeformer/models/olmo3.hpp"

#include "harness.hpp"

namespace {
constexpr const char* olmo3_tiny = R"({"model_type": "olmo3", "hidden_size": 32, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 37, "num_hidden_layers": 5, "vocab_size": 99)";

std::string olmo3_with(const char* more) { return std::string(olmo3_tiny) + more + "}"; }

/// Whether OLMo 3 refuses config.json's text with a message holding `what`.
::testing::AssertionResult olmo3_refuses(const std::string& text, std::string_view what) {
    const auto e = config_error<tf::olmo3_family>(text.c_str());
    if (e.find(what) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << e;
}
}  // namespace

// Olmo3Config's defaults: all but every fourth layer slide, windows of 4096,
// theta 500000 on both tables, OLMo 2's norms and pad_token_id.
TEST(olmo3, defaults_are_transformers) {
    const auto c = config_from_text<tf::olmo3_family>(olmo3_with("").c_str());
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(c.window(i), i == 3 ? 0 : 4096) << "layer " << i;
    EXPECT_EQ(c.rotary().base, 500000.0);
    EXPECT_EQ(c.local_rotary().base, 500000.0);
    EXPECT_EQ(c.local_rotary().dims, 8);
    EXPECT_EQ(c.rms_norm_eps, 1e-5);
    EXPECT_EQ(c.pad_token_id, 1);
    EXPECT_FALSE(c.o_bias());
    EXPECT_FALSE(c.tie_word_embeddings);
}

// Transformers 5.23 gives a top-level rope_theta and rope_scaling to the
// full-attention layers only: the sliding ones keep 500000 and no scaling.
TEST(olmo3, top_level_rope_goes_to_the_full_layers) {
    const auto c = config_from_text<tf::olmo3_family>(
        olmo3_with(R"(, "rope_theta": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 4.0})").c_str());
    EXPECT_EQ(c.rotary().base, 10000.0);
    EXPECT_EQ(c.rotary().position_scale, 4.0);
    EXPECT_EQ(c.local_rotary().base, 500000.0);
    EXPECT_EQ(c.local_rotary().position_scale, 1.0);
    const auto keyed = config_from_text<tf::olmo3_family>(olmo3_with(R"(, "rope_parameters": {
        "full_attention": {"rope_type": "default", "rope_theta": 1e6},
        "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}},
        "layer_types": ["full_attention", "sliding_attention", "full_attention", "full_attention",
                        "sliding_attention"], "sliding_window": 3)").c_str());
    EXPECT_EQ(keyed.rotary().base, 1e6);
    EXPECT_EQ(keyed.local_rotary().base, 100.0);
    for (std::int64_t i = 0; i < 5; ++i) EXPECT_EQ(keyed.window(i), i == 1 || i == 4 ? 3 : 0) << "layer " << i;
}

TEST(olmo3, refuses_what_it_cannot_export) {
    using F = tf::olmo3_family;
    // a scaling on the sliding layers
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "rope_parameters": {
        "full_attention": {"rope_type": "default", "rope_theta": 1e6},
        "sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}})"), "config.unsupported: "));
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "rope_parameters": {
        "sliding_attention": {"rope_type": "yarn", "factor": 2.0, "rope_theta": 1e4}})"), "a RoPE scaling on the sliding layers; OLMo 3's"));
    // rope_parameters not keyed by layer type (5.23 ignores it)
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "rope_parameters": {"rope_type": "default", "rope_theta": 1e6})")
                                    , "rope_parameters keyed by layer type"));
    // a null window with sliding layers; none needed without them
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "sliding_window": null)"), "/sliding_window: null"));
    EXPECT_EQ(config_from_text<F>(olmo3_with(R"(, "sliding_window": null, "layer_types": ["full_attention",
        "full_attention", "full_attention", "full_attention", "full_attention"])").c_str())
                  .any_window(),
              0);
    // layer types it does not know, a list of the wrong length
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "layer_types": ["full_attention", "full_attention",
        "chunked_attention", "full_attention", "full_attention"])"), "/layer_types/2"));
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "layer_types": ["full_attention"])"), "config.invalid: "));
    EXPECT_TRUE(olmo3_refuses(olmo3_with(R"(, "partial_rotary_factor": 0.5)"), "/partial_rotary_factor"));
}

// olmo3-yarn (tools/fixtures/cases/olmo3.py): a top-level YaRN rope_scaling,
// which Transformers 5.23 puts on the full-attention layer only, against
// Transformers through the reference pass and ONNX Runtime, and greedy
// generation (also left-padded) giving its tokens.
TEST(olmo3, yarn_on_the_full_layers_matches_transformers) {
    const auto dir = fixture_dir("olmo3-yarn", "causal-lm-with-past");
    check_fixture("olmo3", "causal-lm-with-past", dir);
    check_generation("olmo3", dir);
    check_generation("olmo3", dir, 0, "generate_padded.safetensors");
    const auto c = config_from_text<tf::olmo3_family>(
        tf::config_reader::load(dir / "config.json").dump().c_str());
    EXPECT_NE(c.rotary().attention_factor, 1.0);
    EXPECT_EQ(c.local_rotary().attention_factor, 1.0);
    EXPECT_EQ(c.local_rotary().base, 500000.0);
}
