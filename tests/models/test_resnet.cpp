// ResNet: defaults, refusals and the switches the fixtures do not show
// (features: test_models.cpp).
#include "typeformer/models/resnet.hpp"

#include "harness.hpp"

namespace {

/// ResNet's loader refuses `json`, naming `key`.
void expect_resnet_refused(const nlohmann::json& json, std::string_view key) {
    try {
        (void)tf::resnet_config_from_json(tf::config_reader(json, "config.json"));
        ADD_FAILURE() << "accepted: " << json.dump();
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(resnet, defaults_are_resnet_50) {
    const auto c = tf::resnet_config_from_json(tf::config_reader(nlohmann::json::object(), "config.json"));
    EXPECT_TRUE(tf::check(c));
    EXPECT_TRUE(c.bottleneck);
    EXPECT_EQ(c.hidden_sizes.size(), 4);
    EXPECT_EQ(c.hidden_sizes.back(), 2048);
    EXPECT_EQ(c.depths[2], 6);
    EXPECT_EQ(c.embedding_size, 64);
    EXPECT_EQ(c.hidden_act, tf::activation::relu);
    const auto im = c.image();
    EXPECT_TRUE(im.any_size);
    EXPECT_EQ(im.channels, 3);
}

TEST(resnet, refusals_name_the_key) {
    expect_resnet_refused({{"layer_type", "preactivation"}}, "layer_type");
    expect_resnet_refused({{"hidden_sizes", {8, 16}}, {"depths", {1, 1, 1}}}, "hidden_sizes");
    expect_resnet_refused({{"hidden_sizes", {8, 16, 24, 32, 40, 48, 56, 64, 72}},
                           {"depths", {1, 1, 1, 1, 1, 1, 1, 1, 1}}},
                          "hidden_sizes");
    expect_resnet_refused({{"hidden_act", "mish"}}, "hidden_act");
    expect_resnet_refused({{"layer_type", "bottleneck"}, {"hidden_sizes", {2, 8}}, {"depths", {1, 1}}}, "hidden_sizes");
    expect_resnet_refused({{"depths", {1, -1, 1, 1}}}, "depths");
}

// Transformers builds a stage's first layer whatever its depth: a stage of
// depth 0 computes what one of depth 1 does.
TEST(resnet, depth_zero_is_one_layer) {
    const auto dir = fixture_dir("resnet", "default");
    auto json = tf::config_reader::load(dir / "config.json");
    ASSERT_EQ(json["depths"][0], 1);
    json["depths"][0] = 0;
    const auto m = tf::load_model(tf::require_family("resnet"), dir, json);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto got =
        m.family().require("default").reference(m.config, m.weights, fixture_tensors(io, "input."), nullptr);
    const auto want = fixture_tensors(io, "output.");
    EXPECT_LE(tf::max_abs_diff(got.at("last_hidden_state"), want.at("last_hidden_state")), 1e-5);
}

// The channel count is the config's, and fixed in the graph; the image
// size is not.
TEST(resnet, graph_fixes_channels_not_size) {
    const auto m = load_fixture("resnet", fixture_dir("resnet", "image-classification"));
    const auto inputs = m.family().require("image-classification").inputs(m.config);
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs[0].name, "pixel_values");
    EXPECT_EQ(inputs[0].axes, (std::vector<std::string>{"batch", "1", "height", "width"}));
}
