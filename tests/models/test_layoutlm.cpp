// LayoutLM: what the feature fixtures (test_models.cpp) do not show.
#include "harness.hpp"

// Validation inputs: boxes with x0 <= x1 and y0 <= y1 inside the 2-D tables.
TEST(layoutlm, dummy_boxes_are_valid) {
    const auto j = nlohmann::json::parse(R"({"max_2d_position_embeddings": 50})");
    const auto& family = tf::require_family("layoutlm");
    const auto cfg = family.load(tf::config_reader(j, "config.json"));
    const auto in = family.require("default").make_inputs(cfg, {3, 9, 3}, 42);
    const auto& box = in.at("bbox").i;
    ASSERT_EQ(in.at("bbox").shape(), (std::vector<std::int64_t>{3, 9, 4}));
    for (std::size_t k = 0; k < box.size(); k += 4) {
        for (std::size_t c = 0; c < 4; ++c) {
            EXPECT_GE(box.data()[k + c], 0);
            EXPECT_LT(box.data()[k + c], 50);
        }
        EXPECT_LE(box.data()[k], box.data()[k + 2]);
        EXPECT_LE(box.data()[k + 1], box.data()[k + 3]);
    }
}
