// FlauBERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/flaubert.hpp"

#include "harness.hpp"

class flaubert_feature : public testing::TestWithParam<std::string> {};
TEST_P(flaubert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::flaubert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(flaubert, flaubert_feature, testing::ValuesIn(feature_names<tf::flaubert_family>()),
                         test_name);

TEST(flaubert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::flaubert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}

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
