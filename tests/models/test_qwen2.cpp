// Qwen2: config defaults and its windows (features and generation: test_models.cpp).
#include "typeformer/models/llama.hpp"

#include "harness.hpp"

TEST(qwen2, config_defaults_and_window) {
    auto load = [](const nlohmann::json& j) { return tf::qwen2_family::load(tf::config_reader(j, "config.json")); };
    const auto c = load(nlohmann::json::object());
    EXPECT_EQ(c.vocab_size, 151936);
    EXPECT_EQ(c.kv_heads(), 32);
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    // Transformers 5: the window only with use_sliding_window, from max_window_layers on (or as layer_types says)
    EXPECT_EQ(c.any_window(), 0);
    const nlohmann::json on = {{"use_sliding_window", true}, {"sliding_window", 8}, {"max_window_layers", 1},
                               {"num_hidden_layers", 3}};
    EXPECT_EQ(load(on).window(0), 0);
    EXPECT_EQ(load(on).window(1), 8);
    EXPECT_EQ(load(on).window(2), 8);
    auto typed = on;
    typed["layer_types"] = {"full_attention", "full_attention", "sliding_attention"};
    EXPECT_EQ(load(typed).window(1), 0);
    EXPECT_EQ(load(typed).window(2), 8);
    typed["use_sliding_window"] = false;  // 5.x: sliding_window None, whatever layer_types says
    EXPECT_EQ(load(typed).any_window(), 0);
    auto error_id = [&](const nlohmann::json& j) -> std::string {
        try {
            load(j);
        } catch (const tf::error& e) {
            return std::string(e.id());
        }
        return "no error";
    };
    auto gap = on;
    gap["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention"};
    EXPECT_EQ(error_id(gap), "config.unsupported");  // a full layer after a windowed one
    gap["layer_types"] = {"sliding_attention", "full_attention"};
    EXPECT_EQ(error_id(gap), "config.invalid");  // 2 items for 3 layers
    gap["layer_types"] = {"full_attention", "chunked_attention", "full_attention"};
    EXPECT_EQ(error_id(gap), "config.unsupported");
    // Transformers 4.41's eager mask windows every layer, whatever use_sliding_window says, with w + 1 keys
    auto load4 = [](const nlohmann::json& j) {
        return tf::qwen2_family::load(tf::config_reader(j, "config.json").follow(tf::follow_transformers::v4_41));
    };
    const auto off = load4({{"use_sliding_window", false}, {"sliding_window", 8}, {"max_window_layers", 0}});
    EXPECT_EQ(off.window(0), 9);
    EXPECT_EQ(off.window(27), 9);
    EXPECT_EQ(load4(typed).window(0), 9);  // 4.41 has no layer_types
    EXPECT_EQ(load4({{"sliding_window", nullptr}}).any_window(), 0);
}
