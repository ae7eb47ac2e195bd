// GPT-2, every feature of the legacy table, against Transformers and ONNX
// Runtime, and greedy generation through the with-past graph.
#include "typeformer/models/gpt2.hpp"

#include "decoder_harness.hpp"

class gpt2_feature : public testing::TestWithParam<std::string> {};
TEST_P(gpt2_feature, matches_transformers_and_onnxruntime) { check_decoder_feature<tf::gpt2_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(gpt2, gpt2_feature, testing::ValuesIn(feature_names<tf::gpt2_family>()), test_name);

TEST(gpt2, generates_as_transformers_does) { check_generation<tf::gpt2_family>(); }

TEST(gpt2, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::gpt2_family>(),
              (std::vector<std::string>{"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                                        "sequence-classification", "token-classification"}));
}
