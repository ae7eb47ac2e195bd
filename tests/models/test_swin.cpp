// Swin: the config's keys and refusals, and one graph at many image sizes
// (features against Transformers: test_models.cpp).
#include "typeformer/models/swin.hpp"

#include <iostream>

#include "harness.hpp"

TEST(swin, config_reading) {
    const auto d = config_from_text<tf::swin_family>("{}");  // SwinConfig's defaults: swin-tiny
    EXPECT_EQ(d.stages, 4);
    EXPECT_EQ(d.width(), 768);
    EXPECT_EQ(d.shape().hidden_size, 768);
    EXPECT_EQ(d.swin().mlp_width(0), 384);
    EXPECT_TRUE(d.image().any_size);
    EXPECT_EQ(d.patches().rows, 7);  // 224 / 4 = 56, halved three times
    const auto c = config_from_text<tf::swin_family>(R"({"image_size": [40, 24], "patch_size": [4, 2], "depths": [1, 3], "num_heads": [2, 4],
                                 "embed_dim": 12, "mlp_ratio": 2.5, "num_layers": 2,
                                 "use_absolute_embeddings": true})");
    EXPECT_EQ(c.stages, 2);
    EXPECT_EQ(c.depths[1], 3);
    EXPECT_EQ(c.num_heads[1], 4);
    EXPECT_EQ(c.width(), 24);
    EXPECT_EQ(c.swin().mlp_width(0), 30);
    EXPECT_EQ(c.swin().position_rows, 10);
    EXPECT_EQ(c.swin().position_cols, 12);
    EXPECT_FALSE(c.image().any_size);  // absolute positions fix the size
    EXPECT_EQ(c.image().height, 40);
    EXPECT_EQ(c.image().width, 24);
}

TEST(swin, config_refusals) {
    auto has = [](const std::string& e, const char* what) { return e.find(what) != std::string::npos; };
    const auto layers = config_error<tf::swin_family>(R"({"depths": [2, 2], "num_heads": [2, 4], "num_layers": 3})");
    EXPECT_TRUE(has(layers, "config.unsupported") && has(layers, "num_layers")) << layers;
    EXPECT_TRUE(has(config_error<tf::swin_family>(R"({"depths": [2, 2], "num_heads": [2]})"), "num_heads"));
    EXPECT_TRUE(has(config_error<tf::swin_family>(R"({"depths": [1, 1, 1, 1, 1, 1, 1, 1, 1], "num_heads": [1, 1, 1, 1, 1, 1, 1, 1, 1]})"),
                    "depths"));
    EXPECT_TRUE(has(config_error<tf::swin_family>(R"({"embed_dim": 10, "depths": [2], "num_heads": [3]})"), "num_heads"));
    const auto absolute = config_error<tf::swin_family>(R"({"use_absolute_embeddings": true, "image_size": 30, "patch_size": 4})");
    EXPECT_TRUE(has(absolute, "use_absolute_embeddings")) << absolute;
    EXPECT_TRUE(has(config_error<tf::swin_family>(R"({"image_size": [1, 2, 3]})"), "image_size"));
    EXPECT_TRUE(has(config_error<tf::swin_family>(R"({"is_causal": true})"), "is_causal"));
}

// One graph for every image size: ONNX Runtime against the reference pass
// from the smallest image Transformers reads (the last stage exactly the
// window) up, square or not, odd or even, each a new padding of the patches,
// the windows and the merging, and the shift on or off by stage. Below that
// size the reference refuses the image by name and the graph fails.
TEST(swin, graph_at_every_image_size) {
    struct sizes {
        const char* feature;
        std::vector<std::pair<std::int64_t, std::int64_t>> good, bad;
    };
    // default: patch 3, window 3, three stages: 25 pixels make 9, 5, 3 patches
    // classifier: patch 4, window 4, two stages: 25 pixels make 7, 4 patches
    const std::vector<sizes> cases{
        {"default", {{25, 25}, {25, 40}, {31, 26}, {33, 49}, {48, 27}, {50, 50}, {61, 37}}, {{24, 30}, {40, 22}}},
        {"image-classification", {{25, 25}, {25, 45}, {33, 40}, {57, 30}, {64, 64}}, {{24, 40}, {40, 20}}}};
    for (const auto& [feature, good, bad] : cases) {
        SCOPED_TRACE(feature);
        const auto dir = fixture_dir("swin", feature);
        const auto m = load_fixture("swin", dir);
        const auto& f = m.family().require(feature);
        tf::weight_cache weights;
        tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
        double worst = 0;
        for (const auto& [h, w] : good) {
            const auto feeds = f.make_inputs(m.config, {.batch = 2, .height = h, .width = w}, 11);
            const auto ref = f.reference(m.config, m.weights, feeds, &weights);
            const auto onnx = ort.run(feeds);
            for (const auto& [name, want] : ref) {
                const auto d = tf::max_abs_diff(onnx.at(name), want);
                worst = std::max(worst, d);
                EXPECT_LE(d, m.family().atol) << name << " at " << h << " x " << w;
            }
        }
        std::cout << "swin/" << feature << ": ONNX Runtime vs the reference at " << good.size()
                  << " image sizes, max diff " << worst << "\n";
        for (const auto& [h, w] : bad) {
            const auto feeds = f.make_inputs(m.config, {.batch = 1, .height = h, .width = w}, 11);
            try {
                f.reference(m.config, m.weights, feeds, &weights);
                ADD_FAILURE() << "the reference computed " << h << " x " << w;
            } catch (const tf::error& e) {
                EXPECT_EQ(std::string(e.id()), "swin.image_size") << e.what();
            }
            EXPECT_ANY_THROW(ort.run(feeds)) << h << " x " << w;
        }
    }
}

// The reference pass against Transformers on each fixture, as check_fixture
// compares it, with the largest difference printed.
TEST(swin, reference_matches_transformers) {
    for (const char* feature : {"default", "image-classification", "masked-im"}) {
        const auto dir = fixture_dir("swin", feature);
        const auto m = load_fixture("swin", dir);
        const auto io = tf::safetensors_file::open(dir / "io.safetensors");
        const auto inputs = fixture_tensors(io, "input.");
        const auto got = m.family().require(feature).reference(m.config, m.weights, inputs, nullptr);
        for (const auto& [name, want] : fixture_tensors(io, "output.")) {
            const auto d = fixture_diff(io, inputs, got.at(name), want);
            std::cout << "swin/" << feature << " " << name << ": reference vs Transformers, max diff " << d << "\n";
            EXPECT_LE(d, 1e-5) << feature;
        }
    }
}
