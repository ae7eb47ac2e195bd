// Granite SWA: its sliding layers, per-layer RoPE bases, attention sinks and
// refusals (features and generation: test_models.cpp).
#include "typeformer/models/granite_swa.hpp"

#include "typeformer/backend/eval.hpp"

#include "harness.hpp"

namespace {
using granite_swa_f = tf::granite_swa_family;

std::string granite_swa_with(const char* extra) {
    auto j = nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 37, "num_hidden_layers": 6, "vocab_size": 99})");
    j.update(nlohmann::json::parse(extra));
    return j.dump();
}
}  // namespace

// GraniteSWAConfig's defaults: every fourth layer from 0 full, the others
// windowed at 128 keys; every layer turned at rope_theta; the LM head tied.
TEST(granite_swa, defaults_are_transformers) {
    const auto d = config_from_text<granite_swa_f>("{}");
    EXPECT_EQ(d.vocab_size, 100352);
    EXPECT_EQ(d.kv_heads(), 4);
    EXPECT_TRUE(d.tie_word_embeddings);
    const auto c = config_from_text<granite_swa_f>(granite_swa_with("{}").c_str());
    for (std::int64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(c.window(i), i % 4 == 0 ? 0 : 128) << i;
        EXPECT_TRUE(c.rope_layer(i)) << i;
    }
    EXPECT_EQ(c.rotary().base, 10000.0);
}

// layer_rope_theta: 0 is no RoPE on that layer; the other layers' base
// replaces rope_theta.
TEST(granite_swa, layer_rope_theta_sets_the_base_and_the_nope_layers) {
    const auto c = config_from_text<granite_swa_f>(
        granite_swa_with(R"({"layer_rope_theta": [0, 500.0, 500, 0, 500.0, 500.0], "sliding_window": 7})").c_str());
    for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(c.rope_layer(i), i != 0 && i != 3) << i;
    EXPECT_EQ(c.rotary().base, 500.0);
    EXPECT_EQ(c.window(1), 7);
}

// The sink is one more logit in each head's softmax: with every score 0 over
// T keys and a sink s, each key's probability is 1 / (T + e^s), so a value
// of ones comes out as T / (T + e^s), as sigmoid(log T - s) scales it.
TEST(granite_swa, sinks_scale_the_attention_output) {
    tf::eval_backend b;
    const std::int64_t H = 2, D = 2, T = 3;
    tf::decoder_tables<tf::eval_value> t;
    t.bias = tf::eval_value(xt::xarray<float>(xt::zeros<float>({1, 1, 3, 3})));  // every key visible
    tf::layer_cache<tf::eval_value> cache;
    const tf::eval_value q(xt::xarray<float>(xt::zeros<float>({1, 3, 4}))), k(q);
    const tf::eval_value v(xt::xarray<float>(xt::ones<float>({1, 3, 4})));
    const tf::eval_value sinks(xt::xarray<float>({0.f, 1.5f}));
    const auto y = tf::cached_attention(b, q, k, v, t, cache, {H, H, D, 1.f}, nullptr, false, &sinks);
    for (std::int64_t h = 0; h < H; ++h) {
        const double s = h == 0 ? 0.0 : 1.5;
        const double want = T / (T + std::exp(s));
        for (std::int64_t d = 0; d < D; ++d) EXPECT_NEAR(y.f(0, 2, h * D + d), want, 1e-6) << h;
    }
}

TEST(granite_swa, refuses_what_it_cannot_export_exactly) {
    EXPECT_NE(config_error<granite_swa_f>(granite_swa_with(R"({"layer_rope_theta": [0, 500, 1000, 0, 500, 500]})").c_str())
                  .find("/layer_rope_theta: 500.000000 and 1000.000000 is not supported"),
              std::string::npos);
    EXPECT_NE(config_error<granite_swa_f>(granite_swa_with(R"({"layer_rope_theta": [0, 500]})").c_str())
                  .find("/layer_rope_theta: 2 bases for num_hidden_layers 6"),
              std::string::npos);
    EXPECT_NE(config_error<granite_swa_f>(granite_swa_with(R"({"sliding_window": null})").c_str())
                  .find("/sliding_window: null with \"sliding_attention\" layers"),
              std::string::npos);
    EXPECT_EQ(config_error<granite_swa_f>(granite_swa_with(R"({"sliding_window": null, "layer_types": ["full_attention",
        "full_attention", "full_attention", "full_attention", "full_attention", "full_attention"]})").c_str()),
              "none");
    EXPECT_NE(config_error<granite_swa_f>(granite_swa_with(R"({"partial_rotary_factor": 0.5})").c_str())
                  .find("/partial_rotary_factor"),
              std::string::npos);
    EXPECT_NE(config_error<granite_swa_f>(granite_swa_with(R"({"rope_parameters": {"rope_type": "dynamic", "factor": 2.0}})").c_str())
                  .find("config.unsupported"),
              std::string::npos);
}
