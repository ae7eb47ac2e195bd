// typeformer/export/genai.hpp: genai_config.json, the file ONNX Runtime
// GenAI reads next to a decoder's model.onnx (export_options::genai).
//
// GenAI (onnxruntime-genai) generates from a folder holding model.onnx,
// genai_config.json and the tokenizer files. Its decoder-only runtime feeds
// the graph input_ids, attention_mask, position_ids (where the graph takes
// them) and the cache by the names genai_config.json gives, and reads
// logits and present.*. The file is derived from what was built: the
// graph's own input and output names, its cache's declared heads and head
// size, its logits' vocabulary; the config's hidden size, heads and context
// length; the special tokens and the search defaults of config.json and
// generation_config.json.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "typeformer/core/linkage.hpp"
#include "typeformer/export/handle.hpp"

namespace typeformer::inline v0 {

/// The model types GenAI's decoder-only runtime (onnxruntime-genai 0.18)
/// accepts in genai_config.json that are also typeformer families, each
/// with GenAI's name for it (config.json's, but GPT-OSS's "gptoss"). A model type
/// outside this list (olmo2, olmo3, seed_oss, mixtral, qwen3_moe, gpt_neox, falcon, ...) is
/// refused: GenAI 0.18 stops at "Unsupported model_type in config.json".
/// GenAI has a gpt2 type, but it does not run the cache GPT-2's graph has
/// here (past_key_values.%d.key/value, as for every other decoder): it
/// stops at "Model input was not found" for a graph that GenAI's llama type
/// runs as it is; gpt2 is refused too, by name. A hybrid decoder's
/// recurrent layers (qwen3_5_text) take past_key_values.%d.conv and
/// .recurrent instead of keys and values: genai_config.json names them
/// (past_conv_names, past_recurrent_names, and the present ones), and GenAI
/// feeds them, zeros on the first step. GenAI 0.18 has no qwen3_next type.
struct genai_type {
    std::string_view model_type, genai;
};
inline constexpr genai_type genai_model_types[] = {
    {"llama", "llama"},     {"mistral", "mistral"}, {"qwen2", "qwen2"},
    {"qwen3", "qwen3"},     {"phi", "phi"},       {"phi3", "phi3"},       {"gemma", "gemma"},
    {"gemma2", "gemma2"},   {"gemma3_text", "gemma3_text"}, {"granite", "granite"}, {"smollm3", "smollm3"},
    {"ernie4_5", "ernie4_5"},
    {"qwen3_5_text", "qwen3_5_text"},
    {"gpt_oss", "gptoss"},
    {"gemma4_text", "gemma4_text"},
};

/// The one feature GenAI runs: a decoder's logits with its cache.
inline constexpr std::string_view genai_feature = "causal-lm-with-past";

/// GenAI's name for a model type; empty when GenAI does not run it.
inline std::string_view genai_type_of(std::string_view model_type) {
    for (const auto& t : genai_model_types)
        if (t.model_type == model_type) return t.genai;
    return {};
}

/// Throws export.genai, saying why, unless GenAI runs this model type's
/// `feature` (causal-lm-with-past of a model type it knows).
void require_genai(std::string_view model_type, std::string_view feature);

/// genai_config.json for the built graph `graph` (model.onnx) of a model
/// whose config.json is `config`, its generation_config.json `generation`
/// (null when none) and its sizes `dims`. Throws export.genai when the
/// graph is not one GenAI can feed (an input it does not know, a cache
/// whose heads or head size are not fixed, no logits).
nlohmann::ordered_json genai_config(const onnx::ModelProto& graph, std::string_view model_type, const model_dims& dims,
                                    const nlohmann::json& config, const nlohmann::json* generation,
                                    std::string_view filename = "model.onnx");

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void require_genai(std::string_view model_type, std::string_view feature) {
    if (model_type == "gpt2")
        throw error("export.genai", "--genai: ONNX Runtime GenAI (0.18) does not run model type gpt2 as typeformer "
                                    "exports it: GenAI's gpt2 type does not take the cache as past_key_values.%d.key "
                                    "and .value (it stops at \"Model input was not found\")");
    if (genai_type_of(model_type).empty()) {
        std::string known;
        for (const auto& t : genai_model_types) known += (known.empty() ? "" : ", ") + std::string(t.model_type);
        throw error("export.genai", "--genai: ONNX Runtime GenAI (0.18) does not run model type " +
                                        std::string(model_type) +
                                        " (its decoder-only runtime refuses a model type it does not list); "
                                        "--genai is written for " + known);
    }
    if (feature != genai_feature)
        throw error("export.genai", "--genai: ONNX Runtime GenAI runs a decoder's causal-lm-with-past "
                                    "(text-generation-with-past: logits, the cache in and out), not " +
                                        std::string(feature) + "; export causal-lm-with-past, or without --genai");
}

namespace detail::genai {

/// The dims of a graph input or output; each a value (>= 0) or -1 (named).
inline std::vector<std::int64_t> dims_of(const onnx::ValueInfoProto& v) {
    std::vector<std::int64_t> d;
    for (const auto& x : v.type().tensor_type().shape().dim()) d.push_back(x.has_dim_value() ? x.dim_value() : -1);
    return d;
}

/// "past_key_values.3.key" against "past_key_values.", ".key": 3; nullopt otherwise.
inline std::optional<int> layer_of(std::string_view name, std::string_view prefix, std::string_view suffix) {
    if (!name.starts_with(prefix) || !name.ends_with(suffix) || name.size() <= prefix.size() + suffix.size())
        return std::nullopt;
    const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) || digits.size() > 6)
        return std::nullopt;
    return std::stoi(std::string(digits));
}

/// A token id of config.json or generation_config.json: an integer, a
/// list of them (the first, or all with `all`), or nothing (null, absent,
/// anything else).
inline std::optional<nlohmann::json> token_id(const nlohmann::json& j, const char* key, bool all) {
    if (!j.is_object() || !j.contains(key)) return std::nullopt;
    const auto& v = j[key];
    if (v.is_number_integer()) return v;
    if (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_number_integer(); }))
        return all ? (v.size() == 1 ? v[0] : v) : v[0];
    return std::nullopt;
}

}  // namespace detail::genai

TYPEFORMER_INLINE nlohmann::ordered_json genai_config(const onnx::ModelProto& graph, std::string_view model_type, const model_dims& dims, const nlohmann::json& config, const nlohmann::json* generation, std::string_view filename) {
    using namespace detail::genai;
    const auto fail = [&](const std::string& why) {
        throw error("export.genai", "--genai: " + std::string(model_type) + "'s graph cannot be run by ONNX Runtime "
                                    "GenAI: " + why);
    };
    const auto type = genai_type_of(model_type);
    if (type.empty()) require_genai(model_type, genai_feature);
    if (dims.hidden_size <= 0 || dims.num_attention_heads <= 0 || dims.max_positions <= 0)
        fail("its config states no hidden size, attention heads and context length");

    // the inputs GenAI feeds, by the names the graph has
    nlohmann::ordered_json inputs, outputs;
    int layers = -1;  // the cache's layers: past_key_values.0 .. layers - 1
    std::int64_t kv_heads = 0, head_size = 0;
    std::vector<int> keys, values, present_keys, present_values;
    // a hybrid decoder's recurrent layers (their states: .conv, .recurrent, all sizes but the batch fixed)
    std::vector<int> convs, states, present_convs, present_states;
    const bool hybrid = model_type == "qwen3_5_text";
    for (const auto& in : graph.graph().input()) {
        const auto& name = in.name();
        if (name == "input_ids" || name == "attention_mask" || name == "position_ids") {
            inputs[name] = name;
        } else if (const auto k = layer_of(name, "past_key_values.", ".key")) {
            keys.push_back(*k);
            const auto d = dims_of(in);
            if (d.size() != 4 || d[0] >= 0 || d[1] <= 0 || d[2] >= 0 || d[3] <= 0)
                fail(name + " is not {batch, kv_heads, past_sequence, head_size} with kv_heads and head_size fixed, "
                            "the cache layout GenAI allocates");
            if (keys.size() == 1) kv_heads = d[1], head_size = d[3];
            else if (d[1] != kv_heads || d[3] != head_size)
                fail(name + "'s heads or head size differ from the first layer's (GenAI sizes every layer's "
                            "cache alike)");
        } else if (const auto c = hybrid ? layer_of(name, "past_key_values.", ".conv") : std::nullopt) {
            convs.push_back(*c);
            const auto d = dims_of(in);
            if (d.size() != 3 || d[1] <= 0 || d[2] <= 0) fail(name + " is not {batch, conv_dim, kernel - 1}, fixed");
        } else if (const auto s = hybrid ? layer_of(name, "past_key_values.", ".recurrent") : std::nullopt) {
            states.push_back(*s);
            const auto d = dims_of(in);
            if (d.size() != 4 || d[1] <= 0 || d[2] <= 0 || d[3] <= 0)
                fail(name + " is not {batch, value_heads, key_head_dim, value_head_dim}, fixed");
        } else if (const auto v = layer_of(name, "past_key_values.", ".value")) {
            values.push_back(*v);
            const auto d = dims_of(in);
            if (d.size() != 4 || d[1] <= 0 || d[3] <= 0)
                fail(name + " is not {batch, kv_heads, past_sequence, head_size}, the cache layout GenAI allocates");
        } else {
            fail("it takes the input " + name + ", which GenAI does not feed (it feeds input_ids, attention_mask, "
                                                "position_ids and past_key_values.%d.key/value)");
        }
    }
    for (const auto& out : graph.graph().output()) {
        const auto& name = out.name();
        if (const auto k = layer_of(name, "present.", ".key")) present_keys.push_back(*k);
        else if (const auto v = layer_of(name, "present.", ".value")) present_values.push_back(*v);
        else if (const auto c = layer_of(name, "present.", ".conv")) present_convs.push_back(*c);
        else if (const auto s = layer_of(name, "present.", ".recurrent")) present_states.push_back(*s);
    }
    for (auto* v : {&keys, &values, &present_keys, &present_values, &convs, &states, &present_convs, &present_states})
        std::sort(v->begin(), v->end());
    // every layer 0 .. n-1 once: keys and values, or (a hybrid's recurrent layer) conv and recurrent states
    std::vector<int> all = keys;
    all.insert(all.end(), convs.begin(), convs.end());
    std::sort(all.begin(), all.end());
    bool every = values == keys && present_keys == keys && present_values == keys && states == convs &&
                 present_convs == convs && present_states == convs;
    for (std::size_t i = 0; i < all.size(); ++i) every = every && all[i] == static_cast<int>(i);
    if (!inputs.contains("input_ids")) fail("it has no input_ids input");
    if (keys.empty()) fail("it takes no cache (past_key_values.%d.key)");
    if (!every)
        fail("its past_key_values.%d.key/value inputs and present.%d.key/value outputs are not one pair for every "
             "layer 0 .. n-1");
    layers = static_cast<int>(all.size());
    inputs["past_key_names"] = "past_key_values.%d.key";
    inputs["past_value_names"] = "past_key_values.%d.value";
    if (!convs.empty()) {
        inputs["past_conv_names"] = "past_key_values.%d.conv";
        inputs["past_recurrent_names"] = "past_key_values.%d.recurrent";
    }

    std::int64_t vocab = 0;
    for (const auto& out : graph.graph().output())
        if (out.name() == "logits") {
            const auto d = dims_of(out);
            if (d.size() != 3 || d[2] <= 0) fail("its logits are not {batch, sequence, vocab} with vocab fixed");
            vocab = d[2];
        }
    if (vocab == 0) fail("it has no logits output");
    outputs["logits"] = "logits";
    outputs["present_key_names"] = "present.%d.key";
    outputs["present_value_names"] = "present.%d.value";
    if (!convs.empty()) {
        outputs["present_conv_names"] = "present.%d.conv";
        outputs["present_recurrent_names"] = "present.%d.recurrent";
    }

    // special tokens: generation_config.json's where it sets them, else config.json's (as GenAI's builder reads them)
    // An id outside the vocabulary is never generated, and GenAI refuses a config naming one ("eos_token_id (N)
    // must be in range [0, vocab_size)"): such ids are left out, which generates the same tokens.
    const nlohmann::json none = nlohmann::json::object();
    const nlohmann::json& gen = generation ? *generation : none;
    const auto in_vocab = [&](const nlohmann::json& id) {
        return id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < vocab;
    };
    const auto token = [&](const char* key, bool all) -> std::optional<nlohmann::json> {
        auto v = token_id(gen, key, true);
        if (!v) v = token_id(config, key, true);
        if (!v) return std::nullopt;
        nlohmann::json ids = nlohmann::json::array();
        for (const auto& id : v->is_array() ? *v : nlohmann::json::array({*v}))
            if (in_vocab(id)) ids.push_back(id);
        if (ids.empty()) return std::nullopt;
        if (!all || ids.size() == 1) return ids[0];
        return ids;
    };
    // Without an eos_token_id Transformers never ends a sequence early; GenAI cannot be told so (without one in
    // genai_config.json it ends at its default, pad_token_id or 0)
    const auto eos = token("eos_token_id", true);
    if (!eos)
        fail("neither generation_config.json nor config.json names an eos_token_id within the vocabulary (0 to " +
             std::to_string(vocab - 1) + "), and GenAI, given none, ends a sequence at a token of its own choosing; "
             "name the end of sequence in generation_config.json's eos_token_id");
    // GenAI pads a finished row with pad_token_id: without one, the first eos, as GenAI's builder does
    std::optional<nlohmann::json> pad = token("pad_token_id", false);
    if (!pad && eos) pad = eos->is_array() ? (*eos)[0] : *eos;
    const auto bos = token("bos_token_id", false);

    // search defaults: generation_config.json's, else Transformers' GenerationConfig defaults
    const auto setting = [&](const char* key, nlohmann::json fallback) {
        if (gen.is_object() && gen.contains(key) && !gen[key].is_null() &&
            (gen[key].type() == fallback.type() || (gen[key].is_number() && fallback.is_number())))
            return gen[key];
        return fallback;
    };
    auto max_length = setting("max_length", dims.max_positions);
    if (!max_length.is_number_integer() || max_length.get<std::int64_t>() > dims.max_positions ||
        max_length.get<std::int64_t>() <= 0)
        max_length = dims.max_positions;

    nlohmann::ordered_json decoder;
    decoder["session_options"] = {{"log_id", "onnxruntime-genai"}, {"provider_options", nlohmann::ordered_json::array()}};
    decoder["filename"] = filename;
    decoder["head_size"] = head_size;
    decoder["hidden_size"] = dims.hidden_size;
    decoder["inputs"] = inputs;
    decoder["outputs"] = outputs;
    decoder["num_attention_heads"] = dims.num_attention_heads;
    decoder["num_hidden_layers"] = layers;
    decoder["num_key_value_heads"] = kv_heads;

    nlohmann::ordered_json model;
    if (bos) model["bos_token_id"] = *bos;  // GenAI's tokenizer adds it where the tokenizer's config says
    model["context_length"] = dims.max_positions;
    model["decoder"] = decoder;
    model["eos_token_id"] = *eos;
    if (pad) model["pad_token_id"] = *pad;
    model["type"] = type;
    model["vocab_size"] = vocab;

    nlohmann::ordered_json search;
    search["diversity_penalty"] = setting("diversity_penalty", 0.0);
    search["do_sample"] = setting("do_sample", false);
    search["early_stopping"] = setting("early_stopping", false);  // "never" (a string) is false
    search["length_penalty"] = setting("length_penalty", 1.0);
    search["max_length"] = max_length;
    search["min_length"] = setting("min_length", 0);
    search["no_repeat_ngram_size"] = setting("no_repeat_ngram_size", 0);
    search["num_beams"] = setting("num_beams", 1);
    search["num_return_sequences"] = setting("num_return_sequences", 1);
    // the graph concatenates the past and the new keys into present.*: GenAI must hand present back as the
    // next past, not share one buffer of max_length (which needs an attention that writes in place)
    search["past_present_share_buffer"] = false;
    search["repetition_penalty"] = setting("repetition_penalty", 1.0);
    search["temperature"] = setting("temperature", 1.0);
    search["top_k"] = setting("top_k", 50);
    search["top_p"] = setting("top_p", 1.0);

    nlohmann::ordered_json j;
    j["model"] = model;
    j["search"] = search;
    return j;
}
#endif

}  // namespace typeformer::inline v0
