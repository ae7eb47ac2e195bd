// genai_config.json (export/genai.hpp): for every built decoder fixture of a
// model type ONNX Runtime GenAI runs, the file written for the
// causal-lm-with-past graph names the graph's own inputs and outputs, its
// cache's heads and head size, its logits' vocabulary and config.json's
// sizes and special tokens; generation_config.json's search settings win
// over the defaults; everything GenAI cannot run is refused (export.genai).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "typeformer/export/genai.hpp"
#include "typeformer/export/pretrained.hpp"
#include "typeformer/export/registry.hpp"

namespace tf = typeformer;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = TYPEFORMER_FIXTURES;

/// config.json names an eos_token_id within its vocabulary.
bool has_end(const nlohmann::json& j) {
    const auto vocab = j.value("vocab_size", std::int64_t{0});
    if (!j.contains("eos_token_id")) return false;
    const auto& e = j["eos_token_id"];
    for (const auto& id : e.is_array() ? e : nlohmann::json::array({e}))
        if (id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < vocab) return true;
    return false;
}

/// The fixture folders (<fixtures>/<dir>/causal-lm-with-past) whose model type is built and run by GenAI, with
/// (or, want_end false, without) an end of sequence in config.json.
std::vector<std::string> genai_fixtures(bool want_end = true) {
    std::vector<std::string> v;
    for (const auto& d : fs::directory_iterator(fixtures)) {
        const auto dir = d.path() / "causal-lm-with-past";
        if (!fs::exists(dir / "config.json")) continue;
        const auto j = tf::config_reader::load(dir / "config.json");
        const auto type = j.value("model_type", std::string());
        // a cache whose layers differ in size (Gemma 4's full-attention layers: 5.x writes them as
        // per_layer_config) is refused by name: see layers_of_other_sizes_refused
        const bool layer_sizes = j.contains("per_layer_config") && !j["per_layer_config"].empty();
        if (tf::find_family(type) && !tf::genai_type_of(type).empty() && has_end(j) == want_end && !layer_sizes)
            v.push_back(d.path().filename().string());
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// The graph's inputs or outputs by name: their dims (-1 where named).
std::map<std::string, std::vector<std::int64_t>> io(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& vs) {
    std::map<std::string, std::vector<std::int64_t>> m;
    for (const auto& v : vs) {
        auto& d = m[v.name()];
        for (const auto& x : v.type().tensor_type().shape().dim()) d.push_back(x.has_dim_value() ? x.dim_value() : -1);
    }
    return m;
}

std::string layer_name(const std::string& pattern, int i) {
    char buf[128];
    std::snprintf(buf, sizeof buf, pattern.c_str(), i);
    return buf;
}

/// config.json's first key present among `keys`.
std::int64_t first_of(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
        if (j.contains(k) && j[k].is_number_integer()) return j[k].get<std::int64_t>();
    return -1;
}

struct built {
    tf::loaded_model m;
    nlohmann::json config;
    onnx::ModelProto graph;
};

built build(const fs::path& dir, std::string_view feature = tf::genai_feature) {
    const auto json = tf::config_reader::load(dir / "config.json");
    const auto& family = tf::require_family(json["model_type"].get<std::string>());
    built b{tf::load_model(family, dir, json), json, {}};
    b.graph = family.require(feature).build(b.m.config, b.m.weights, tf::default_opset, dir.string()).model;
    return b;
}

class genai : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(genai);

TEST_P(genai, config_names_the_graph) {
    const auto dir = fixtures / GetParam() / "causal-lm-with-past";
    const auto b = build(dir);
    const auto& family = b.m.family();
    ASSERT_TRUE(family.dims) << family.model_type << " states no sizes";
    const auto j = tf::genai_config(b.graph, family.model_type, family.dims(b.m.config), b.config, nullptr);
    const auto& model = j["model"];
    const auto& decoder = model["decoder"];
    const auto in = io(b.graph.graph().input()), out = io(b.graph.graph().output());

    EXPECT_EQ(model["type"], std::string(tf::genai_type_of(family.model_type)));  // GPT-OSS: "gptoss"
    EXPECT_EQ(decoder["filename"], "model.onnx");
    // every name given is the graph's, and every graph input is one GenAI feeds
    const int layers = decoder["num_hidden_layers"].get<int>();
    ASSERT_GT(layers, 0);
    const auto& inputs = decoder["inputs"];
    const auto& outputs = decoder["outputs"];
    std::size_t fed = 0;
    for (const char* k : {"input_ids", "attention_mask", "position_ids"}) {
        EXPECT_EQ(inputs.contains(k), in.contains(k)) << k;
        if (inputs.contains(k)) {
            EXPECT_EQ(inputs[k], k);
            ++fed;
        }
    }
    EXPECT_EQ(inputs["past_key_names"], "past_key_values.%d.key");
    EXPECT_EQ(inputs["past_value_names"], "past_key_values.%d.value");
    EXPECT_EQ(outputs["logits"], "logits");
    EXPECT_EQ(outputs["present_key_names"], "present.%d.key");
    EXPECT_EQ(outputs["present_value_names"], "present.%d.value");
    for (int i = 0; i < layers; ++i) {
        for (const char* k : {"past_key_names", "past_value_names"}) {
            const auto name = layer_name(inputs[k].get<std::string>(), i);
            ASSERT_TRUE(in.contains(name)) << name;
            const auto& d = in.at(name);
            ASSERT_EQ(d.size(), 4u) << name;
            EXPECT_EQ(d[1], decoder["num_key_value_heads"].get<std::int64_t>()) << name;
            EXPECT_EQ(d[3], decoder["head_size"].get<std::int64_t>()) << name;
            ++fed;
        }
        for (const char* k : {"present_key_names", "present_value_names"})
            EXPECT_TRUE(out.contains(layer_name(outputs[k].get<std::string>(), i))) << i;
    }
    EXPECT_EQ(fed, in.size()) << "a graph input GenAI does not feed";
    EXPECT_FALSE(in.contains(layer_name("past_key_values.%d.key", layers))) << "more layers than num_hidden_layers";
    ASSERT_TRUE(out.contains("logits"));
    EXPECT_EQ(model["vocab_size"].get<std::int64_t>(), out.at("logits").back());
    EXPECT_EQ(model["vocab_size"].get<std::int64_t>(), b.config["vocab_size"].get<std::int64_t>());

    // the sizes config.json states (the fixtures write every key)
    EXPECT_EQ(decoder["hidden_size"].get<std::int64_t>(), first_of(b.config, {"hidden_size", "n_embd"}));
    EXPECT_EQ(decoder["num_attention_heads"].get<std::int64_t>(), first_of(b.config, {"num_attention_heads", "n_head"}));
    // the cache's layers: Gemma 4's layers that share another's keys and values have no cache entry
    const std::int64_t shared = b.config.contains("num_kv_shared_layers") && b.config["num_kv_shared_layers"].is_number_integer()
                                    ? b.config["num_kv_shared_layers"].get<std::int64_t>()
                                    : 0;
    EXPECT_EQ(decoder["num_hidden_layers"].get<std::int64_t>(),
              first_of(b.config, {"num_hidden_layers", "n_layer"}) - shared);
    EXPECT_EQ(model["context_length"].get<std::int64_t>(),
              first_of(b.config, {"max_position_embeddings", "n_positions"}));
    if (b.config.contains("num_key_value_heads") && b.config["num_key_value_heads"].is_number_integer())
        EXPECT_EQ(decoder["num_key_value_heads"], b.config["num_key_value_heads"]);
    if (b.config.contains("head_dim") && b.config["head_dim"].is_number_integer())
        EXPECT_EQ(decoder["head_size"], b.config["head_dim"]);

    // special tokens: config.json's, those within the vocabulary (GenAI refuses any other); no pad_token_id:
    // the first eos_token_id
    const auto vocab = model["vocab_size"].get<std::int64_t>();
    const auto ids = [&](const char* k) {
        nlohmann::json v = nlohmann::json::array();
        if (b.config.contains(k))
            for (const auto& id : b.config[k].is_array() ? b.config[k] : nlohmann::json::array({b.config[k]}))
                if (id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < vocab)
                    v.push_back(id);
        return v;
    };
    const auto eos = ids("eos_token_id"), pad = ids("pad_token_id"), bos = ids("bos_token_id");
    ASSERT_FALSE(eos.empty()) << "refused without an eos_token_id: see no_end_of_sequence";
    EXPECT_EQ(model["eos_token_id"], eos.size() == 1 ? eos[0] : eos);
    EXPECT_EQ(model["pad_token_id"], pad.empty() ? eos[0] : pad[0]);
    EXPECT_EQ(model.contains("bos_token_id"), !bos.empty());
    if (!bos.empty()) EXPECT_EQ(model["bos_token_id"], bos[0]);

    // search defaults without generation_config.json: greedy, up to the context, the cache handed back
    const auto& search = j["search"];
    EXPECT_EQ(search["do_sample"], false);
    EXPECT_EQ(search["num_beams"], 1);
    EXPECT_EQ(search["max_length"], model["context_length"]);
    EXPECT_EQ(search["past_present_share_buffer"], false);
}
INSTANTIATE_TEST_SUITE_P(fixtures, genai, testing::ValuesIn(genai_fixtures()),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

// A config without an end of sequence (Qwen's fixtures): refused, and
// exported once generation_config.json names one.
class genai_without_eos : public testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(genai_without_eos);

TEST_P(genai_without_eos, refused_until_generation_config_names_it) {
    const auto b = build(fixtures / GetParam() / "causal-lm-with-past");
    const auto& family = b.m.family();
    const auto dims = family.dims(b.m.config);
    try {
        (void)tf::genai_config(b.graph, family.model_type, dims, b.config, nullptr);
        ADD_FAILURE() << "not refused";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "export.genai");
        EXPECT_NE(std::string(e.what()).find("names an eos_token_id within the vocabulary"), std::string::npos)
            << e.what();
    }
    const auto generation = nlohmann::json::parse(R"({"eos_token_id": 3})");
    const auto j = tf::genai_config(b.graph, family.model_type, dims, b.config, &generation);
    EXPECT_EQ(j["model"]["eos_token_id"], 3);
}
INSTANTIATE_TEST_SUITE_P(fixtures, genai_without_eos, testing::ValuesIn(genai_fixtures(false)),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

/// The first fixture GenAI runs, if any is built.
std::string any_fixture() {
    const auto v = genai_fixtures();
    return v.empty() ? std::string() : v.front();
}

TEST(genai_config, generation_config_wins) {
    const auto name = any_fixture();
    if (name.empty()) GTEST_SKIP() << "no decoder GenAI runs is built";
    const auto b = build(fixtures / name / "causal-lm-with-past");
    const auto& family = b.m.family();
    const auto dims = family.dims(b.m.config);
    auto generation = nlohmann::json::parse(R"({"eos_token_id": [5, 7, 1000000], "bos_token_id": 3, "do_sample": true,
        "top_k": 7, "top_p": 0.9, "temperature": 0.5, "max_length": 20, "repetition_penalty": 1.1,
        "num_beams": 2, "early_stopping": "never", "pad_token_id": null})");
    auto j = tf::genai_config(b.graph, family.model_type, dims, b.config, &generation);
    EXPECT_EQ(j["model"]["eos_token_id"], nlohmann::json::parse("[5, 7]"));  // 1000000: beyond the vocabulary
    EXPECT_EQ(j["model"]["bos_token_id"], 3);
    if (!b.config.contains("pad_token_id") || b.config["pad_token_id"].is_null())
        EXPECT_EQ(j["model"]["pad_token_id"], 5);  // the first eos
    const auto& s = j["search"];
    EXPECT_EQ(s["do_sample"], true);
    EXPECT_EQ(s["top_k"], 7);
    EXPECT_DOUBLE_EQ(s["top_p"].get<double>(), 0.9);
    EXPECT_DOUBLE_EQ(s["temperature"].get<double>(), 0.5);
    EXPECT_EQ(s["max_length"], 20);
    EXPECT_DOUBLE_EQ(s["repetition_penalty"].get<double>(), 1.1);
    EXPECT_EQ(s["num_beams"], 2);
    EXPECT_EQ(s["early_stopping"], false);  // "never" is not true
    // a max_length beyond the context is the context (GenAI cannot go further)
    generation["max_length"] = dims.max_positions + 100;
    j = tf::genai_config(b.graph, family.model_type, dims, b.config, &generation);
    EXPECT_EQ(j["search"]["max_length"], dims.max_positions);
}

TEST(genai_config, refused_by_name) {
    const auto refusal = [](auto&& f) -> std::string {
        try {
            f();
        } catch (const tf::error& e) {
            EXPECT_EQ(e.id(), "export.genai") << e.what();
            return e.what();
        }
        ADD_FAILURE() << "not refused";
        return {};
    };
    // a model type GenAI does not run, and a feature other than causal-lm-with-past
    EXPECT_NE(refusal([] { tf::require_genai("olmo2", "causal-lm-with-past"); }).find("does not run model type olmo2"),
              std::string::npos);
    EXPECT_NE(refusal([] { tf::require_genai("llama", "causal-lm"); }).find("not causal-lm"), std::string::npos);
    // GenAI 0.18 has no Llama 4 (its chunked attention and experts): refused by name
    EXPECT_NE(refusal([] { tf::require_genai("llama4_text", "causal-lm-with-past"); })
                  .find("does not run model type llama4_text"),
              std::string::npos);
    EXPECT_NE(refusal([] { tf::require_genai("bert", "masked-lm"); }).find("model type bert"), std::string::npos);
    // GenAI's gpt2 type does not take the cache by the names every decoder's graph has here
    EXPECT_NE(refusal([] { tf::require_genai("gpt2", "causal-lm-with-past"); }).find("does not run model type gpt2"),
              std::string::npos);
    // a graph without the cache
    const auto name = any_fixture();
    if (name.empty()) GTEST_SKIP() << "no decoder GenAI runs is built";
    const auto dir = fixtures / name / "causal-lm";
    if (!fs::exists(dir / "config.json")) GTEST_SKIP() << name << " has no causal-lm fixture";
    const auto b = build(dir, "causal-lm");
    const auto& family = b.m.family();
    EXPECT_NE(refusal([&] { (void)tf::genai_config(b.graph, family.model_type, family.dims(b.m.config), b.config, nullptr); })
                  .find("takes no cache"),
              std::string::npos);
}

// A hybrid decoder (qwen3_5_text): the attention layers' keys and values and
// the recurrent layers' conv and recurrent states, each layer once, named in
// genai_config.json as GenAI's Qwen3.5 runtime reads them.
TEST(genai_config, hybrid_names_its_states) {
    const auto dir = fixtures / "qwen3_5_text" / "causal-lm-with-past";
    if (!tf::find_family("qwen3_5_text")) GTEST_SKIP() << "qwen3_5_text is not built";
    const auto b = build(dir);
    const auto& family = b.m.family();
    const auto generation = nlohmann::json::parse(R"({"eos_token_id": 5})");
    const auto j = tf::genai_config(b.graph, family.model_type, family.dims(b.m.config), b.config, &generation);
    const auto& decoder = j["model"]["decoder"];
    const auto in = io(b.graph.graph().input()), out = io(b.graph.graph().output());
    EXPECT_EQ(j["model"]["type"], "qwen3_5_text");
    EXPECT_EQ(decoder["num_hidden_layers"], 3);
    EXPECT_EQ(decoder["num_key_value_heads"], 2);
    EXPECT_EQ(decoder["head_size"], 16);
    EXPECT_EQ(decoder["inputs"]["past_conv_names"], "past_key_values.%d.conv");
    EXPECT_EQ(decoder["inputs"]["past_recurrent_names"], "past_key_values.%d.recurrent");
    EXPECT_EQ(decoder["outputs"]["present_conv_names"], "present.%d.conv");
    EXPECT_EQ(decoder["outputs"]["present_recurrent_names"], "present.%d.recurrent");
    // layers 0 and 2 recurrent, layer 1 attention (the fixture's layer_types)
    for (int i = 0; i < 3; ++i) {
        const bool recurrent = i != 1;
        EXPECT_EQ(in.contains(layer_name("past_key_values.%d.conv", i)), recurrent) << i;
        EXPECT_EQ(in.contains(layer_name("past_key_values.%d.recurrent", i)), recurrent) << i;
        EXPECT_EQ(in.contains(layer_name("past_key_values.%d.key", i)), !recurrent) << i;
        EXPECT_EQ(out.contains(layer_name("present.%d.conv", i)), recurrent) << i;
        EXPECT_EQ(out.contains(layer_name("present.%d.value", i)), !recurrent) << i;
    }
    // another model type's graph with such inputs is refused: GenAI feeds them to its hybrid types only
    EXPECT_THROW((void)tf::genai_config(b.graph, "qwen3", family.dims(b.m.config), b.config, &generation), tf::error);
}

}  // namespace

// A cache whose layers have other heads or head sizes (Gemma 4's full-attention
// layers: global_head_dim, num_global_key_value_heads) is refused by name:
// GenAI sizes every layer's cache alike.
TEST(genai_config, layers_of_other_sizes_refused) {
    const auto dir = fixtures / "gemma4_text" / "causal-lm-with-past";
    if (!tf::find_family("gemma4_text") || !fs::exists(dir / "config.json")) GTEST_SKIP() << "gemma4_text is not built";
    const auto b = build(dir);
    const auto& family = b.m.family();
    try {
        (void)tf::genai_config(b.graph, family.model_type, family.dims(b.m.config), b.config, nullptr);
        ADD_FAILURE() << "not refused";
    } catch (const tf::error& e) {
        EXPECT_EQ(e.id(), "export.genai");
        EXPECT_NE(std::string(e.what()).find("past_key_values.3.key's heads or head size differ from the first "
                                             "layer's (GenAI sizes every layer's cache alike)"),
                  std::string::npos)
            << e.what();
    }
}
