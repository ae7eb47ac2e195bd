// ViT, DeiT and BEiT's image size: the one size a graph states (ONNX
// Runtime and the reference pass refuse another by name), and
// interpolate_pos_encoding, which makes it any size (the fixtures called
// with it: here, test_deit.cpp, test_beit.cpp); what refuses that option.
#include "typeformer/models/vit.hpp"

#include "harness.hpp"

namespace {
/// The error id and message of loading the fixture in `dir` with interpolate_pos_encoding; "none" if it loads.
std::string interpolation_refusal(std::string_view model_type, const std::filesystem::path& dir,
                                  const nlohmann::json& json) {
    try {
        (void)tf::load_model(tf::require_family(model_type), dir, json, tf::follow_transformers::v5, nullptr, true);
    } catch (const tf::error& e) {
        return std::string(e.id()) + ": " + e.what();
    }
    return "none";
}
}  // namespace

// ViTModel called with interpolate_pos_encoding=True on 42 x 36 images: the
// reference pass matches Transformers there, and the graph, which then
// takes any size, matches it at the config's size, 37 x 45 and 64 x 29.
TEST(vit, interpolate_pos_encoding_matches_transformers) {
    check_fixture("vit", "default", fixture_dir("vit-interpolate", "default"));
}

// Without it the graph states the config's 30 x 30, and another size is
// refused by name: by ONNX Runtime, and by the reference pass.
TEST(vit, without_interpolation_the_graph_states_its_one_size) {
    const auto dir = fixture_dir("vit", "default");
    const auto m = load_fixture("vit", dir);
    const auto& f = m.family().require("default");
    onnx::GraphProto g;
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir, &g), 1);
    const auto& dims = g.input(0).type().tensor_type().shape();
    ASSERT_EQ(dims.dim_size(), 4);
    EXPECT_EQ(dims.dim(2).dim_value(), 30);
    EXPECT_EQ(dims.dim(3).dim_value(), 30);
    tf::tensor_map feeds;
    feeds.emplace("pixel_values", tf::eval_value(xt::xarray<float>(xt::ones<float>({1, 3, 42, 36}))));
    try {
        (void)ort.run(feeds);
        ADD_FAILURE() << "ONNX Runtime ran a 42 x 36 image through a 30 x 30 graph";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("pixel_values"), std::string::npos) << e.what();
    }
    try {
        (void)f.reference(m.config, m.weights, feeds, nullptr);
        ADD_FAILURE() << "the reference pass ran a 42 x 36 image through a 30 x 30 model";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("pixel_values has 42 at axis 2, where the model takes 30 only"),
                  std::string::npos)
            << e.what();
    }
}

// masked-im lays the patch tokens on the config's grid: with
// interpolate_pos_encoding its graph (ViT's and DeiT's) still states the
// config's size, and computes the fixture's reconstruction there, while
// the base model's takes any size.
TEST(vit, masked_im_keeps_the_config_size_with_interpolation) {
    for (std::string_view type : {"vit", "deit"}) {
        if (!tf::find_family(type)) continue;  // a build of some families
        const auto dir = fixture_dir(type, "masked-im");
        const auto json = tf::config_reader::load(dir / "config.json");
        const auto m = tf::load_model(tf::require_family(type), dir, json, tf::follow_transformers::v5, nullptr, true);
        const auto in = m.family().require("masked-im").inputs(m.config).at(0);
        EXPECT_EQ(in.axes, (std::vector<std::string>{"batch", "2", "30", "30"})) << type;
        EXPECT_EQ(m.family().require("default").inputs(m.config).at(0).axes.at(2), tf::height_axis) << type;
        const auto io = tf::safetensors_file::open(dir / "io.safetensors");
        const auto got = m.family().require("masked-im").reference(m.config, m.weights,
                                                                    fixture_tensors(io, "input."), nullptr);
        EXPECT_LE(tf::max_abs_diff(got.at("reconstruction"), fixture_tensors(io, "output.").at("reconstruction")),
                  1e-5)
            << type;
    }
}

// A loader that never asks about interpolate_pos_encoding leaves it
// unasked, which load_model refuses by name; ViT's asks.
TEST(vit, a_loader_that_does_not_ask_refuses_interpolation) {
    const auto j = nlohmann::json::parse(R"({"model_type": "vit"})");
    tf::config_reader r(j, "config.json");
    r.interpolate_pos_encoding(true);
    EXPECT_TRUE(r.interpolate_pos_encoding_unasked());
    EXPECT_TRUE(tf::vit_config_from_json(r).interpolate_pos_encoding);
    EXPECT_FALSE(r.interpolate_pos_encoding_unasked());
    tf::config_reader off(j, "config.json");
    EXPECT_FALSE(off.interpolate_pos_encoding_unasked());
    EXPECT_FALSE(tf::vit_config_from_json(off).interpolate_pos_encoding);
    // a model type whose loader does not take it (built where the family is)
    if (tf::find_family("swin")) {
        const auto dir = fixture_dir("swin", "default");
        EXPECT_NE(interpolation_refusal("swin", dir, tf::config_reader::load(dir / "config.json"))
                      .find("export.interpolate_pos_encoding"),
                  std::string::npos);
    }
}
