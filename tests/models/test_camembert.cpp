// CamemBERT (RoBERTa's code under another model_type): every feature, against Transformers and ONNX Runtime.
// The fixtures' input_ids hold padding tokens (tools/fixtures/cases/roberta.py),
// trailing ones under a 0 mask and one between real tokens, so positions
// counted from the padding index are checked against Transformers'.
#include "typeformer/models/roberta.hpp"

#include "harness.hpp"

class camembert_feature : public testing::TestWithParam<std::string> {};
TEST_P(camembert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::camembert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(camembert, camembert_feature, testing::ValuesIn(feature_names<tf::camembert_family>()), test_name);

TEST(camembert, feature_table) {
    EXPECT_EQ(feature_names<tf::camembert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}
