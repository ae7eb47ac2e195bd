// ConvBERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/convbert.hpp"

#include "harness.hpp"

class convbert_feature : public testing::TestWithParam<std::string> {};
TEST_P(convbert_feature, matches_transformers_and_onnxruntime) { check_feature<tf::convbert_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(convbert, convbert_feature, testing::ValuesIn(feature_names<tf::convbert_family>()),
                         test_name);

TEST(convbert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::convbert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}

TEST(convbert, head_ratio_splits_the_heads) {
    constexpr tf::convbert_config base{.hidden_size = 32, .num_attention_heads = 4};
    static_assert(base.attention_heads() == 2);
    static_assert(tf::convbert_config{.hidden_size = 32, .num_attention_heads = 1}.attention_heads() == 1);
    static_assert(tf::convbert_config{.hidden_size = 32, .num_attention_heads = 4, .head_ratio = 1}.attention_heads() == 4);
    EXPECT_EQ(base.shape().num_heads, 2);
}
