// MobileViT: the config's keys and refusals, output_stride 16, and one graph
// at image sizes whose maps are and are not multiples of the patch
// (features against Transformers: test_models.cpp).
#include "typeformer/models/mobilevit.hpp"

#include "harness.hpp"

namespace {
tf::mobilevit_config load_mobilevit(const nlohmann::json& j) {
    return tf::mobilevit_family::load(tf::config_reader(j, "config.json"));
}
/// The loader refuses `json`, naming `key`.
void expect_mobilevit_refused(const nlohmann::json& json, std::string_view key) {
    try {
        (void)load_mobilevit(json);
        ADD_FAILURE() << "accepted: " << json.dump();
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}
}  // namespace

TEST(mobilevit, config_reading) {
    const auto d = load_mobilevit(nlohmann::json::object());  // MobileViTConfig's defaults: mobilevit-small
    EXPECT_TRUE(tf::check(d));
    EXPECT_EQ(d.neck_hidden_sizes[6], 640);
    EXPECT_EQ(d.hidden_sizes[2], 240);
    EXPECT_EQ(d.patch_size, 2);
    EXPECT_EQ(d.output_stride, 32);
    EXPECT_EQ(d.atrous_rates[1], 12);
    EXPECT_EQ(d.hidden_act, tf::activation::silu);
    EXPECT_EQ(d.shape().hidden_size, 640);
    EXPECT_TRUE(d.image().any_size);
    EXPECT_EQ(d.image().height, 256);
    const auto c = load_mobilevit({{"image_size", {40, 24}}, {"expand_ratio", 2.5}});
    EXPECT_EQ(c.image().height, 40);
    EXPECT_EQ(c.image().width, 24);
    EXPECT_DOUBLE_EQ(c.expand_ratio, 2.5);
}

TEST(mobilevit, config_refusals) {
    expect_mobilevit_refused({{"neck_hidden_sizes", {16, 32, 64, 96, 128, 160, 640, 800}}}, "neck_hidden_sizes");
    expect_mobilevit_refused({{"hidden_sizes", {144, 192}}}, "hidden_sizes");
    expect_mobilevit_refused({{"atrous_rates", {6, 12}}}, "atrous_rates");
    expect_mobilevit_refused({{"num_attention_heads", 5}}, "num_attention_heads");
    expect_mobilevit_refused({{"conv_kernel_size", 4}}, "conv_kernel_size");
    expect_mobilevit_refused({{"patch_size", {2, 2}}}, "patch_size");
    expect_mobilevit_refused({{"hidden_act", "mish"}}, "hidden_act");
    expect_mobilevit_refused({{"is_causal", true}}, "is_causal");
}

// The rounding of the inverted residuals' width: make_divisible(round(in ·
// expand_ratio)), Python's round (ties to even).
TEST(mobilevit, expanded_widths) {
    EXPECT_EQ(tf::detail::mobilevit::make_divisible(64), 64);
    EXPECT_EQ(tf::detail::mobilevit::make_divisible(20), 24);
    EXPECT_EQ(tf::detail::mobilevit::make_divisible(3), 8);
    EXPECT_EQ(tf::detail::mobilevit::make_divisible(84), 88);
    EXPECT_EQ(tf::detail::mobilevit::make_divisible(83), 80);  // 80 >= 0.9 · 83
}

// output_stride 16: the last block dilated (no downsampling), at every size
// check_fixture runs (the fixture's, 37 x 45, 64 x 29).
TEST(mobilevit, output_stride_16) {
    check_fixture("mobilevit", "semantic-segmentation", fixture_dir("mobilevit-os16", "semantic-segmentation"));
}

// One graph against the reference pass at sizes whose MobileViT maps are
// whole patches (64 x 64), and not (from 1 x 1 up): the resize to whole
// patches and back.
TEST(mobilevit, graph_at_many_image_sizes) {
    for (const char* feature : {"default", "semantic-segmentation"}) {
        const auto dir = fixture_dir("mobilevit", feature);
        const auto m = load_fixture("mobilevit", dir);
        const auto& f = m.family().require(feature);
        tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
        for (const auto& [h, w] : std::vector<std::pair<std::int64_t, std::int64_t>>{{64, 64}, {33, 95}, {17, 20}}) {
            const auto feeds = f.make_inputs(m.config, {.batch = 2, .height = h, .width = w}, 9);
            const auto ref = f.reference(m.config, m.weights, feeds, nullptr);
            const auto onnx = ort.run(feeds);
            for (const auto& [name, want] : ref)
                EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), m.family().atol) << feature << " " << name << " at "
                                                                                   << h << " x " << w;
        }
    }
}
