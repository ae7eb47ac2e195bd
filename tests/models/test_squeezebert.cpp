// SqueezeBERT, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/squeezebert.hpp"

#include "harness.hpp"

class squeezebert_feature : public testing::TestWithParam<std::string> {};
TEST_P(squeezebert_feature, matches_transformers_and_onnxruntime) {
    check_feature<tf::squeezebert_family>(GetParam());
}
INSTANTIATE_TEST_SUITE_P(squeezebert, squeezebert_feature,
                         testing::ValuesIn(feature_names<tf::squeezebert_family>()), test_name);

TEST(squeezebert, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::squeezebert_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "multiple-choice",
                                        "token-classification", "question-answering"}));
}

// The groups matter: the same checkpoint read with other groups is refused
// (the conv weights' shapes depend on them) or computes something else.
TEST(squeezebert, conv_groups_come_from_the_config) {
    const auto dir = fixture_dir("squeezebert", "default");
    auto json = tf::config_reader::load(dir / "config.json");
    json["q_groups"] = 2;  // the checkpoint's query.weight is [32, 8, 1], made with 4 groups
    const auto cfg = tf::squeezebert_family::load(tf::config_reader(json, "config.json"));
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("transformer");
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    try {
        (void)tf::reference_outputs<tf::squeezebert_family, tf::task::default_>(cfg, ck, fixture_tensors(io, "input."));
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
