// DeiT: the plain classifier (tests/fixtures/deit-no-teacher), and which
// image-classification head config.json's `architectures` selects (the
// teacher's two classifiers, the other features: test_models.cpp).
#include "typeformer/models/deit.hpp"

#include "harness.hpp"
#include "typeformer/export/pretrained.hpp"

namespace {
bool with_teacher(const nlohmann::json& j) {
    return tf::deit_config_from_json(tf::config_reader(j, "config.json")).with_teacher;
}
}  // namespace

// DeiTForImageClassification: `classifier` on the class token, against
// Transformers and ONNX Runtime.
TEST(deit, plain_classifier_matches_transformers) {
    check_fixture("deit", "image-classification", fixture_dir("deit-no-teacher", "image-classification"));
}

// The first of `architectures` that is one of DeiT's two classifiers
// decides, as AutoModelForImageClassification does; none: the plain one.
TEST(deit, architectures_choose_the_classifier) {
    const auto teacher = tf::config_reader::load(fixture_dir("deit", "image-classification") / "config.json");
    const auto plain = tf::config_reader::load(fixture_dir("deit-no-teacher", "image-classification") / "config.json");
    EXPECT_TRUE(with_teacher(teacher));
    EXPECT_FALSE(with_teacher(plain));
    auto j = teacher;
    j.erase("architectures");
    EXPECT_FALSE(with_teacher(j));
    j["architectures"] = {"DeiTModel", "DeiTForImageClassification", "DeiTForImageClassificationWithTeacher"};
    EXPECT_FALSE(with_teacher(j));
    j["architectures"] = {"DeiTModel", "DeiTForImageClassificationWithTeacher", "DeiTForImageClassification"};
    EXPECT_TRUE(with_teacher(j));
}

// The teacher's checkpoint read as the plain classifier lacks `classifier`,
// and the plain one read as the teacher's lacks both of its heads: each is
// reported by name before anything runs.
TEST(deit, a_head_the_checkpoint_lacks_is_named) {
    const auto dir = fixture_dir("deit", "image-classification");
    auto j = tf::config_reader::load(dir / "config.json");
    j["architectures"] = {"DeiTForImageClassification"};
    const auto m = tf::load_model(tf::require_family("deit"), dir, j, tf::follow_transformers::v5);
    try {
        (void)m.family().require("image-classification").build(m.config, m.weights, tf::default_opset, "x");
        ADD_FAILURE() << "the teacher's checkpoint built as the plain classifier";
    } catch (const tf::error& e) {
        EXPECT_NE(std::string(e.what()).find("classifier.weight"), std::string::npos) << e.what();
    }
}

// optimum-cli infers image-classification for the teacher's class too.
TEST(deit, the_teachers_class_infers_image_classification) {
    const auto j = tf::config_reader::load(fixture_dir("deit", "image-classification") / "config.json");
    std::string because;
    EXPECT_EQ(tf::infer_feature(j, tf::supported_features("deit"), &because), "image-classification");
    EXPECT_EQ(because, "DeiTForImageClassificationWithTeacher");
}

// DeiTForImageClassificationWithTeacher called with
// interpolate_pos_encoding=True on 35 x 48 images (a 5 x 6 grid, where the
// config's is 4 x 4): both learned tokens' positions kept, the patches'
// resized; the graph takes any size.
TEST(deit, interpolate_pos_encoding_matches_transformers) {
    check_fixture("deit", "image-classification", fixture_dir("deit-interpolate", "image-classification"));
}
