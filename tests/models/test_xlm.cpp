// XLM: the summary settings it reads (features: test_models.cpp).
#include "typeformer/models/xlm.hpp"

#include "harness.hpp"

// The SequenceSummary settings come from config.json at run time.
TEST(xlm, summary_settings_are_read_from_the_config) {
    auto load = [](const char* text) {
        const auto j = nlohmann::json::parse(text);
        return tf::xlm_family::load(tf::config_reader(j, "config.json"));
    };
    const auto defaults = load("{}").summary();
    EXPECT_EQ(defaults.type, tf::summary_kind::first);
    EXPECT_TRUE(defaults.use_proj);
    EXPECT_TRUE(defaults.proj_to_labels);
    EXPECT_FALSE(defaults.activate);
    const auto s = load(R"({"summary_type": "mean", "summary_use_proj": false, "summary_activation": "gelu",
                            "summary_proj_to_labels": false})")
                       .summary();
    EXPECT_EQ(s.type, tf::summary_kind::mean);
    EXPECT_FALSE(s.use_proj);
    EXPECT_FALSE(s.proj_to_labels);
    EXPECT_TRUE(s.activate);
    EXPECT_EQ(s.act, tf::activation::gelu);
    EXPECT_FALSE(load(R"({"summary_activation": "linear"})").summary().activate);
    EXPECT_FALSE(load(R"({"summary_activation": null})").summary().activate);
    EXPECT_EQ(load(R"({"summary_type": "cls_index"})").summary().type, tf::summary_kind::cls_index);
    try {
        load(R"({"summary_type": "attn"})");
        ADD_FAILURE() << "summary_type attn was accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported");
        EXPECT_NE(std::string(e.what()).find("/summary_type"), std::string::npos) << e.what();
    }
    try {
        load(R"({"asm": true})");
        ADD_FAILURE() << "asm was accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.invalid");
    }
}
