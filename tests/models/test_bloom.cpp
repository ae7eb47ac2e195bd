// BLOOM, every feature of the legacy table, against Transformers and ONNX
// Runtime, and greedy generation through the with-past graph (BLOOM's cache
// layout fed back as past).
#include "typeformer/models/bloom.hpp"

#include "decoder_harness.hpp"

class bloom_feature : public testing::TestWithParam<std::string> {};
TEST_P(bloom_feature, matches_transformers_and_onnxruntime) { check_decoder_feature<tf::bloom_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(bloom, bloom_feature, testing::ValuesIn(feature_names<tf::bloom_family>()), test_name);

TEST(bloom, generates_as_transformers_does) { check_generation<tf::bloom_family>(); }

TEST(bloom, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::bloom_family>(),
              (std::vector<std::string>{"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                                        "sequence-classification", "token-classification"}));
}
