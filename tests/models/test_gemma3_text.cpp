// Gemma 3 (text): its config in both schemas, its refusals, and a checkpoint
// saved by Transformers 4.57 (features and generation: test_models.cpp).
#include "typeformer/models/gemma3_text.hpp"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "harness.hpp"

namespace {
tf::gemma3_text_config gemma3_load(const nlohmann::json& j) {
    return tf::gemma3_text_family::load(tf::config_reader(j, "config.json"));
}

nlohmann::json gemma3_tiny() {
    return nlohmann::json::parse(R"({"hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 8, "intermediate_size": 37, "num_hidden_layers": 7, "vocab_size": 99})");
}

void gemma3_refused(const nlohmann::json& j, std::string_view id, std::string_view names) {
    try {
        (void)gemma3_load(j);
        ADD_FAILURE() << j.dump() << " accepted";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), id) << e.what();
        EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    }
}
}  // namespace

// Gemma3TextConfig's defaults: every sixth layer global, windows of 4096,
// rope_theta 1e6 on the global layers and 10000 on the sliding ones, no caps.
TEST(gemma3_text, defaults_are_transformers) {
    const auto c = gemma3_load(gemma3_tiny());
    for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(c.window(i), i == 5 ? 0 : 4096) << "layer " << i;
    EXPECT_EQ(c.rotary().base, 1000000.0);
    EXPECT_EQ(c.local_rotary().base, 10000.0);
    EXPECT_EQ(c.local_rotary().dims, 8);
    EXPECT_EQ(c.softcaps().attention, 0.f);
    EXPECT_EQ(c.softcaps().logits, 0.f);
    EXPECT_EQ(c.attention_scale(), 1.f / 16.f);  // query_pre_attn_scalar 256
    EXPECT_EQ(c.shape().act, tf::activation::gelu_new);
    EXPECT_EQ(c.norm(), tf::norm_kind::rms_plus_one);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.pad_token_id, 0);
    // Gemma3Attention keeps attn_logit_softcapping but never applies it; the logits' cap applies
    auto capped = gemma3_tiny();
    capped["attn_logit_softcapping"] = 2.0;
    capped["final_logit_softcapping"] = 3.0;
    EXPECT_EQ(gemma3_load(capped).softcaps().attention, 0.f);
    EXPECT_EQ(gemma3_load(capped).softcaps().logits, 3.f);
}

// The two schemas of the RoPE settings: 4.x's top-level keys and 5.x's
// rope_parameters keyed by layer type read the same.
TEST(gemma3_text, reads_both_rope_schemas) {
    auto old = gemma3_tiny();
    old["rope_theta"] = 500000.0;
    old["rope_local_base_freq"] = 100.0;
    old["rope_scaling"] = nlohmann::json::parse(R"({"rope_type": "linear", "factor": 8.0})");
    old["sliding_window_pattern"] = 3;
    auto now = gemma3_tiny();
    now["rope_parameters"] = nlohmann::json::parse(R"({
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 500000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}})");
    now["layer_types"] = nlohmann::json::parse(R"(["sliding_attention", "sliding_attention", "full_attention",
        "sliding_attention", "sliding_attention", "full_attention", "sliding_attention"])");
    for (const auto& j : {old, now}) {
        const auto c = gemma3_load(j);
        EXPECT_EQ(c.rotary().base, 500000.0) << j.dump();
        EXPECT_EQ(c.rotary().position_scale, 8.0) << j.dump();
        EXPECT_EQ(c.local_rotary().base, 100.0) << j.dump();
        EXPECT_EQ(c.local_rotary().position_scale, 1.0) << j.dump();
        for (std::int64_t i = 0; i < 7; ++i) EXPECT_EQ(c.window(i), i % 3 == 2 ? 0 : 4096) << j.dump() << " " << i;
    }
    // the same settings written both ways agree; 5.x's legacy rope_scaling goes to the full-attention layers
    auto both = now;
    both["rope_local_base_freq"] = 100.0;
    both["rope_scaling"] = old["rope_scaling"];
    EXPECT_EQ(gemma3_load(both).local_rotary().base, 100.0);
    both["rope_local_base_freq"] = 200.0;
    gemma3_refused(both, "config.invalid", "/rope_local_base_freq");
}

TEST(gemma3_text, refuses_what_it_cannot_export) {
    auto j = gemma3_tiny();
    j["use_bidirectional_attention"] = true;
    gemma3_refused(j, "config.unsupported", "use_bidirectional_attention");

    j = gemma3_tiny();
    j["rope_parameters"] = nlohmann::json::parse(R"({"full_attention": {"rope_type": "default", "rope_theta": 1e6},
        "sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}})");
    gemma3_refused(j, "config.unsupported", "/sliding_attention: /rope_type: \"linear\"");

    j = gemma3_tiny();
    j["rope_parameters"] = nlohmann::json::parse(R"({"rope_type": "default", "rope_theta": 1e6})");
    gemma3_refused(j, "config.unsupported", "rope_parameters keyed by layer type");

    j = gemma3_tiny();
    j["rope_parameters"] = nlohmann::json::parse(R"({"full_attention": {"rope_type": "dynamic", "factor": 2.0}})");
    gemma3_refused(j, "config.unsupported", "\"dynamic\" is not supported");

    j = gemma3_tiny();
    j["sliding_window"] = nullptr;
    gemma3_refused(j, "config.invalid", "/sliding_window: null");
    j["layer_types"] = std::vector<std::string>(7, "full_attention");
    EXPECT_EQ(gemma3_load(j).any_window(), 0);  // no sliding layer: no window needed

    j = gemma3_tiny();
    j["hidden_size"] = 30;
    gemma3_refused(j, "config.invalid", "hidden_size must be divisible by num_attention_heads");

    j = gemma3_tiny();
    j["sliding_window_pattern"] = 0;
    gemma3_refused(j, "config.invalid", "/sliding_window_pattern");
}

// A checkpoint Transformers 4.57 saved (its schema: rope_theta, rope_scaling,
// rope_local_base_freq, sliding_window_pattern), exported as 5.x computes it
// (5.x's rerun of it agrees with 4.57's outputs): the reference and the
// export against 4.57's outputs, greedy generation (also left-padded), and
// the same graph from the config in 5.x's schema.
TEST(gemma3_text, checkpoint_saved_by_transformers_4_57) {
    const auto dir = fixture_dir("gemma3_text-tf457", "causal-lm-with-past");
    ASSERT_TRUE(std::filesystem::exists(dir / "io.safetensors")) << dir;
    const auto saved = tf::config_reader::load(dir / "config.json");
    ASSERT_TRUE(saved.contains("rope_local_base_freq") && !saved.contains("rope_parameters")) << dir;
    EXPECT_EQ(fixture_follows(dir), tf::follow_transformers::v5);
    check_fixture("gemma3_text", "causal-lm-with-past", dir);
    check_generation("gemma3_text", dir);
    check_generation("gemma3_text", dir, 0, "generate_padded.safetensors");
    check_rope_schemas("gemma3_text", "causal-lm-with-past", dir);

    // the Hub's configs give sliding_window_pattern alone: the same layers as layer_types
    auto pattern_only = saved;
    pattern_only.erase("layer_types");
    pattern_only.erase("_sliding_window_pattern");
    const auto& family = tf::require_family("gemma3_text");
    const auto& f = family.require("causal-lm-with-past");
    const auto a = tf::load_model(family, dir, saved, tf::follow_transformers::v5);
    const auto b = tf::load_model(family, dir, pattern_only, tf::follow_transformers::v5);
    std::string ga, gb;
    ASSERT_TRUE(f.build(a.config, a.weights, tf::default_opset, "x").model.SerializeToString(&ga));
    ASSERT_TRUE(f.build(b.config, b.weights, tf::default_opset, "x").model.SerializeToString(&gb));
    EXPECT_TRUE(ga == gb) << "sliding_window_pattern 3 and its layer_types give different graphs";
}

// A multimodal Gemma3ForConditionalGeneration checkpoint exports its text
// decoder (export/composite.hpp; its outputs and generation:
// test_models.cpp's composite suite). Here: what the export chooses and
// says, and what it refuses.
namespace {
struct composite_copy {
    std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                ("tf-composite-" + std::to_string(::getpid()) + "-" +
                                 testing::UnitTest::GetInstance()->current_test_info()->name());
    explicit composite_copy(const std::function<void(nlohmann::json&)>& edit = {}) {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir / "model");
        const auto src = fixture_dir("gemma3", "causal-lm-with-past");
        std::filesystem::copy_file(src / "model.safetensors", dir / "model" / "model.safetensors");
        auto json = tf::config_reader::load(src / "config.json");
        if (edit) edit(json);
        std::ofstream(dir / "model" / "config.json") << json.dump(2);
    }
    ~composite_copy() { std::filesystem::remove_all(dir); }
    std::string exported(std::string feature, std::string* error_id = nullptr) const {
        std::ostringstream log, warn;
        tf::export_options opt{.feature = std::move(feature), .validate = true, .force = true};
        opt.log = &log;
        opt.warnings = &warn;
        try {
            const auto r = tf::export_pretrained(dir / "model", dir / "onnx", opt);
            EXPECT_TRUE(r.ok()) << log.str();
            return log.str() + "feature " + r.feature;
        } catch (const tf::error& e) {
            if (!error_id) throw;
            *error_id = e.id();
            return e.what();
        }
    }
};
}  // namespace

TEST(gemma3_text, composite_checkpoint_exports_its_text_decoder) {
    const composite_copy c;
    const auto log = c.exported("auto");
    EXPECT_NE(log.find("gemma3 is a multimodal checkpoint, so text-generation-with-past"), std::string::npos) << log;
    EXPECT_NE(log.find("its text decoder (text_config, gemma3_text) exports for text; the vision tower "
                       "(vision_config) is not exported (34 tensors set aside: multi_modal_projector."),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("feature causal-lm-with-past"), std::string::npos) << log;
    EXPECT_TRUE(std::filesystem::exists(c.dir / "onnx" / "model.onnx"));
}

TEST(gemma3_text, composite_checkpoint_refusals) {
    std::string id;
    auto msg = composite_copy().exported("sequence-classification", &id);
    EXPECT_EQ(id, "export.feature");
    EXPECT_NE(msg.find("a multimodal checkpoint exports its text decoder for text alone"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the vision tower (vision_config) is not exported"), std::string::npos) << msg;

    msg = composite_copy([](nlohmann::json& j) { j.erase("text_config"); }).exported("causal-lm", &id);
    EXPECT_EQ(id, "config.missing_field");
    EXPECT_NE(msg.find("has no text_config object"), std::string::npos) << msg;

    msg = composite_copy([](nlohmann::json& j) { j["text_config"]["model_type"] = "gemma9_text"; })
              .exported("causal-lm", &id);
    EXPECT_EQ(id, "export.model_type");
    EXPECT_NE(msg.find("text_config names model_type gemma9_text, which is not supported"), std::string::npos) << msg;

    msg = composite_copy([](nlohmann::json& j) { j["quantization_config"] = {{"quant_method", "bitsandbytes"}}; })
              .exported("causal-lm", &id);
    EXPECT_EQ(id, "config.unsupported");
    EXPECT_NE(msg.find("/quantization_config: a quantized checkpoint is not supported"), std::string::npos) << msg;

    // text_config's own keys are read and refused as the text family's, naming where they are
    msg = composite_copy([](nlohmann::json& j) { j["text_config"]["use_bidirectional_attention"] = true; })
              .exported("causal-lm", &id);
    EXPECT_NE(msg.find("config.json: /text_config: /use_bidirectional_attention"), std::string::npos) << msg;
}
