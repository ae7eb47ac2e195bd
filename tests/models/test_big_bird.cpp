// BigBird: the config's sparse settings and the switch between its two
// attention regimes. Its feature fixtures (test_models.cpp) run block-sparse
// attention (19 tokens, above the 14-token threshold of block_size 2 and one
// random block) for default, sequence-classification, multiple-choice and
// question-answering, the full-attention fallback (7 tokens) for masked-lm and
// causal-lm, and attention_type "original_full" for token-classification; the
// ONNX Runtime checks run one graph at 9 tokens (full) and 17 tokens (sparse).
#include "typeformer/models/big_bird.hpp"

#include "harness.hpp"

namespace {
tf::big_bird_config fixture_config(std::string_view feature) {
    const auto dir = fixture_dir("big_bird", feature);
    const auto json = tf::config_reader::load(dir / "config.json");
    return tf::big_bird_config_from_json(tf::config_reader(json, (dir / "config.json").string()));
}

/// last_hidden_state of the default fixture's model, read with `cfg`, on `feeds`.
tf::eval_value hidden(const tf::big_bird_config& cfg, const tf::tensor_map& feeds) {
    const auto m = load_fixture("big_bird", fixture_dir("big_bird", "default"));
    const auto edited = with_config(m.config, cfg);
    return m.family().require("default").reference(edited, m.weights, feeds, nullptr).at("last_hidden_state");
}

tf::tensor_map ones_input(std::size_t seq) {
    xt::xarray<std::int64_t> ids = xt::zeros<std::int64_t>(std::vector<std::size_t>{1, seq});
    for (std::size_t k = 0; k < seq; ++k) ids(0, k) = static_cast<std::int64_t>((k * 37 + 11) % 99);
    tf::tensor_map feeds;
    feeds.emplace("input_ids", tf::eval_value(ids));
    feeds.emplace("attention_mask", tf::eval_value(xt::xarray<std::int64_t>(xt::ones<std::int64_t>(ids.shape()))));
    return feeds;
}
}  // namespace

TEST(big_bird, config_reads_the_sparse_fields) {
    const auto c = fixture_config("default");
    EXPECT_TRUE(c.block_sparse);
    EXPECT_EQ(c.block_size, 2);
    EXPECT_EQ(c.num_random_blocks, 1);
    EXPECT_EQ(c.full_attention_limit(), 14);
    EXPECT_FALSE(fixture_config("token-classification").block_sparse);
}

// The regimes really differ: at 15 tokens (just above the threshold) the
// block-sparse graph differs from full attention, at 14 it is full attention.
TEST(big_bird, the_threshold_switches_the_attention) {
    auto sparse = fixture_config("default");
    auto full = sparse;
    full.block_sparse = false;
    const auto at14 = ones_input(14), at15 = ones_input(15);
    EXPECT_EQ(tf::max_abs_diff(hidden(sparse, at14), hidden(full, at14)), 0.0);
    EXPECT_GT(tf::max_abs_diff(hidden(sparse, at15), hidden(full, at15)), 1e-3);
}

TEST(big_bird, unsupported_config_values_are_refused_by_name) {
    const nlohmann::json j = {{"attention_type", "sliding"}};
    EXPECT_THROW(
        {
            try {
                tf::big_bird_config_from_json(tf::config_reader(j, "config.json"));
            } catch (const tf::error& e) {
                EXPECT_NE(std::string(e.what()).find("/attention_type"), std::string::npos) << e.what();
                throw;
            }
        },
        tf::error);
    const nlohmann::json r = {{"rescale_embeddings", true}};
    EXPECT_THROW(tf::big_bird_config_from_json(tf::config_reader(r, "config.json")), tf::error);
}
