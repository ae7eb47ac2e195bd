// BEiT and Data2VecVision: the image sizes each config takes, the relative
// position index (in C++ and computed in the graph), interpolate_pos_encoding
// against Transformers, masked-im's logits, and the keys the two model
// types read differently (the features: test_models.cpp).
#include "typeformer/models/beit.hpp"

#include "harness.hpp"

namespace {
nlohmann::json fixture_config(std::string_view model_type, std::string_view feature) {
    return tf::config_reader::load(fixture_dir(model_type, feature) / "config.json");
}
tf::beit_config load(std::string_view model_type, const nlohmann::json& j) {
    tf::config_reader r(j, "config.json");
    return model_type == "beit" ? tf::beit_config_from_json(r) : tf::data2vec_vision_config_from_json(r);
}
std::string refusal(std::string_view model_type, const nlohmann::json& j) {
    try {
        (void)load(model_type, j);
    } catch (const tf::error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

// Learned positions or a relative bias fix the image size; a model with
// neither reads any size (its fixture is checked at 37 x 45 and 64 x 29).
TEST(beit, image_size_is_fixed_by_positions_or_a_relative_bias) {
    EXPECT_TRUE(tf::beit_config{}.image().any_size);
    EXPECT_FALSE((tf::beit_config{.use_absolute_position_embeddings = true}.image().any_size));
    EXPECT_FALSE((tf::beit_config{.use_relative_position_bias = true}.image().any_size));
    EXPECT_FALSE((tf::beit_config{.use_shared_relative_position_bias = true}.image().any_size));
    // interpolate_pos_encoding resizes both to the image's grid: any size
    EXPECT_TRUE((tf::beit_config{.use_absolute_position_embeddings = true,
                                 .use_relative_position_bias = true,
                                 .use_shared_relative_position_bias = true,
                                 .interpolate_pos_encoding = true}
                     .image()
                     .any_size));
    EXPECT_TRUE(load("data2vec-vision", fixture_config("data2vec-vision", "default")).image().any_size);
    const auto fixed = load("beit", fixture_config("beit", "default")).image();
    EXPECT_FALSE(fixed.any_size);
    EXPECT_EQ(fixed.height, 30);
    EXPECT_EQ(fixed.width, 30);
}

// BeitRelativePositionBias' index: the class token's row, column and corner
// take the table's last three rows; two patches take the row of their
// offset, the same for every pair at that offset.
TEST(beit, relative_position_index) {
    const std::int64_t rows = 2, cols = 3, t = rows * cols + 1, n = (2 * rows - 1) * (2 * cols - 1) + 3;
    const auto index = tf::relative_position_index(rows, cols);
    ASSERT_EQ(index.size(), static_cast<std::size_t>(t * t));
    EXPECT_EQ(index[0], n - 1);
    for (std::int64_t j = 1; j < t; ++j) EXPECT_EQ(index[j], n - 3);
    for (std::int64_t i = 1; i < t; ++i) EXPECT_EQ(index[i * t], n - 2);
    // patch p = (r, c) is token 1 + r·cols + c: offset (dr, dc) -> (dr + rows - 1)·(2·cols - 1) + dc + cols - 1
    auto at = [&](std::int64_t r1, std::int64_t c1, std::int64_t r2, std::int64_t c2) {
        return index[(1 + r1 * cols + c1) * t + 1 + r2 * cols + c2];
    };
    EXPECT_EQ(at(0, 0, 0, 0), (rows - 1) * (2 * cols - 1) + cols - 1);
    EXPECT_EQ(at(1, 2, 0, 0), (1 + rows - 1) * (2 * cols - 1) + 2 + cols - 1);
    EXPECT_EQ(at(0, 0, 1, 2), (-1 + rows - 1) * (2 * cols - 1) - 2 + cols - 1);
    EXPECT_EQ(at(1, 1, 0, 0), at(1, 2, 0, 1));
    std::set<std::int64_t> used(index.begin(), index.end());
    EXPECT_EQ(static_cast<std::int64_t>(used.size()), n) << "every row of the table is read";
}

// BEiT's attention reads head_dim (another width is refused) and its forward
// is_causal; Data2VecVision's reads neither.
TEST(beit, head_dim_and_is_causal_by_model_type) {
    auto j = fixture_config("beit", "default");
    j["head_dim"] = 16;
    EXPECT_NE(refusal("beit", j).find("head_dim"), std::string::npos);
    EXPECT_EQ(refusal("data2vec-vision", j), "");
    j["head_dim"] = 8;
    EXPECT_EQ(refusal("beit", j), "");
    j["is_causal"] = false;
    EXPECT_NE(refusal("beit", j).find("is_causal"), std::string::npos);
    EXPECT_EQ(refusal("data2vec-vision", j), "");
}

// Called with interpolate_pos_encoding=True at a patch grid other than the
// config's: BeitModel with each layer's relative bias (its tables resized
// and gathered at an index the graph computes), BeitForImageClassification
// with absolute positions and the shared relative bias. The graph takes any
// size, and matches the reference at the config's size, 37 x 45 and 64 x 29.
TEST(beit, interpolate_pos_encoding_matches_transformers) {
    for (std::string_view feature : {"default", "image-classification"}) {
        check_fixture("beit", feature, fixture_dir("beit-interpolate", feature));
        const auto m = load_fixture("beit", fixture_dir("beit-interpolate", feature));
        const auto inputs = m.family().require(feature).inputs(m.config);
        EXPECT_EQ(inputs.at(0).axes.at(2), tf::height_axis) << feature;
        EXPECT_EQ(inputs.at(0).axes.at(3), tf::width_axis) << feature;
    }
}

// Data2VecVisionForImageClassification, BEiT's code under data2vec-vision:
// absolute positions and each layer's relative bias, called with
// interpolate_pos_encoding=True on a 6 x 4 patch grid (the config's 5 x 5).
TEST(beit, data2vec_vision_interpolate_pos_encoding_matches_transformers) {
    if (!tf::find_family("data2vec-vision")) GTEST_SKIP() << "data2vec-vision is not built";
    const auto dir = fixture_dir("data2vec-vision-interpolate", "image-classification");
    check_fixture("data2vec-vision", "image-classification", dir);
    const auto m = load_fixture("data2vec-vision", dir);
    EXPECT_EQ(m.family().require("image-classification").inputs(m.config).at(0).axes.at(2), tf::height_axis);
}

// The index the graph computes for a run-time grid is the one
// relative_position_index builds (square, wide, tall and one-patch grids).
TEST(beit, relative_position_index_in_the_graph) {
    for (auto [rows, cols] : {std::pair{5L, 5L}, std::pair{2L, 3L}, std::pair{7L, 4L}, std::pair{1L, 1L}}) {
        tf::eval_backend b(nullptr);
        const auto got = tf::relative_position_index(b, b.constant_i64({rows, cols}));
        const auto want = tf::relative_position_index(rows, cols);
        const auto t = static_cast<std::size_t>(rows * cols + 1);
        ASSERT_EQ(got.shape(), (std::vector<std::int64_t>{static_cast<std::int64_t>(t), static_cast<std::int64_t>(t)}));
        EXPECT_TRUE(std::equal(want.begin(), want.end(), got.i.begin())) << rows << " x " << cols;
    }
}

// masked-im: BeitForMaskedImageModeling's logits over the visual tokens,
// one row a patch (the class token left out), vocab_size wide.
TEST(beit, masked_im_logits_per_patch) {
    const auto m = load_fixture("beit", fixture_dir("beit", "masked-im"));
    const auto outputs = m.family().require("masked-im").outputs(m.config);
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].name, "logits");
    EXPECT_EQ(typed_config<tf::beit_config>(m.config).vocab_size, 23);
    EXPECT_EQ(refusal("data2vec-vision", fixture_config("beit", "masked-im")), "");
    if (const auto* d2v = tf::find_family("data2vec-vision")) EXPECT_EQ(d2v->feature("masked-im"), nullptr);
}

// image_size and patch_size are single numbers (a [height, width] pair is
// refused by name), and layer scale is on iff layer_scale_init_value > 0.
TEST(beit, config_switches) {
    auto j = fixture_config("beit", "image-classification");
    EXPECT_FALSE(load("beit", j).block_options().layer_scale);
    EXPECT_TRUE(load("beit", fixture_config("beit", "default")).block_options().layer_scale);
    EXPECT_FALSE(load("beit", j).block_options().key_bias);
    j["image_size"] = {28, 35};
    EXPECT_NE(refusal("beit", j).find("image_size"), std::string::npos);
}
