// ALBERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/albert.hpp"

#include "harness.hpp"

class albert_feature : public testing::TestWithParam<std::string> {};
TEST_P(albert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::albert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(albert, albert_feature, testing::ValuesIn(feature_names<tf::albert_family>()), test_name);

TEST(albert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::albert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}

// Shared layers: the graph asks for each group's weights once, however many
// layers use them (3 layers over 2 groups of 1 layer: 2 layers' worth).
TEST(albert, shared_layers_are_requested_once) {
    const auto dir = fixture_dir("albert", "default");
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto cfg = tf::albert_family::load(tf::config_reader(json, "config.json"));
    ASSERT_EQ(cfg.num_hidden_layers, 3);
    ASSERT_EQ(cfg.num_hidden_groups, 2);
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("albert");
    tf::onnx_backend b(&ck);
    tf::forward<tf::model_of<tf::albert_family, tf::task::default_>>(b, cfg);
    std::size_t query_weights = 0;
    for (const auto& r : b.requests())
        if (r.name.ends_with("attention.query.weight")) ++query_weights;
    EXPECT_EQ(query_weights, 2u);
}
