// Gemma 4 (text): what its fixtures do not show: its defaults, the RoPE per
// layer type (proportional), the layer types, k = v, the full-attention
// layers' own sizes as the hub's config.json and 5.x's per_layer_config
// state them, and its refusals
// (features and generation: test_models.cpp).
#include "typeformer/models/gemma4_text.hpp"

#include "harness.hpp"

namespace {
using gemma4_f = tf::gemma4_text_family;

constexpr const char* gemma4_tiny = R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 8, "global_head_dim": 8, "intermediate_size": 37, "num_hidden_layers": 7, "vocab_size": 99)";

/// gemma4_tiny with `more` (",\"key\": value, ...") before its closing brace.
std::string gemma4_with(std::string_view more) { return std::string(gemma4_tiny) + std::string(more) + "}"; }
}  // namespace

// Gemma4TextConfig's defaults: every sixth layer full (and the last one),
// windows of 512, per-layer inputs of 256, the full layers' proportional RoPE
// (a quarter of each head, theta 1e6), the sliding layers' default one.
TEST(gemma4_text, defaults_are_transformers) {
    const auto c = config_from_text<gemma4_f>(gemma4_with("").c_str());
    for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(c.window(i), i == 5 || i == 6 ? 0 : 512) << "layer " << i;
    EXPECT_EQ(c.hidden_size_per_layer_input, 256);
    EXPECT_EQ(c.vocab_size_per_layer_input, 262144);
    EXPECT_EQ(c.attention_scale(), 1.f);
    EXPECT_EQ(c.norm(), tf::norm_kind::rms_reciprocal);
    EXPECT_EQ(c.softcaps().logits, 0.f);
    EXPECT_EQ(c.shape().act, tf::activation::gelu_new);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_FALSE(c.k_is_v(5));
    const auto full = c.rotary(), sliding = c.local_rotary();
    EXPECT_EQ(full.dims, 8);
    EXPECT_EQ(sliding.dims, 8);
    // proportional 0.25 of 8 features: int(0.25 * 8 // 2) = 1 angle of 4, theta^(0/8) = 1; the rest unturned
    EXPECT_EQ(full.inv_freq, (std::vector<float>{1.f, 0.f, 0.f, 0.f}));
    EXPECT_EQ(sliding.inv_freq[0], 1.f);
    EXPECT_FLOAT_EQ(sliding.inv_freq[1], 1.f / std::pow(10000.f, 0.25f));
    EXPECT_GT(sliding.inv_freq[3], 0.f);
}

// proportional: the first int(f * D // 2) frequencies theta^(-2i/D) (over the
// whole head, not the rotated part), divided by factor; default ignores
// partial_rotary_factor; the last layer is full whatever layer_types says.
TEST(gemma4_text, rope_per_layer_type_and_layer_types) {
    const auto c = config_from_text<gemma4_f>(gemma4_with(R"(, "rope_parameters": {
        "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.5, "factor": 2.0, "rope_theta": 100.0},
        "sliding_attention": {"rope_type": "default", "partial_rotary_factor": 0.5, "rope_theta": 10.0}},
        "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                        "sliding_attention", "sliding_attention", "sliding_attention"], "sliding_window": 3)")
                                                      .c_str());
    const auto full = c.rotary();
    ASSERT_EQ(full.inv_freq.size(), 4u);
    EXPECT_FLOAT_EQ(full.inv_freq[0], 0.5f);
    EXPECT_FLOAT_EQ(full.inv_freq[1], 1.f / std::pow(100.f, 0.25f) / 2.f);
    EXPECT_EQ(full.inv_freq[2], 0.f);
    EXPECT_EQ(full.inv_freq[3], 0.f);
    const auto sliding = c.local_rotary();
    EXPECT_FLOAT_EQ(sliding.inv_freq[3], 1.f / std::pow(10.f, 0.75f));  // the whole head
    for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(c.window(i), i == 1 || i == 6 ? 0 : 3) << "layer " << i;
    // the top-level rope_theta and partial_rotary_factor fill what an object leaves out
    const auto top = config_from_text<gemma4_f>(gemma4_with(R"(, "rope_theta": 100.0, "partial_rotary_factor": 0.5,
        "rope_parameters": {"full_attention": {"rope_type": "proportional"},
                            "sliding_attention": {"rope_type": "default", "rope_theta": 10.0}})")
                                                    .c_str());
    EXPECT_EQ(top.full_rope.theta, 100.0);
    EXPECT_EQ(top.full_rope.proportion, 0.5);
    EXPECT_EQ(top.sliding_rope.theta, 10.0);
}

// attention_k_eq_v: the full-attention layers take v from k_proj.
TEST(gemma4_text, k_eq_v_on_full_layers) {
    const auto c = config_from_text<gemma4_f>(gemma4_with(R"(, "attention_k_eq_v": true)").c_str());
    for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(c.k_is_v(i), i == 5 || i == 6) << "layer " << i;
    // the same number of key/value heads written as num_global_key_value_heads is fine
    EXPECT_EQ(config_error<gemma4_f>(
                  gemma4_with(R"(, "attention_k_eq_v": true, "num_global_key_value_heads": 2)").c_str()),
              "none");
}

// The full-attention layers' own head size and key/value heads: global_head_dim
// (512 when absent) and, with attention_k_eq_v only, num_global_key_value_heads
// (the hub's form), or per_layer_config (5.x's saved form): the same model.
// Their projections, RoPE table and cache take those sizes; the cache's
// inputs state each layer's.
TEST(gemma4_text, full_layers_own_sizes) {
    const auto absent = config_from_text<gemma4_f>(R"({"hidden_size": 32, "num_attention_heads": 4, "head_dim": 8,
        "num_hidden_layers": 7})");
    EXPECT_EQ(absent.layer_head_size(6), 512);
    EXPECT_EQ(absent.layer_head_size(4), 8);
    const auto hub = config_from_text<gemma4_f>(gemma4_with(R"(, "global_head_dim": 16, "attention_k_eq_v": true,
        "num_global_key_value_heads": 1)").c_str());
    const auto saved = config_from_text<gemma4_f>(
        R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
            "intermediate_size": 37, "num_hidden_layers": 7, "vocab_size": 99, "attention_k_eq_v": true,
            "per_layer_config": {"5": {"head_dim": 16, "num_key_value_heads": 1},
                                 "6": {"head_dim": 16, "num_key_value_heads": 1}}})");
    for (const auto* c : {&hub, &saved}) {
        const auto kv = c->cache();
        for (std::int64_t i = 0; i < 7; ++i) {
            const bool full = i >= 5;
            EXPECT_EQ(kv.of_layer(i).head_dim, full ? 16 : 8) << "layer " << i;
            EXPECT_EQ(kv.of_layer(i).kv_heads, full ? 1 : 2) << "layer " << i;
        }
        EXPECT_FALSE(kv.uniform());
        EXPECT_EQ(c->rotary().dims, 16);
        EXPECT_EQ(c->rotary().inv_freq.size(), 8u);  // proportional 0.25 over 16 features: 2 angles of 8
        EXPECT_GT(c->rotary().inv_freq[1], 0.f);
        EXPECT_EQ(c->rotary().inv_freq[2], 0.f);
        EXPECT_EQ(c->local_rotary().dims, 8);
        const auto inputs = tf::cache_inputs<>::expand(*c);
        ASSERT_EQ(inputs.size(), 14u);
        EXPECT_EQ(inputs[0].axes, (std::vector<std::string>{"batch", "2", "past_sequence", "8"}));
        EXPECT_EQ(inputs[13].name, "past_key_values.6.value");
        EXPECT_EQ(inputs[13].axes, (std::vector<std::string>{"batch", "1", "past_sequence", "16"}));
    }
    // without attention_k_eq_v num_global_key_value_heads is not used
    const auto no_k_eq_v = config_from_text<gemma4_f>(gemma4_with(R"(, "global_head_dim": 16,
        "num_global_key_value_heads": 1)").c_str());
    EXPECT_EQ(no_k_eq_v.cache().of_layer(6).kv_heads, 2);
    EXPECT_EQ(no_k_eq_v.cache().of_layer(6).head_dim, 16);
    // one size on every layer: the cache is uniform
    EXPECT_TRUE(config_from_text<gemma4_f>(gemma4_with("").c_str()).cache().uniform());
}

TEST(gemma4_text, refuses_what_it_cannot_export) {
    auto refused = [](std::string_view more, std::string_view id, std::string_view names) {
        const auto e = config_error<gemma4_f>(gemma4_with(more).c_str());
        EXPECT_EQ(e.substr(0, id.size()), id) << e;
        EXPECT_NE(e.find(names), std::string::npos) << e;
    };
    // per_layer_config other than Gemma4TextConfig's own: the full layers' sizes alike, none on a sliding
    // layer, only head_dim and num_key_value_heads
    refused(R"(, "per_layer_config": {"6": {"head_dim": 16}})", "config.unsupported",
            "(another full-attention layer's differ)");
    refused(R"(, "per_layer_config": {"5": {"head_dim": 16}, "6": {"head_dim": 16}, "2": {"head_dim": 16}})",
            "config.unsupported", "/per_layer_config/2 (a sliding layer)");
    refused(R"(, "per_layer_config": {"5": {"intermediate_size": 16}, "6": {"intermediate_size": 16}})",
            "config.unsupported", "/per_layer_config/5/intermediate_size");
    refused(R"(, "per_layer_config": {"9": {"head_dim": 16}})", "config.unsupported", "/per_layer_config/9");
    refused(R"(, "attention_k_eq_v": true, "num_global_key_value_heads": 3)", "config.invalid",
            "3 key/value heads do not divide num_attention_heads 4");
    refused(R"(, "global_head_dim": 0)", "config.invalid", "/global_head_dim");
    // 5.x writes an empty per_layer_config when no layer differs: global_head_dim is then not read
    EXPECT_EQ(config_error<gemma4_f>(
                  R"({"hidden_size": 32, "num_attention_heads": 4, "head_dim": 8, "per_layer_config": {}})"),
              "none");
    // shared keys and values need a producing layer of each sharing layer's type; the MoE block its sizes
    refused(R"(, "num_kv_shared_layers": 7)", "config.invalid", "num_kv_shared_layers must be below");
    refused(R"(, "num_kv_shared_layers": 6)", "config.invalid", "a sharing layer's type");
    refused(R"(, "enable_moe_block": true)", "config.invalid", "enable_moe_block needs num_experts");
    refused(R"(, "enable_moe_block": true, "num_experts": 2, "top_k_experts": 3, "moe_intermediate_size": 4)",
            "config.invalid", "top_k_experts must be at most num_experts");
    refused(R"(, "use_bidirectional_attention": "all")", "config.", "use_bidirectional_attention");
    refused(R"(, "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6},
        "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}})",
            "config.unsupported", "\"linear\" is not supported");
    refused(R"(, "rope_scaling": {"rope_type": "linear", "factor": 2.0})", "config.unsupported", "rope_scaling");
    // a layer type without its RoPE object: Transformers cannot build that model
    refused(R"(, "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6}})",
            "config.invalid", "/sliding_attention: missing");
    refused(R"(, "sliding_window": null)", "config.invalid", "/sliding_window");
    // use_double_wide_mlp only widens the layers that share keys and values: none here
    const auto wide = config_from_text<gemma4_f>(gemma4_with(R"(, "use_double_wide_mlp": true)").c_str());
    EXPECT_EQ(wide.layer_intermediate(6), wide.intermediate_size);
}

TEST(gemma4_text, shared_keys_and_values) {
    // 7 layers, 1, 5 and 6 full, the last 3 sharing: each reuses the last layer of its type before them
    // (layer 4, sliding, layer 3's; layers 5 and 6, full, layer 1's); the cache holds layers 0-3
    const auto c = config_from_text<gemma4_f>(gemma4_with(R"(, "num_kv_shared_layers": 3, "use_double_wide_mlp": true,
        "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                        "sliding_attention", "full_attention", "full_attention"])").c_str());
    EXPECT_EQ(c.cache().layers, 4);
    EXPECT_EQ(c.kv_source(3), -1);
    EXPECT_EQ(c.kv_source(4), 3);
    EXPECT_EQ(c.kv_source(5), 1);
    EXPECT_EQ(c.kv_source(6), 1);
    EXPECT_EQ(c.layer_intermediate(3), c.intermediate_size);
    EXPECT_EQ(c.layer_intermediate(4), 2 * c.intermediate_size);
}

// gemma4_text-shared (the last 2 of 5 layers sharing keys and values, double-wide MLPs) and
// gemma4_text-moe (the MoE block beside every MLP, the last layer sharing): each matches Transformers
// through the reference pass and ONNX Runtime, and generation (plain and left-padded) gives its tokens.
TEST(gemma4_text, shared_and_moe_fixtures_match_transformers_and_generate_its_tokens) {
    for (const char* model : {"gemma4_text-shared", "gemma4_text-moe"}) {
        SCOPED_TRACE(model);
        for (const char* feature : {"default", "causal-lm-with-past"}) {
            const auto dir = fixture_dir(model, feature);
            ASSERT_TRUE(std::filesystem::exists(dir))
                << dir << " is missing: run tools/fixtures/generate.py under Transformers 5";
            check_fixture("gemma4_text", feature, dir);
        }
        const auto dir = fixture_dir(model, "causal-lm-with-past");
        check_generation("gemma4_text", dir);
        check_generation("gemma4_text", dir, 0, "generate_padded.safetensors");
    }
}

// gemma4_text-uniform: one head size and one number of key/value heads on every
// layer (the form GenAI's runtime takes): it matches Transformers through the
// reference pass and ONNX Runtime, and greedy generation (plain and
// left-padded) gives Transformers' tokens.
TEST(gemma4_text, uniform_fixture_matches_transformers_and_generates_its_tokens) {
    const auto dir = fixture_dir("gemma4_text-uniform", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py under Transformers 5";
    check_fixture("gemma4_text", "causal-lm-with-past", dir);
    check_generation("gemma4_text", dir);
    check_generation("gemma4_text", dir, 0, "generate_padded.safetensors");
}
