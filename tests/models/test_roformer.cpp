// RoFormer, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/roformer.hpp"

#include "harness.hpp"

class roformer_feature : public testing::TestWithParam<std::string> {};
TEST_P(roformer_feature, matches_transformers_and_onnxruntime) { check_feature<tf::roformer_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(roformer, roformer_feature, testing::ValuesIn(feature_names<tf::roformer_family>()),
                         test_name);

TEST(roformer, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::roformer_family>(),
              (std::vector<std::string>{"default", "masked-lm", "causal-lm", "sequence-classification",
                                        "multiple-choice", "token-classification", "question-answering"}));
}

// The rotary tables are built once per graph, not once per layer: one Gather
// on the sinusoidal table whatever the depth.
TEST(roformer, rotary_tables_are_built_once_per_graph) {
    const auto dir = fixture_dir("roformer", "default");
    const auto json = tf::config_reader::load(dir / "config.json");
    auto cfg = tf::roformer_family::load(tf::config_reader(json, (dir / "config.json").string()));
    ASSERT_EQ(cfg.num_hidden_layers, 2);
    auto ck = tf::checkpoint::open(dir);
    ck.set_base_prefix("roformer");
    auto built = tf::build_onnx<tf::roformer_family, tf::task::default_>(cfg, ck, tf::default_opset, dir.string());
    int table_reads = 0, rotations = 0;
    for (const auto& n : built.proto.graph().node()) {
        for (const auto& in : n.input())
            if (in == "roformer.encoder.embed_positions.weight") ++table_reads;
        if (n.op_type() == "Concat") ++rotations;  // one per rotary op
    }
    EXPECT_EQ(table_reads, 1);
    EXPECT_EQ(rotations, 2 * 2);  // q and k in each of the 2 layers
}
