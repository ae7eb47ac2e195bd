// mistral (the Llama family, models/llama.hpp): every feature against
// Transformers and ONNX Runtime, and greedy generation through the with-past
// graph.
#include "typeformer/models/llama.hpp"

#include "decoder_harness.hpp"

class mistral_feature : public testing::TestWithParam<std::string> {};
TEST_P(mistral_feature, matches_transformers_and_onnxruntime) { check_decoder_feature<tf::mistral_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(mistral, mistral_feature, testing::ValuesIn(feature_names<tf::mistral_family>()), test_name);

TEST(mistral, generates_as_transformers_does) { check_generation<tf::mistral_family>(); }

TEST(mistral, feature_table_is_optimums) {
    EXPECT_EQ(feature_names<tf::mistral_family>(),
              (std::vector<std::string>{"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                                        "sequence-classification"}));
}

TEST(mistral, config_defaults_and_window) {
    auto load = [](const nlohmann::json& j) { return tf::mistral_family::load(tf::config_reader(j, "config.json")); };
    const auto c = load(nlohmann::json::object());
    EXPECT_EQ(c.kv_heads(), 8);
    EXPECT_EQ(c.sliding_window, 4096);
    EXPECT_EQ(c.any_window(), 4097);  // p - 4096 <= j <= p: 4097 keys
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_EQ(load({{"sliding_window", nullptr}}).any_window(), 0);
    EXPECT_FALSE(load({{"attention_bias", true}}).qkv_bias());  // MistralConfig has no attention_bias
    try {
        (void)load({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}});
        ADD_FAILURE() << "rope_scaling accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported");
        EXPECT_NE(std::string(e.what()).find("/rope_scaling"), std::string::npos) << e.what();
    }
}
