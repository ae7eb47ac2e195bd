// Gemma: its config as Transformers 5 and 4.41 read it (features and generation: test_models.cpp).
#include "typeformer/models/gemma.hpp"

#include "harness.hpp"

// Gemma's config rules in 4.41: hidden_activation decides (null: the tanh
// GELU, whatever hidden_act says), head_dim is read; a RoPE scaling is read
// as Llama's (4.41 ignored it, later versions apply it).
TEST(gemma, reads_its_config_as_transformers_4_41_does) {
    auto load = [](const nlohmann::json& j) {
        return tf::gemma_family::load(tf::config_reader(j, "config.json").follow(tf::follow_transformers::v4_41));
    };
    auto base = nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 1,
        "head_dim": 16, "intermediate_size": 37, "num_hidden_layers": 1, "vocab_size": 99, "hidden_act": "relu"})");
    auto c = load(base);
    EXPECT_EQ(c.shape().act, tf::activation::gelu_new);
    EXPECT_EQ(c.cache().head_dim, 16);
    EXPECT_EQ(c.cache().kv_heads, 1);
    EXPECT_EQ(c.norm(), tf::norm_kind::rms_plus_one);
    EXPECT_TRUE(c.tie_word_embeddings);
    base["hidden_activation"] = "gelu";
    EXPECT_EQ(load(base).shape().act, tf::activation::gelu);
    base["rope_scaling"] = nlohmann::json::parse(R"({"type": "linear", "factor": 2.0})");
    EXPECT_EQ(load(base).rotary().position_scale, 2.0);
    base["partial_rotary_factor"] = 0.5;
    try {
        load(base);
        ADD_FAILURE() << "partial_rotary_factor accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported");
        EXPECT_NE(std::string(e.what()).find("/partial_rotary_factor"), std::string::npos) << e.what();
    }
}

// Transformers 5 (the default, whoever saved config.json): the activation
// is hidden_act ("gelu" as the tanh GELU), hidden_activation unread.
TEST(gemma, transformers5_takes_the_activation_from_hidden_act) {
    auto load = [](const nlohmann::json& j, tf::follow_transformers f = tf::follow_transformers::v5) {
        return tf::gemma_family::load(tf::config_reader(j, "config.json").follow(f));
    };
    auto base = nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 8,
        "intermediate_size": 37, "num_hidden_layers": 1, "vocab_size": 99, "hidden_act": "silu",
        "hidden_activation": "gelu", "transformers_version": "4.41.2"})");
    EXPECT_EQ(load(base).shape().act, tf::activation::silu);
    EXPECT_EQ(tf::gemma_family::load(tf::config_reader(base, "config.json")).shape().act, tf::activation::silu);
    base["hidden_act"] = "gelu";
    EXPECT_EQ(load(base).shape().act, tf::activation::gelu_new);
    EXPECT_EQ(load(base, tf::follow_transformers::v4_41).shape().act, tf::activation::gelu);  // hidden_activation
}
