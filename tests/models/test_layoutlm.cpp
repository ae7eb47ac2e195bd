// LayoutLM, every feature of the legacy table, against Transformers and ONNX Runtime.
#include "typeformer/models/layoutlm.hpp"

#include "harness.hpp"

class layoutlm_feature : public testing::TestWithParam<std::string> {};
TEST_P(layoutlm_feature, matches_transformers_and_onnxruntime) { check_feature<tf::layoutlm_family>(GetParam()); }
INSTANTIATE_TEST_SUITE_P(layoutlm, layoutlm_feature, testing::ValuesIn(feature_names<tf::layoutlm_family>()),
                         test_name);

TEST(layoutlm, feature_table_is_the_legacy_one) {
    EXPECT_EQ(feature_names<tf::layoutlm_family>(),
              (std::vector<std::string>{"default", "masked-lm", "sequence-classification", "token-classification"}));
}

// Validation inputs: boxes with x0 <= x1 and y0 <= y1 inside the 2-D tables.
TEST(layoutlm, dummy_boxes_are_valid) {
    const auto j = nlohmann::json::parse(R"({"max_2d_position_embeddings": 50})");
    const auto cfg = tf::layoutlm_family::load(tf::config_reader(j, "config.json"));
    using model = tf::model_of<tf::layoutlm_family, tf::task::default_>;
    const auto in = tf::make_inputs<model>(cfg.shape(), {3, 9, 3});
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
