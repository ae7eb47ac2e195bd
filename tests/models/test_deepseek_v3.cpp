// DeepSeek-V3: its config's latent attention, routing and cache, and its
// refusals (features and generation: test_models.cpp).
#include "typeformer/models/deepseek_v3.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace {
constexpr const char* deepseek_tiny = R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 4,
    "intermediate_size": 37, "num_hidden_layers": 3, "vocab_size": 99, "q_lora_rank": 24, "kv_lora_rank": 16,
    "qk_nope_head_dim": 6, "qk_rope_head_dim": 8, "v_head_dim": 10, "moe_intermediate_size": 16,
    "n_routed_experts": 8, "n_group": 4, "topk_group": 2, "num_experts_per_tok": 3, "n_shared_experts": 2,
    "first_k_dense_replace": 1)";

std::string deepseek_with(const char* extra) {
    std::string s = deepseek_tiny;
    s += extra;
    s += "}";
    return s;
}

tf::deepseek_v3_config deepseek_load(const char* extra) {
    return config_from_text<tf::deepseek_v3_family>(deepseek_with(extra).c_str());
}
std::string deepseek_refusal(const char* extra) {
    return config_error<tf::deepseek_v3_family>(deepseek_with(extra).c_str());
}

/// Every `dequantized.<name>` tensor of the fixture's fp8.safetensors
/// (Transformers' own dequantization) against `<name>` in `ck` after the
/// family's make_weights: float32, same shape, the same values bit for bit.
/// Returns how many were compared and how many of those have a partial
/// block of rows x cols.
std::pair<int, int> expect_dequantized_as_transformers(const std::filesystem::path& dir, const tf::checkpoint& ck,
                                                       std::int64_t rows, std::int64_t cols) {
    const auto want = tf::safetensors_file::open(dir / "fp8.safetensors");
    int compared = 0, partial = 0;
    for (const auto& t : want.tensors()) {
        if (!t.name.starts_with("dequantized.")) continue;
        const std::string name(t.name.substr(std::string_view("dequantized.").size()));
        const auto* got = ck.find(name);
        EXPECT_NE(got, nullptr) << name;
        if (!got) continue;
        EXPECT_EQ(got->type, tf::dtype::f32) << name;
        EXPECT_EQ(got->shape, t.shape) << name;
        if (got->shape != t.shape) continue;
        std::vector<float> a(static_cast<std::size_t>(t.numel())), b(a.size());
        tf::read_as_f32(*got, a);
        tf::read_as_f32(t, b);
        EXPECT_EQ(a, b) << name;
        ++compared;
        partial += t.shape[0] % rows != 0 || t.shape[1] % cols != 0;
    }
    return {compared, partial};
}
}  // namespace

// The latent cache: the normalised latent as the key, the rotated shared
// key part as the value, one head; head_dim is qk_rope_head_dim whatever
// config.json says (DeepseekV3Config.__post_init__).
TEST(deepseek_v3, latent_cache_and_rotary) {
    const auto c = deepseek_load(R"(, "head_dim": 99)");
    const auto kv = c.cache();
    EXPECT_EQ(kv.layers, 3);
    EXPECT_EQ(kv.kv_heads, 1);
    EXPECT_EQ(kv.head_dim, 16);
    EXPECT_EQ(kv.value_dim(), 8);
    EXPECT_EQ(tf::cache_axes(kv, false, tf::past_axis, false),
              (std::vector<std::string>{"batch", "1", "past_sequence", "8"}));
    const auto r = c.rotary();
    EXPECT_EQ(r.dims, 8);
    EXPECT_TRUE(r.interleaved);
    EXPECT_TRUE(r.halves_out);
    EXPECT_FALSE(deepseek_load(R"(, "rope_interleave": false)").rotary().interleaved);
    EXPECT_FLOAT_EQ(c.attention_scale(), 1.f / std::sqrt(14.f));
    EXPECT_EQ(c.q_lora_rank, 24);
    EXPECT_EQ(deepseek_load(R"(, "q_lora_rank": null)").q_lora_rank, 0);
}

// The router: sigmoid scores with the correction bias, 2 of 4 groups,
// routed_scaling_factor, shared experts moe_intermediate_size · n_shared
// wide; dense MLPs before first_k_dense_replace.
TEST(deepseek_v3, routing) {
    const auto c = deepseek_load(R"(, "routed_scaling_factor": 1.5, "norm_topk_prob": false)");
    const auto m = c.moe();
    EXPECT_EQ(m.scoring, tf::moe_scoring::sigmoid);
    EXPECT_TRUE(m.correction_bias);
    EXPECT_EQ(m.experts, 8);
    EXPECT_EQ(m.top_k, 3);
    EXPECT_EQ(m.groups, 4);
    EXPECT_EQ(m.topk_groups, 2);
    EXPECT_FALSE(m.normalize);
    EXPECT_EQ(m.scaling, 1.5);
    EXPECT_EQ(m.shared_intermediate, 32);
    EXPECT_FALSE(c.moe_layer(0));
    EXPECT_TRUE(c.moe_layer(1));
    EXPECT_TRUE(c.moe_layer(2));
    // Transformers 5's attribute_map: num_local_experts is n_routed_experts
    auto j = nlohmann::json::parse(deepseek_with(""));
    j.erase("n_routed_experts");
    j["num_local_experts"] = 16;
    EXPECT_EQ(config_from_text<tf::deepseek_v3_family>(j.dump().c_str()).moe().experts, 16);
    EXPECT_NE(deepseek_refusal(R"(, "num_local_experts": 6)").find("disagree"), std::string::npos);
}

// YaRN with mscale_all_dim scales the softmax by mscale² (yarn_apply_mscale);
// sin and cos by the mscale / mscale_all_dim ratio.
TEST(deepseek_v3, yarn_mscale_scales_the_softmax) {
    const auto c = deepseek_load(R"(, "max_position_embeddings": 2560, "rope_parameters": {"rope_type": "yarn",
        "rope_theta": 10000.0, "factor": 40.0, "original_max_position_embeddings": 64, "mscale": 0.707,
        "mscale_all_dim": 1.0})");
    const double m = 0.1 * std::log(40.0) + 1.0;
    EXPECT_FLOAT_EQ(c.attention_scale(), static_cast<float>(std::pow(14.0, -0.5) * m * m));
    EXPECT_NEAR(c.rotary().attention_factor, (0.1 * 0.707 * std::log(40.0) + 1.0) / m, 1e-12);
    // without mscale_all_dim the softmax keeps qk_head_dim^-0.5
    const auto plain = deepseek_load(R"(, "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0,
        "factor": 4.0, "original_max_position_embeddings": 64})");
    EXPECT_FLOAT_EQ(plain.attention_scale(), 1.f / std::sqrt(14.f));
}

TEST(deepseek_v3, refusals) {
    auto refused = [](const char* extra, std::string_view id, std::string_view names) {
        const auto e = deepseek_refusal(extra);
        EXPECT_TRUE(e.starts_with(id)) << extra << ": " << e;
        EXPECT_NE(e.find(names), std::string::npos) << extra << ": " << e;
    };
    refused(R"(, "num_key_value_heads": 2)", "config.invalid", "num_key_value_heads must equal");
    refused(R"(, "n_group": 3)", "config.invalid", "multiple of n_group");
    refused(R"(, "n_group": 8, "topk_group": 4)", "config.invalid", "two experts at least");
    refused(R"(, "topk_group": 5)", "config.invalid", "topk_group must be at most n_group");
    refused(R"(, "topk_group": 1)", "config.invalid", "num_experts_per_tok must be at most");
    refused(R"(, "qk_rope_head_dim": 7)", "config.invalid", "the rotary dimension must be even");
    refused(R"(, "quantization_config": {"quant_method": "gptq", "bits": 4})", "config.unsupported",
            "/quantization_config/quant_method: \"gptq\" is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "fmt": "e5m2"})", "config.unsupported",
            "/quantization_config/fmt: \"e5m2\" is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "activation_scheme": "static"})",
            "config.unsupported", "static activation scales");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "activation_scheme": "per_token"})",
            "config.invalid", "/quantization_config/activation_scheme");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "weight_block_size": null})", "config.unsupported",
            "/quantization_config/weight_block_size: null is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "weight_block_size": [128]})", "config.unsupported",
            "/quantization_config/weight_block_size: [128] is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "weight_block_size": [0, 128]})", "config.invalid",
            "/quantization_config/weight_block_size: [0,128]: must be two positive integers");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "scale_fmt": "ue8m0"})", "config.unsupported",
            "/quantization_config/scale_fmt: \"ue8m0\" is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "expert_dtype": "fp4"})", "config.unsupported",
            "/quantization_config/expert_dtype: \"fp4\" is not supported");
    refused(R"(, "quantization_config": {"quant_method": "fp8", "modules_to_convert": ["model.embed_tokens"]})",
            "config.unsupported", "/quantization_config/modules_to_convert");
    refused(R"(, "quantization_config": "fp8")", "config.type_error", "/quantization_config: expected an object");
    refused(R"(, "partial_rotary_factor": 0.5)", "config.unsupported", "partial_rotary_factor");
    refused(R"(, "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0})",
            "config.unsupported", "dynamic");
    refused(R"(, "token_classification_bias": false)", "config.unsupported", "token_classification_bias");
    EXPECT_EQ(deepseek_refusal(""), "none");
}

// quantization_config fp8 as the released DeepSeek-V3 checkpoints write it:
// the block size read, every other key of FineGrainedFP8Config accepted
// where it changes nothing the export computes.
TEST(deepseek_v3, fp8_quantization_config) {
    const auto c = deepseek_load(R"(, "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
        "quant_method": "fp8", "weight_block_size": [128, 64]})");
    EXPECT_EQ(c.fp8_block_rows, 128);
    EXPECT_EQ(c.fp8_block_cols, 64);
    const auto d = deepseek_load(R"(, "quantization_config": {"quant_method": "fp8", "activation_scheme": "DYNAMIC",
        "modules_to_not_convert": ["lm_head"], "dequantize": true, "scale_fmt": "float", "expert_dtype": "fp8",
        "modules_to_convert": null})");
    EXPECT_EQ(d.fp8_block_rows, 128);  // FineGrainedFP8Config's default [128, 128]
    EXPECT_EQ(d.fp8_block_cols, 128);
    EXPECT_EQ(deepseek_load("").fp8_block_rows, 0);
    EXPECT_EQ(deepseek_load(R"(, "quantization_config": null)").fp8_block_rows, 0);
}

// Every F8_E4M3 (e4m3fn) and F8_E5M2 bit pattern read as torch reads it
// (fp8.safetensors: the codes stored as float8 tensors, and torch's float32
// values of them), through the safetensors reader; and from the format's
// definition (e4m3fn: bias 7, subnormals m/8 · 2^-6, no infinities, 0x7f
// and 0xff NaN; largest 448).
TEST(deepseek_v3, fp8_values_are_exact) {
    const auto dir = fixture_dir("deepseek_v3-fp8", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir / "fp8.safetensors")) << dir << ": run tools/fixtures/generate.py";
    const auto f = tf::safetensors_file::open(dir / "fp8.safetensors");
    const auto get = [&](std::string_view name) -> const tf::tensor_view& {
        for (const auto& t : f.tensors())
            if (t.name == name) return t;
        throw std::runtime_error("fp8.safetensors lacks " + std::string(name));
    };
    for (const char* fmt : {"f8_e4m3", "f8_e5m2"}) {
        const auto& codes = get(std::string(fmt) + ".codes");
        const auto& values = get(std::string(fmt) + ".values");
        EXPECT_EQ(codes.type, std::string_view(fmt) == "f8_e4m3" ? tf::dtype::f8_e4m3 : tf::dtype::f8_e5m2);
        ASSERT_EQ(codes.numel(), 256);
        std::vector<float> got(256), want(256);
        tf::read_as_f32(codes, got);
        tf::read_as_f32(values, want);
        int nans = 0;
        for (std::size_t i = 0; i < 256; ++i) {
            if (std::isnan(want[i])) {
                EXPECT_TRUE(std::isnan(got[i])) << fmt << " code " << i;
                ++nans;
                continue;
            }
            EXPECT_EQ(got[i], want[i]) << fmt << " code " << i;
            EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << fmt << " code " << i;
        }
        EXPECT_EQ(nans, std::string_view(fmt) == "f8_e4m3" ? 2 : 6) << fmt;
    }
    EXPECT_EQ(tf::f8_e4m3_to_float(0x7e), 448.f);
    EXPECT_EQ(tf::f8_e4m3_to_float(0x01), 0.001953125f);  // the smallest subnormal, 2^-9
    EXPECT_EQ(tf::f8_e4m3_to_float(0x08), 0.015625f);     // the smallest normal, 2^-6
    EXPECT_EQ(tf::f8_e4m3_to_float(0xb8), -1.f);
    EXPECT_TRUE(std::isnan(tf::f8_e4m3_to_float(0xff)));
    EXPECT_EQ(tf::f8_e5m2_to_float(0x7c), std::numeric_limits<float>::infinity());
    EXPECT_EQ(tf::f8_e5m2_to_float(0x7b), 57344.f);
}

// tools/fixtures/cases/deepseek_v3.py's deepseek_v3-fp8: the layer weights
// stored as F8_E4M3 blocks of 8 x 8 with a float32 weight_scale_inv each
// (quantization_config fp8). Dequantized while loading, they equal
// Transformers' own dequantization (fp8.safetensors, by its FP8 loader's
// Fp8Dequantize) bit for bit; the reference pass and ONNX Runtime match
// Transformers 5, and greedy generation (left-padded too) gives its
// tokens. The scales under a config.json without quantization_config, or
// under another block size, are refused by name.
TEST(deepseek_v3, fp8_fixture_dequantizes_as_transformers5_and_generates_its_tokens) {
    const auto dir = fixture_dir("deepseek_v3-fp8", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    auto json = tf::config_reader::load(dir / "config.json");
    ASSERT_EQ(json["quantization_config"]["quant_method"], "fp8");
    const auto config = config_from_text<tf::deepseek_v3_family>(json.dump().c_str());
    ASSERT_EQ(config.fp8_block_rows, 8);
    auto ck = tf::checkpoint::open(dir);
    const auto* stored = ck.find("model.layers.1.mlp.experts.3.up_proj.weight");
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(stored->type, tf::dtype::f8_e4m3);
    tf::deepseek_v3_family::make_weights(config, ck);
    const auto [compared, partial] = expect_dequantized_as_transformers(dir, ck, 8, 8);
    EXPECT_EQ(partial, 0);
    // 2 layers: 5 attention weights each, layer 0's 3 MLP weights, layer 1's 8 experts and shared experts: 3 each
    EXPECT_EQ(compared, 10 + 3 + 27);

    check_fixture("deepseek_v3", "causal-lm-with-past", dir);
    check_generation("deepseek_v3", dir);
    check_generation("deepseek_v3", dir, 0, "generate_padded.safetensors");

    const auto refused = [&](const nlohmann::json& j, std::string_view text) {
        try {
            (void)tf::load_model(tf::require_family("deepseek_v3"), dir, j);
            ADD_FAILURE() << "accepted: " << j["quantization_config"].dump();
        } catch (const tf::error& e) {
            EXPECT_EQ(std::string(e.id()), "checkpoint.mismatch") << e.what();
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        }
    };
    auto other = json;
    other["quantization_config"]["weight_block_size"] = {4, 8};
    refused(other, "model.layers.0.mlp.down_proj.weight_scale_inv: [4, 5], expected [8, 5]");
    other["quantization_config"]["weight_block_size"] = {8, 16};  // [32, 40]: 4 x 3 blocks, the last column partial
    refused(other, "model.layers.0.mlp.down_proj.weight_scale_inv: [4, 5], expected [4, 3]");
    json.erase("quantization_config");
    refused(json, "model.layers.0.mlp.down_proj.weight_scale_inv: a block-scaled FP8 weight's scale, but config.json "
                  "has no quantization_config");
}

// deepseek_v3-fp8-partial: blocks of 16 x 16, which most of its weights are
// not a whole number of (as DeepSeek-V3's kv_a_proj_with_mqa [576, 7168] is
// not of 128 x 128): the last block row or column partial, with a scale of
// its own. Dequantized, every weight equals Transformers' (FP8Linear's
// dequantization, fp8.safetensors); the model matches Transformers and
// generates its tokens.
TEST(deepseek_v3, fp8_partial_blocks_dequantize_as_transformers5) {
    const auto dir = fixture_dir("deepseek_v3-fp8-partial", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto config = config_from_text<tf::deepseek_v3_family>(json.dump().c_str());
    ASSERT_EQ(config.fp8_block_rows, 16);
    auto ck = tf::checkpoint::open(dir);
    tf::deepseek_v3_family::make_weights(config, ck);
    const auto [compared, partial] = expect_dequantized_as_transformers(dir, ck, 16, 16);
    EXPECT_EQ(compared, 10 + 3 + 27);
    EXPECT_GT(partial, 10);
    check_fixture("deepseek_v3", "causal-lm-with-past", dir);
    check_generation("deepseek_v3", dir);
}

// tools/fixtures/cases/deepseek_v3.py's deepseek_v3-yarn (DeepSeek-V3's own
// scaling: YaRN with mscale and mscale_all_dim): the reference pass and ONNX
// Runtime match Transformers 5, and greedy generation (left-padded too) gives
// its tokens.
TEST(deepseek_v3, yarn_fixture_matches_transformers5_and_generates_its_tokens) {
    const auto dir = fixture_dir("deepseek_v3-yarn", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir << " is missing: run tools/fixtures/generate.py";
    check_fixture("deepseek_v3", "causal-lm-with-past", dir);
    check_generation("deepseek_v3", dir);
    check_generation("deepseek_v3", dir, 0, "generate_padded.safetensors");
}
