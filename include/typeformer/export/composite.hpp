// typeformer/export/composite.hpp: multimodal checkpoints whose text
// decoder exports on its own.
//
// Most released Gemma 3, Gemma 4, Mistral 3, Llama 4 and Qwen 3.5 checkpoints are
// `...ForConditionalGeneration` folders: config.json nests
// the language model's config under `text_config` beside a vision (or
// audio) tower's, and the weights hold every tower. Given text alone, such
// a model is its text decoder: the logits Transformers computes from
// input_ids without pixel_values are those of the text family's causal LM on
// the same weights. So the export reads
//   - the config from `text_config` (its model_type, else the composite's
//     default text type), with the LM head's tie as the composite reads it
//     (Transformers 5 ties `lm_head` to the text embeddings by the outer
//     `tie_word_embeddings` where the composite class declares the tie,
//     and by text_config's where the text model is a submodule that does);
//   - the weights under the language model's prefix, in either layout
//     Transformers loads: 5.x's (`model.language_model.*`, `lm_head.*`) and
//     4.x's (`language_model.model.*`, `language_model.lm_head.*`);
//     everything else (the vision tower, the projector) is set aside and
//     named in the log.
// Only the text-generation features export (default, default-with-past,
// causal-lm, causal-lm-with-past); any other, and a text_config whose
// model_type no family exports, is refused by name.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "typeformer/core/error.hpp"

namespace typeformer::inline v0 {

/// A multimodal model type whose text decoder exports alone.
struct composite_type {
    std::string_view model_type;       ///< config.json's model_type ("gemma3")
    std::string_view text_model_type;  ///< text_config's model_type where it names none
    std::string_view class_name;       ///< the class, for messages
    /// The LM head is tied by the outer config's tie_word_embeddings (the
    /// composite class declares the tie), with this default; otherwise by
    /// text_config's (the text model is a submodule with its own tie).
    bool outer_tie = true;
    bool outer_tie_default = true;
    /// The towers the export leaves out, for messages.
    std::string_view towers;
    /// Keys of the outer config that only the image (or audio) path reads.
    std::vector<std::string_view> other_modality_keys;
};

/// The composite model types the export knows.
inline const std::vector<composite_type>& composite_types() {
    static const std::vector<composite_type> types = {
        {"gemma3", "gemma3_text", "Gemma3ForConditionalGeneration", true, true, "the vision tower (vision_config)",
         {"vision_config", "mm_tokens_per_image", "boi_token_index", "eoi_token_index", "image_token_index",
          "boi_token_id", "eoi_token_id", "image_token_id"}},
        {"mistral3", "mistral", "Mistral3ForConditionalGeneration", true, true, "the vision tower (vision_config)",
         {"vision_config", "image_token_index", "image_token_id", "projector_hidden_act", "vision_feature_layer",
          "multimodal_projector_bias", "spatial_merge_size"}},
        // the text model is a submodule (language_model, a Llama4ForCausalLM) tied by its own config
        {"llama4", "llama4_text", "Llama4ForConditionalGeneration", false, false, "the vision tower (vision_config)",
         {"vision_config", "boi_token_index", "eoi_token_index", "image_token_index", "image_token_id"}},
        {"qwen3_5", "qwen3_5_text", "Qwen3_5ForConditionalGeneration", true, false, "the vision tower (vision_config)",
         {"vision_config", "image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"}},
        {"gemma4", "gemma4_text", "Gemma4ForConditionalGeneration", true, true,
         "the vision and audio towers (vision_config, audio_config)",
         {"vision_config", "audio_config", "boi_token_id", "eoi_token_id", "image_token_id", "video_token_id",
          "boa_token_id", "eoa_token_index", "audio_token_id"}},
    };
    return types;
}

/// The composite type named `model_type`, or nullptr.
inline const composite_type* find_composite(std::string_view model_type) {
    const auto& v = composite_types();
    const auto it = std::find_if(v.begin(), v.end(), [&](const auto& c) { return c.model_type == model_type; });
    return it == v.end() ? nullptr : &*it;
}

/// The features a composite's text decoder exports.
inline bool composite_exports(std::string_view feature) {
    return feature == "default" || feature == "default-with-past" || feature == "causal-lm" ||
           feature == "causal-lm-with-past";
}

/// Where a composite checkpoint stores its text decoder's tensors, as the
/// text family names them (Transformers 5's layout first, then 4.x's).
inline std::vector<std::pair<std::string, std::string>> composite_renames() {
    return {{"model.language_model.", "model."},
            {"language_model.model.", "model."},
            {"language_model.lm_head.", "lm_head."},
            {"lm_head.", "lm_head."}};
}

/// text_config as the text family reads it: its model_type filled in, the
/// LM head's tie as the composite reads it. `where` is config.json's path,
/// for errors. Throws config.missing_field (no text_config),
/// config.unsupported (the outer config quantized or otherwise changing
/// what the text path computes).
inline nlohmann::json composite_text_config(const composite_type& c, const nlohmann::json& outer,
                                            const std::string& where) {
    if (!outer.contains("text_config") || !outer["text_config"].is_object())
        throw error("config.missing_field", where + ": " + std::string(c.model_type) +
                                                " (a multimodal " + std::string(c.class_name) +
                                                " checkpoint) has no text_config object: no text decoder to export");
    for (const char* key : {"quantization_config", "pruned_heads"})
        if (outer.contains(key) && !outer[key].is_null() && !outer[key].empty())
            throw error("config.unsupported",
                        where + ": /" + key + ": " +
                            (std::string_view(key) == "quantization_config" ? "a quantized checkpoint"
                                                                            : "pruned attention heads") +
                            " is not supported");
    nlohmann::json text = outer["text_config"];
    if (!text.contains("model_type") || !text["model_type"].is_string())
        text["model_type"] = std::string(c.text_model_type);
    if (c.outer_tie) {
        bool tie = c.outer_tie_default;
        if (outer.contains("tie_word_embeddings")) {
            if (!outer["tie_word_embeddings"].is_boolean())
                throw error("config.invalid", where + ": /tie_word_embeddings: expected true or false");
            tie = outer["tie_word_embeddings"].get<bool>();
        }
        text["tie_word_embeddings"] = tie;
    }
    return text;
}

}  // namespace typeformer::inline v0
