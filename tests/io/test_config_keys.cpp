// Every config key Transformers reads is honoured or refused.
//
// tools/fixtures/config_keys.py records, under the oldest and the newest
// supported Transformers, every config attribute Transformers reads while it
// builds, runs and reloads each fixture model:
// tests/fixtures/config_keys/<model_type>.tf4.txt and .tf5.txt. Here each
// family's loader reads every fixture config.json of its model_type (the
// fixtures', as Transformers 5 writes them, and tests/fixtures_tf4/'s and
// tests/fixtures_tf4_configs/'s, as 4.41 does), as each release's model
// code reads them, with a recording config_reader. Each key Transformers
// reads must be
//   - read by the loader (honoured, refused by name, or declared no_effect),
//   - or one of PretrainedConfig's generic attributes below, which cannot
//     change the exported graph (each says why),
//   - or a known gap: tests/fixtures/config_keys/known_gaps.txt lists the
//     keys the loaders do not read yet, with what Transformers does with
//     them. The fix is in the family's loader; then the line goes.
// A new key that is none of these fails, and so does a known gap that is
// covered now or that Transformers no longer reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/export/registry.hpp"

#include "../known_list.hpp"

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = TYPEFORMER_FIXTURES;
const fs::path keys_dir = fixtures / "config_keys";
const fs::path tf4_fixtures = fixtures.parent_path() / "fixtures_tf4";
const fs::path tf4_configs = fixtures.parent_path() / "fixtures_tf4_configs";

struct generic_key {
    std::string_view key, why;
};

// PretrainedConfig's own attributes, the same in every family, that cannot
// change the exported graph. Keys that can (pruned_heads, is_decoder,
// quantization_config, tie_word_embeddings, layer_types, ...) are not here:
// a loader reads or refuses them.
constexpr generic_key generic_keys[] = {
    {"_attn_implementation", "which attention kernel (eager, sdpa, flash): the same function"},
    {"_attn_implementation_internal", "storage of _attn_implementation"},
    {"attn_implementation", "from_pretrained's argument looked up on the config: _attn_implementation"},
    {"_experts_implementation", "which mixture-of-experts kernel: none of these families has experts"},
    {"_experts_implementation_internal", "storage of _experts_implementation"},
    {"_name_or_path", "where the checkpoint was loaded from"},
    {"name_or_path", "where the checkpoint was loaded from"},
    {"_output_attentions", "storage of output_attentions"},
    {"output_attentions", "also return the attention probabilities: an extra output the export does not have"},
    {"output_hidden_states", "also return every layer's hidden states: an extra output the export does not have"},
    {"output_cross_attentions", "also return cross-attention probabilities: no cross-attention is exported"},
    {"return_dict", "the Python container of the outputs (ModelOutput or tuple)"},
    {"use_return_dict", "the Python container of the outputs (ModelOutput or tuple)"},
    {"torchscript", "tied weights cloned rather than shared for TorchScript: the same values"},
    {"use_cache", "whether forward returns the cache: the export's feature decides (-with-past)"},
    {"torch_dtype", "the dtype weights are loaded in: the export reads the checkpoint's own dtypes"},
    {"dtype", "5.x's name for torch_dtype"},
    {"gradient_checkpointing", "recompute activations in training"},
    {"initializer_range", "the std of the initialisation that the checkpoint's weights replace"},
    {"problem_type", "which loss the heads compute when labels are given; no loss is exported"},
    {"label2id", "label names; the number of labels is num_labels / id2label, which loaders read"},
    {"chunk_size_feed_forward", "the feed-forward applied in sequence chunks: the same function"},
    {"is_encoder_decoder", "EncoderDecoderModel composition and generation; these families' modules never read it"},
    {"model_type", "selects the family: export_pretrained reads it before the family's loader does"},
    {"transformers_version", "the version that wrote config.json"},
    {"architectures", "the class that saved the checkpoint; the export's feature picks the head"},
    {"gguf_file", "5.x from_pretrained: load the weights from a GGUF file, an argument looked up on the config"},
    {"transformers_weights", "5.x from_pretrained: an explicit weights file name to download"},
    {"text_config", "5.x get_text_config(): a composite model's nested text config; these configs are flat"},
    {"decoder", "5.x get_text_config(): a composite model's nested decoder config"},
    {"generator", "5.x get_text_config(): a composite model's nested generator config"},
    {"text_encoder", "5.x get_text_config(): a composite model's nested text encoder config"},
    {"sub_configs", "5.x: the nested config classes of a composite model (a class setting)"},
    {"vision_feature_layer", "5.x's generic forward wrapper fills multimodal kwargs from the config; text-only"},
    {"vision_feature_select_strategy", "5.x's generic forward wrapper fills multimodal kwargs; text-only"},
    {"vision_aspect_ratio", "5.x's generic forward wrapper fills multimodal kwargs; text-only"},
};

// Model types Transformers 4.41 does not have: no .tf4.txt list (config_keys.py
// under 4.41 has no cases for them).
constexpr std::string_view not_in_transformers4_41[] = {"qwen3",  "olmo2",     "granite",    "smollm3",
                                                        "gemma2", "qwen3_moe", "gemma3_text", "olmo3", "seed_oss", "ernie4_5", "qwen3_5_text", "qwen3_next", "gpt_oss", "deepseek_v3", "mistral4", "llama4_text", "glm4", "exaone4", "granite_swa", "gemma4_text"};

const generic_key* generic(std::string_view key) {
    for (const auto& g : generic_keys)
        if (g.key == key) return &g;
    // a nested config's own generic attributes (DETR's backbone_config: "backbone_config.return_dict")
    if (const auto dot = key.find('.'); key.starts_with("backbone_config.")) return generic(key.substr(dot + 1));
    return nullptr;
}

/// A list: one key a line.
std::set<std::string> read_list(const fs::path& file) {
    std::set<std::string> keys;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') keys.insert(line);
    return keys;
}

/// known_gaps.txt: model_type <TAB> key <TAB> what Transformers does with it.
std::map<std::string, std::map<std::string, std::string>> known_gaps() {
    std::map<std::string, std::map<std::string, std::string>> gaps;
    for (const auto& [model_type, key, why] : read_known_list(keys_dir / "known_gaps.txt")) gaps[model_type][key] = why;
    return gaps;
}

/// Every config.json under `root`/<folder>/<feature>/ whose model_type is `model_type`.
std::vector<fs::path> configs_of(const fs::path& root, std::string_view model_type) {
    std::vector<fs::path> v;
    if (!fs::exists(root)) return v;
    for (const auto& folder : fs::directory_iterator(root)) {
        if (!folder.is_directory()) continue;
        for (const auto& feature : fs::directory_iterator(folder.path())) {
            const auto file = feature.path() / "config.json";
            if (!fs::exists(file)) continue;
            const auto j = tf::config_reader::load(file);
            if (j.contains("model_type") && j["model_type"] == model_type) v.push_back(file);
        }
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// The keys the family's loader reads over every fixture config.json of its
/// model_type, 4.x's and 5.x's, as 4.41's and as 5.x's model code reads it
/// (a refused config counts up to the refusal).
std::set<std::string> loader_reads(const tf::family_handle& f) {
    auto log = std::make_shared<tf::config_reader::key_log>();
    for (const auto& root : {fixtures, tf4_fixtures, tf4_configs})
        for (const auto& file : configs_of(root, f.model_type))
            for (const auto follow : {tf::follow_transformers::v5, tf::follow_transformers::v4_41}) {
                const auto j = tf::config_reader::load(file);
                tf::config_reader r(j, file.string());
                r.follow(follow).record_keys(log);
                try {
                    (void)f.load(r);
                } catch (const std::exception&) {
                    // refused: the keys read until then still count (the schema test reports refusals)
                }
            }
    return *log;
}

std::vector<std::string> every_model_type() {
    std::vector<std::string> v;
    for (const auto* f : tf::registered_families()) v.emplace_back(f->model_type);
    return v;
}

}  // namespace

TEST(config_keys, recorder_records_nested_keys) {
    const auto j = nlohmann::json::parse(R"({"a": 1, "rope_scaling": {"type": "linear", "factor": 2.0}})");
    tf::config_reader r(j, "config.json");
    auto log = std::make_shared<tf::config_reader::key_log>();
    r.record_keys(log);
    std::int64_t a = 0;
    r.get("a", a);
    r.get("absent", a);
    std::optional<tf::config_reader> child;
    ASSERT_TRUE(r.child("rope_scaling", child));
    std::string type;
    child->get("type", type);
    EXPECT_EQ(type, "linear");
    EXPECT_EQ(*log, (tf::config_reader::key_log{"a", "absent", "rope_scaling", "rope_scaling.type"}));
    tf::config_reader quiet(j, "config.json");
    quiet.get("a", a);
    EXPECT_EQ(quiet.recorded_keys(), nullptr);
}

class config_keys_of : public testing::TestWithParam<std::string> {};

TEST_P(config_keys_of, transformers_reads_nothing_the_loader_ignores) {
    const std::string model_type = GetParam();
    const auto& family = tf::require_family(model_type);
    const auto tf4 = read_list(keys_dir / (model_type + ".tf4.txt"));
    const auto tf5 = read_list(keys_dir / (model_type + ".tf5.txt"));
    const bool in_4_41 = std::find(std::begin(not_in_transformers4_41), std::end(not_in_transformers4_41),
                                   model_type) == std::end(not_in_transformers4_41);
    if (in_4_41)
        ASSERT_FALSE(tf4.empty()) << model_type << ".tf4.txt is missing: run tools/fixtures/config_keys.py (4.41)";
    else
        ASSERT_TRUE(tf4.empty()) << model_type << ": not in Transformers 4.41, yet it has a .tf4.txt list";
    ASSERT_FALSE(tf5.empty()) << model_type << ".tf5.txt is missing: run tools/fixtures/config_keys.py (5.x)";
    const auto reads = loader_reads(family);
    ASSERT_FALSE(reads.empty()) << model_type << ": no fixture config.json was read";
    const auto gaps = known_gaps();
    const auto known = gaps.contains(model_type) ? gaps.at(model_type) : std::map<std::string, std::string>{};

    std::set<std::string> transformers = tf4;
    transformers.insert(tf5.begin(), tf5.end());
    std::size_t known_count = 0;
    for (const auto& key : transformers) {
        if (reads.contains(key) || generic(key)) continue;
        const std::string versions = std::string(tf4.contains(key) ? "4.41" : "") +
                                     (tf4.contains(key) && tf5.contains(key) ? " and " : "") +
                                     (tf5.contains(key) ? "5.x" : "");
        if (known.contains(key)) {
            ++known_count;
            std::cout << "[ known gap ] " << model_type << " " << key << " (Transformers " << versions
                      << "): " << known.at(key) << "\n";
            continue;
        }
        ADD_FAILURE() << model_type << ": Transformers " << versions << " reads config key \"" << key
                      << "\", which the loader neither reads nor refuses. Honour it or refuse it in the family's "
                         "loader (a key that cannot change the graph: no_effect); see "
                         "tests/fixtures/config_keys/where.tf*.tsv for where Transformers reads it";
    }
    for (const auto& [key, why] : known) {
        if (!transformers.contains(key))
            ADD_FAILURE() << "known_gaps.txt: " << model_type << " " << key
                          << ": Transformers no longer reads it (regenerated lists?): remove the line";
        else if (reads.contains(key) || generic(key))
            ADD_FAILURE() << "known_gaps.txt: " << model_type << " " << key
                          << ": the loader reads it now: remove the line";
    }
    std::cout << "[ config keys ] " << model_type << ": Transformers reads " << transformers.size()
              << " keys; the loader reads " << reads.size() << "; " << known_count << " known gaps\n";
}

INSTANTIATE_TEST_SUITE_P(families, config_keys_of, testing::ValuesIn(every_model_type()),
                         [](const testing::TestParamInfo<std::string>& i) {
                             std::string s = i.param;
                             for (auto& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

// add_cross_attention true gives each layer a cross-attention sublayer (for
// the decoder of an encoder-decoder model) that the export does not build:
// every family whose Transformers model reads the key refuses true by name.
TEST(config_keys, add_cross_attention_true_is_refused) {
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(keys_dir)) {
        const auto name = entry.path().filename().string();
        if (!name.ends_with(".tf4.txt") || !read_list(entry.path()).contains("add_cross_attention")) continue;
        const auto model_type = name.substr(0, name.size() - std::string_view(".tf4.txt").size());
        const auto* family = tf::find_family(model_type);
        const auto configs = configs_of(fixtures, model_type);
        if (!family || configs.empty()) continue;  // not built (TYPEFORMER_FAMILIES)
        auto json = tf::config_reader::load(configs.front());
        EXPECT_NO_THROW((void)family->load(tf::config_reader(json, "config.json"))) << model_type;
        json["add_cross_attention"] = true;
        try {
            (void)family->load(tf::config_reader(json, "config.json"));
            ADD_FAILURE() << model_type << ": add_cross_attention true was accepted";
        } catch (const tf::error& e) {
            EXPECT_EQ(e.id(), "config.unsupported") << model_type;
            EXPECT_NE(std::string(e.what()).find("/add_cross_attention: true is not supported"), std::string::npos)
                << model_type << ": " << e.what();
        }
        ++checked;
    }
#ifdef TYPEFORMER_EVERY_FAMILY
    EXPECT_GE(checked, 12);  // BERT, BigBird, the six RoBERTa copies, ConvBERT, ELECTRA, ERNIE, LayoutLM, RoFormer
#endif
}

#ifdef TYPEFORMER_EVERY_FAMILY
// Every recorded list belongs to a family, and every known gap names one.
TEST(config_keys, every_list_is_a_family) {
    for (const auto& entry : fs::directory_iterator(keys_dir)) {
        const auto name = entry.path().filename().string();
        for (const std::string suffix : {".tf4.txt", ".tf5.txt"}) {
            if (name.ends_with(suffix)) {
                EXPECT_NE(tf::find_family(name.substr(0, name.size() - suffix.size())), nullptr) << name;
            }
        }
    }
    for (const auto& [model_type, keys] : known_gaps())
        EXPECT_NE(tf::find_family(model_type), nullptr) << "known_gaps.txt names " << model_type;
}
#endif
