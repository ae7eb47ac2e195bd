// ALBERT: what the feature fixtures (test_models.cpp) do not show.
#include "typeformer/models/albert.hpp"

#include "harness.hpp"

// Shared layers: the graph asks for each group's weights once, however many
// layers use them (3 layers over 2 groups of 1 layer: 2 layers' worth).
TEST(albert, shared_layers_are_requested_once) {
    const auto dir = fixture_dir("albert", "default");
    const auto m = load_fixture("albert", dir);
    const auto& cfg = typed_config<tf::albert_config>(m.config);
    ASSERT_EQ(cfg.num_hidden_layers, 3);
    ASSERT_EQ(cfg.num_hidden_groups, 2);
    const auto built = m.family().require("default").build(m.config, m.weights, tf::default_opset, dir.string());
    std::size_t query_weights = 0;
    for (const auto& i : built.initializers)
        if (i.name.find("attention.query.weight") != std::string::npos) ++query_weights;  // stored as <name>.T
    EXPECT_EQ(query_weights, 2u);
}
