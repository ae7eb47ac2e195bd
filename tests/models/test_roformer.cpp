// RoFormer: rotary tables built once per graph (features: test_models.cpp).
#include "typeformer/models/roformer.hpp"

#include "harness.hpp"

// The rotary tables are built once per graph, not once per layer: one Gather
// on the sinusoidal table whatever the depth.
TEST(roformer, rotary_tables_are_built_once_per_graph) {
    const auto dir = fixture_dir("roformer", "default");
    const auto m = load_fixture("roformer", dir);
    ASSERT_EQ(typed_config<tf::roformer_config>(m.config).num_hidden_layers, 2);
    const auto built = m.family().require("default").build(m.config, m.weights, tf::default_opset, dir.string());
    int table_reads = 0, rotations = 0;
    for (const auto& n : built.model.graph().node()) {
        for (const auto& in : n.input())
            if (in == "roformer.encoder.embed_positions.weight") ++table_reads;
        if (n.op_type() == "Concat") ++rotations;  // one per rotary op
    }
    EXPECT_EQ(table_reads, 1);
    EXPECT_EQ(rotations, 2 * 2);  // q and k in each of the 2 layers
}
