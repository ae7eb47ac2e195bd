// ConvBERT: its config rules (features: test_models.cpp).
#include "typeformer/models/convbert.hpp"

#include "harness.hpp"

TEST(convbert, head_ratio_splits_the_heads) {
    constexpr tf::convbert_config base{.hidden_size = 32, .num_attention_heads = 4};
    static_assert(base.attention_heads() == 2);
    static_assert(tf::convbert_config{.hidden_size = 32, .num_attention_heads = 1}.attention_heads() == 1);
    static_assert(tf::convbert_config{.hidden_size = 32, .num_attention_heads = 4, .head_ratio = 1}.attention_heads() == 4);
    EXPECT_EQ(base.shape().num_heads, 2);
}
