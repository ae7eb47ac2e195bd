// DETR and Table Transformer: defaults, refusals and what the fixtures do
// not show by themselves (features: test_models.cpp).
#include "typeformer/models/detr.hpp"

#include "detr_test_helpers.hpp"
#include "harness.hpp"

namespace {

tf::detr_config load(const nlohmann::json& json, tf::follow_transformers follow = tf::follow_transformers::v5) {
    return tf::detr_config_from_json(tf::config_reader(json, "config.json").follow(follow));
}

/// The DETR loader refuses `json`, naming `key`.
void expect_detr_refused(const nlohmann::json& json, std::string_view key,
                    tf::follow_transformers follow = tf::follow_transformers::v5) {
    try {
        (void)load(json, follow);
        ADD_FAILURE() << "accepted: " << json.dump();
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "config.unsupported") << e.what();
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

nlohmann::json detr_fixture_config(std::string_view model_type, std::string_view feature) {
    return tf::config_reader::load(fixture_dir(model_type, feature) / "config.json");
}

using detr_test::reference_with;
using detr_test::row_diff;

}  // namespace

// Without a backbone_config, DETR's default is timm's ResNet-50 (all four
// stages, output stride 32); use_timm_backbone false gives Transformers'
// ResNet-50 with out_features ["stage4"].
TEST(detr, defaults) {
    const auto t = load(nlohmann::json::object());
    EXPECT_TRUE(t.timm_backbone);
    EXPECT_TRUE(t.backbone.bottleneck);
    EXPECT_TRUE(t.backbone.frozen_batch_norm);
    EXPECT_EQ(t.backbone_stages, 4);
    EXPECT_EQ(t.output_stride, 32);
    EXPECT_EQ(t.feature_channels(), 2048);
    EXPECT_EQ(t.backbone.num_channels, 3);
    const auto c = load({{"use_timm_backbone", false}});
    EXPECT_FALSE(c.timm_backbone);
    EXPECT_TRUE(tf::check(c));
    EXPECT_EQ(c.d_model, 256);
    EXPECT_EQ(c.num_queries, 100);
    EXPECT_EQ(c.encoder_layers, 6);
    EXPECT_EQ(c.decoder_attention_heads, 8);
    EXPECT_EQ(c.activation_function, tf::activation::relu);
    EXPECT_FALSE(c.auxiliary_loss);
    EXPECT_TRUE(c.backbone.bottleneck);
    EXPECT_TRUE(c.backbone.frozen_batch_norm);
    EXPECT_EQ(c.backbone_stages, 4);
    EXPECT_EQ(c.feature_channels(), 2048);
    EXPECT_TRUE(c.image().any_size);
}

TEST(detr, the_fixture_backbone_is_read_frozen) {
    const auto c = load(detr_fixture_config("detr", "object-detection"));
    EXPECT_TRUE(c.backbone.frozen_batch_norm);
    EXPECT_EQ(c.backbone.num_channels, 2);
    EXPECT_EQ(c.backbone_stages, 3);
    EXPECT_EQ(c.feature_channels(), 32);
    EXPECT_TRUE(c.auxiliary_loss);
    EXPECT_EQ(c.activation_function, tf::activation::gelu);
}

TEST(detr, refusals_name_the_key) {
    const auto base = detr_fixture_config("detr", "default");
    auto with = [&](auto edit) {
        auto j = base;
        edit(j);
        return j;
    };
    expect_detr_refused(with([](auto& j) { j["position_embedding_type"] = "rope"; }), "/position_embedding_type");
    expect_detr_refused(with([](auto& j) {
                       j["backbone_config"] = {{"model_type", "dinov2"}};
                   }),
                   "/backbone_config/model_type");
    expect_detr_refused(with([](auto& j) { j["backbone_config"]["out_features"] = {"stage2", "stage3"}; }),
                   "/backbone_config/out_features");
    expect_detr_refused(with([](auto& j) { j["backbone_config"]["use_timm_backbone"] = true; }), "/use_timm_backbone");
    expect_detr_refused(with([](auto& j) { j["backbone"] = "resnet18"; }), "/backbone");
    expect_detr_refused(with([](auto& j) { j["backbone_kwargs"] = {{"out_indices", {4}}}; }), "/backbone_kwargs");
    expect_detr_refused(with([](auto& j) { j["tie_encoder_decoder"] = true; }), "/tie_encoder_decoder");
    // Transformers 4.41 refuses use_timm_backbone true beside a backbone_config; 5.x ignores it
    expect_detr_refused(with([](auto& j) { j["use_timm_backbone"] = true; }), "/use_timm_backbone",
                   tf::follow_transformers::v4_41);
    EXPECT_EQ(load(with([](auto& j) { j["use_timm_backbone"] = true; })).backbone_stages, 4);
    try {
        (void)load(with([](auto& j) { j["d_model"] = 18; j["encoder_attention_heads"] = 2; j["decoder_attention_heads"] = 2; }));
        ADD_FAILURE() << "d_model 18 accepted";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("d_model must be divisible by 4"), std::string::npos) << e.what();
    }
}

// The fixture's row 1 is padded at the bottom and on the right: its output
// depends on the mask (the positions and the attention), row 0's does not.
TEST(detr, pixel_mask_is_read) {
    for (const auto* type : {"detr", "table-transformer"}) {
        const auto want = fixture_tensors(
            tf::safetensors_file::open(fixture_dir(type, "default") / "io.safetensors"), "output.");
        const auto unpadded = reference_with(type, "default", [](tf::detr_config&, tf::tensor_map& in) {
            auto& mask = in.at("pixel_mask").i;
            ASSERT_EQ(mask.dimension(), 3u);
            EXPECT_LT(xt::sum(xt::view(mask, 1))(), static_cast<std::int64_t>(mask.shape()[1] * mask.shape()[2]));
            mask.fill(1);
        });
        const auto& got = unpadded.at("last_hidden_state");
        const auto& fixture = want.at("last_hidden_state");
        EXPECT_LE(row_diff(got, fixture, 0), 1e-5) << type;
        EXPECT_GT(row_diff(got, fixture, 1), 1e-2) << type;
    }
}

// auxiliary_loss puts the decoder's LayerNorm after every layer, its output
// feeding the next: the object-detection fixture (auxiliary_loss true)
// differs without it.
TEST(detr, auxiliary_loss_changes_the_decoder) {
    const auto want = fixture_tensors(
        tf::safetensors_file::open(fixture_dir("detr", "object-detection") / "io.safetensors"), "output.");
    const auto same = reference_with("detr", "object-detection", [](tf::detr_config&, tf::tensor_map&) {});
    EXPECT_LE(tf::max_abs_diff(same.at("logits"), want.at("logits")), 1e-5);
    const auto off = reference_with("detr", "object-detection",
                                    [](tf::detr_config& c, tf::tensor_map&) { c.auxiliary_loss = false; });
    EXPECT_GT(tf::max_abs_diff(off.at("logits"), want.at("logits")), 1e-3);
}

// The frozen BatchNorm is spelled as DetrFrozenBatchNorm2d computes it
// (weight · rsqrt(var + eps), then the shift), not as nn.BatchNorm2d: the
// two differ by rounding only (at these sizes below what the fixture
// resolves; both printed), and the frozen one is what the fixture checks.
TEST(detr, frozen_batch_norm_is_what_transformers_computes) {
    const auto want = fixture_tensors(
        tf::safetensors_file::open(fixture_dir("detr", "default") / "io.safetensors"), "output.");
    const auto frozen = reference_with("detr", "default", [](tf::detr_config&, tf::tensor_map&) {});
    const auto plain = reference_with("detr", "default",
                                      [](tf::detr_config& c, tf::tensor_map&) { c.backbone.frozen_batch_norm = false; });
    const double d_frozen = tf::max_abs_diff(frozen.at("last_hidden_state"), want.at("last_hidden_state"));
    const double d_plain = tf::max_abs_diff(plain.at("last_hidden_state"), want.at("last_hidden_state"));
    std::cout << "[ detr ] vs Transformers: frozen BatchNorm " << d_frozen << ", nn.BatchNorm2d's spelling "
              << d_plain << "\n";
    EXPECT_LE(d_frozen, 1e-5);
    EXPECT_LE(d_plain, 1e-4);  // the same function, other rounding
}

// The timm backbones (tools/fixtures/cases/detr.py's TIMM_CASES): timm's
// ResNet weight names, dilation (output_stride 8), bottleneck blocks,
// negative out_indices.
TEST(detr, timm_backbone_fixtures) {
    check_fixture("detr", "default", fixture_dir("detr-timm", "default"));
    check_fixture("detr", "object-detection", fixture_dir("detr-timm", "object-detection"));
    check_fixture("table-transformer", "object-detection", fixture_dir("table-transformer-timm", "object-detection"));
}

TEST(detr, the_timm_fixtures_are_read_as_timm_builds_them) {
    const auto d = load(detr_fixture_config("detr-timm", "default"));
    EXPECT_TRUE(d.timm_backbone);
    EXPECT_FALSE(d.backbone.bottleneck);
    EXPECT_EQ(d.output_stride, 8);
    EXPECT_EQ(d.backbone_stages, 3);
    EXPECT_EQ(d.feature_channels(), 256);
    const auto o = load(detr_fixture_config("detr-timm", "object-detection"));
    EXPECT_TRUE(o.backbone.bottleneck);
    EXPECT_EQ(o.backbone.num_channels, 2);
    EXPECT_EQ(o.backbone_stages, 1);
    EXPECT_EQ(o.feature_channels(), 256);
    const auto t = load(detr_fixture_config("table-transformer-timm", "object-detection"));
    EXPECT_EQ(t.backbone_stages, 2);  // out_indices [-3]
    EXPECT_EQ(t.output_stride, 32);
}

// The dilated fixture differs from the same weights run at output stride
// 32 (layer3 strided): the dilation is what matches.
TEST(detr, timm_output_stride_changes_the_backbone) {
    const auto want = fixture_tensors(
        tf::safetensors_file::open(fixture_dir("detr-timm", "default") / "io.safetensors"), "output.");
    const auto strided = reference_with("detr", "default",
                                        [](tf::detr_config& c, tf::tensor_map&) { c.output_stride = 32; },
                                        fixture_dir("detr-timm", "default"));
    EXPECT_GT(tf::max_abs_diff(strided.at("last_hidden_state"), want.at("last_hidden_state")), 1e-3);
}

// The configs published checkpoints carry (no backbone_config): 5.x makes
// a TimmBackboneConfig of use_timm_backbone, backbone, dilation and
// num_channels, or of backbone and backbone_kwargs (then dilation and the
// top-level num_channels are not read, and out_indices defaults to [-1]).
TEST(detr, timm_backbone_from_the_published_keys) {
    const auto dc5 = load({{"use_timm_backbone", true}, {"backbone", "resnet101"}, {"dilation", true},
                           {"num_channels", 1}, {"use_pretrained_backbone", true}});
    EXPECT_TRUE(dc5.timm_backbone);
    EXPECT_EQ(dc5.backbone.depths[2], 23);
    EXPECT_EQ(dc5.output_stride, 16);
    EXPECT_EQ(dc5.backbone.num_channels, 1);
    EXPECT_EQ(dc5.backbone_stages, 4);
    const auto kw = load({{"use_timm_backbone", true}, {"backbone", "resnet18"}, {"dilation", true},
                          {"num_channels", 1}, {"backbone_kwargs", {{"in_chans", 1}, {"out_indices", {1, 2}}}}});
    EXPECT_FALSE(kw.backbone.bottleneck);
    EXPECT_EQ(kw.output_stride, 32);
    EXPECT_EQ(kw.backbone.num_channels, 3);
    EXPECT_EQ(kw.backbone_stages, 2);
    const auto last = load({{"use_timm_backbone", false}, {"backbone", "resnet34"}});
    EXPECT_TRUE(last.timm_backbone);
    EXPECT_EQ(last.backbone_stages, 4);
    expect_detr_refused({{"backbone", "resnet26d"}}, "/backbone");
    expect_detr_refused({{"backbone", "resnet18"}, {"backbone_kwargs", {{"out_indices", {0}}}}},
                        "/backbone_kwargs/out_indices");
    expect_detr_refused({{"backbone", "resnet18"}, {"backbone_kwargs", {{"features_only", false}}}},
                        "/backbone_kwargs/features_only");
    expect_detr_refused({{"backbone_config", {{"model_type", "timm_backbone"}, {"backbone", "resnet18"},
                                              {"out_indices", {2, 3}}, {"out_features", {"layer1", "layer3"}}}}},
                        "/backbone_config/out_features");
    expect_detr_refused(nlohmann::json::object(), "/use_timm_backbone", tf::follow_transformers::v4_41);
    try {
        (void)load({{"backbone_config", {{"model_type", "timm_backbone"}, {"backbone", "resnet18"},
                                         {"output_stride", 4}}}});
        ADD_FAILURE() << "output_stride 4 accepted";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("/backbone_config/output_stride"), std::string::npos) << e.what();
    }
}

// position_embedding_type "learned" (tools/fixtures/cases/detr.py): the
// row and column tables, at the model (DETR) or in the backbone (Table
// Transformer); the sine positions instead change the outputs.
TEST(detr, learned_positions) {
    check_fixture("detr", "object-detection", fixture_dir("detr-learned", "object-detection"));
    check_fixture("table-transformer", "default", fixture_dir("table-transformer-learned", "default"));
    EXPECT_TRUE(load(detr_fixture_config("detr-learned", "object-detection")).learned_positions);
    const auto want = fixture_tensors(
        tf::safetensors_file::open(fixture_dir("table-transformer-learned", "default") / "io.safetensors"), "output.");
    const auto sine = reference_with("table-transformer", "default",
                                     [](tf::detr_config& c, tf::tensor_map&) { c.learned_positions = false; },
                                     fixture_dir("table-transformer-learned", "default"));
    EXPECT_GT(tf::max_abs_diff(sine.at("last_hidden_state"), want.at("last_hidden_state")), 1e-3);
}

// DetrForSegmentation (image-segmentation; its fixture is checked in
// test_models.cpp): the mask head reads three backbone maps and needs
// d_model + encoder_attention_heads divisible by 8; a checkpoint without
// them is refused when the feature is built, naming it, and still exports
// its other features.
TEST(detr, image_segmentation_needs_the_backbone_maps) {
    for (const auto* feature : {"default", "object-detection"}) {
        const auto dir = fixture_dir("detr", feature);
        const auto m = load_fixture("detr", dir);
        const auto inputs = fixture_tensors(tf::safetensors_file::open(dir / "io.safetensors"), "input.");
        EXPECT_NO_THROW((void)m.family().require(feature).reference(m.config, m.weights, inputs, nullptr));
        try {
            (void)m.family().require("image-segmentation").reference(m.config, m.weights, inputs, nullptr);
            ADD_FAILURE() << feature << ": image-segmentation built";
        } catch (const tf::error& e) {
            EXPECT_TRUE(e.id().starts_with("config.")) << e.what();
            EXPECT_NE(std::string(e.what()).find("image-segmentation"), std::string::npos) << e.what();
        }
    }
    const auto seg = load(detr_fixture_config("detr", "image-segmentation"));
    EXPECT_EQ(seg.maps.size(), 4);
    EXPECT_EQ(seg.maps[0], 1);
    const auto want = fixture_tensors(
        tf::safetensors_file::open(fixture_dir("detr", "image-segmentation") / "io.safetensors"), "output.");
    const auto got = reference_with("detr", "image-segmentation", [](tf::detr_config&, tf::tensor_map&) {});
    const double masks = tf::max_abs_diff(got.at("pred_masks"), want.at("pred_masks"));
    std::cout << "[ detr ] image-segmentation vs Transformers: pred_masks " << masks << "\n";
    EXPECT_LE(masks, 1e-5);
    // without the padding mask the masks change (the attention maps and the positions read it)
    const auto unmasked = reference_with("detr", "image-segmentation",
                                         [](tf::detr_config&, tf::tensor_map& in) { in.at("pixel_mask").i.fill(1); });
    EXPECT_GT(tf::max_abs_diff(unmasked.at("pred_masks"), want.at("pred_masks")), 1e-3);
}
