// XLM-RoBERTa-XL (pre-LN blocks, final encoder LayerNorm, no embedding LayerNorm; no legacy entry upstream: every head Transformers has): every feature, against Transformers and ONNX Runtime.
// The fixtures' input_ids hold padding tokens (tools/fixtures/cases/roberta.py),
// trailing ones under a 0 mask and one between real tokens, so positions
// counted from the padding index are checked against Transformers'.
#include "typeformer/models/roberta.hpp"

#include "harness.hpp"

class xlm_roberta_xl_feature : public testing::TestWithParam<std::string> {};
TEST_P(xlm_roberta_xl_feature, matches_transformers_and_onnxruntime) { check_feature<tf::xlm_roberta_xl_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(xlm_roberta_xl, xlm_roberta_xl_feature, testing::ValuesIn(feature_names<tf::xlm_roberta_xl_family>()), test_name);

TEST(xlm_roberta_xl, feature_table) {
    EXPECT_EQ(feature_names<tf::xlm_roberta_xl_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}
