// EXAONE 4: its sliding and full layers, the rotary embeddings on the sliding
// ones only, and its refusals (features and generation: test_models.cpp).
#include "typeformer/models/exaone4.hpp"

#include "harness.hpp"

namespace {
using exaone4_f = tf::exaone4_family;

std::string exaone4_with(const char* extra) {
    auto j = nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 37, "num_hidden_layers": 8, "vocab_size": 99})");
    j.update(nlohmann::json::parse(extra));
    return j.dump();
}
}  // namespace

// Exaone4Config's defaults: every fourth layer full (3, 7), the others
// windowed at 4096 keys and turned; the full layers take no positions.
TEST(exaone4, defaults_are_transformers) {
    const auto d = config_from_text<exaone4_f>("{}");
    EXPECT_EQ(d.vocab_size, 102400);
    EXPECT_EQ(d.kv_heads(), 32);
    EXPECT_EQ(d.pad_token_id, -1);
    EXPECT_FLOAT_EQ(d.shape().eps, 1e-5f);
    const auto c = config_from_text<exaone4_f>(exaone4_with("{}").c_str());
    for (std::int64_t i = 0; i < 8; ++i) {
        const bool full = i % 4 == 3;
        EXPECT_EQ(c.window(i), full ? 0 : 4096) << i;
        EXPECT_EQ(c.rope_layer(i), !full) << i;
    }
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
}

// layer_types wins over sliding_window_pattern (which may then be a string,
// as EXAONE 4.0's "LLLG"); a null sliding_window turns every layer.
TEST(exaone4, layer_types_and_a_null_window) {
    const auto t = config_from_text<exaone4_f>(exaone4_with(R"({"sliding_window": 3, "sliding_window_pattern": "LLLG",
        "layer_types": ["full_attention", "sliding_attention", "full_attention", "sliding_attention",
                        "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]})")
                                                   .c_str());
    for (std::int64_t i = 0; i < 8; ++i) {
        const bool full = i == 0 || i == 2 || i == 7;
        EXPECT_EQ(t.window(i), full ? 0 : 3) << i;
        EXPECT_EQ(t.rope_layer(i), !full) << i;
    }
    const auto n = config_from_text<exaone4_f>(exaone4_with(R"({"sliding_window": null, "layer_types":
        ["full_attention", "full_attention", "full_attention", "full_attention", "full_attention", "full_attention",
         "full_attention", "full_attention"]})")
                                                   .c_str());
    EXPECT_EQ(n.any_window(), 0);
    for (std::int64_t i = 0; i < 8; ++i) EXPECT_TRUE(n.rope_layer(i)) << i;
    // sliding_window_pattern 1: every layer full, and with a sliding_window set none turns
    const auto p1 = config_from_text<exaone4_f>(exaone4_with(R"({"sliding_window_pattern": 1})").c_str());
    for (std::int64_t i = 0; i < 8; ++i) EXPECT_FALSE(p1.rope_layer(i)) << i;
}

TEST(exaone4, refuses_what_it_cannot_export_exactly) {
    const auto null_window = config_error<exaone4_f>(exaone4_with(R"({"sliding_window": null})").c_str());
    EXPECT_NE(null_window.find("/sliding_window: null without layer_types"), std::string::npos) << null_window;
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"sliding_window_pattern": "LLLG"})").c_str())
                  .find("/sliding_window_pattern: \"LLLG\" is not supported"),
              std::string::npos);
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"sliding_window_pattern": 0})").c_str())
                  .find("/sliding_window_pattern: 0"),
              std::string::npos);
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"sliding_window": null, "layer_types": ["sliding_attention",
        "full_attention", "full_attention", "full_attention", "full_attention", "full_attention", "full_attention",
        "full_attention"]})").c_str())
                  .find("/sliding_window: null with \"sliding_attention\" layers"),
              std::string::npos);
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"layer_types": ["chunked_attention"]})").c_str())
                  .find("/layer_types"),
              std::string::npos);
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"partial_rotary_factor": 0.5})").c_str())
                  .find("/partial_rotary_factor"),
              std::string::npos);
    EXPECT_NE(config_error<exaone4_f>(exaone4_with(R"({"token_classification_bias": false})").c_str())
                  .find("token_classification_bias"),
              std::string::npos);
}
