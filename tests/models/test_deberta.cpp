// DeBERTa: config parsing and the variant its config picks (features: test_models.cpp).
#include "typeformer/models/deberta.hpp"

#include "harness.hpp"

TEST(deberta, token_type_ids_is_an_input_iff_type_vocab_size_is_positive) {
    using with = tf::model_of<tf::deberta_family<true>, tf::task::default_>::inputs;
    using without = tf::model_of<tf::deberta_family<false>, tf::task::default_>::inputs;
    EXPECT_EQ(with::size, 3u);
    EXPECT_EQ(without::size, 2u);
    const auto json = nlohmann::json{{"type_vocab_size", 2}};
    EXPECT_THROW(tf::deberta_family<false>::load(tf::config_reader(json, "config.json")), tf::error);
}

TEST(deberta, pos_att_type_is_read_as_a_string_or_a_list) {
    for (const auto& j : {nlohmann::json{{"pos_att_type", "C2P | p2c"}}, nlohmann::json{{"pos_att_type", {"p2c", "c2p"}}}}) {
        const auto c = tf::deberta_family<false>::load(tf::config_reader(j, "config.json"));
        EXPECT_TRUE(c.c2p && c.p2c);
        EXPECT_EQ(c.disentangled().scale_factor(), 3);
    }
    const auto bad = nlohmann::json{{"pos_att_type", "c2p|p2p"}};
    EXPECT_THROW(tf::deberta_family<false>::load(tf::config_reader(bad, "config.json")), tf::error);
    const auto talking = nlohmann::json{{"talking_head", true}};
    EXPECT_THROW(tf::deberta_family<false>::load(tf::config_reader(talking, "config.json")), tf::error);
}

TEST(deberta, relative_rows_clamp_to_the_table) {
    tf::disentangled_spec s{.relative = true, .span = 4, .max_relative = 4};
    EXPECT_EQ(tf::relative_row(0, s), 4);
    EXPECT_EQ(tf::relative_row(3, s), 7);
    EXPECT_EQ(tf::relative_row(9, s), 7);
    EXPECT_EQ(tf::relative_row(-4, s), 0);
    EXPECT_EQ(tf::relative_row(-9, s), 0);
}

// A compile-time config: the model type is complete and its wiring checked.
struct tiny_deberta final : tf::deberta<tf::deberta_config{.vocab_size = 10, .hidden_size = 8, .num_hidden_layers = 1,
                                                          .num_attention_heads = 2, .intermediate_size = 16,
                                                          .relative_attention = true, .c2p = true, .p2c = true}> {};
static_assert(tiny_deberta::inputs::size == 2);
