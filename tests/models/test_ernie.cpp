// ERNIE, every head Transformers has, against Transformers and ONNX Runtime.
// The fixtures set use_task_id (task-type embeddings) except
// token-classification, where task_type_ids is an input the graph ignores.
#include "typeformer/models/ernie.hpp"

#include "harness.hpp"

class ernie_feature : public testing::TestWithParam<std::string> {};
TEST_P(ernie_feature, matches_transformers_and_onnxruntime) { check_feature<tf::ernie_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(ernie, ernie_feature, testing::ValuesIn(feature_names<tf::ernie_family>()), test_name);

TEST(ernie, feature_table) {
    EXPECT_EQ(feature_names<tf::ernie_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}
