// Longformer: its outputs and attention windows. Its feature fixtures
// (test_models.cpp) have per-layer windows [4, 6] at 19 tokens (beyond both
// windows), global tokens (masked ones included), no global token at all
// (token-classification), one window for all layers (masked-lm, 7 tokens); the
// ONNX Runtime checks run one graph at 1, 9 and 17 tokens.
#include "typeformer/models/longformer.hpp"

#include "harness.hpp"

TEST(longformer, default_outputs_add_the_pooler) {
    using model = tf::model_of<tf::longformer_family, tf::task::default_>;
    std::vector<std::string> names;
    tf::for_each_type(typename model::outputs{}, [&]<class O>() { names.emplace_back(O::name); });
    EXPECT_EQ(names, (std::vector<std::string>{"last_hidden_state", "pooler_output"}));
}

TEST(longformer, attention_window_per_layer_or_one_for_all) {
    const nlohmann::json list = {{"num_hidden_layers", 2}, {"attention_window", {4, 6}}};
    const auto c = tf::longformer_config_from_json(tf::config_reader(list, "config.json"));
    EXPECT_EQ(c.window(0), 4);
    EXPECT_EQ(c.window(1), 6);
    const nlohmann::json one = {{"num_hidden_layers", 2}, {"attention_window", 8}};
    const auto d = tf::longformer_config_from_json(tf::config_reader(one, "config.json"));
    EXPECT_EQ(d.window(0), 8);
    EXPECT_EQ(d.window(1), 8);
    for (const nlohmann::json& bad : {nlohmann::json{{"num_hidden_layers", 3}, {"attention_window", {4, 6}}},
                                     nlohmann::json{{"num_hidden_layers", 2}, {"attention_window", {4, 5}}},
                                     nlohmann::json{{"num_hidden_layers", 2}, {"attention_window", {4, 0}}},
                                     nlohmann::json{{"attention_window", "wide"}}}) {
        EXPECT_THROW(
            {
                try {
                    tf::longformer_config_from_json(tf::config_reader(bad, "config.json"));
                } catch (const tf::error& e) {
                    EXPECT_NE(std::string(e.what()).find("attention_window"), std::string::npos) << e.what();
                    throw;
                }
            },
            tf::error)
            << bad.dump();
    }
}
