// qwen2 (the Llama family, models/llama.hpp): every feature against
// Transformers and ONNX Runtime, and greedy generation through the with-past
// graph.
#include "typeformer/models/llama.hpp"

#include "decoder_harness.hpp"

class qwen2_feature : public testing::TestWithParam<std::string> {};
TEST_P(qwen2_feature, matches_transformers_and_onnxruntime) { check_decoder_feature<tf::qwen2_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(qwen2, qwen2_feature, testing::ValuesIn(feature_names<tf::qwen2_family>()), test_name);

TEST(qwen2, generates_as_transformers_does) { check_generation<tf::qwen2_family>(); }

TEST(qwen2, feature_table_is_optimums) {
    EXPECT_EQ(feature_names<tf::qwen2_family>(),
              (std::vector<std::string>{"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                                        "sequence-classification"}));
}

TEST(qwen2, config_defaults_and_window) {
    auto load = [](const nlohmann::json& j) { return tf::qwen2_family::load(tf::config_reader(j, "config.json")); };
    const auto c = load(nlohmann::json::object());
    EXPECT_EQ(c.vocab_size, 151936);
    EXPECT_EQ(c.kv_heads(), 32);
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    // Transformers 4.41's eager mask windows every layer, whatever use_sliding_window says
    const auto off = load({{"use_sliding_window", false}, {"sliding_window", 8}, {"max_window_layers", 0}});
    EXPECT_EQ(off.window(0), 9);
    EXPECT_EQ(off.window(27), 9);
    EXPECT_EQ(load({{"sliding_window", nullptr}}).any_window(), 0);
}
