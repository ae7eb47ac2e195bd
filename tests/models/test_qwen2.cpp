// Qwen2: config defaults and its window (features and generation: test_models.cpp).
#include "typeformer/models/llama.hpp"

#include "harness.hpp"

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
