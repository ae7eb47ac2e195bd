// typeformer/export/handle.hpp: a family behind a run-time handle.
//
// A family is a type; the exporter, the tests and a user's program pick one
// at run time by config.json's `model_type`. A family_handle is that type's
// operations compiled once, in its header's translation unit (handle_of,
// export/make_handle.hpp), and called through function
// pointers everywhere else, so that no other translation unit instantiates
// the family's forward pass again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "typeformer/export/composite.hpp"
#include "typeformer/export/export.hpp"
#include "typeformer/io/config_json.hpp"

namespace typeformer::inline v0 {

struct family_handle;

/// A config.json read by a family: the typed config, behind a pointer, and
/// the family that reads it (a family whose graph depends on the config,
/// such as DeBERTa's token_type_ids input, answers with one of its variants).
struct loaded_config {
    std::shared_ptr<const void> config;
    const family_handle* family = nullptr;
};

/// One feature (task) of a family, erased: one graph (model.onnx), or, for
/// an encoder-decoder's generation features, several (`parts`: the
/// encoder, the decoders), each a feature_handle of its own.
struct feature_handle {
    std::string_view name;  ///< the legacy feature name ("masked-lm"); a part's: its graph's ("encoder_model")
    std::string_view graph = "model";  ///< the graph's file, without ".onnx"
    bool has_past = false;  ///< takes and returns a KV cache (a part of the feature does)
    /// With a cache: the graph serves the first step too (an empty past), as
    /// a decoder's with-past graph does; an encoder-decoder's
    /// decoder_with_past_model always has a past.
    bool empty_past = false;
    /// An encoder-decoder feature's graphs, in the order they run; empty for
    /// a feature of one graph (whose operations are the members below).
    std::vector<feature_handle> parts;
    /// A feature of several graphs that can also be written as one
    /// (model.onnx, --monolith): that graph; null otherwise.
    std::shared_ptr<const feature_handle> monolith;
    /// The graph without its weights, its initializers and the parameter check (build_graph).
    built_graph (*build)(const loaded_config&, const checkpoint&, graph_options o, std::string_view where) = nullptr;
    /// The reference pass (reference_outputs).
    tensor_map (*reference)(const loaded_config&, const checkpoint&, const tensor_map& inputs,
                            weight_cache* cache) = nullptr;
    /// Deterministic inputs at the given sizes (make_inputs).
    tensor_map (*make_inputs)(const loaded_config&, axis_sizes, std::uint32_t seed) = nullptr;
    /// The graph's inputs and outputs as the model declares them, in order.
    std::vector<io_name> (*inputs)(const loaded_config&) = nullptr;
    std::vector<io_name> (*outputs)(const loaded_config&) = nullptr;

    /// The graphs of the feature: its parts, or itself.
    [[nodiscard]] std::vector<const feature_handle*> graphs() const {
        if (parts.empty()) return {this};
        std::vector<const feature_handle*> v;
        for (const auto& p : parts) v.push_back(&p);
        return v;
    }
    /// The part that writes `graph` ("decoder_model"), or nullptr.
    [[nodiscard]] const feature_handle* part(std::string_view graph_name) const {
        for (const auto* g : graphs())
            if (g->graph == graph_name) return g;
        return nullptr;
    }
};

/// A decoder's sizes as its config states them (Transformers' defaults for
/// absent keys), for the files written next to its graph
/// (genai_config.json); 0 where the config does not say.
struct model_dims {
    std::int64_t hidden_size = 0, num_attention_heads = 0, max_positions = 0;
};

/// One family (one `model_type`), erased.
struct family_handle {
    std::string_view model_type;   ///< config.json's model_type
    std::string_view base_prefix;  ///< the base model's state-dict prefix
    double atol = 1e-5;            ///< its validation tolerance
    /// Read config.json (the config's check included).
    loaded_config (*load)(const config_reader&) = nullptr;
    /// Declare the tied weights of every feature to the checkpoint, and add
    /// the tensors the family makes from stored ones (tie_weights).
    void (*tie_weights)(const loaded_config&, checkpoint&) = nullptr;
    /// The config's sizes (its shape()); null for a family whose config has none.
    model_dims (*dims)(const loaded_config&) = nullptr;
    std::vector<feature_handle> features;

    /// The feature named `name`, or nullptr.
    [[nodiscard]] const feature_handle* feature(std::string_view name) const {
        for (const auto& f : features)
            if (f.name == name) return &f;
        return nullptr;
    }
    /// The feature named `name`; export.feature, naming the supported ones, if there is none.
    [[nodiscard]] const feature_handle& require(std::string_view name) const {
        if (const auto* f = feature(name)) return *f;
        std::string names;
        for (const auto& n : feature_names()) names += (names.empty() ? "" : ", ") + n;
        throw error("export.feature", "feature " + std::string(name) + " is not supported for " +
                                          std::string(model_type) + " (supported: " + names + ")");
    }
    [[nodiscard]] std::vector<std::string> feature_names() const {
        std::vector<std::string> v;
        for (const auto& f : features) v.emplace_back(f.name);
        return v;
    }
    /// Does any feature take a KV cache (a decoder)?
    [[nodiscard]] bool has_cache() const {
        for (const auto& f : features)
            if (f.has_past) return true;
        return false;
    }
};

/// A model ready to export or run: a family's loaded config and its
/// checkpoint, prefix and ties set.
struct loaded_model {
    loaded_config config;
    checkpoint weights;
    /// The multimodal checkpoint whose text decoder this is (composite.hpp), or nullptr.
    const composite_type* composite = nullptr;
    /// The decoder alone read from a whole encoder-decoder checkpoint (select_decoder_alone).
    bool decoder_of_encoder_decoder = false;
    /// config.json's `architectures[0]` (the class that saved the checkpoint), or "".
    std::string architecture;

    [[nodiscard]] const family_handle& family() const { return *config.family; }
};

/// Load `dir` (config.json and the weights) as the family `f` reads it,
/// following the model code of the Transformers release `follow` where
/// releases compute the same config.json differently. With `composite`,
/// `json` is config.json's whole object and the text decoder is loaded:
/// its config from text_config (composite_text_config), its tensors from
/// the language model's prefix, the other towers' set aside.
/// `interpolate_pos_encoding`: Transformers' forward argument, for the
/// loaders that take it (config_reader::interpolate_pos_encoding); another
/// model type refuses it (export.interpolate_pos_encoding).
inline loaded_model load_model(const family_handle& f, const std::filesystem::path& dir, const nlohmann::json& json,
                               follow_transformers follow = follow_transformers::v5,
                               const composite_type* composite = nullptr, bool interpolate_pos_encoding = false) {
    loaded_model m;
    const auto where = (dir / "config.json").string();
    const nlohmann::json text = composite ? composite_text_config(*composite, json, where) : nlohmann::json{};
    config_reader reader(composite ? text : json, composite ? where + ": /text_config" : where);
    reader.follow(follow).interpolate_pos_encoding(interpolate_pos_encoding);
    m.config = f.load(reader);
    if (reader.interpolate_pos_encoding_unasked())
        throw error("export.interpolate_pos_encoding",
                    where + ": model type " + std::string(f.model_type) +
                        ": interpolate_pos_encoding is not supported for it (only vit, deit, beit and "
                        "data2vec-vision resize their learned positions)");
    m.composite = composite;
    if (const auto a = json.find("architectures");
        a != json.end() && a->is_array() && !a->empty() && a->front().is_string())
        m.architecture = a->front().get<std::string>();
    m.weights = checkpoint::open(dir);
    if (composite) {
        m.weights.select_renamed(composite_renames());
        if (m.weights.tensors().empty())
            throw error("checkpoint.mismatch",
                        dir.string() + ": no tensor of " + std::string(composite->class_name) +
                            "'s language model (looked for model.language_model.*, language_model.model.*, "
                            "lm_head.*, language_model.lm_head.*)");
    }
    m.weights.set_base_prefix(std::string(m.family().base_prefix));
    m.family().tie_weights(m.config, m.weights);
    return m;
}

/// The decoder alone (causal-lm, causal-lm-with-past: a BART-style
/// ...ForCausalLM, `model.decoder.*` and `lm_head`) of an encoder-decoder
/// family, from a whole encoder-decoder checkpoint (a
/// ...ForConditionalGeneration or ...Model folder: `model.encoder.*`,
/// `model.shared`). Transformers' ...ForCausalLM.from_pretrained loads such
/// a folder as its own: it reads `model.decoder.*` and `lm_head.*` and
/// leaves the rest unused (the encoder, `model.shared`, final_logits_bias,
/// which the causal LM does not add). So does the export: those tensors are
/// set aside (checkpoint::select_renamed). It never reads `model.shared` for
/// the decoder's embeddings: from a checkpoint that stores the tied table
/// there only (as save_pretrained writes a tied model), Transformers leaves
/// `model.decoder.embed_tokens`, and the LM head tied to it, newly
/// initialized (random), a function no export can reproduce: refused, saying
/// so. Other checkpoints and features are left as they are.
inline void select_decoder_alone(loaded_model& m, std::string_view feature, const std::filesystem::path& dir) {
    if (m.composite || !feature.starts_with("causal-lm") || !m.family().feature("seq2seq-lm-with-past")) return;
    const auto& t = m.weights.tensors();
    const bool whole = std::any_of(t.begin(), t.end(), [](const auto& kv) {
        return kv.first.starts_with("model.encoder.") || kv.first == "model.shared.weight";
    });
    if (!whole) return;
    // stored names: a ...ForConditionalGeneration's (model.decoder.*), a bare ...Model's (decoder.*, read
    // under the base prefix)
    m.weights.select_renamed({{"model.decoder.", "model.decoder."}, {"decoder.", "decoder."}, {"lm_head.", "lm_head."}});
    m.decoder_of_encoder_decoder = true;
    if (!m.weights.find("model.decoder.embed_tokens.weight"))
        throw error("checkpoint.mismatch",
                    dir.string() + ": " + std::string(feature) + " exports " + std::string(m.family().model_type) +
                        "'s decoder alone (...ForCausalLM), and this is a whole encoder-decoder checkpoint that "
                        "stores the decoder's token embeddings only as model.shared.weight (tied, as "
                        "save_pretrained writes them): Transformers' ...ForCausalLM.from_pretrained reads "
                        "model.decoder.* and lm_head.* only, so it leaves model.decoder.embed_tokens.weight (and "
                        "the LM head tied to it) newly initialized, random; there is no decoder-alone model to "
                        "export. Export seq2seq-lm(-with-past) from it, or a checkpoint that stores "
                        "model.decoder.embed_tokens.weight (a ...ForCausalLM's)");
}

}  // namespace typeformer::inline v0
