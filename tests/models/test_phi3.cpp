// Phi-3: rope_scaling "su" and what it refuses (features and generation, whose
// long factors take over after the prompt: test_models.cpp).
#include "typeformer/models/phi3.hpp"

#include "harness.hpp"

// rope_scaling "su" picks its factors by max(position_ids) + 1, not by the
// sequence length (Transformers 4.41): 7 tokens at positions 0 0 0 0 1 2 3
// with original_max_position_embeddings 4 use the short factors. The
// reference and ONNX Runtime both match Transformers on that pass.
TEST(phi3, long_factors_follow_the_largest_position_not_the_length) {
    const auto dir = fixture_dir("phi3-short-positions", "causal-lm");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto m = load_fixture("phi3", dir);
    const auto& cfg = typed_config<tf::phi3_config>(m.config);
    ASSERT_EQ(cfg.rotary().original_max_positions, 4);
    ASSERT_FALSE(cfg.rotary().long_inv_freq_divisors.empty());
    const auto& f = m.family().require("causal-lm");
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto outputs = fixture_tensors(io, "output.");
    const auto& want = outputs.at("logits");
    ASSERT_EQ(inputs.at("input_ids").i.shape()[1], 7u);

    const auto ref = f.reference(m.config, m.weights, inputs, nullptr);
    EXPECT_LE(tf::max_abs_diff(ref.at("logits"), want), 1e-5) << "reference vs Transformers";

    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    EXPECT_LE(tf::max_abs_diff(ort.run(inputs).at("logits"), want), m.family().atol) << "ONNX Runtime vs Transformers";
}

// The settings Phi-3 refuses or rejects at load, each with one clear error.
TEST(phi3, reads_the_rope_scalings_it_reproduces_and_refuses_the_others) {
    auto load = [](const nlohmann::json& j) { return tf::phi3_family::load(tf::config_reader(j, "config.json")); };
    auto base = nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 37,
        "num_hidden_layers": 1, "vocab_size": 99})");
    EXPECT_NO_THROW(load(base));
    auto with = [&](const char* rope) {
        auto j = base;
        j["rope_scaling"] = nlohmann::json::parse(rope);
        return j;
    };
    auto error_id = [&](const nlohmann::json& j) -> std::string {
        try {
            load(j);
        } catch (const tf::error& e) {
            return std::string(e.id());
        }
        return "no error";
    };
    EXPECT_EQ(error_id(with(R"({"type": "su", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})")),
              "no error");
    // "longrope" is Transformers 5's name for "su": the same frequencies and attention factor
    EXPECT_EQ(error_id(with(R"({"type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})")),
              "no error");
    auto longer = [&](const char* rope) {  // max_position_embeddings 4 x original: attention factors differ from 1
        auto j = with(rope);
        j["max_position_embeddings"] = 16384;
        return load(j).rotary().attention_factor;
    };
    const double su = longer(R"({"type": "su", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})");
    EXPECT_EQ(longer(R"({"rope_type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})"), su);
    // Transformers 5 computes a "yarn" Phi-3 as longrope; 4.41 with yarn's attention factor 0.1 ln s + 1
    EXPECT_EQ(longer(R"({"type": "yarn", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})"), su);
    auto yarn41 = with(R"({"type": "yarn", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})");
    yarn41["max_position_embeddings"] = 16384;
    const auto c41 = tf::phi3_family::load(tf::config_reader(yarn41, "config.json").follow(tf::follow_transformers::v4_41));
    EXPECT_NEAR(c41.rotary().attention_factor, 0.1 * std::log(4.0) + 1, 1e-12);
    // 5.x's longrope overrides: an explicit attention_factor, or a factor in place of max / original
    auto explicit_factor = with(R"({"rope_type": "longrope", "short_factor": [1, 1, 1, 1],
        "long_factor": [2, 2, 2, 2], "attention_factor": 1.5})");
    EXPECT_EQ(load(explicit_factor).rotary().attention_factor, 1.5);
    EXPECT_EQ(longer(R"({"rope_type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2],
        "factor": 4.0})"), su);  // 16384 / 4096 = 4: the same s
    EXPECT_EQ(error_id(with(R"({"rope_type": "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2],
        "factor": 0})")), "config.invalid");
    // partial_rotary_factor (Phi-4-mini): int(8 · 0.75) = 6 rotated features, 3 factors each
    auto partial = base;
    partial["partial_rotary_factor"] = 0.75;
    EXPECT_EQ(load(partial).rotary().dims, 6);
    partial["rope_scaling"] = nlohmann::json::parse(R"({"type": "su", "short_factor": [1, 1, 1, 1], "long_factor": [2, 2, 2, 2]})");
    EXPECT_EQ(error_id(partial), "config.invalid");
    partial["rope_scaling"] = nlohmann::json::parse(R"({"type": "su", "short_factor": [1, 1, 1], "long_factor": [2, 2, 2]})");
    EXPECT_EQ(error_id(partial), "no error");
    partial.erase("rope_scaling");
    partial["partial_rotary_factor"] = 1.5;  // more features than the head has
    EXPECT_EQ(error_id(partial), "config.invalid");
    EXPECT_EQ(error_id(with(R"({"type": "linear", "factor": 2.0})")), "config.unsupported");
    EXPECT_EQ(error_id(with(R"({"type": "su", "short_factor": [1, 1, 1], "long_factor": [2, 2, 2, 2]})")),
              "config.invalid");
    EXPECT_EQ(error_id(with(R"({"type": "yarn", "short_factor": [1, 1, 1, 1]})")), "config.invalid");
    auto head_dim = base;
    head_dim["head_dim"] = 16;
    EXPECT_EQ(load(head_dim).cache().head_dim, 16);  // 5.x reads head_dim
}
