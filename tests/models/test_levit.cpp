// LeViT: the config's keys and refusals (features against Transformers:
// test_models.cpp).
#include "typeformer/models/levit.hpp"

#include <iostream>

#include "harness.hpp"

TEST(levit, config_reading) {
    const auto d = config_from_text<tf::levit_family>("{}");  // LevitConfig's defaults: levit-128S
    EXPECT_EQ(d.stem_side(), 14);
    EXPECT_EQ(d.resolution(0), 14);
    EXPECT_EQ(d.resolution(1), 7);
    EXPECT_EQ(d.resolution(2), 4);
    EXPECT_FALSE(d.image().any_size);
    EXPECT_EQ(d.image().height, 224);
    EXPECT_FALSE(d.with_teacher);
    EXPECT_TRUE(config_from_text<tf::levit_family>(R"({"architectures": ["LevitForImageClassificationWithTeacher"]})").with_teacher);
    EXPECT_FALSE(config_from_text<tf::levit_family>(R"({"architectures": ["LevitForImageClassification",
                                                  "LevitForImageClassificationWithTeacher"]})").with_teacher);
    // config.json as Transformers saves it: the computed down_ops, then [""]
    EXPECT_EQ(config_error<tf::levit_family>(R"({"down_ops": [["Subsample", 16, 8, 4, 2, 2], ["Subsample", 16, 16, 4, 2, 2], [""]]})"),
              "none");
}

TEST(levit, attention_bias_index) {
    // LevitAttention on a 3 x 3 grid: the offset (|dy|, |dx|) first met at
    // query 0 (the corner) is dy · 3 + dx, and all 9 are met there
    const auto [idx, n] = tf::detail::levit::bias_index(3, 3, 1);
    EXPECT_EQ(n, 9);
    ASSERT_EQ(idx.size(), 81u);
    for (std::int64_t a = 0; a < 9; ++a)
        for (std::int64_t p = 0; p < 9; ++p)
            EXPECT_EQ(idx[a * 9 + p], std::abs(a / 3 - p / 3) * 3 + std::abs(a % 3 - p % 3));
    // subsampling 5 x 5 to 3 x 3 (stride 2): query (1, 1) sits on key (2, 2)
    const auto [sub, m] = tf::detail::levit::bias_index(3, 5, 2);
    EXPECT_EQ(m, 25);
    EXPECT_EQ(sub[4 * 25 + 12], 0);
}

TEST(levit, config_refusals) {
    auto has = [](const std::string& e, const char* what) { return e.find(what) != std::string::npos; };
    const auto stages = config_error<tf::levit_family>(R"({"hidden_sizes": [16, 32], "num_attention_heads": [2, 2], "depths": [1, 1],
                                        "key_dim": [4, 4], "mlp_ratio": [2, 2], "attention_ratio": [2, 2]})");
    EXPECT_TRUE(has(stages, "3 stages")) << stages;
    const auto size = config_error<tf::levit_family>(R"({"image_size": 200})");  // stem 13, 200 // 16 = 12
    EXPECT_TRUE(has(size, "image_size")) << size;
    const auto ops = config_error<tf::levit_family>(R"({"down_ops": [["Subsample", 16, 8, 4, 2, 2], ["Subsample", 16, 16, 2, 2, 2]]})");
    EXPECT_TRUE(has(ops, "config.unsupported") && has(ops, "down_ops")) << ops;
    EXPECT_TRUE(has(config_error<tf::levit_family>(R"({"image_size": [224, 224]})"), "image_size"));
    EXPECT_TRUE(has(config_error<tf::levit_family>(R"({"hidden_sizes": [4, 256, 384]})"), "hidden_sizes"));
}

// The reference pass against Transformers and ONNX Runtime against the
// reference on each fixture, with the largest differences printed.
TEST(levit, measured_differences) {
    for (const char* feature : {"default", "image-classification"}) {
        const auto dir = fixture_dir("levit", feature);
        const auto m = load_fixture("levit", dir);
        const auto& f = m.family().require(feature);
        const auto io = tf::safetensors_file::open(dir / "io.safetensors");
        const auto inputs = fixture_tensors(io, "input.");
        const auto got = f.reference(m.config, m.weights, inputs, nullptr);
        for (const auto& [name, want] : fixture_tensors(io, "output.")) {
            const auto d = fixture_diff(io, inputs, got.at(name), want);
            std::cout << "levit/" << feature << " " << name << ": reference vs Transformers, max diff " << d << "\n";
            EXPECT_LE(d, 1e-5) << feature;
        }
        tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
        const auto onnx = ort.run(inputs);
        for (const auto& [name, want] : got) {
            const auto d = tf::max_abs_diff(onnx.at(name), want);
            std::cout << "levit/" << feature << " " << name << ": ONNX Runtime vs the reference, max diff " << d << "\n";
            EXPECT_LE(d, m.family().atol) << feature;
        }
    }
}
