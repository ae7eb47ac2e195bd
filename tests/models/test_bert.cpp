// BERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/bert.hpp"

#include "harness.hpp"

class bert_feature : public testing::TestWithParam<std::string> {};
TEST_P(bert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::bert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(bert, bert_feature, testing::ValuesIn(feature_names<tf::bert_family>()), test_name);

TEST(bert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::bert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}
