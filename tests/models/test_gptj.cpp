// GPT-J: its config defaults (features and generation: test_models.cpp).
#include "typeformer/models/gptj.hpp"

#include "harness.hpp"

namespace {
tf::gptj_config from_json(const char* text) {
    const auto j = nlohmann::json::parse(text);
    return tf::gptj_family::load(tf::config_reader(j, "config.json"));
}
}  // namespace

TEST(gptj, config_reads_transformers_defaults_and_null_rotary_dim) {
    const auto c = from_json(R"({"model_type": "gptj"})");
    EXPECT_EQ(c.rotary_dim, 64);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_EQ(c.rotary().dims, 64);
    EXPECT_TRUE(c.rotary().interleaved);
    const auto one = from_json(R"({"n_embd": 32, "n_head": 1, "rotary_dim": null})");
    EXPECT_EQ(one.rotary().dims, 32);  // the whole (one) head turns
    EXPECT_THROW(from_json(R"({"n_embd": 32, "n_head": 4, "rotary_dim": null})"), tf::error);
    EXPECT_THROW(from_json(R"({"n_embd": 32, "n_head": 4, "rotary_dim": 10})"), tf::error);  // > head size 8
    EXPECT_THROW(from_json(R"({"n_embd": 32, "n_head": 4, "rotary_dim": 3})"), tf::error);   // odd
}

struct tiny_gptj final : tf::gptj<tf::gptj_config{.vocab_size = 99, .n_positions = 64, .n_embd = 32, .n_layer = 2,
                                                   .n_head = 4, .rotary_dim = 4}> {};
static_assert(tf::check(tiny_gptj::config));
