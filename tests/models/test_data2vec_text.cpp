// Data2VecText (RoBERTa's code, base prefix data2vec_text): every feature, against Transformers and ONNX Runtime.
// The fixtures' input_ids hold padding tokens (tools/fixtures/cases/roberta.py),
// trailing ones under a 0 mask and one between real tokens, so positions
// counted from the padding index are checked against Transformers'.
#include "typeformer/models/roberta.hpp"

#include "harness.hpp"

class data2vec_text_feature : public testing::TestWithParam<std::string> {};
TEST_P(data2vec_text_feature, matches_transformers_and_onnxruntime) { check_feature<tf::data2vec_text_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(data2vec_text, data2vec_text_feature, testing::ValuesIn(feature_names<tf::data2vec_text_family>()), test_name);

TEST(data2vec_text, feature_table) {
    EXPECT_EQ(feature_names<tf::data2vec_text_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}
