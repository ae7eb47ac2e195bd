// Conditional DETR: defaults, refusals and what the fixtures do not show by
// themselves (features: test_models.cpp).
#include "typeformer/models/conditional_detr.hpp"

#include "detr_test_helpers.hpp"
#include "harness.hpp"

namespace conditional_detr_test {

tf::detr_config load(const nlohmann::json& json) {
    return tf::conditional_detr_config_from_json(tf::config_reader(json, "config.json"));
}

/// The Conditional DETR loader refuses `json`, naming `key`.
void expect_refused(const nlohmann::json& json, std::string_view key) {
    try {
        (void)load(json);
        ADD_FAILURE() << "accepted: " << json.dump();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported") << e.what();
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

nlohmann::json fixture_config(std::string_view feature) {
    return tf::config_reader::load(fixture_dir("conditional_detr", feature) / "config.json");
}

tf::tensor_map fixture_outputs(std::string_view feature) {
    return fixture_tensors(tf::safetensors_file::open(fixture_dir("conditional_detr", feature) / "io.safetensors"),
                           "output.");
}

/// The reference pass of a Conditional DETR fixture's feature, `edit`ed.
template <class Edit>
tf::tensor_map reference_with(std::string_view feature, Edit edit) {
    return detr_test::reference_with("conditional_detr", feature, edit);
}
using detr_test::row_diff;

}  // namespace conditional_detr_test

// DETR's defaults (timm's ResNet-50 without a backbone_config;
// Transformers' ResNet-50 with use_timm_backbone false) but 300 queries.
TEST(conditional_detr, defaults) {
    namespace t = conditional_detr_test;
    EXPECT_TRUE(t::load(nlohmann::json::object()).timm_backbone);
    const auto c = t::load({{"use_timm_backbone", false}});
    EXPECT_TRUE(tf::check(c));
    EXPECT_EQ(c.num_queries, 300);
    EXPECT_EQ(c.d_model, 256);
    EXPECT_EQ(c.encoder_layers, 6);
    EXPECT_EQ(c.decoder_layers, 6);
    EXPECT_EQ(c.decoder_attention_heads, 8);
    EXPECT_EQ(c.activation_function, tf::activation::relu);
    EXPECT_FALSE(c.auxiliary_loss);
    EXPECT_TRUE(c.backbone.frozen_batch_norm);
    EXPECT_EQ(c.feature_channels(), 2048);
    EXPECT_TRUE(c.image().any_size);
    // DETR's own default stays 100
    EXPECT_EQ(tf::detr_config_from_json(tf::config_reader({{"use_timm_backbone", false}}, "config.json")).num_queries,
              100);
}

TEST(conditional_detr, the_fixture_config_is_read) {
    namespace t = conditional_detr_test;
    const auto c = t::load(t::fixture_config("object-detection"));
    EXPECT_TRUE(c.backbone.frozen_batch_norm);
    EXPECT_EQ(c.backbone.num_channels, 2);
    EXPECT_EQ(c.backbone_stages, 3);
    EXPECT_EQ(c.feature_channels(), 32);
    EXPECT_EQ(c.num_queries, 5);
    EXPECT_EQ(c.decoder_layers, 2);
    EXPECT_TRUE(c.auxiliary_loss);
    EXPECT_EQ(c.num_labels, 3);
    EXPECT_EQ(c.activation_function, tf::activation::gelu);
}

TEST(conditional_detr, refusals_name_the_key) {
    namespace t = conditional_detr_test;
    const auto base = t::fixture_config("default");
    auto with = [&](auto edit) {
        auto j = base;
        edit(j);
        return j;
    };
    t::expect_refused(with([](auto& j) { j["position_embedding_type"] = "rope"; }), "/position_embedding_type");
    t::expect_refused(with([](auto& j) {
                          j["backbone_config"] = {{"model_type", "dinov2"}};
                      }),
                      "/backbone_config/model_type");
    t::expect_refused(with([](auto& j) { j["backbone_config"]["out_features"] = {"stage2", "stage3"}; }),
                      "/backbone_config/out_features");
    t::expect_refused(with([](auto& j) { j["backbone_config"]["use_timm_backbone"] = true; }), "/use_timm_backbone");
    t::expect_refused(with([](auto& j) { j["backbone"] = "resnet18"; }), "/backbone");
    t::expect_refused(with([](auto& j) { j["backbone_kwargs"] = {{"out_indices", {4}}}; }), "/backbone_kwargs");
    t::expect_refused(with([](auto& j) { j["tie_encoder_decoder"] = true; }), "/tie_encoder_decoder");
    t::expect_refused(with([](auto& j) { j["quantization_config"] = {{"quant_method", "bitsandbytes"}}; }),
                      "/quantization_config");
    // the focal loss's keys change nothing exported
    EXPECT_NO_THROW((void)t::load(with([](auto& j) {
        j["focal_alpha"] = 0.5;
        j["cls_loss_coefficient"] = 3;
    })));
    try {
        (void)t::load(with([](auto& j) { j["d_model"] = 18; j["encoder_attention_heads"] = 2; j["decoder_attention_heads"] = 2; }));
        ADD_FAILURE() << "d_model 18 accepted";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("d_model must be divisible by 4"), std::string::npos) << e.what();
    }
}

// num_labels logits (sigmoid classes: no "no object" class, unlike DETR's
// num_labels + 1), and boxes in (0, 1), the reference points added back
// to their centres as Transformers adds them (differences printed).
TEST(conditional_detr, logits_are_num_labels_wide) {
    namespace t = conditional_detr_test;
    const auto got = t::reference_with("object-detection", [](tf::detr_config&, tf::tensor_map&) {});
    const auto want = t::fixture_outputs("object-detection");
    const auto base = t::reference_with("default", [](tf::detr_config&, tf::tensor_map&) {});
    const double d_hidden = tf::max_abs_diff(base.at("last_hidden_state"), t::fixture_outputs("default").at("last_hidden_state"));
    const double d_logits = tf::max_abs_diff(got.at("logits"), want.at("logits"));
    const double d_boxes = tf::max_abs_diff(got.at("pred_boxes"), want.at("pred_boxes"));
    std::cout << "[ conditional_detr ] vs Transformers: last_hidden_state " << d_hidden << ", logits " << d_logits
              << ", pred_boxes " << d_boxes << "\n";
    EXPECT_LE(std::max({d_hidden, d_logits, d_boxes}), 1e-5);
    const auto& logits = got.at("logits").f;
    ASSERT_EQ(logits.dimension(), 3u);
    EXPECT_EQ(logits.shape()[1], 5u);
    EXPECT_EQ(logits.shape()[2], 3u);
    const auto& boxes = got.at("pred_boxes").f;
    EXPECT_GT(xt::amin(boxes)(), 0.f);
    EXPECT_LT(xt::amax(boxes)(), 1.f);
}

// The fixture's row 1 is padded at the bottom and on the right: its output
// depends on the mask (the positions, the attention and the cross-attention's
// spatial keys), row 0's does not.
TEST(conditional_detr, pixel_mask_is_read) {
    namespace t = conditional_detr_test;
    const auto want = t::fixture_outputs("default");
    const auto unpadded = t::reference_with("default", [](tf::detr_config&, tf::tensor_map& in) {
        auto& mask = in.at("pixel_mask").i;
        ASSERT_EQ(mask.dimension(), 3u);
        EXPECT_LT(xt::sum(xt::view(mask, 1))(), static_cast<std::int64_t>(mask.shape()[1] * mask.shape()[2]));
        mask.fill(1);
    });
    const auto& got = unpadded.at("last_hidden_state");
    const auto& fixture = want.at("last_hidden_state");
    EXPECT_LE(t::row_diff(got, fixture, 0), 1e-5);
    EXPECT_GT(t::row_diff(got, fixture, 1), 1e-2);
}

// auxiliary_loss puts the decoder's LayerNorm after every layer, its output
// feeding query_scale and the next layer: the object-detection fixture
// (auxiliary_loss true) differs without it.
TEST(conditional_detr, auxiliary_loss_changes_the_decoder) {
    namespace t = conditional_detr_test;
    const auto want = t::fixture_outputs("object-detection");
    const auto same = t::reference_with("object-detection", [](tf::detr_config&, tf::tensor_map&) {});
    EXPECT_LE(tf::max_abs_diff(same.at("logits"), want.at("logits")), 1e-5);
    EXPECT_LE(tf::max_abs_diff(same.at("pred_boxes"), want.at("pred_boxes")), 1e-5);
    const auto off = t::reference_with("object-detection",
                                       [](tf::detr_config& c, tf::tensor_map&) { c.auxiliary_loss = false; });
    EXPECT_GT(tf::max_abs_diff(off.at("logits"), want.at("logits")), 1e-3);
}

// position_embedding_type "learned" (tools/fixtures/cases/conditional_detr.py):
// DETR's row and column tables, at model.position_embedding.
TEST(conditional_detr, learned_positions) {
    check_fixture("conditional_detr", "default", fixture_dir("conditional_detr-learned", "default"));
}

// ConditionalDetrForSegmentation (image-segmentation; its fixture is checked
// in test_models.cpp, ONNX Runtime included): DETR's mask head over
// Conditional DETR's decoder; its boxes are the MLP's sigmoid alone, without
// the reference points object detection adds. Both printed.
TEST(conditional_detr, segmentation_matches_transformers) {
    const auto dir = fixture_dir("conditional_detr", "image-segmentation");
    const auto m = load_fixture("conditional_detr", dir);
    const auto& f = m.family().require("image-segmentation");
    EXPECT_EQ(f.outputs(m.config).size(), 3u);
    const auto want = fixture_tensors(tf::safetensors_file::open(dir / "io.safetensors"), "output.");
    const auto got = f.reference(m.config, m.weights, fixture_tensors(tf::safetensors_file::open(dir / "io.safetensors"),
                                                                      "input."), nullptr);
    const double boxes = tf::max_abs_diff(got.at("pred_boxes"), want.at("pred_boxes"));
    const double masks = tf::max_abs_diff(got.at("pred_masks"), want.at("pred_masks"));
    std::cout << "[ conditional_detr ] image-segmentation vs Transformers: pred_boxes " << boxes << ", pred_masks "
              << masks << "\n";
    EXPECT_LE(boxes, 1e-5);
    EXPECT_LE(masks, 1e-5);
}
