// Llama 4 (text): its defaults, its per-layer patterns, its refusals, and the
// odd-sized fixture (layer_types apart from the RoPE layers, moe_layers, the
// llama3 scaling); features and generation: test_models.cpp.
#include "typeformer/models/llama4_text.hpp"

#include "harness.hpp"

namespace {
using l4_family = tf::llama4_text_family;
constexpr const char* l4_tiny = R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "intermediate_size": 16, "num_hidden_layers": 8, "vocab_size": 99)";

std::string l4_json(const std::string& extra = "") { return std::string(l4_tiny) + extra + "}"; }
tf::llama4_text_config l4_config(const std::string& extra = "") {
    return config_from_text<l4_family>(l4_json(extra).c_str());
}
std::string l4_error(const std::string& extra) { return config_error<l4_family>(l4_json(extra).c_str()); }
}  // namespace

// Llama4TextConfig's defaults: every fourth layer without RoPE (and global,
// with the temperature), the others chunked by 8192 with q/k norms; every
// layer a mixture of 16 experts, 1 per token; head_dim 128 and rope_theta
// 5e5 where absent; RoPE over interleaved pairs.
TEST(llama4_text, defaults_are_transformers) {
    const auto c = l4_config();
    for (std::int64_t i = 0; i < 8; ++i) {
        const bool rope = (i + 1) % 4 != 0;
        EXPECT_EQ(c.rope_layer(i), rope) << "layer " << i;
        EXPECT_EQ(c.window(i), rope ? 8192 : 0) << "layer " << i;
        EXPECT_TRUE(c.moe_layer(i)) << "layer " << i;
    }
    EXPECT_EQ(c.any_window(), 8192);
    EXPECT_EQ(c.attention_chunk(), 8192);
    EXPECT_TRUE(c.use_qk_norm);
    EXPECT_TRUE(c.attn_temperature_tuning);
    EXPECT_EQ(c.floor_scale, 8192);
    EXPECT_DOUBLE_EQ(c.attn_scale, 0.1);
    EXPECT_EQ(c.num_local_experts, 16);
    EXPECT_EQ(c.num_experts_per_tok, 1);
    EXPECT_EQ(c.intermediate_size_mlp, 16384);
    EXPECT_TRUE(c.rotary().interleaved);
    EXPECT_EQ(c.rotary().base, 500000.0);
    EXPECT_FALSE(c.qkv_bias());
    EXPECT_FALSE(c.o_bias());
    const auto d = config_from_text<l4_family>(R"({"num_hidden_layers": 2})");
    EXPECT_EQ(d.head_size(), 128);
    EXPECT_EQ(d.kv_heads(), 8);
    EXPECT_DOUBLE_EQ(d.rms_norm_eps, 1e-5);
}

// The per-layer switches: no_rope_layers (1: RoPE) over the interval, an
// empty list falls back to it; layer_types over the RoPE layers;
// moe_layers over interleave_moe_layer_step (from step - 1 on); attention_bias on q, k, v and o.
TEST(llama4_text, per_layer_switches) {
    auto c = l4_config(R"(, "no_rope_layers": [0, 1, 1, 1, 0, 1, 1, 1, 1, 0])");  // a longer list's tail is unread
    EXPECT_FALSE(c.rope_layer(0));
    EXPECT_TRUE(c.rope_layer(3));
    EXPECT_FALSE(c.rope_layer(4));
    EXPECT_EQ(c.window(0), 0);
    EXPECT_EQ(c.window(3), 8192);
    c = l4_config(R"(, "no_rope_layers": [], "no_rope_layer_interval": 2, "attention_chunk_size": 5)");
    for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(c.window(i), i % 2 == 0 ? 5 : 0) << "layer " << i;
    c = l4_config(R"(, "layer_types": ["full_attention", "chunked_attention", "full_attention", "chunked_attention",
        "full_attention", "full_attention", "full_attention", "full_attention"])");
    EXPECT_TRUE(c.rope_layer(0));
    EXPECT_EQ(c.window(0), 0);
    EXPECT_EQ(c.window(3), 8192);  // a layer without RoPE may still be chunked
    EXPECT_FALSE(c.rope_layer(3));
    c = l4_config(R"(, "layer_types": ["full_attention", "full_attention", "full_attention", "full_attention",
        "full_attention", "full_attention", "full_attention", "full_attention"])");
    EXPECT_EQ(c.any_window(), 0);
    c = l4_config(R"(, "interleave_moe_layer_step": 3)");
    for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(c.moe_layer(i), i == 2 || i == 5) << "layer " << i;
    c = l4_config(R"(, "interleave_moe_layer_step": 3, "moe_layers": [0, 7])");
    for (std::int64_t i = 0; i < 8; ++i) EXPECT_EQ(c.moe_layer(i), i == 0 || i == 7) << "layer " << i;
    c = l4_config(R"(, "moe_layers": null, "interleave_moe_layer_step": 2)");
    EXPECT_TRUE(c.moe_layer(1));
    EXPECT_FALSE(c.moe_layer(0));
    c = l4_config(R"(, "attention_bias": true)");
    EXPECT_TRUE(c.qkv_bias());
    EXPECT_TRUE(c.o_bias());
    c = l4_config(R"(, "rope_parameters": {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8})");
    EXPECT_EQ(c.rope_scaling, tf::llama_config::rope_scaling_kind::llama3);
    EXPECT_TRUE(c.rotary().interleaved);
    EXPECT_EQ(c.rotary().inv_freq.size(), 4u);
}

// What Transformers' Llama 4 does not compute, or fails on, refused by name.
TEST(llama4_text, refusals) {
    auto has = [](const std::string& e, std::string_view id, std::string_view what) {
        EXPECT_NE(e.find(id), std::string::npos) << e;
        EXPECT_NE(e.find(what), std::string::npos) << e;
    };
    has(l4_error(R"(, "attention_chunk_size": null)"), "config.unsupported", "/attention_chunk_size");
    has(l4_error(R"(, "attention_chunk_size": 0)"), "config.invalid", "attention_chunk_size");
    has(l4_error(R"(, "head_dim": null)"), "config.invalid", "/head_dim");
    has(l4_error(R"(, "head_dim": 0)"), "config.invalid", "/head_dim");
    has(l4_error(R"(, "no_rope_layers": [1, 0, 1])"), "config.invalid", "/no_rope_layers");
    has(l4_error(R"(, "no_rope_layers": [1, 0, 1, 1, 2, 1, 1, 1])"), "config.invalid", "/no_rope_layers/4");
    has(l4_error(R"(, "no_rope_layer_interval": 0)"), "config.invalid", "/no_rope_layer_interval");
    has(l4_error(R"(, "layer_types": ["sliding_attention", "full_attention", "full_attention", "full_attention",
        "full_attention", "full_attention", "full_attention", "full_attention"])"),
        "config.unsupported", "/layer_types/0");
    has(l4_error(R"(, "layer_types": ["full_attention"])"), "config.invalid", "/layer_types");
    has(l4_error(R"(, "moe_layers": [8])"), "config.invalid", "/moe_layers");
    has(l4_error(R"(, "interleave_moe_layer_step": 0)"), "config.invalid", "/interleave_moe_layer_step");
    has(l4_error(R"(, "num_experts_per_tok": 17)"), "config.invalid", "num_experts_per_tok");
    has(l4_error(R"(, "floor_scale": 0)"), "config.invalid", "floor_scale");
    has(l4_error(R"(, "rope_parameters": {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0})"),
        "config.unsupported", "dynamic");
    has(l4_error(R"(, "partial_rotary_factor": 0.5)"), "config.unsupported", "/partial_rotary_factor");
}

// The odd-sized fixture: hidden 24, head_dim 6, 3 layers; chunks of 4 on
// layer 0 only (layer 2 rotates but sees every key), moe_layers [0, 2], the
// llama3 scaling, attention_bias: the reference and the export against
// Transformers, greedy generation (also left-padded) through ONNX Runtime.
TEST(llama4_text, odd_sizes_layer_types_and_llama3) {
    const auto dir = fixture_dir("llama4_text-odd", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir / "io.safetensors")) << dir << ": run tools/fixtures/generate.py";
    check_fixture("llama4_text", "causal-lm-with-past", dir);
    check_generation("llama4_text", dir);
    check_generation("llama4_text", dir, 0, "generate_padded.safetensors");
}

// The chunked bias against Transformers' rule, key j visible from the query
// at p iff mask[j], j <= p and (j - l) // chunk == (p - l) // chunk (Python's
// floor division), l the row's left padding: 3 new tokens after a past of 6,
// rows left-padded by 0, 2 and 5, chunks of 3 and 4.
TEST(llama4_text, chunked_bias_is_transformers_rule) {
    tf::eval_backend b;
    const std::size_t T = 9, S = 3;
    const std::int64_t pads[] = {0, 2, 5};
    xt::xarray<std::int64_t> mask = xt::ones<std::int64_t>({std::size_t{3}, T});
    for (std::size_t r = 0; r < 3; ++r)
        for (std::int64_t j = 0; j < pads[r]; ++j) mask(r, static_cast<std::size_t>(j)) = 0;
    const xt::xarray<std::int64_t> ids = xt::zeros<std::int64_t>({std::size_t{3}, S});
    auto floordiv = [](std::int64_t a, std::int64_t c) { return a >= 0 ? a / c : -((-a + c - 1) / c); };
    for (const std::int64_t chunk : {3, 4}) {
        const auto bias = tf::chunked_bias(b, tf::eval_value(ids), tf::eval_value(mask), chunk).f;  // [B, 1, S, T]
        ASSERT_EQ(bias.dimension(), 4u);
        for (std::size_t r = 0; r < 3; ++r)
            for (std::size_t i = 0; i < S; ++i)
                for (std::size_t j = 0; j < T; ++j) {
                    const auto p = static_cast<std::int64_t>(T - S + i), k = static_cast<std::int64_t>(j);
                    const bool seen = mask(r, j) == 1 && k <= p &&
                                      floordiv(k - pads[r], chunk) == floordiv(p - pads[r], chunk);
                    EXPECT_EQ(bias(r, 0, i, j), seen ? 0.f : -3.4028234663852886e38f)
                        << "chunk " << chunk << " row " << r << " query " << p << " key " << k;
                }
    }
}
