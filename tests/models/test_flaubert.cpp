// FlauBERT: its inputs and config (features: test_models.cpp).
#include "typeformer/models/flaubert.hpp"

#include "harness.hpp"

// The legacy FlauBERT export has no token_type_ids input.
TEST(flaubert, inputs_are_ids_and_mask) {
    std::vector<std::string> names;
    tf::for_each_type(decltype(tf::flaubert_family::inputs(tf::task::default_{})){},
                      [&]<class I>() { names.emplace_back(I::name); });
    EXPECT_EQ(names, (std::vector<std::string>{"input_ids", "attention_mask"}));
}

TEST(flaubert, pre_norm_is_read_from_the_config) {
    const auto j = nlohmann::json::parse(R"({"pre_norm": true, "layerdrop": 0.1})");
    EXPECT_TRUE(tf::flaubert_family::load(tf::config_reader(j, "config.json")).pre_norm);
    const auto k = nlohmann::json::parse("{}");
    EXPECT_FALSE(tf::flaubert_family::load(tf::config_reader(k, "config.json")).pre_norm);
}
