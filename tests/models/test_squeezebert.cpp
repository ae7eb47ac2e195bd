// SqueezeBERT: conv groups and config rules (features: test_models.cpp).
#include "typeformer/models/squeezebert.hpp"

#include "harness.hpp"

// The groups matter: the same checkpoint read with other groups is refused
// (the conv weights' shapes depend on them) or computes something else.
TEST(squeezebert, conv_groups_come_from_the_config) {
    const auto dir = fixture_dir("squeezebert", "default");
    auto json = tf::config_reader::load(dir / "config.json");
    json["q_groups"] = 2;  // the checkpoint's query.weight is [32, 8, 1], made with 4 groups
    const auto m = tf::load_model(tf::require_family("squeezebert"), dir, json);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    try {
        (void)m.family().require("default").reference(m.config, m.weights, fixture_tensors(io, "input."), nullptr);
        FAIL() << "a checkpoint made with q_groups=4 was read with q_groups=2";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("attention.query.weight"), std::string::npos) << e.what();
    }
}

TEST(squeezebert, config_checks) {
    tf::squeezebert_config c{.hidden_size = 32, .num_attention_heads = 4, .intermediate_size = 48};
    c.embedding_size = 32;
    EXPECT_TRUE(tf::check(c));
    c.intermediate_groups = 5;
    EXPECT_THROW(tf::check(c), tf::error);
    c.intermediate_groups = 4;
    c.embedding_size = 16;
    EXPECT_THROW(tf::check(c), tf::error);
}
