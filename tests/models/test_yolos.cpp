// YOLOS: the config's keys and refusals, and one graph at many image sizes
// (features against Transformers: test_models.cpp).
#include "typeformer/models/yolos.hpp"

#include <iostream>

#include "harness.hpp"

TEST(yolos, config_reading) {
    const auto d = config_from_text<tf::yolos_family>("{}");  // YolosConfig's defaults: yolos-base
    EXPECT_EQ(d.image_height, 512);
    EXPECT_EQ(d.image_width, 864);
    EXPECT_EQ(d.num_detection_tokens, 100);
    EXPECT_TRUE(d.use_mid_position_embeddings);
    EXPECT_TRUE(d.image().any_size);
    const auto g = d.patches();
    EXPECT_EQ(g.rows, 32);
    EXPECT_EQ(g.cols, 54);
    EXPECT_EQ(g.tokens(), 1 + 32 * 54 + 100);
    EXPECT_TRUE(g.resize_positions);
    const auto c = config_from_text<tf::yolos_family>(R"({"image_size": [30, 20], "patch_size": 4, "num_detection_tokens": 3,
                                  "use_mid_position_embeddings": false, "num_hidden_layers": 1})");
    EXPECT_EQ(c.patches().rows, 7);
    EXPECT_EQ(c.patches().cols, 5);
    EXPECT_EQ(c.patches().tokens(), 1 + 35 + 3);
}

TEST(yolos, config_refusals) {
    auto has = [](const std::string& e, const char* what) { return e.find(what) != std::string::npos; };
    // Transformers indexes image_size: an integer fails there
    const auto single = config_error<tf::yolos_family>(R"({"image_size": 224})");
    EXPECT_TRUE(has(single, "image_size")) << single;
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"image_size": [1, 2, 3]})"), "image_size"));
    // its interpolation divides by patch_size as a number
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"patch_size": [16, 16]})"), "patch_size"));
    // mid-layer positions sized by h·w // p² but laid on (h // p) x (w // p)
    const auto mid = config_error<tf::yolos_family>(R"({"image_size": [31, 36], "patch_size": 6})");
    EXPECT_TRUE(has(mid, "use_mid_position_embeddings")) << mid;
    EXPECT_EQ(config_error<tf::yolos_family>(R"({"image_size": [31, 36], "patch_size": 6, "use_mid_position_embeddings": false})"),
              "none");
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"num_hidden_layers": 1})"), "use_mid_position_embeddings"));
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"num_detection_tokens": 0})"), "num_detection_tokens"));
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"image_size": [10, 30], "patch_size": 16})"), "image_size"));
    EXPECT_TRUE(has(config_error<tf::yolos_family>(R"({"is_causal": true})"), "is_causal"));
}

// One graph for every image size: the learned positions resized in the
// graph to the run's patch grid, up or down on either side, against the
// reference pass (which resizes them as Transformers does); the config's
// own size (the resize an identity) among them. An image smaller than one
// patch is refused by the Conv2d in both.
TEST(yolos, graph_at_every_image_size) {
    struct sizes {
        const char* feature;
        std::vector<std::pair<std::int64_t, std::int64_t>> good;
        std::pair<std::int64_t, std::int64_t> bad;
    };
    // default: patch 6 on a 30 x 42 config (5 x 7); detection: patch 8 on 32 x 24 (4 x 3)
    const std::vector<sizes> cases{
        {"default", {{6, 6}, {30, 42}, {13, 50}, {41, 29}, {47, 47}, {90, 11}}, {5, 30}},
        {"object-detection", {{8, 8}, {32, 24}, {9, 63}, {47, 40}, {70, 17}}, {40, 7}}};
    for (const auto& [feature, good, bad] : cases) {
        SCOPED_TRACE(feature);
        const auto dir = fixture_dir("yolos", feature);
        const auto m = load_fixture("yolos", dir);
        const auto& f = m.family().require(feature);
        tf::weight_cache weights;
        tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
        double worst = 0;
        for (const auto& [h, w] : good) {
            const auto feeds = f.make_inputs(m.config, {.batch = 2, .height = h, .width = w}, 11);
            const auto ref = f.reference(m.config, m.weights, feeds, &weights);
            const auto onnx = ort.run(feeds);
            for (const auto& [name, want] : ref) {
                ASSERT_EQ(onnx.at(name).shape(), want.shape()) << name << " at " << h << " x " << w;
                const auto d = tf::max_abs_diff(onnx.at(name), want);
                worst = std::max(worst, d);
                EXPECT_LE(d, m.family().atol) << name << " at " << h << " x " << w;
            }
        }
        std::cout << "yolos/" << feature << ": ONNX Runtime vs the reference at " << good.size()
                  << " image sizes, max diff " << worst << "\n";
        const auto feeds = f.make_inputs(m.config, {.batch = 1, .height = bad.first, .width = bad.second}, 11);
        EXPECT_THROW(f.reference(m.config, m.weights, feeds, &weights), tf::error);
        EXPECT_ANY_THROW(ort.run(feeds));
    }
}

// The reference pass against Transformers on each fixture (images never of
// the config's size: the positions resized), with the largest difference printed.
TEST(yolos, reference_matches_transformers) {
    for (const char* feature : {"default", "object-detection"}) {
        const auto dir = fixture_dir("yolos", feature);
        const auto m = load_fixture("yolos", dir);
        const auto io = tf::safetensors_file::open(dir / "io.safetensors");
        const auto inputs = fixture_tensors(io, "input.");
        const auto got = m.family().require(feature).reference(m.config, m.weights, inputs, nullptr);
        for (const auto& [name, want] : fixture_tensors(io, "output.")) {
            const auto d = fixture_diff(io, inputs, got.at(name), want);
            std::cout << "yolos/" << feature << " " << name << ": reference vs Transformers, max diff " << d << "\n";
            EXPECT_LE(d, 1e-5) << feature;
        }
    }
}
