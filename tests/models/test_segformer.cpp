// SegFormer: the config's keys and refusals, reshape_last_stage, and the
// graph at image sizes the fixtures never used (features against
// Transformers: test_models.cpp).
#include "typeformer/models/segformer.hpp"

#include "harness.hpp"

namespace {
tf::segformer_config load_segformer(const nlohmann::json& j) {
    return tf::segformer_family::load(tf::config_reader(j, "config.json"));
}
/// The loader refuses `json`, naming `key`.
void expect_segformer_refused(const nlohmann::json& json, std::string_view key) {
    try {
        (void)load_segformer(json);
        ADD_FAILURE() << "accepted: " << json.dump();
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}
/// The fixture in `dir`'s outputs against Transformers', through the
/// reference pass and, at the fixture's inputs, through ONNX Runtime.
void expect_fixture_outputs(const std::filesystem::path& dir, const char* feature) {
    const auto m = load_fixture("segformer", dir);
    const auto& f = m.family().require(feature);
    const auto io = tf::safetensors_file::open(dir / "io.safetensors");
    const auto inputs = fixture_tensors(io, "input.");
    const auto got = f.reference(m.config, m.weights, inputs, nullptr);
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    const auto onnx = ort.run(inputs);
    for (const auto& [name, want] : fixture_tensors(io, "output.")) {
        EXPECT_LE(tf::max_abs_diff(got.at(name), want), 1e-5) << dir << " " << name;
        EXPECT_LE(tf::max_abs_diff(onnx.at(name), want), m.family().atol) << dir << " " << name;
    }
}
}  // namespace

TEST(segformer, config_reading) {
    const auto d = load_segformer(nlohmann::json::object());  // SegformerConfig's defaults: MiT-b0
    EXPECT_TRUE(tf::check(d));
    EXPECT_EQ(d.num_encoder_blocks, 4);
    EXPECT_EQ(d.hidden_sizes[3], 256);
    EXPECT_EQ(d.sr_ratios[0], 8);
    EXPECT_EQ(d.num_attention_heads[2], 5);
    EXPECT_EQ(d.decoder_hidden_size, 256);
    EXPECT_TRUE(d.reshape_last_stage);
    EXPECT_EQ(d.shape().hidden_size, 256);
    EXPECT_TRUE(d.image().any_size);
    // num_hidden_layers is num_encoder_blocks; the lists may be longer than it (Transformers reads the first ones)
    const auto c = load_segformer({{"num_hidden_layers", 2}, {"hidden_sizes", {8, 16, 24}}, {"depths", {1, 0, 3}}});
    EXPECT_EQ(c.num_encoder_blocks, 2);
    EXPECT_EQ(c.shape().hidden_size, 16);
}

TEST(segformer, config_refusals) {
    expect_segformer_refused({{"num_encoder_blocks", 5}}, "num_encoder_blocks");
    expect_segformer_refused({{"hidden_sizes", {32, 64, 160, 250}}}, "num_attention_heads");
    expect_segformer_refused({{"sr_ratios", {8, 4, 0, 1}}}, "sr_ratios");
    expect_segformer_refused({{"mlp_ratios", {4, 4, 4.5, 4}}}, "mlp_ratios");
    expect_segformer_refused({{"hidden_act", "mish"}}, "hidden_act");
    expect_segformer_refused({{"strides", {4, 2, 2, 2, 2, 2, 2, 2, 2}}}, "strides");
    expect_segformer_refused({{"is_causal", true}}, "is_causal");
}

// The graph's outputs: last_hidden_state is the last stage's map, or its
// tokens without reshape_last_stage; the logits' height and width follow the image.
TEST(segformer, graph_outputs_follow_reshape_last_stage) {
    const auto maps = load_fixture("segformer", fixture_dir("segformer", "default"));
    EXPECT_EQ(maps.family().require("default").outputs(maps.config)[0].axes,
              (std::vector<std::string>{"batch", "", "", ""}));
    const auto tokens = load_fixture("segformer", fixture_dir("segformer-tokens", "default"));
    EXPECT_EQ(tokens.family().require("default").outputs(tokens.config)[0].axes,
              (std::vector<std::string>{"batch", "", ""}));
    const auto seg = load_fixture("segformer", fixture_dir("segformer", "semantic-segmentation"));
    const auto inputs = seg.family().require("semantic-segmentation").inputs(seg.config);
    EXPECT_EQ(inputs[0].axes, (std::vector<std::string>{"batch", "3", "height", "width"}));
}

// reshape_last_stage false: the base model's tokens (at every size, as
// check_fixture runs it), and the decode head, which lays the last stage's
// tokens (2 x 8 here) on a ⌊√16⌋ = 4 square as Transformers does.
TEST(segformer, tokens_of_the_last_stage) {
    check_fixture("segformer", "default", fixture_dir("segformer-tokens", "default"));
    expect_fixture_outputs(fixture_dir("segformer-tokens", "semantic-segmentation"), "semantic-segmentation");
}

// An image whose last map does not have ⌊√channels⌋² positions fails with
// reshape_last_stage false (Transformers' reshape fails too), in the
// reference pass and in ONNX Runtime.
TEST(segformer, tokens_on_a_square_only_where_they_fit) {
    const auto dir = fixture_dir("segformer-tokens", "semantic-segmentation");
    const auto m = load_fixture("segformer", dir);
    const auto& f = m.family().require("semantic-segmentation");
    const auto feeds = f.make_inputs(m.config, {.batch = 1, .height = 37, .width = 45}, 3);
    EXPECT_ANY_THROW((void)f.reference(m.config, m.weights, feeds, nullptr));
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    EXPECT_ANY_THROW((void)ort.run(feeds));
}

// One graph at many image sizes against the reference pass, the logits at
// a quarter of the image's size (rounded as the first stage's Conv2d rounds).
TEST(segformer, semantic_segmentation_at_many_sizes) {
    const auto dir = fixture_dir("segformer", "semantic-segmentation");
    const auto m = load_fixture("segformer", dir);
    const auto& f = m.family().require("semantic-segmentation");
    tf::ort_runner ort(onnx_bytes(m, f, tf::default_opset, dir), 1);
    for (const auto& [h, w] : std::vector<std::pair<std::int64_t, std::int64_t>>{{32, 32}, {33, 47}, {70, 41}}) {
        const auto feeds = f.make_inputs(m.config, {.batch = 2, .height = h, .width = w}, 5);
        const auto ref = f.reference(m.config, m.weights, feeds, nullptr);
        const auto onnx = ort.run(feeds);
        const auto& logits = ref.at("logits");
        ASSERT_EQ(logits.shape(), (std::vector<std::int64_t>{2, 5, (h - 1) / 4 + 1, (w - 1) / 4 + 1}));
        EXPECT_LE(tf::max_abs_diff(onnx.at("logits"), logits), m.family().atol) << h << " x " << w;
    }
}
