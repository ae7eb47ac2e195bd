// DeBERTa-v2: log buckets and config options (every feature, question
// answering and multiple choice included, which upstream skipped: test_models.cpp).
#include "typeformer/models/deberta_v2.hpp"

#include "harness.hpp"

// make_log_bucket_position(torch.arange(-20, 21), 6, 16), as Transformers 4.40 computes it
TEST(deberta_v2, log_buckets_match_transformers) {
    const std::vector<std::int64_t> want{-6, -6, -6, -6, -6, -5, -5, -5, -5, -5, -5, -5, -5, -5,
                                         -4, -4, -4, -3, -2, -1, 0,  1,  2,  3,  4,  4,  4,  5,
                                         5,  5,  5,  5,  5,  5,  5,  5,  6,  6,  6,  6,  6};
    for (std::int64_t r = -20; r <= 20; ++r)
        EXPECT_EQ(tf::log_bucket_position(r, 6, 16), want[static_cast<std::size_t>(r + 20)]) << "r = " << r;
}

TEST(deberta_v2, bucket_table_saturates) {
    const auto spec = tf::deberta_config{.max_position_embeddings = 512, .relative_attention = true,
                                         .position_buckets = 256}
                          .disentangled();
    const auto t = tf::bucket_row_table(spec);
    const auto R = static_cast<std::int64_t>(t.size() / 2);
    EXPECT_EQ(t.front(), 0);
    EXPECT_EQ(t.back(), 2 * spec.span - 1);
    for (std::int64_t r = -R; r <= R; ++r) EXPECT_EQ(t[static_cast<std::size_t>(r + R)], tf::relative_row(r, spec));
    EXPECT_EQ(tf::relative_row(R + 1000, spec), 2 * spec.span - 1);
}

TEST(deberta_v2, config_options) {
    const auto j = nlohmann::json{{"norm_rel_ebd", "layer_norm|none"}, {"conv_kernel_size", 3}, {"conv_act", "gelu"},
                                  {"share_att_key", true}, {"position_buckets", 256}};
    const auto c = tf::deberta_v2_family<false>::load(tf::config_reader(j, "config.json"));
    EXPECT_TRUE(c.norm_rel_ebd && c.share_att_key);
    EXPECT_EQ(c.disentangled().span, 256);
    EXPECT_EQ(c.conv_act, tf::activation::gelu);
    EXPECT_THROW(tf::deberta_v2_family<false>::load(tf::config_reader(nlohmann::json{{"conv_kernel_size", 4}}, "c")),
                 tf::error);
    EXPECT_THROW(tf::deberta_v2_family<false>::load(
                     tf::config_reader(nlohmann::json{{"attention_head_size", 16}}, "c")),
                 tf::error);
}
