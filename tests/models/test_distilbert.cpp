// DistilBERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/distilbert.hpp"

#include "harness.hpp"

class distilbert_feature : public testing::TestWithParam<std::string> {};
TEST_P(distilbert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::distilbert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(distilbert, distilbert_feature, testing::ValuesIn(feature_names<tf::distilbert_family>()),
                         test_name);

TEST(distilbert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::distilbert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}
