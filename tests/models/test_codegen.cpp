// CodeGen: its config rules (features and generation: test_models.cpp).
#include "typeformer/models/codegen.hpp"

#include "harness.hpp"

TEST(codegen, config_needs_heads_in_whole_shards) {
    const auto load = [](const char* text) {
        const auto j = nlohmann::json::parse(text);
        return tf::codegen_family::load(tf::config_reader(j, "config.json"));
    };
    const auto c = load(R"({"n_embd": 48, "n_head": 8, "rotary_dim": 2, "n_ctx": 99})");  // n_ctx: no effect
    EXPECT_EQ(c.cache().head_dim, 6);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_THROW(load(R"({"n_embd": 48, "n_head": 6, "rotary_dim": 2})"), tf::error);  // 6 heads, 4 shards
    EXPECT_THROW(load(R"({"n_ctx": "2048"})"), tf::error);                             // read for its type
}

struct tiny_codegen final
    : tf::codegen<tf::codegen_config{{.vocab_size = 99, .n_positions = 64, .n_embd = 32, .n_layer = 2, .n_head = 4,
                                      .rotary_dim = 4}}> {};
static_assert(tf::check(tiny_codegen::config));
