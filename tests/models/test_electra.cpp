// ELECTRA: its compile-time config and summary settings (features: test_models.cpp).
#include "typeformer/models/electra.hpp"

#include "harness.hpp"

// A compile-time config is a type, checked when the model is named.
struct tiny_electra final
    : tf::electra<tf::electra_config{.embedding_size = 32, .hidden_size = 64, .num_attention_heads = 4},
                  tf::task::multiple_choice> {};
static_assert(tiny_electra::config.shape().embedding_size == 32);
static_assert(tf::electra_config{.embedding_size = 256}.shape().embedding_size == 0);  // no projection

TEST(electra, summary_settings_default_to_electra_s_and_are_read) {
    const auto defaults = tf::electra_config{}.summary();
    EXPECT_EQ(defaults.type, tf::summary_kind::first);
    EXPECT_TRUE(defaults.use_proj);
    EXPECT_TRUE(defaults.activate);
    const nlohmann::json j = {{"summary_type", "mean"}, {"summary_activation", nullptr}};
    const auto c = tf::electra_config_from_json(tf::config_reader(j, "config.json"));
    EXPECT_EQ(c.summary().type, tf::summary_kind::mean);
    EXPECT_FALSE(c.summary().activate);
    EXPECT_TRUE(c.summary().use_proj);
    const nlohmann::json bad = {{"summary_type", "attn"}};
    EXPECT_THROW(tf::electra_config_from_json(tf::config_reader(bad, "config.json")), tf::error);
}
