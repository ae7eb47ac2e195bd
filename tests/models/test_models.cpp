// Every registered family, every feature: the reference pass against
// Transformers, the export against the reference in ONNX Runtime
// (harness.hpp), and greedy generation for every family with a
// causal-lm-with-past feature. The cases come from the family list itself,
// so a family added to it is tested here without a line of its own; its
// fixtures must exist.
#include "harness.hpp"

namespace {
std::vector<std::pair<std::string, std::string>> every_feature() {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto* f : tf::registered_families())
        for (const auto& name : f->feature_names()) v.emplace_back(f->model_type, name);
    return v;
}
std::vector<std::string> every_seq2seq_generator() {
    std::vector<std::string> v;
    for (const auto* f : tf::registered_families())
        if (f->feature("seq2seq-lm-with-past")) v.emplace_back(f->model_type);
    return v;
}
std::vector<std::string> every_generator() {
    std::vector<std::string> v;
    for (const auto* f : tf::registered_families())
        if (f->feature("causal-lm-with-past")) v.emplace_back(f->model_type);
    return v;
}
}  // namespace

class feature : public testing::TestWithParam<std::pair<std::string, std::string>> {};
TEST_P(feature, matches_transformers_and_onnxruntime) {
    const auto& [type, name] = GetParam();
    const auto* f = tf::require_family(type).feature(name);
    // an encoder-decoder's features of several graphs, and its one-graph models (default and the heads), are
    // in seq2seq.py's layout; its decoder alone (causal-lm*) is a decoder's single graph
    const bool encoder_decoder = tf::require_family(type).feature("seq2seq-lm-with-past") != nullptr;
    if (!f->parts.empty() || (encoder_decoder && !name.starts_with("causal-lm")))
        check_seq2seq_fixture(type, name);
    else check_fixture(type, name);
}
INSTANTIATE_TEST_SUITE_P(models, feature, testing::ValuesIn(every_feature()), feature_test_name);

// Every family whose fixtures carry RoPE settings reads them in Transformers
// 5's schema (rope_parameters) as in 4.x's: same graph, same outputs. Gemma
// 4 came with Transformers 5: there is no 4.x schema of its settings (its
// "proportional" RoPE has no rope_scaling form), so it is not compared.
std::vector<std::string> every_rope_family() {
    std::vector<std::string> v;
    for (const auto* f : tf::registered_families()) {
        if (f->model_type == "gemma4_text") continue;
        const auto dir = fixture_dir(f->model_type, "causal-lm");
        if (std::filesystem::exists(dir / "config.json") &&
            (tf::config_reader::load(dir / "config.json").contains("rope_theta") ||
             tf::config_reader::load(dir / "config.json").contains("rope_parameters")))
            v.emplace_back(f->model_type);
    }
    return v;
}
class rope_schema : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(rope_schema);  // a build without such families (TYPEFORMER_FAMILIES)
TEST_P(rope_schema, transformers5_rope_parameters_give_the_same_graph) { check_rope_schemas(GetParam(), "causal-lm"); }
INSTANTIATE_TEST_SUITE_P(models, rope_schema, testing::ValuesIn(every_rope_family()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

// The fixtures made by Transformers 4.41 where 5.x's model code computes
// the same checkpoint differently (tests/fixtures_tf4/<model_type>/<feature>):
// read as 4.41 computes them (follow_transformers::v4_41), they match 4.41.
std::vector<std::pair<std::string, std::string>> every_tf4_fixture() {
    std::vector<std::pair<std::string, std::string>> v;
    const auto root = std::filesystem::path(TYPEFORMER_FIXTURES).parent_path() / "fixtures_tf4";
    for (const auto* f : tf::registered_families())
        for (const auto& name : f->feature_names())
            if (std::filesystem::exists(root / f->model_type / name / "io.safetensors"))
                v.emplace_back(f->model_type, name);
    return v;
}
class tf4_feature : public testing::TestWithParam<std::pair<std::string, std::string>> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(tf4_feature);
TEST_P(tf4_feature, matches_transformers_4_41) {
    const auto dir = std::filesystem::path(TYPEFORMER_FIXTURES).parent_path() / "fixtures_tf4" / GetParam().first /
                     GetParam().second;
    ASSERT_EQ(fixture_follows(dir), tf::follow_transformers::v4_41) << dir << ": not made by Transformers 4.x";
    check_fixture(GetParam().first, GetParam().second, dir);
    if (std::filesystem::exists(dir / "generate.safetensors")) check_generation(GetParam().first, dir);
}
INSTANTIATE_TEST_SUITE_P(models, tf4_feature, testing::ValuesIn(every_tf4_fixture()), feature_test_name);

// The same greedy decoding from a left-padded prompt, as batched generation
// pads (every family whose fixture has generate_padded.safetensors: those
// that take position_ids).
std::vector<std::string> every_padded_generator() {
    std::vector<std::string> v;
    for (const auto* f : tf::registered_families())
        if (std::filesystem::exists(fixture_dir(f->model_type, "causal-lm-with-past") / "generate_padded.safetensors"))
            v.emplace_back(f->model_type);
    return v;
}
// Encoder-decoders: the encoder once, then the decoders step by step, from
// a batch whose second row's input is padded.
class seq2seq_generation : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(seq2seq_generation);
TEST_P(seq2seq_generation, greedy_tokens_are_transformers) { check_seq2seq_generation(GetParam()); }
INSTANTIATE_TEST_SUITE_P(models, seq2seq_generation, testing::ValuesIn(every_seq2seq_generator()), test_name);

// --monolith: every encoder-decoder's seq2seq-lm as one graph.
class monolith : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(monolith);
TEST_P(monolith, seq2seq_lm_as_one_graph) { check_monolith(GetParam()); }
INSTANTIATE_TEST_SUITE_P(models, monolith, testing::ValuesIn(every_seq2seq_generator()), test_name);

class padded_generation : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(padded_generation);
TEST_P(padded_generation, greedy_tokens_are_transformers_with_left_padding) {
    check_generation(GetParam(), {}, 0, "generate_padded.safetensors");
}
INSTANTIATE_TEST_SUITE_P(models, padded_generation, testing::ValuesIn(every_padded_generator()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

class generation : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(generation);
TEST_P(generation, greedy_tokens_are_transformers) { check_generation(GetParam()); }
INSTANTIATE_TEST_SUITE_P(models, generation, testing::ValuesIn(every_generator()), test_name);  // blenderbot-small

// Multimodal checkpoints (export/composite.hpp): the text decoder of every
// fixture folder tests/fixtures/<composite model_type>[-variant]/<feature>,
// where its text family is built: outputs, the export, and greedy
// generation (plain and left-padded) where the fixture has it.
struct composite_fixture {
    std::string type, folder, feature;
};
std::vector<composite_fixture> every_composite_fixture() {
    std::vector<composite_fixture> v;
    const auto root = fixture_dir("x", "y").parent_path().parent_path();
    for (const auto& c : tf::composite_types())
        for (const auto& d : std::filesystem::directory_iterator(root)) {
            const auto folder = d.path().filename().string();
            if (folder != c.model_type && !folder.starts_with(std::string(c.model_type) + "-")) continue;
            for (const auto& fd : std::filesystem::directory_iterator(d.path())) {
                const auto json = tf::config_reader::load(fd.path() / "config.json");
                const auto text = tf::composite_text_config(c, json, "config.json")["model_type"].get<std::string>();
                if (tf::find_family(text)) v.push_back({std::string(c.model_type), folder, fd.path().filename().string()});
            }
        }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.folder + a.feature < b.folder + b.feature; });
    return v;
}
class composite : public testing::TestWithParam<composite_fixture> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(composite);
TEST_P(composite, text_decoder_matches_transformers) {
    const auto& [type, folder, feature] = GetParam();
    const auto dir = fixture_dir(folder, feature);
    check_fixture(type, feature, dir);
    if (std::filesystem::exists(dir / "generate.safetensors")) check_generation(type, dir);
    if (std::filesystem::exists(dir / "generate_padded.safetensors"))
        check_generation(type, dir, 0, "generate_padded.safetensors");
}
INSTANTIATE_TEST_SUITE_P(models, composite, testing::ValuesIn(every_composite_fixture()),
                         [](const testing::TestParamInfo<composite_fixture>& i) {
                             std::string n = i.param.folder + "_" + i.param.feature;
                             for (auto& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

// The feature table is the one transformers.onnx / Optimum give each model type.
// (A build with some families only, TYPEFORMER_FAMILIES, checks those.)
TEST(models, feature_tables) {
    using v = std::vector<std::string>;
    const v encoder{"default", "masked-lm", "causal-lm", "sequence-classification", "multiple-choice",
                    "token-classification", "question-answering"};
    const v no_clm{"default", "masked-lm", "sequence-classification", "multiple-choice", "token-classification",
                   "question-answering"};
    const v llama{"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification"};
    const v seq2seq{"default", "default-with-past", "seq2seq-lm", "seq2seq-lm-with-past"};
    const v bart_like{"default", "default-with-past", "causal-lm", "causal-lm-with-past", "seq2seq-lm",
                      "seq2seq-lm-with-past"};
    const v bart_heads{"default", "default-with-past", "causal-lm", "causal-lm-with-past", "seq2seq-lm",
                       "seq2seq-lm-with-past", "sequence-classification", "question-answering"};
    const v marian{"default", "default-with-past", "seq2seq-lm", "seq2seq-lm-with-past", "causal-lm",
                   "causal-lm-with-past"};
    const std::vector<std::pair<std::string, v>> table{
        {"bert", encoder}, {"distilbert", no_clm}, {"roberta", encoder}, {"camembert", encoder},
        {"xlm-roberta", encoder}, {"data2vec-text", no_clm}, {"ibert", no_clm}, {"xlm-roberta-xl", encoder},
        {"electra", encoder}, {"ernie", encoder}, {"xlm", encoder}, {"flaubert", encoder},
        {"layoutlm", {"default", "masked-lm", "sequence-classification", "token-classification"}},
        {"albert", no_clm}, {"mobilebert", no_clm}, {"squeezebert", no_clm}, {"roformer", encoder},
        {"convbert", no_clm},
        {"deberta", {"default", "masked-lm", "sequence-classification", "token-classification", "question-answering"}},
        {"deberta-v2", no_clm}, {"big_bird", encoder},
        {"longformer", {"default", "masked-lm", "multiple-choice", "question-answering", "sequence-classification",
                        "token-classification"}},
        {"gpt2", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                  "token-classification"}},
        {"gptj", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "question-answering",
                  "sequence-classification"}},
        {"codegen", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}},
        {"gpt_neo", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification"}},
        {"bloom", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                   "token-classification"}},
        {"llama", llama}, {"mistral", llama}, {"qwen2", llama}, {"phi3", llama}, {"gemma", llama},
        {"qwen3", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                   "token-classification"}},
        {"olmo2", llama}, {"granite", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}},
        {"smollm3", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                     "token-classification"}},
        {"gemma2", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                    "token-classification"}},
        {"mixtral", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                     "token-classification"}},
        {"qwen3_moe", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                       "token-classification"}},
        {"phi", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                 "token-classification"}},
        {"gpt_neox", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                      "token-classification"}},
        {"stablelm", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                      "token-classification"}},
        {"opt", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                 "question-answering"}},
        {"gpt_bigcode", {"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                         "sequence-classification", "token-classification"}},
        {"gemma3_text", llama},
        {"falcon", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                    "token-classification", "question-answering"}},
        {"bart", bart_heads}, {"mbart", bart_heads},
        {"plbart", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "seq2seq-lm",
                    "seq2seq-lm-with-past", "sequence-classification"}},
        {"blenderbot", bart_like}, {"blenderbot-small", bart_like}, {"marian", marian}, {"m2m_100", seq2seq}, {"pegasus", seq2seq},
        {"bigbird_pegasus", bart_heads},
        {"t5", seq2seq},
        {"mt5", seq2seq},
        {"longt5", seq2seq},
        {"vit", {"default", "image-classification", "masked-im"}},
        {"deit", {"default", "image-classification", "masked-im"}},
        {"beit", {"default", "image-classification", "masked-im"}},
        {"data2vec-vision", {"default", "image-classification"}},
        {"swin", {"default", "image-classification", "masked-im"}},
        {"resnet", {"default", "image-classification"}},
        {"convnext", {"default", "image-classification"}},
        {"convnextv2", {"default", "image-classification"}},
        {"yolos", {"default", "object-detection"}},
        {"levit", {"default", "image-classification"}},
        {"segformer", {"default", "image-classification", "semantic-segmentation"}},
        {"mobilevit", {"default", "image-classification", "semantic-segmentation"}},
        {"detr", {"default", "object-detection", "image-segmentation"}},
        {"table-transformer", {"default", "object-detection"}},
        {"conditional_detr", {"default", "object-detection", "image-segmentation"}},
        {"olmo3", llama},
        {"seed_oss", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                      "token-classification"}},
        {"ernie4_5", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}},
        {"qwen3_5_text", llama},
        {"qwen3_next", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                        "token-classification"}},
        {"gpt_oss", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                     "token-classification"}},
        {"deepseek_v3", {"default", "default-with-past", "causal-lm", "causal-lm-with-past",
                         "sequence-classification", "token-classification"}},
        {"mistral4", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                      "token-classification"}},
        {"llama4_text", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}},
        {"glm4", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                  "token-classification"}},
        {"exaone4", {"default", "default-with-past", "causal-lm", "causal-lm-with-past", "sequence-classification",
                     "token-classification"}},
        {"granite_swa", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}},
        {"gemma4_text", {"default", "default-with-past", "causal-lm", "causal-lm-with-past"}}};
    v types;
    for (const auto& [type, features] : table) {
#ifndef TYPEFORMER_EVERY_FAMILY
        if (!tf::find_family(type)) continue;
#endif
        types.push_back(type);
        EXPECT_EQ(tf::supported_features(type), features) << type;
    }
    EXPECT_EQ(tf::supported_model_types(), types) << "the registered families, in the family list's order";
    EXPECT_THROW(tf::supported_features("umt5"), tf::error);
}

// Optimum's exporter (TextDecoderWithPositionIdsOnnxConfig) gives
// position_ids {batch, sequence}, the last input, after attention_mask, to
// the feature-extraction and text-generation graphs (with and without past)
// of these model types (MODEL_TYPES_REQUIRING_POSITION_IDS; OPT's from
// Transformers 4.46; Falcon's rotary variant only, test_falcon.cpp), and to
// no classifier of any decoder. Without it ORTModelForCausalLM calls the
// export "legacy", and a left-padded batch gets other positions than
// generate()'s.
TEST(models, position_ids_where_optimum_gives_them) {
    const std::vector<std::string_view> optimum{"codegen", "gpt2",    "gpt_bigcode", "gpt_neo", "gpt_neox",
                                                "gptj",    "granite", "llama",       "mistral", "olmo2",
                                                "opt",     "phi",     "phi3",        "qwen2",   "qwen3",
                                                "qwen3_moe", "smollm3", "stablelm", "gpt_oss",
                                                "qwen3_moe", "smollm3", "stablelm", "deepseek_v3",
                                                "mistral4"};
    const std::vector<std::string_view> generation{"default", "default-with-past", "causal-lm", "causal-lm-with-past"};
    auto in = [](const auto& list, std::string_view x) { return std::find(list.begin(), list.end(), x) != list.end(); };
    std::size_t checked = 0;
    for (const auto* f : tf::registered_families()) {
        if (!f->feature("causal-lm-with-past") || f->feature("seq2seq-lm-with-past")) continue;  // decoder-only
        for (const auto& feature : f->feature_names()) {
            const auto m = load_fixture(f->model_type, fixture_dir(f->model_type, feature));
            std::vector<std::string> names;
            std::vector<std::string> position_axes;
            for (const auto& i : m.family().require(feature).inputs(m.config)) {
                names.push_back(i.name);
                if (i.name == "position_ids") position_axes = i.axes;
            }
            const bool takes = in(names, "position_ids");
            if (!in(generation, feature)) {
                EXPECT_FALSE(takes) << f->model_type << " " << feature << ": Optimum gives a classifier no position_ids";
                continue;
            }
            if (!in(optimum, f->model_type)) continue;
            ++checked;
            ASSERT_GE(names.size(), 3u) << f->model_type << " " << feature;
            EXPECT_EQ(names.back(), "position_ids") << f->model_type << " " << feature;
            EXPECT_EQ(names[names.size() - 2], "attention_mask") << f->model_type << " " << feature;
            EXPECT_EQ(position_axes, (std::vector<std::string>{"batch", "sequence"})) << f->model_type << " " << feature;
        }
    }
    if (tf::find_family("gpt2")) EXPECT_GE(checked, 4u);
}
