// ConvNeXT and ConvNeXTV2: defaults, refusals and the switches the fixtures
// do not show (features: test_models.cpp).
#include "typeformer/models/convnext.hpp"

#include "harness.hpp"

namespace {

tf::convnext_config load_convnext(tf::convnext_config (*from_json)(const tf::config_reader&), const nlohmann::json& j) {
    return from_json(tf::config_reader(j, "config.json"));
}

/// Both loaders refuse `json`, naming `key`.
void expect_convnext_refused(const nlohmann::json& json, std::string_view key) {
    for (auto* from_json : {&tf::convnext_config_from_json, &tf::convnextv2_config_from_json}) {
        try {
            (void)load_convnext(from_json, json);
            ADD_FAILURE() << "accepted: " << json.dump();
        } catch (const tf::error& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
}

}  // namespace

TEST(convnext, defaults_are_convnext_tiny) {
    const auto v1 = load_convnext(&tf::convnext_config_from_json, nlohmann::json::object());
    EXPECT_TRUE(tf::check(v1));
    EXPECT_EQ(v1.hidden_sizes.back(), 768);
    EXPECT_EQ(v1.depths[2], 9);
    EXPECT_EQ(v1.patch(), (tf::hw{4, 4}));
    EXPECT_TRUE(v1.block_options().layer_scale);
    EXPECT_FALSE(v1.block_options().grn);
    EXPECT_EQ(v1.image().height, 224);
    EXPECT_TRUE(v1.image().any_size);
    // ConvNeXTV2 reads no layer_scale_init_value: GRN, never a layer scale
    const auto v2 = load_convnext(&tf::convnextv2_config_from_json, {{"layer_scale_init_value", 1e-6}});
    EXPECT_FALSE(v2.block_options().layer_scale);
    EXPECT_TRUE(v2.block_options().grn);
    // layer_scale_init_value 0: no layer scale
    const auto no_scale = load_convnext(&tf::convnext_config_from_json, {{"layer_scale_init_value", 0.0}});
    EXPECT_FALSE(no_scale.block_options().layer_scale);
}

TEST(convnext, lists_and_pairs) {
    const auto c = load_convnext(&tf::convnext_config_from_json, {{"num_hidden_layers", 2},
                                                         {"hidden_sizes", {8, 16}},
                                                         {"depths", {1, 0}},
                                                         {"patch_size", {3, 2}},
                                                         {"image_size", {40, 30}}});
    EXPECT_EQ(c.num_stages, 2);  // num_hidden_layers is num_stages (attribute_map)
    EXPECT_EQ(c.patch(), (tf::hw{3, 2}));
    EXPECT_EQ(c.image().height, 40);
    EXPECT_EQ(c.image().width, 30);
}

TEST(convnext, refusals_name_the_key) {
    expect_convnext_refused({{"num_stages", 3}}, "num_stages");
    expect_convnext_refused({{"num_stages", 2}, {"hidden_sizes", {8, 16}}, {"depths", {1, 1, 1}}}, "num_stages");
    expect_convnext_refused({{"patch_size", {2, 2, 2}}}, "patch_size");
    expect_convnext_refused({{"num_stages", 9},
                    {"hidden_sizes", {1, 2, 3, 4, 5, 6, 7, 8, 9}},
                    {"depths", {1, 1, 1, 1, 1, 1, 1, 1, 1}}},
                   "hidden_sizes");
    expect_convnext_refused({{"hidden_act", "quick_gelu"}}, "hidden_act");
    expect_convnext_refused({{"depths", {1, 1, -1, 1}}}, "depths");
}

// The layer scale is read from the config: the same checkpoint read with
// layer_scale_init_value 0 skips every layer_scale_parameter and computes
// something else.
TEST(convnext, layer_scale_comes_from_the_config) {
    const auto dir = fixture_dir("convnext", "default");
    auto json = tf::config_reader::load(dir / "config.json");
    ASSERT_GT(json["layer_scale_init_value"].template get<double>(), 0.0);
    json["layer_scale_init_value"] = 0.0;
    const auto m = tf::load_model(tf::require_family("convnext"), dir, json);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto got =
        m.family().require("default").reference(m.config, m.weights, fixture_tensors(io, "input."), nullptr);
    const auto want = fixture_tensors(io, "output.");
    EXPECT_GT(tf::max_abs_diff(got.at("last_hidden_state"), want.at("last_hidden_state")), 1e-2);
}

// The classifier's checkpoint exports as the base model too: its final
// LayerNorm, which only the classifier reads, is not an unexpected tensor.
TEST(convnext, classifier_checkpoint_exports_default) {
    for (std::string type : {"convnext", "convnextv2"}) {
        const auto dir = fixture_dir(type, "image-classification");
        const auto m = load_fixture(type, dir);
        onnx::GraphProto g;
        EXPECT_NO_THROW((void)onnx_bytes(m, m.family().require("default"), tf::default_opset, dir, &g)) << type;
        ASSERT_EQ(g.output_size(), 1) << type;
        EXPECT_EQ(g.output(0).name(), "last_hidden_state") << type;
    }
}
