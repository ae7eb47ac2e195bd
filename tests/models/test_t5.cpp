// T5 and mT5: the config's keys and refusals, the relative position buckets
// (features and generation: test_models.cpp).
#include "typeformer/models/t5.hpp"

#include "harness.hpp"

TEST(t5, relative_buckets_are_transformers) {
    // T5Attention._relative_position_bucket at t5-small's settings (32 buckets, max distance 128), from 5.23
    const std::vector<std::int64_t> rel{-200, -128, -127, -64, -63, -32, -31, -16, -15, -9, -8, -7, -1, 0,
                                        1,    7,    8,    9,   15,  16,  31,  32,  63,  64, 127, 128, 200};
    const std::vector<std::int64_t> bidirectional{15, 15, 15, 14, 13, 12, 11, 10, 9,  8,  8,  7,  1,  0,
                                                  17, 23, 24, 24, 25, 26, 27, 28, 29, 30, 31, 31, 31};
    const std::vector<std::int64_t> causal{31, 31, 31, 26, 26, 21, 21, 16, 15, 9, 8, 7, 1, 0,
                                           0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0};
    for (std::size_t i = 0; i < rel.size(); ++i) {
        EXPECT_EQ(tf::detail::t5::relative_bucket(rel[i], true, 32, 128), bidirectional[i]) << rel[i];
        EXPECT_EQ(tf::detail::t5::relative_bucket(rel[i], false, 32, 128), causal[i]) << rel[i];
    }
    // the table the graph clips into: every distance past max_distance is in its side's last bucket
    const auto t = tf::detail::t5::bucket_table(true, 32, 128);
    ASSERT_EQ(t.size(), 257u);
    EXPECT_EQ(t.front(), 15);
    EXPECT_EQ(t.back(), 31);
}

TEST(t5, config_reading) {
    const auto d = config_from_text<tf::t5_family>("{}");
    EXPECT_EQ(d.t5().decoder_layers, 6);  // num_decoder_layers null: num_layers
    EXPECT_FALSE(d.t5().gated);
    EXPECT_TRUE(d.t5().scale_decoder_outputs);
    // T5 v1.1's config.json (as the Hub has it): untied, so not scaled
    const auto v11 = config_from_text<tf::t5_family>(R"({"feed_forward_proj": "gated-gelu", "tie_word_embeddings": false,
                                             "num_layers": 8, "num_decoder_layers": null})");
    EXPECT_TRUE(v11.t5().gated);
    EXPECT_FALSE(v11.t5().scale_decoder_outputs);
    EXPECT_EQ(v11.t5().decoder_layers, 8);
    // as Transformers 5 saves it: tie_word_embeddings true, scale_decoder_outputs false (null: false)
    EXPECT_FALSE(config_from_text<tf::t5_family>(R"({"tie_word_embeddings": true, "scale_decoder_outputs": false})").t5().scale_decoder_outputs);
    EXPECT_FALSE(config_from_text<tf::t5_family>(R"({"scale_decoder_outputs": null})").t5().scale_decoder_outputs);
    EXPECT_TRUE(config_from_text<tf::t5_family>(R"({"tie_word_embeddings": null})").t5().scale_decoder_outputs);
    // mT5 never scales, whatever the keys say; its defaults
    const auto m = config_from_text<tf::mt5_family>(R"({"tie_word_embeddings": true, "scale_decoder_outputs": true})");
    EXPECT_FALSE(m.t5().scale_decoder_outputs);
    EXPECT_TRUE(m.t5().gated);
    EXPECT_EQ(m.vocab_size, 250112);
    // the attribute_map aliases, read after num_decoder_layers took num_layers
    const auto a = config_from_text<tf::t5_family>(R"({"num_hidden_layers": 3, "hidden_size": 40, "head_dim": 7,
                                           "num_attention_heads": 5})");
    EXPECT_EQ(a.t5().encoder_layers, 3);
    EXPECT_EQ(a.t5().decoder_layers, 6);
    EXPECT_EQ(a.d_model, 40);
    EXPECT_EQ(a.d_kv, 7);
    EXPECT_EQ(a.num_heads, 5);
    EXPECT_EQ(a.seq2seq_cache().head_dim, 7);
    // refused by name
    for (const char* bad : {R"({"feed_forward_proj": "gated-silu"})", R"({"feed_forward_proj": "gelu"})"}) {
        const auto e = config_error<tf::t5_family>(bad);
        EXPECT_NE(e.find("config.unsupported"), std::string::npos) << e;
        EXPECT_NE(e.find("feed_forward_proj"), std::string::npos) << e;
    }
    EXPECT_NE(config_error<tf::t5_family>(R"({"feed_forward_proj": "relu", "dense_act_fn": "gelu_new"})").find("dense_act_fn"),
              std::string::npos);
    EXPECT_NE(config_error<tf::mt5_family>(R"({"is_gated_act": false})").find("is_gated_act"), std::string::npos);
    EXPECT_NE(config_error<tf::t5_family>(R"({"is_causal": true})").find("is_causal"), std::string::npos);
    EXPECT_NE(config_error<tf::t5_family>(R"({"relative_attention_num_buckets": 32, "relative_attention_max_distance": 16})"),
              "none");
}
