// mistral (the Llama family, models/llama.hpp): every feature against
// Transformers and ONNX Runtime, and greedy generation through the with-past
// graph.
#include "typeformer/models/llama.hpp"

#include "decoder_harness.hpp"

class mistral_feature : public testing::TestWithParam<std::string> {};
TEST_P(mistral_feature, matches_transformers_and_onnxruntime) { check_decoder_feature<tf::mistral_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(mistral, mistral_feature, testing::ValuesIn(feature_names<tf::mistral_family>()), test_name);

TEST(mistral, generates_as_transformers_does) { check_generation<tf::mistral_family>(); }

TEST(mistral, feature_table_is_optimums) {
    EXPECT_EQ(feature_names<tf::mistral_family>(),
              (std::vector<std::string>{"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                                        "sequence-classification"}));
}
