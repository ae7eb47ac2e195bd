// I-BERT with quant_mode=false (RoBERTa's float math): every feature, against Transformers and ONNX Runtime.
// The fixtures' input_ids hold padding tokens (tools/fixtures/cases/roberta.py),
// trailing ones under a 0 mask and one between real tokens, so positions
// counted from the padding index are checked against Transformers'.
#include "typeformer/models/roberta.hpp"

#include "harness.hpp"

class ibert_feature : public testing::TestWithParam<std::string> {};
TEST_P(ibert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::ibert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(ibert, ibert_feature, testing::ValuesIn(feature_names<tf::ibert_family>()), test_name);

TEST(ibert, feature_table) {
    EXPECT_EQ(feature_names<tf::ibert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}
