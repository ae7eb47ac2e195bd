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

// Without a backbone_config, DETR's default is a timm ResNet-50 (refused:
// the timm package builds it); use_timm_backbone false gives Transformers'
// ResNet-50 with out_features ["stage4"].
TEST(detr, defaults) {
    expect_detr_refused(nlohmann::json::object(), "/use_timm_backbone");
    const auto c = load({{"use_timm_backbone", false}});
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
    expect_detr_refused(with([](auto& j) { j["position_embedding_type"] = "learned"; }), "/position_embedding_type");
    expect_detr_refused(with([](auto& j) {
                       j["backbone_config"] = {{"model_type", "timm_backbone"}, {"backbone", "resnet50"}};
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
