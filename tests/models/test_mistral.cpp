// Mistral: config defaults and its window (features and generation: test_models.cpp).
#include "typeformer/models/llama.hpp"

#include "harness.hpp"

TEST(mistral, config_defaults_and_window) {
    auto load = [](const nlohmann::json& j) { return tf::mistral_family::load(tf::config_reader(j, "config.json")); };
    const auto c = load(nlohmann::json::object());
    EXPECT_EQ(c.kv_heads(), 8);
    EXPECT_EQ(c.sliding_window, 4096);
    EXPECT_EQ(c.any_window(), 4096);  // Transformers 5: p - 4096 < j <= p, 4096 keys
    const auto c4 = tf::mistral_family::load(
        tf::config_reader(nlohmann::json::object(), "config.json").follow(tf::follow_transformers::v4_41));
    EXPECT_EQ(c4.any_window(), 4097);  // 4.41's eager mask: p - 4096 <= j <= p, 4097 keys
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_EQ(load({{"sliding_window", nullptr}}).any_window(), 0);
    EXPECT_FALSE(load({{"attention_bias", true}}).qkv_bias());  // MistralConfig has no attention_bias
    // Transformers 4.41's Mistral ignored a RoPE scaling; later versions apply it, and so does the export
    EXPECT_EQ(load({{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}}).rotary().position_scale, 2.0);
}
