// BLOOM: config aliases and refusals, ALiBi slopes, and ONNX Runtime at a
// long past (its features and generation: test_models.cpp).
#include "typeformer/models/bloom.hpp"

#include "harness.hpp"

namespace {
tf::bloom_config load_bloom(const nlohmann::json& j) { return tf::bloom_family::load(tf::config_reader(j, "config.json")); }
}  // namespace

TEST(bloom, config_aliases_win_as_in_transformers) {
    const auto c = load_bloom({{"hidden_size", 64}, {"n_embed", 48}, {"n_head", 8}, {"num_attention_heads", 6},
                         {"n_layer", 2}, {"num_hidden_layers", 3}});
    EXPECT_EQ(c.hidden_size, 48);
    EXPECT_EQ(c.n_head, 6);
    EXPECT_EQ(c.n_layer, 3);
    const auto kv = c.cache();
    EXPECT_EQ(kv.layout, tf::kv_layout::bloom);
    EXPECT_EQ(kv.head_dim, 8);
}

TEST(bloom, slow_but_exact_tensor_parallel_is_refused_by_name) {
    EXPECT_NO_THROW(load_bloom({{"pretraining_tp", 4}}));
    EXPECT_NO_THROW(load_bloom({{"slow_but_exact", true}}));
    try {
        load_bloom({{"pretraining_tp", 4}, {"slow_but_exact", true}});
        ADD_FAILURE() << "pretraining_tp 4 with slow_but_exact was accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported");
        EXPECT_NE(std::string(e.what()).find("/slow_but_exact"), std::string::npos) << e.what();
    }
}

TEST(bloom, alibi_slopes_are_build_alibi_tensors) {
    // powers of 2^-(8/n) for the closest power of two n, then odd powers of 2^-(4/n)
    EXPECT_EQ(tf::alibi_slopes(4), (std::vector<float>{0.25f, 0.0625f, 0.015625f, 0.00390625f}));
    EXPECT_EQ(tf::alibi_slopes(6), (std::vector<float>{0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f}));
    EXPECT_EQ(tf::alibi_slopes(8).front(), 0.5f);
    EXPECT_EQ(tf::alibi_slopes(8).back(), 1.f / 256);
    // 12 heads: 8 slopes of 2^-1, then 2^-0.5 to the powers 1, 3, 5, 7 (float32 base, as torch)
    const auto s = tf::alibi_slopes(12);
    ASSERT_EQ(s.size(), 12u);
    const float r = static_cast<float>(std::pow(2.0, -0.5));
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(s[8 + static_cast<std::size_t>(i)], static_cast<float>(std::pow(static_cast<double>(r), 1 + 2 * i)));
}

// ALiBi grows with the position: ONNX Runtime against the reference pass at
// a long past (and an empty one), far tighter than the legacy 1e-3.
TEST(bloom, onnxruntime_matches_the_reference_at_a_long_past) {
    const auto dir = fixture_dir("bloom", "causal-lm-with-past");
    const auto m = load_fixture("bloom", dir);
    const auto& f = m.family().require("causal-lm-with-past");
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    tf::weight_cache weights;
    for (tf::axis_sizes n : {tf::axis_sizes{2, 9, 1, 120}, tf::axis_sizes{3, 64, 1, 0}}) {
        const auto feeds = f.make_inputs(m.config, n, 11);
        const auto ref = f.reference(m.config, m.weights, feeds, &weights);
        const auto onnx = ort.run(feeds);
        for (const auto& [name, want] : ref)
            EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), 2e-5)
                << name << " at past " << n.past << " sequence " << n.sequence;
    }
}
