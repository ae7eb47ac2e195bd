// ELECTRA, every feature, against Transformers and ONNX Runtime. The fixtures
// have embedding_size 16 < hidden_size 32 (embeddings_project) except
// token-classification (equal widths: no projection).
#include "typeformer/models/electra.hpp"

#include "harness.hpp"

class electra_feature : public testing::TestWithParam<std::string> {};
TEST_P(electra_feature, matches_transformers_and_onnxruntime) { check_feature<tf::electra_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(electra, electra_feature, testing::ValuesIn(feature_names<tf::electra_family>()), test_name);

TEST(electra, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::electra_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}
