// MobileBERT: its switches and config rules (features: test_models.cpp).
#include "typeformer/models/mobilebert.hpp"

#include "harness.hpp"

namespace {
/// The default fixture's reference output with one config field edited.
tf::tensor_map run_edited(const char* key, const nlohmann::json& v) {
    const auto dir = fixture_dir("mobilebert", "default");
    auto json = tf::config_reader::load(dir / "config.json");
    json[key] = v;
    const auto m = tf::load_model(tf::require_family("mobilebert"), dir, json);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    return m.family().require("default").reference(m.config, m.weights, fixture_tensors(io, "input."), nullptr);
}
}  // namespace

// The switches are read and change the computation: the default fixture
// (no_norm, trigram input) run as layer_norm differs from Transformers.
TEST(mobilebert, normalization_type_is_read) {
    const auto io = tf::safetensors_file::open(fixture_dir("mobilebert", "default") / "io.safetensors");
    const auto want = fixture_tensors(io, "output.").at("last_hidden_state");
    EXPECT_LE(tf::max_abs_diff(run_edited("normalization_type", "no_norm").at("last_hidden_state"), want), 1e-5);
    EXPECT_GT(tf::max_abs_diff(run_edited("normalization_type", "layer_norm").at("last_hidden_state"), want), 1e-2);
    EXPECT_THROW(run_edited("normalization_type", "batch_norm"), tf::error);
}

TEST(mobilebert, config_checks) {
    tf::mobilebert_config c{};
    EXPECT_TRUE(tf::check(c));
    c.embedding_size = c.hidden_size + 1;  // the MLM head splits hidden_size into embedding_size and the rest
    EXPECT_THROW(tf::check(c), tf::error);
    c.embedding_size = 128;
    c.num_feedforward_networks = 0;
    EXPECT_THROW(tf::check(c), tf::error);
    c.num_feedforward_networks = 4;
    c.intra_bottleneck_size = 126;  // not divisible by 4 heads
    EXPECT_THROW(tf::check(c), tf::error);
}
