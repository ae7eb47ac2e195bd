// GPTBigCode: the config's defaults, aliases and refusals, the cache's heads
// under multi_query, which graphs take position_ids, and 4.41's positions
// from the mask (its features and generation: test_models.cpp).
#include "typeformer/models/gpt_bigcode.hpp"

#include "harness.hpp"

namespace {
tf::gpt_bigcode_config load_bigcode(const nlohmann::json& j,
                                    tf::follow_transformers follow = tf::follow_transformers::v5) {
    tf::config_reader r(j, "config.json");
    r.follow(follow);
    return tf::gpt_bigcode_family::load(r);
}

std::vector<std::string> names(const std::vector<tf::io_name>& io) {
    std::vector<std::string> out;
    for (const auto& n : io) out.push_back(n.name);
    return out;
}
}  // namespace

TEST(gpt_bigcode, defaults_are_gpt_bigcode_configs) {
    const auto c = load_bigcode(nlohmann::json::object());
    EXPECT_TRUE(c.multi_query);
    EXPECT_TRUE(c.scale_attn_weights);
    EXPECT_EQ(c.activation_function, tf::activation::gelu_new);  // gelu_pytorch_tanh
    EXPECT_EQ(c.inner(), 4 * 768);
    const auto kv = c.cache();
    EXPECT_EQ(kv.layers, 12);
    EXPECT_EQ(kv.kv_heads, 1);  // one key/value head shared by every query head
    EXPECT_EQ(kv.head_dim, 64);
    EXPECT_FALSE(c.positions_from_mask);
    EXPECT_TRUE(load_bigcode(nlohmann::json::object(), tf::follow_transformers::v4_41).positions_from_mask);
}

TEST(gpt_bigcode, multi_head_attention_keeps_a_key_value_head_per_query_head) {
    const auto c = load_bigcode({{"multi_query", false}, {"n_embd", 32}, {"n_head", 4}, {"n_inner", nullptr},
                                 {"num_key_value_heads", 4}});
    EXPECT_EQ(c.cache().kv_heads, 4);
    EXPECT_EQ(c.cache().head_dim, 8);
    EXPECT_EQ(c.inner(), 128);  // null n_inner: 4 · n_embd
}

TEST(gpt_bigcode, attribute_map_names_are_read) {
    const auto c = load_bigcode({{"hidden_size", 48}, {"num_attention_heads", 6}, {"num_hidden_layers", 3},
                                 {"max_position_embeddings", 77}});
    EXPECT_EQ(c.n_embd, 48);
    EXPECT_EQ(c.n_head, 6);
    EXPECT_EQ(c.n_layer, 3);
    EXPECT_EQ(c.n_positions, 77);
}

TEST(gpt_bigcode, refusals_name_the_key) {
    try {
        load_bigcode({{"add_cross_attention", true}});
        ADD_FAILURE() << "add_cross_attention was accepted";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("add_cross_attention"), std::string::npos) << e.what();
    }
    EXPECT_THROW(load_bigcode({{"n_embd", 30}, {"n_head", 4}}), tf::error);
    // float32 has no upcast to skip: both accepted, either way
    EXPECT_NO_THROW(load_bigcode({{"attention_softmax_in_fp32", false}, {"scale_attention_softmax_in_fp32", false}}));
}

TEST(gpt_bigcode, cache_and_positions_as_optimum_names_them) {
    const auto dir = fixture_dir("gpt_bigcode", "causal-lm-with-past");
    const auto m = load_fixture("gpt_bigcode", dir);
    const auto& f = m.family().require("causal-lm-with-past");
    const auto in = f.inputs(m.config);
    const auto inputs = names(in);
    EXPECT_EQ(inputs.front(), "input_ids");
    EXPECT_EQ(inputs.back(), "position_ids");
    for (const auto& n : in) {
        if (n.name == "past_key_values.0.key") {
            EXPECT_EQ(n.axes, (std::vector<std::string>{"batch", "1", "past_sequence", "8"}));
        }
    }
    EXPECT_NE(std::find(inputs.begin(), inputs.end(), "past_key_values.1.value"), inputs.end());
    const auto sc = load_fixture("gpt_bigcode", fixture_dir("gpt_bigcode", "sequence-classification"));
    EXPECT_EQ(names(sc.family().require("sequence-classification").inputs(sc.config)),
              (std::vector<std::string>{"input_ids", "attention_mask"}));
}

// 4.41's positions without a position_ids input: cumsum(mask) - 1, 1 at
// masked tokens. On a right-padded row they are 5.x's 0, 1, 2, ... at the
// real tokens and 1 at the padded tail, so the two readings of one
// checkpoint agree on every real token and differ at the tail only (the
// 4.41 fixture checks the values: test_models.cpp).
TEST(gpt_bigcode, positions_from_the_mask_change_only_padded_tokens_of_a_right_padded_row) {
    const auto dir = fixture_dir("gpt_bigcode", "token-classification");
    const auto m5 = load_fixture("gpt_bigcode", dir);
    auto c41 = typed_config<tf::gpt_bigcode_config>(m5.config);
    c41.positions_from_mask = true;
    const auto m41 = with_config(m5.config, c41);
    const auto& f = m5.family().require("token-classification");
    auto feeds = f.make_inputs(m5.config, tf::axis_sizes{2, 6, 1, 0}, 3);
    auto& mi = feeds.at("attention_mask").i;
    mi(1, 4) = 0;
    mi(1, 5) = 0;
    const auto a = f.reference(m5.config, m5.weights, feeds, nullptr).at("logits");
    const auto b = f.reference(m41, m5.weights, feeds, nullptr).at("logits");
    const auto& av = a.f;
    const auto& bv = b.f;
    EXPECT_EQ(xt::amax(xt::abs(xt::view(av, 0) - xt::view(bv, 0)))(), 0.f);
    EXPECT_EQ(xt::amax(xt::abs(xt::view(av, 1, xt::range(0, 4)) - xt::view(bv, 1, xt::range(0, 4))))(), 0.f);
    EXPECT_GT(xt::amax(xt::abs(xt::view(av, 1, xt::range(4, 6)) - xt::view(bv, 1, xt::range(4, 6))))(), 1e-3f);
}
