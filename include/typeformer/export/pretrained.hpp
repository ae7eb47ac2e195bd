// typeformer/export/pretrained.hpp: the user's main job, one call.
//
//   auto report = typeformer::export_pretrained("models/bert", "onnx/bert", {.feature = "masked-lm"});
//
// reads config.json, picks the family by its model_type among the registered
// families (registry.hpp), checks the checkpoint against the graph, writes
// the output folder atomically (model.onnx, model.onnx_data past 2 GiB,
// config.json and the tokenizer files), validates the written model with
// ONNX Runtime against the reference pass, and logs what it does in the
// transformers.onnx format. export_model<Family, Task> does the same for a
// family given as a type, registered or not.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "typeformer/core/linkage.hpp"
#include "typeformer/export/genai.hpp"
#include "typeformer/export/handle.hpp"
#include "typeformer/export/make_handle.hpp"
#include "typeformer/export/progress.hpp"
#include "typeformer/export/registry.hpp"
#include "typeformer/io/hub.hpp"

namespace typeformer::inline v0 {

/// How validation holds the model's weights. `full`: the reference pass
/// converts every weight to float32 once and keeps it, and ONNX Runtime
/// loads the model as it would to serve it (prepacked, constants folded):
/// about twice the model's float32 size in memory. `bounded`: the reference
/// converts each weight when a layer uses it and keeps a few layers' worth
/// (weight_cache::options::keep_bytes), and ONNX Runtime maps model.onnx_data
/// without copying it (ort_runner's bounded_memory); the model is still run
/// whole, every layer on its real weights, at a few GiB of memory beyond the
/// pages of the files. `automatic`: bounded when full would not fit in the
/// memory available.
enum class validation_memory : std::uint8_t { automatic, bounded, full };

/// "auto", "bounded" or "full", as the command line spells it.
constexpr std::string_view to_string(validation_memory v) {
    return v == validation_memory::automatic ? "auto" : v == validation_memory::bounded ? "bounded" : "full";
}

/// What to export and how.
struct export_options {
    /// the feature (task), as transformers.onnx names it; "auto": the one
    /// config.json's `architectures` names, as optimum-cli infers it (infer_feature)
    std::string feature = "default";
    int opset = default_opset;        ///< min_opset .. max_opset
    double atol = -1;                 ///< validation tolerance; < 0: the family's (fp16: fp16_atol)
    bool validate = true;             ///< run ONNX Runtime against the reference pass
    std::string dtype = "fp32";       ///< "fp32", or "fp16": float16 weights and float outputs
    bool external_data = false;       ///< weights in model.onnx_data (automatic past 2 GiB)
    /// int8: also write model_quantized.onnx (Optimum's name; each graph's
    /// <graph>_quantized.onnx), every product with a constant weight one
    /// com.microsoft DynamicQuantizeMatMul on int8 weights per output channel,
    /// validated against the reference on the dequantized weights within
    /// quantized_tolerance (of each output's largest magnitude)
    quantization quantize = quantization::none;
    bool quantized_only = false;      ///< with quantize: write the quantized graphs alone
    bool force = false;               ///< replace model.onnx even if not validated or invalid
    /// A feature Optimum writes as several graphs (an encoder-decoder's
    /// seq2seq-lm) written as one model.onnx instead; a feature that is one
    /// graph already is unchanged, one with a cache (the decoders' loop) is
    /// refused (export.monolith).
    bool monolith = false;
    /// Also write genai_config.json next to model.onnx, the file ONNX
    /// Runtime GenAI generates from (export/genai.hpp): for causal-lm-with-past
    /// (chosen by feature "auto") of a model type GenAI runs; anything else
    /// is refused (export.genai).
    bool genai = false;
    std::string revision = "main";    ///< for a Hugging Face repository id: the cached revision
    /// Where Transformers releases compute the same checkpoint differently
    /// (Mistral's and Phi-3's windows, Qwen2's windowed layers, Phi-3's
    /// "yarn", Gemma's activation, the token a decoder's sequence
    /// classification scores): follow 5.x's model code, or 4.41's.
    follow_transformers follow = follow_transformers::v5;
    /// Transformers' forward argument interpolate_pos_encoding: ViT's,
    /// DeiT's and BEiT's learned positions resized to each image's patch
    /// grid (BEiT's relative position biases too), the graph then taking
    /// images of any size; another model type is refused by name.
    bool interpolate_pos_encoding = false;
    validation_memory memory = validation_memory::automatic;  ///< how validation holds the weights
    std::ostream* log = &std::cout;       ///< progress and the validation log
    std::ostream* warnings = &std::cerr;  ///< warnings and the failed-validation message
    /// A progress line on *warnings while the weights are written
    /// (export/progress.hpp): `automatic` when *warnings is std::cerr and
    /// that is a terminal, `always`, or `never`.
    progress_mode progress = progress_mode::automatic;
};

/// Optimum's task names (`optimum-cli export onnx --task`) and the feature
/// each one is; the legacy feature names are accepted as themselves.
struct task_name {
    std::string_view task, feature;
};
inline constexpr task_name optimum_tasks[] = {
    {"feature-extraction", "default"},
    {"feature-extraction-with-past", "default-with-past"},
    {"fill-mask", "masked-lm"},
    {"text-generation", "causal-lm"},
    {"text-generation-with-past", "causal-lm-with-past"},
    {"text2text-generation", "seq2seq-lm"},
    {"text2text-generation-with-past", "seq2seq-lm-with-past"},
    {"text-classification", "sequence-classification"},
    {"token-classification", "token-classification"},
    {"question-answering", "question-answering"},
    {"multiple-choice", "multiple-choice"},
    {"image-classification", "image-classification"},
    {"masked-im", "masked-im"},
    {"object-detection", "object-detection"},
    {"semantic-segmentation", "semantic-segmentation"},
    {"image-segmentation", "image-segmentation"},
};

/// The feature a task names: Optimum's task name, or a legacy feature name
/// (any name a family's features use); empty when it is neither.
inline std::string_view feature_of_task(std::string_view task) {
    for (const auto& t : optimum_tasks)
        if (t.task == task) return t.feature;
    for (const auto& t : optimum_tasks)
        if (t.feature == task) return t.feature;
    return {};
}

/// Optimum's name of a feature ("seq2seq-lm-with-past": "text2text-generation-with-past"); empty if none.
inline std::string_view task_of_feature(std::string_view feature) {
    for (const auto& t : optimum_tasks)
        if (t.feature == feature) return t.task;
    return {};
}

/// The feature optimum-cli infers when it is given no task: from the class
/// config.json's `architectures` names first, by its suffix
/// (...ForConditionalGeneration and MarianMTModel: text2text-generation,
/// ...ForCausalLM and ...LMHeadModel: text-generation, ...ForMaskedLM,
/// ...ForSequenceClassification, ...ForTokenClassification,
/// ...ForQuestionAnswering, ...ForMultipleChoice, ...ForImageClassification
/// and ...ForImageClassificationWithTeacher (DeiT's: the Hub tags it
/// image-classification), ...ForMaskedImageModeling (masked-im),
/// ...ForObjectDetection (object-detection), ...ForSemanticSegmentation
/// (semantic-segmentation), ...ForSegmentation (DETR's: image-segmentation);
/// anything else, and no
/// `architectures`: feature-extraction), with the cache where the family
/// exports one (optimum-cli's default for generation). `supported` is the
/// family's feature list; `because` receives the class it read ("" when
/// none). Throws export.feature when the family does not export the task.
std::string infer_feature(const nlohmann::json& config, const std::vector<std::string>& supported,
                          std::string* because = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string infer_feature(const nlohmann::json& config, const std::vector<std::string>& supported, std::string* because) {
    std::string cls;
    if (config.is_object() && config.contains("architectures") && config["architectures"].is_array() &&
        !config["architectures"].empty() && config["architectures"][0].is_string())
        cls = config["architectures"][0].get<std::string>();
    if (because) *because = cls;
    constexpr std::pair<std::string_view, std::string_view> suffixes[] = {
        {"ForConditionalGeneration", "seq2seq-lm"}, {"MTModel", "seq2seq-lm"},
        {"ForCausalLM", "causal-lm"},               {"LMHeadModel", "causal-lm"},
        {"ForMaskedLM", "masked-lm"},               {"ForSequenceClassification", "sequence-classification"},
        {"ForTokenClassification", "token-classification"}, {"ForQuestionAnswering", "question-answering"},
        {"ForMultipleChoice", "multiple-choice"},   {"ForImageClassification", "image-classification"},
        {"ForImageClassificationWithTeacher", "image-classification"},  // DeiT's distilled checkpoints
        {"ForMaskedImageModeling", "masked-im"},    {"ForObjectDetection", "object-detection"},
        {"ForSemanticSegmentation", "semantic-segmentation"}, {"ForSegmentation", "image-segmentation"}};
    std::string feature = "default";
    for (const auto& [suffix, f] : suffixes)
        if (cls.size() > suffix.size() && cls.ends_with(suffix)) {
            feature = std::string(f);
            break;
        }
    const auto has = [&](const std::string& f) { return std::find(supported.begin(), supported.end(), f) != supported.end(); };
    if (has(feature + "-with-past")) return feature + "-with-past";
    if (has(feature)) return feature;
    std::string names;
    for (const auto& n : supported) names += (names.empty() ? "" : ", ") + n;
    throw error("export.feature", "config.json's architectures names " + cls + ", whose task (" +
                                      std::string(task_of_feature(feature)) + ", the feature " + feature +
                                      ") is not exported for this model type (supported: " + names +
                                      "): give one with --task or --feature");
}
#endif

/// --quantize int8: the validation bound, as a fraction of the largest
/// magnitude of the reference's outputs in the pass (its atol is this times
/// that magnitude). The reference computes on the same dequantized weights,
/// so what remains is ONNX Runtime quantizing each product's activations to
/// uint8 at run time (per tensor: a step of 1/255 of the tensor's range),
/// carried through the layers; docs/cli.md gives the figures measured.
inline constexpr double quantized_tolerance = 0.2;

/// The largest difference found for one output in one validation pass.
struct output_check {
    std::string pass;    ///< "" (one pass), "past" or "empty past" (a with-past model)
    std::string output;  ///< the output's name
    double max_abs_diff = 0;
    bool ok = false;
};

/// What export_pretrained did.
struct export_report {
    std::string model_type, feature;
    std::filesystem::path model_dir;  ///< where the checkpoint was read (a cache snapshot for org/name)
    std::filesystem::path model;      ///< OUTPUT/model.onnx, or the rejected export's path
    std::vector<std::filesystem::path> files;  ///< what was written into OUTPUT
    std::size_t nodes = 0, initializers = 0;
    std::uint64_t weight_bytes = 0;
    bool external_data = false;
    bool validated = false;  ///< validation ran
    bool valid = false;      ///< it passed, or it was not asked for
    double atol = 0;
    std::vector<output_check> checks;
    /// --quantize: the files' graphs are quantized ("<graph>_quantized.onnx"),
    /// alone or after the float32 ones; each pass's atol (quantized_tolerance)
    bool quantized = false;
    std::vector<std::pair<std::string, double>> quantized_atol;  ///< (pass, atol)
    bool bounded_validation = false;  ///< validation ran in bounded memory (validation_memory)
    double build_seconds = 0, write_seconds = 0, validate_seconds = 0;
    std::vector<std::string> unused_tensors;  ///< checkpoint tensors this task does not use (another head's)

    /// Exported, and valid where validated: the exporter's exit status 0.
    [[nodiscard]] bool ok() const { return valid; }
};

/// Files copied next to the model, as Optimum does.
inline constexpr const char* copied_files[] = {
    "config.json",          "generation_config.json", "tokenizer.json",         "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt",           "vocab.json",             "merges.txt",
    "added_tokens.json",    "spiece.model",           "sentencepiece.bpe.model", "preprocessor_config.json"};

namespace detail::pretrained {


double seconds_since(std::chrono::steady_clock::time_point t0);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
#endif
std::string seconds(double s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}
#endif

/// MemAvailable of /proc/meminfo in bytes; 0 where it cannot be read.
std::uint64_t memory_available();
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t memory_available() {
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    std::uint64_t kib = 0;
    while (in >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}
#endif

std::string gib(double bytes);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string gib(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    return buf;
}
#endif

/// One validation pass: the reference and ONNX Runtime on the same inputs.
/// `relative` > 0 (a quantized graph): the atol is that times the largest
/// magnitude among the reference's outputs, noted in report.quantized_atol.
bool validate_once(const feature_handle& f, const loaded_model& m, weight_cache& weights, ort_runner& ort,
                   const tensor_map& inputs, double atol, std::string_view pass, export_report& report,
                   std::ostream& log, double relative = 0);

/// The graph's pixel_values has named height and width axes (any size).
inline bool takes_any_image_size(const feature_handle& f, const loaded_model& m) {
    for (const auto& in : f.inputs(m.config))
        if (in.name == "pixel_values") return in.axes.size() == 4 && in.axes[2] == height_axis;
    return false;
}
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool validate_once(const feature_handle& f, const loaded_model& m, weight_cache& weights, ort_runner& ort, const tensor_map& inputs, double atol, std::string_view pass, export_report& report, std::ostream& log, double relative) {
    const auto reference = f.reference(m.config, m.weights, inputs, &weights);
    if (relative > 0) {
        double largest = 0;
        for (const auto& [name, v] : reference)
            if (v.is_float())
                for (const float x : v.f) largest = std::max(largest, static_cast<double>(std::abs(x)));
        atol = relative * largest;
        report.quantized_atol.emplace_back(std::string(pass), atol);
    }
    std::map<std::string, double> diffs;
    const bool ok = compare_outputs(reference, ort.run(inputs), atol, log, &diffs);
    for (const auto& [name, d] : diffs) report.checks.push_back({std::string(pass), name, d, d <= atol});
    return ok;
}
#endif

}  // namespace detail::pretrained

/// The newest Transformers release the fixtures and the config.json files
/// of the tests were made with: the model code the reference pass follows
/// by default; and the older release it can follow instead
/// (export_options::follow) where the two compute differently.
inline constexpr std::string_view newest_checked_transformers = "5.23.0";
inline constexpr std::string_view oldest_checked_transformers = "4.41.2";

namespace detail::pretrained {
/// "5.23.0" as {5, 23, 0}; the first part that is not a number ends it ("5.0.0.dev0": {5, 0, 0}).
std::vector<long> version_parts(std::string_view v);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<long> version_parts(std::string_view v) {
    std::vector<long> parts;
    while (!v.empty() && v.front() >= '0' && v.front() <= '9') {
        long n = 0;
        while (!v.empty() && v.front() >= '0' && v.front() <= '9') n = n * 10 + (v.front() - '0'), v.remove_prefix(1);
        parts.push_back(n);
        if (v.empty() || v.front() != '.') break;
        v.remove_prefix(1);
    }
    return parts;
}
#endif

/// What Transformers 5's model code computes differently from 4.41's on the
/// same checkpoint, for the model types (and the feature) where it does
/// (docs/checkpoints.md).
std::string changed_in_transformers5(std::string_view model_type, std::string_view feature);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string changed_in_transformers5(std::string_view model_type, std::string_view feature) {
    std::string why;
    if (model_type == "mistral" || model_type == "mixtral")
        why = "4.41 lets a query see sliding_window + 1 keys, 5.x sliding_window keys";
    if (model_type == "qwen2")
        why = "4.41 windows every layer, 5.x only with use_sliding_window and from max_window_layers on";
    if (model_type == "phi3")
        why = "4.41 lets a query see sliding_window + 1 keys, 5.x sliding_window keys; 5.x reads rope_scaling "
              "\"yarn\" as \"longrope\"";
    if (model_type == "gemma") why = "4.41 takes the MLP's activation from hidden_activation, 5.x from hidden_act";
    if (model_type == "blenderbot-small")
        why = "4.41 multiplies the decoder's embeddings by sqrt(d_model) where scale_embedding, 5.x does not";
    if (model_type == "gpt_bigcode" && (feature == "sequence-classification" || feature == "token-classification"))
        why = "without a position_ids input 4.41 derives the positions from attention_mask (1 at masked tokens), "
              "5.x counts 0, 1, 2, ...";
    constexpr std::string_view pooled[] = {"gpt2",  "gptj", "gpt_neo", "bloom", "llama",
                                           "mistral", "qwen2", "phi3", "gemma", "mixtral", "phi", "gpt_neox", "stablelm",
                                           "opt", "gpt_bigcode", "falcon"};
    if (feature == "sequence-classification" &&
        std::find(std::begin(pooled), std::end(pooled), model_type) != std::end(pooled))
        why += std::string(why.empty() ? "" : "; ") +
               "sequence-classification scores the token before the first pad_token_id in 4.41, the rightmost "
               "token that is not pad_token_id in 5.x";
    return why;
}
#endif

/// The Transformers version that saved config.json, against the ones
/// checked, and which release's model code the export follows where they
/// differ for this model type.
void note_transformers_version(const nlohmann::json& json, std::string_view model_type, std::string_view feature,
                               follow_transformers follow, const std::string& where, std::ostream& log,
                               std::ostream& warn);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void note_transformers_version(const nlohmann::json& json, std::string_view model_type, std::string_view feature, follow_transformers follow, const std::string& where, std::ostream& log, std::ostream& warn) {
    std::string saved_by;
    config_reader(json, where).get("transformers_version", saved_by);
    const auto saved = version_parts(saved_by);
    if (!saved.empty() && saved > version_parts(newest_checked_transformers))
        warn << "typeformer: warning: " << where << " was saved by Transformers " << saved_by
             << ", newer than the newest release typeformer is checked against (" << newest_checked_transformers
             << "); a config key that release added is refused by name, a key whose meaning it changed is not\n";
    const auto changed = changed_in_transformers5(model_type, feature);
    if (changed.empty()) return;
    const bool v5 = follow == follow_transformers::v5;
    const std::string_view followed = v5 ? newest_checked_transformers : oldest_checked_transformers;
    // a warning when the checkpoint was saved by the other major version: its users may run that one
    const bool other = !saved.empty() && (saved.front() >= 5) != v5;
    std::ostream& out = other ? warn : log;
    out << "typeformer: " << (other ? "warning: " : "") << model_type
        << " computes differently under Transformers 4.41 and 5 (" << changed << "); the export follows "
        << followed;
    if (other) out << ", not " << saved_by << " that saved this checkpoint";
    const auto other_release = v5 ? follow_transformers::v4_41 : follow_transformers::v5;
    out << " (--follow-transformers " << to_string(other_release) << " follows "
        << (v5 ? oldest_checked_transformers : newest_checked_transformers) << ")\n";
}
#endif
}  // namespace detail::pretrained

namespace detail::pretrained {
/// A bare trunk class (BartModel, T5Model, BertModel: no head, no "For"):
/// config.json's architectures of a checkpoint saved without any task head.
inline bool bare_trunk(std::string_view cls) {
    return cls.ends_with("Model") && cls.find("For") == std::string_view::npos &&
           cls.find("Head") == std::string_view::npos;
}

/// Build one graph; a checkpoint that lacks tensors of a task's head because
/// it was saved by a bare trunk class gets the reason in the same error:
/// Transformers' head class would make those tensors up when loading it
/// (drawn at random, or zeros for a bias buffer such as final_logits_bias);
/// an export reads only what the checkpoint stores.
inline built_graph build_or_explain(const feature_handle& g, const loaded_model& m, std::string_view feature,
                                    graph_options o, const std::string& where) {
    try {
        return g.build(m.config, m.weights, o, where);
    } catch (const error& e) {
        const std::string what = e.what();
        if (e.id() != "checkpoint.mismatch" || what.find("missing tensor") == std::string::npos ||
            feature.starts_with("default") || m.composite || !bare_trunk(m.architecture))
            throw;
        const auto prefix = std::string("[") + e.id() + "] ";
        throw error(e.id(), what.substr(what.starts_with(prefix) ? prefix.size() : 0) + "\n  config.json's architectures name " +
                                m.architecture + ", a model without " + std::string(feature) +
                                "'s head: Transformers' class for that task would create the missing tensors when "
                                "loading it (drawn at random; a bias buffer such as final_logits_bias as zeros), "
                                "and the export reads only what the checkpoint stores. Export the default feature "
                                "(feature-extraction), or a checkpoint saved with its head");
    }
}
}  // namespace detail::pretrained

/// Export a loaded model's feature into `output` (see export_pretrained).
export_report export_loaded(const loaded_model& m, const std::filesystem::path& model_dir,
                            const std::filesystem::path& output, const export_options& opt);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE export_report export_loaded(const loaded_model& m, const std::filesystem::path& model_dir, const std::filesystem::path& output, const export_options& opt) {
    namespace fs = std::filesystem;
    using namespace detail::pretrained;
    const family_handle& family = m.family();
    const feature_handle* f = &family.require(opt.feature);
    if (opt.monolith && !f->parts.empty()) {
        if (!f->monolith) {
            const auto task = task_of_feature(f->name);
            throw error("export.monolith",
                        std::string(family.model_type) + "'s " + std::string(f->name) +
                            (task.empty() ? std::string() : " (" + std::string(task) + ")") +
                            " cannot be one graph: its decoders take the cache from one step to the next. Export "
                            "seq2seq-lm (text2text-generation) with --monolith, or this task without --monolith");
        }
        f = f->monolith.get();
    }
    if (opt.genai) require_genai(family.model_type, f->name);
    if (opt.dtype != "fp32" && opt.dtype != "fp16")
        throw error("export.dtype", "dtype " + opt.dtype + " is not supported (fp32 or fp16)");
    const bool quantize = opt.quantize != quantization::none;
    if (opt.quantized_only && !quantize)
        throw error("export.quantize", "--quantized-only writes the quantized graphs alone: it needs --quantize int8");
    if (quantize && opt.dtype != "fp32")
        throw error("export.quantize", "--quantize int8 with --dtype " + opt.dtype +
                                           ": the quantized graph keeps its float weights (embeddings, norms, "
                                           "biases) and its activations in float32; give one of the two");
    if (quantize && opt.genai)
        throw error("export.quantize", "--quantize int8 with --genai: genai_config.json names model.onnx, the "
                                           "float32 graph; export the quantized graph without --genai");
    std::ostream& log = *opt.log;
    std::ostream& warn = *opt.warnings;
    export_report report;
    report.model_type = family.model_type;
    report.feature = opt.feature;
    report.model_dir = model_dir;
    report.atol = opt.atol >= 0 ? opt.atol : opt.dtype == "fp16" ? fp16_atol : family.atol;
    const auto graphs = f->graphs();
    std::vector<quantization> variants;  // the float32 graphs, the quantized ones, or both
    if (!opt.quantized_only) variants.push_back(quantization::none);
    if (quantize) variants.push_back(opt.quantize);
    report.quantized = quantize;
    const bool several = graphs.size() * variants.size() > 1;
    // Optimum's names: model.onnx, model_quantized.onnx, decoder_model_merged_quantized.onnx, ...
    const auto stem_of = [](const feature_handle* g, quantization q) {
        return std::string(g->graph) + (q == quantization::none ? "" : "_quantized");
    };
    const auto file_of = [&](const feature_handle* g, quantization q) { return stem_of(g, q) + ".onnx"; };
    const auto data_of = [&](const feature_handle* g, quantization q) { return stem_of(g, q) + ".onnx_data"; };
    const fs::path target = output / file_of(graphs.front(), variants.front());

    const auto t0 = std::chrono::steady_clock::now();
    if (!opt.validate && !opt.force && fs::exists(target))
        throw error("export.exists", target.string() +
                                         " exists and --no-validate was given: an existing model is only "
                                         "replaced by a validated export, or with --force");
    log << "typeformer: exporting " << family.model_type << " (" << f->name << ") from " << model_dir.string()
        << " at opset " << opt.opset << "\n";
    if (m.composite) {
        const auto& aside = m.weights.set_aside();
        log << "typeformer: " << m.composite->model_type << " is a multimodal checkpoint ("
            << m.composite->class_name << "): its text decoder (text_config, " << family.model_type
            << ") exports for text; " << m.composite->towers << " is not exported";
        if (!aside.empty()) {
            log << " (" << aside.size() << " tensors set aside:";
            for (std::size_t k = 0; k < aside.size() && k < 3; ++k) log << " " << aside[k];
            log << (aside.size() > 3 ? " ...)" : ")");
        }
        log << "\n";
    }
    if (m.decoder_of_encoder_decoder) {
        const auto& aside = m.weights.set_aside();
        log << "typeformer: a whole encoder-decoder checkpoint: " << f->name
            << " exports its decoder alone (model.decoder.*, lm_head), as ...ForCausalLM.from_pretrained loads it; "
               "the encoder, model.shared and final_logits_bias are not used ("
            << aside.size() << " tensors set aside:";
        for (std::size_t k = 0; k < aside.size() && k < 3; ++k) log << " " << aside[k];
        log << (aside.size() > 3 ? " ...)" : ")") << "\n";
    }
    if (several) {
        log << "typeformer: " << graphs.size() * variants.size() << " graphs:";
        for (const auto q : variants)
            for (const auto* g : graphs) log << " " << file_of(g, q);
        log << "\n";
    }
    if (quantize)
        log << "typeformer: quantized: every product with a constant weight is a com.microsoft "
               "DynamicQuantizeMatMul on int8 weights per output channel (activations quantized at run time); "
               "validated against the reference on the dequantized weights, atol "
            << quantized_tolerance << " x the largest output value\n";
    const auto stored = m.weights.stored_dtypes();
    log << "typeformer: weights: " << m.weights.layout() << ", stored as " << stored;
    if (opt.dtype == "fp16")
        log << ", written as float16 (--dtype fp16: outputs float16, validation atol " << report.atol << ")";
    else if (stored != "F32")
        log << ", converted to float32 while written";
    log << "\n";

    // every graph built and checked before anything is written
    struct one_graph {
        const feature_handle* f;
        built_graph built;
        bool external = false;
        quantization quantized = quantization::none;
    };
    std::vector<one_graph> built;
    std::vector<std::string> unused;  // unused by every graph
    for (const auto q : variants)
    for (const auto* g : graphs) {
        auto b = build_or_explain(*g, m, f->name, graph_options(opt.opset, q), model_dir.string());
        if (opt.dtype == "fp16") to_fp16(b.model, b.initializers);
        if (built.empty()) unused = b.params.unused;
        else
            std::erase_if(unused, [&](const std::string& n) {
                return std::find(b.params.unused.begin(), b.params.unused.end(), n) == b.params.unused.end();
            });
        check_onnx_skeleton(b.model, b.initializers);
        for (const auto& i : b.initializers) report.weight_bytes += i.byte_size();
        report.nodes += static_cast<std::size_t>(b.model.graph().node_size());
        report.initializers += b.initializers.size();
        const auto single_file = single_file_size(b.model, b.initializers);
        const bool external = opt.external_data || single_file > max_single_file;
        report.external_data = report.external_data || external;
        char size[32];
        std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(single_file) / (1024.0 * 1024.0));
        if (several)
            log << "typeformer: " << file_of(g, q) << ": " << b.model.graph().node_size() << " nodes, "
                << b.initializers.size() << " initializers, " << size << "\n";
        else
            log << "typeformer: graph built and checked in " << seconds(seconds_since(t0)) << " ("
                << report.nodes << " nodes, " << report.initializers << " initializers, " << size << ")\n";
        if (external && !opt.external_data)
            log << "typeformer: " << (several ? file_of(g, q) : std::string("the model"))
                << " is over 2 GiB, the limit of one protobuf file: its weights go to " << data_of(g, q)
                << " next to " << file_of(g, q) << "\n";
        built.push_back({g, std::move(b), external, q});
    }
    // genai_config.json from the graph built (its names, its cache's sizes) and the checkpoint's files
    std::string genai_json;
    if (opt.genai) {
        std::optional<nlohmann::json> generation;
        if (fs::exists(model_dir / "generation_config.json"))
            generation = config_reader::load(model_dir / "generation_config.json");
        auto config = config_reader::load(model_dir / "config.json");
        if (m.composite)  // GenAI reads the text decoder's settings
            config = composite_text_config(*m.composite, config, (model_dir / "config.json").string());
        if (!family.dims)
            throw error("export.genai", "--genai: " + std::string(family.model_type) + "'s config states no sizes");
        genai_json = genai_config(built.front().built.model, family.model_type, family.dims(m.config), config,
                                  generation ? &*generation : nullptr, file_of(graphs.front(), variants.front()))
                         .dump(2) + "\n";
    }
    report.build_seconds = seconds_since(t0);
    if (several) log << "typeformer: graphs built and checked in " << seconds(report.build_seconds) << "\n";
    report.unused_tensors = unused;
    if (!unused.empty()) {
        log << "typeformer: " << unused.size() << " checkpoint tensors are not used by this task (another head's):";
        for (std::size_t k = 0; k < unused.size() && k < 5; ++k) log << " " << unused[k];
        log << (unused.size() > 5 ? " ..." : "") << "\n";
    }

    staged_output out(output, file_of(graphs.front(), variants.front()), &warn);
    const auto t1 = std::chrono::steady_clock::now();
    write_report written;
    std::optional<progress_line> progress;
    if (progress_enabled(opt.progress, warn)) {
        progress.emplace(warn, "typeformer: writing weights", report.initializers, report.weight_bytes);
        written.progress = &*progress;
    }
    std::vector<std::string> names;
    for (auto& [g, b, external, q] : built) {
        const auto model_file = file_of(g, q), data_file = data_of(g, q);
        if (external) {
            std::string model_bytes;  // the graph and the tensors' descriptions: small
            out.write(data_file, [&](std::ostream& data_out) {
                std::ostringstream model_out;
                const bool ok = write_onnx_external(model_out, data_out, data_file, b.model, b.initializers,
                                                    &written);
                model_bytes = std::move(model_out).str();
                return ok;
            });
            out.write(model_file, [&](std::ostream& o) { return static_cast<bool>(o << model_bytes); });
        } else {
            out.write(model_file, [&](std::ostream& o) { return write_onnx(o, b.model, b.initializers, &written); });
        }
        names.push_back(model_file);
        if (external) names.push_back(data_file);
    }
    if (progress) progress->finish();
    report.write_seconds = seconds_since(t1);
    log << "typeformer: weights written in " << seconds(report.write_seconds) << " (";
    for (std::size_t k = 0; k < names.size(); ++k) log << (k ? " + " : "") << names[k];
    log << ")\n";
    for (const auto& [name, count] : written.nonfinite)
        warn << "typeformer: warning: checkpoint tensor " << name << " holds " << count << " NaN or infinite value"
             << (count > 1 ? "s" : "") << "\n";
    for (const char* name : copied_files)
        if (fs::exists(model_dir / name)) {
            out.copy_in(model_dir / name);
            names.emplace_back(name);
        }
    if (opt.genai) {
        out.write("genai_config.json", [&](std::ostream& o) { return static_cast<bool>(o << genai_json); });
        names.emplace_back("genai_config.json");
        log << "typeformer: genai_config.json written for ONNX Runtime GenAI (model type "
            << genai_type_of(family.model_type) << ")\n";
    }

    bool ok = true;
    if (opt.validate) {
        const auto t2 = std::chrono::steady_clock::now();
        report.validated = true;
        // the weights as float32, and the largest one: what full validation holds twice
        std::uint64_t f32_bytes = 0, largest = 0;
        for (const auto& one : built)
            for (const auto& i : one.built.initializers) {
                f32_bytes += static_cast<std::uint64_t>(i.numel()) * 4;
                largest = std::max(largest, static_cast<std::uint64_t>(i.numel()) * 4);
            }
        const auto available = memory_available();
        const bool bounded = opt.memory == validation_memory::bounded ||
                             (opt.memory == validation_memory::automatic && available > 0 && 2 * f32_bytes > available);
        report.bounded_validation = bounded;
        weight_cache::options held{.round_to_fp16 = opt.dtype == "fp16"};
        if (bounded) {
            // a few layers' worth: references a layer holds stay valid while it computes
            held.keep_bytes = std::max<std::uint64_t>(std::uint64_t{1} << 30, 4 * largest);
            log << "typeformer: validating in bounded memory (" << (opt.memory == validation_memory::bounded
                                                                     ? std::string("--validation-memory bounded")
                                                                     : "the weights as float32, " + gib(f32_bytes) +
                                                                           ", twice over, would not fit in the " +
                                                                           gib(available) + " available")
                << "): the reference converts each weight when it is used and keeps at most 2 x "
                << gib(held.keep_bytes) << " of them; ONNX Runtime maps "
                << (several ? std::string("each graph's file")
                            : report.external_data ? data_of(graphs.front(), variants.front())
                                                   : file_of(graphs.front(), variants.front()))
                << " without copying it (no prepacking, no graph optimizations); every layer runs on its real "
                   "weights\n";
        }
        weight_cache weights(held);
        std::optional<weight_cache> dequantized;  // the quantized graphs' reference: dequantized weights
        if (quantize) {
            auto o = held;
            o.quantize_int8 = true;
            dequantized.emplace(o);
        }
        for (const auto& one : built) {
            const feature_handle* g = one.f;
            const auto q = one.quantized;
            log << "Validating ONNX model " << (output / file_of(g, q)).string() << "...\n";
            ort_runner ort(out.staged(file_of(g, q)), 0, bounded);
            axis_sizes sizes;  // batch 3, sequence 9; with a cache, past length 11
            // a float16 graph takes float16 inputs (a decoder's past): the reference gets the same rounded values
            const auto make = [&] {
                auto in = g->make_inputs(m.config, sizes, 42);
                if (opt.dtype == "fp16")
                    for (auto& [name, v] : in)
                        if (v.is_float())
                            for (auto& x : v.f) x = half_to_float(float_to_half(x));
                return in;
            };
            auto inputs = make();
            // a pass's name in the report: "past", "empty past", or "" (one pass); prefixed with the graph's
            // (its file's stem)
            const auto pass = [&](std::string what) {
                if (!several) return what;
                return stem_of(g, q) + (what.empty() ? "" : ", " + what);
            };
            // a quantized graph: the reference on the dequantized weights, a bound relative to the outputs
            weight_cache& held_weights = q == quantization::none ? weights : *dequantized;
            const double relative = q == quantization::none ? 0 : quantized_tolerance;
            const auto validate = [&](const tensor_map& in, const std::string& name) {
                return validate_once(*g, m, held_weights, ort, in, report.atol, name, report, log, relative);
            };
            if (g->has_past) {
                std::int64_t past = sizes.past;  // as make_inputs made it
                if (const auto k = inputs.find("past_key_values.0.decoder.key"); k != inputs.end())
                    past = static_cast<std::int64_t>(k->second.shape()[2]);
                else if (inputs.contains("attention_mask") && inputs.contains("input_ids"))
                    past = static_cast<std::int64_t>(inputs.at("attention_mask").shape()[1] -
                                                     inputs.at("input_ids").shape()[1]);
                log << "\t- with a past of " << past << " tokens:\n";
                ok = validate(inputs, pass("past")) && ok;
                // the first step of generation: the same graph with an empty past (an encoder-decoder's
                // decoder_with_past_model always has a past: its first step is decoder_model)
                if (g->empty_past) {
                    sizes.past = 0;
                    inputs = make();
                    log << "\t- with an empty past (the first step):\n";
                    ok = validate(inputs, pass("empty past")) && ok;
                }
            } else if (const auto px = inputs.find("pixel_values");
                       opt.interpolate_pos_encoding && px != inputs.end() && takes_any_image_size(*g, m)) {
                // the learned positions resized: at the config's size (the identity) and at another
                const auto h = static_cast<std::int64_t>(px->second.shape()[2]),
                           w = static_cast<std::int64_t>(px->second.shape()[3]);
                log << "\t- at " << h << " x " << w << ":\n";
                ok = validate(inputs, pass("")) && ok;
                sizes.height = h * 3 / 2 + 1;
                sizes.width = w * 5 / 4 + 1;
                inputs = make();
                log << "\t- at " << sizes.height << " x " << sizes.width << " (interpolate_pos_encoding):\n";
                ok = validate(inputs, pass(std::to_string(sizes.height) + " x " + std::to_string(sizes.width))) && ok;
            } else {
                ok = validate(inputs, pass("")) && ok;
            }
        }
        report.validate_seconds = seconds_since(t2);
    }
    report.valid = ok;
    if (!ok && !opt.force) {
        const bool folder = report.external_data || several;
        const auto main_file = file_of(graphs.front(), variants.front());
        const fs::path rejected = folder ? output / "invalid" : output / (main_file + ".invalid");
        if (folder) out.keep_folder_as(rejected);
        else out.keep_as(main_file, rejected);
        report.model = rejected;
        warn << "typeformer: validation failed; " << (several ? output.string() : target.string())
             << " was left as it was and the rejected export is at " << rejected.string()
             << " (--force writes it anyway)\n";
        return report;
    }
    std::vector<fs::path> stale;  // a previous export's weights; the new graph holds its own
    for (const auto& one : built)
        if (!one.external && fs::exists(output / data_of(one.f, one.quantized)))
            stale.push_back(output / data_of(one.f, one.quantized));
    out.commit();
    for (const auto& n : names) report.files.push_back(output / n);
    report.model = target;
    for (const auto& p : stale) {
        std::error_code ec;
        fs::remove(p, ec);
    }
    if (!ok) {
        warn << "typeformer: validation failed; --force: written anyway at " << (several ? output : target).string()
             << "\n";
        return report;
    }
    const std::string saved = several ? output.string() : target.string();
    if (opt.validate) log << "All good, model" << (several ? "s" : "") << " saved at: " << saved << "\n";
    else log << "Model" << (several ? "s" : "") << " saved (not validated) at: " << saved << "\n";
    return report;
}
#endif

/// Export the checkpoint `model` (a folder with config.json and the
/// weights, or a Hugging Face repository id found offline in the cache) to
/// `output`, with the family its config.json's model_type names among
/// `families`. Throws typeformer::error on bad input (an unsupported
/// model_type or feature, a malformed config or checkpoint, an unwritable
/// output); a failed validation is a report with ok() false, the rejected
/// export left as OUTPUT/model.onnx.invalid.
export_report export_pretrained(const std::filesystem::path& model, const std::filesystem::path& output,
                                const export_options& opt, std::span<const family_handle* const> families);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE export_report export_pretrained(const std::filesystem::path& model, const std::filesystem::path& output, const export_options& opt, std::span<const family_handle* const> families) {
    std::filesystem::path dir = model;
    if (const auto where = resolve_model(model.string(), opt.revision); where != model) {
        *opt.log << "typeformer: " << model.string() << " (revision " << opt.revision
                 << ") found in the Hugging Face cache at " << where.string() << "\n";
        dir = where;
    }
    const auto where = (dir / "config.json").string();
    const auto json = config_reader::load(dir / "config.json");
    std::string model_type;
    config_reader(json, where).get("model_type", model_type);
    if (model_type.empty()) throw error("config.missing_field", where + ": no model_type");
    const composite_type* composite = find_composite(model_type);
    std::string family_type = model_type;
    if (composite) {
        family_type = composite_text_config(*composite, json, where)["model_type"].get<std::string>();
        if (!find_family(family_type, families))
            throw error("export.model_type", where + ": " + model_type + " (a multimodal " +
                                                 std::string(composite->class_name) +
                                                 " checkpoint) exports its text decoder, whose text_config names "
                                                 "model_type " + family_type + ", which is not supported (supported: " +
                                                 joined_model_types(families) + ")");
        if (opt.feature != "auto" && !composite_exports(opt.feature))
            throw error("export.feature",
                        "feature " + opt.feature + " is not supported for " + model_type +
                            ": a multimodal checkpoint exports its text decoder for text alone (default, "
                            "default-with-past, causal-lm, causal-lm-with-past); " + std::string(composite->towers) +
                            " is not exported");
    }
    const family_handle* family = &require_family(family_type, families);
    export_options chosen = opt;
    if (opt.feature == "auto" && opt.genai) {
        chosen.feature = std::string(genai_feature);  // the one feature GenAI runs
        *opt.log << "typeformer: no task given: --genai, so " << task_of_feature(chosen.feature) << " (the feature "
                 << chosen.feature << "), the graph ONNX Runtime GenAI runs\n";
    } else if (opt.feature == "auto" && composite) {
        chosen.feature = "causal-lm-with-past";
        *opt.log << "typeformer: no task given: " << model_type << " is a multimodal checkpoint, so "
                 << task_of_feature(chosen.feature) << " (the feature " << chosen.feature
                 << ") from its text decoder\n";
    } else if (opt.feature == "auto") {
        std::string cls;
        chosen.feature = infer_feature(json, family->feature_names(), &cls);
        // one graph: the task without the cache, as optimum-cli infers it with --monolith
        if (const auto* f = family->feature(chosen.feature); opt.monolith && f && !f->parts.empty() && !f->monolith &&
                                                             chosen.feature.ends_with("-with-past")) {
            const auto without = chosen.feature.substr(0, chosen.feature.size() - std::string_view("-with-past").size());
            if (const auto* g = family->feature(without); g && (g->parts.empty() || g->monolith)) chosen.feature = without;
        }
        *opt.log << "typeformer: no task given: "
                 << (cls.empty() ? std::string("config.json names no architectures")
                                 : "config.json's architectures name " + cls)
                 << ", so " << task_of_feature(chosen.feature) << " (the feature " << chosen.feature
                 << "), as optimum-cli infers it\n";
    }
    if (opt.genai) require_genai(family_type, chosen.feature);  // before the checkpoint is opened
    (void)family->require(chosen.feature);
    detail::pretrained::note_transformers_version(json, family_type, chosen.feature, opt.follow, where, *opt.log,
                                                  *opt.warnings);
    auto m = load_model(*family, dir, json, opt.follow, composite, opt.interpolate_pos_encoding);
    select_decoder_alone(m, chosen.feature, dir);
    return export_loaded(m, dir, output, chosen);
}
#endif

/// export_pretrained over the registered families (registry.hpp).
export_report export_pretrained(const std::filesystem::path& model, const std::filesystem::path& output,
                                const export_options& opt = {});
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE export_report export_pretrained(const std::filesystem::path& model, const std::filesystem::path& output, const export_options& opt) {
    return export_pretrained(model, output, opt, registered_families());
}
#endif

/// Export with a family given as a type (registered or not) and the task
/// `Task`: `export_model<my_family, task::masked_lm>(dir, "onnx")`. The
/// family's model_type must be the one config.json names.
template <class F, class Task>
export_report export_model(const std::filesystem::path& model, const std::filesystem::path& output,
                           export_options opt = {}) {
    opt.feature = std::string(Task::name);
    const family_handle* one[] = {&handle_of<F>()};
    return export_pretrained(model, output, opt, one);
}

}  // namespace typeformer::inline v0
