// OPT: the config's defaults and switches (features and generation:
// test_models.cpp).
#include "typeformer/models/opt.hpp"

#include "harness.hpp"

namespace {
tf::opt_config load_opt(const char* text) {
    const auto j = nlohmann::json::parse(text);
    return tf::opt_family::load(tf::config_reader(j, "config.json"));
}
std::string opt_error_id(const char* text) {
    try {
        load_opt(text);
    } catch (const tf::error& e) {
        return std::string(e.id());
    }
    return "none";
}
}  // namespace

TEST(opt, config_defaults_and_switches) {
    // OPTConfig's defaults: word_embed_proj_dim None is hidden_size, pre-LN with a final LayerNorm, relu
    const auto d = load_opt("{}");
    EXPECT_EQ(d.projection(), 768);
    EXPECT_TRUE(d.final_norm());
    EXPECT_EQ(d.pad_token_id, 1);
    EXPECT_EQ(d.activation_function, tf::activation::relu);
    EXPECT_EQ(d.norm(), tf::norm_kind::layer_norm);
    EXPECT_EQ(d.shape().max_positions, 2048 + 2);  // the offset of 2
    EXPECT_EQ(d.shape().max_positions - d.shape().position_offset, 2048);
    // OPT-350m: a 512-feature embedding space, post-LN layers (no final LayerNorm)
    const auto m = load_opt(R"({"hidden_size": 1024, "num_attention_heads": 16, "word_embed_proj_dim": 512,
                               "do_layer_norm_before": false})");
    EXPECT_EQ(m.projection(), 512);
    EXPECT_FALSE(m.final_norm());
    EXPECT_EQ(m.shape().hidden_size, 1024);
    EXPECT_EQ(m.at_output().shape().hidden_size, 512);  // what the heads read
    EXPECT_EQ(load_opt(R"({"word_embed_proj_dim": null})").projection(), 768);
    EXPECT_FALSE(load_opt(R"({"_remove_final_layer_norm": true})").final_norm());
    EXPECT_EQ(load_opt(R"({"layer_norm_elementwise_affine": false})").norm(), tf::norm_kind::layer_norm_plain);
    EXPECT_FALSE(load_opt(R"({"enable_bias": false})").enable_bias);
    EXPECT_EQ(load_opt(R"({"pad_token_id": null})").pad_token_id, -1);
    // refused by name
    EXPECT_NE(opt_error_id(R"({"activation_function": "no_such_activation"})"), "none");
    EXPECT_EQ(opt_error_id(R"({"hidden_size": 30, "num_attention_heads": 4})"), "config.invalid");
    EXPECT_EQ(opt_error_id(R"({"word_embed_proj_dim": -1})"), "config.invalid");
}

struct tiny_opt final : tf::opt<tf::opt_config{.vocab_size = 99, .hidden_size = 32, .num_hidden_layers = 2,
                                               .ffn_dim = 37, .max_position_embeddings = 64,
                                               .word_embed_proj_dim = 24, .num_attention_heads = 4}> {};
static_assert(tiny_opt::config.projection() == 24 && tiny_opt::config.cache().head_dim == 8);
