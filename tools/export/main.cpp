// typeformer-export: export a Hugging Face checkpoint folder to ONNX and
// validate it with ONNX Runtime against the reference forward pass. The
// command line of typeformer::export_pretrained: it parses the arguments,
// calls the library and returns its verdict as the exit status.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "typeformer/export/pretrained.hpp"

namespace tf = typeformer;

namespace {
/// The features a multimodal checkpoint exports from its text decoder: the
/// text-generation features of its default text family, where that is built.
std::vector<std::string> composite_features(const tf::composite_type& c) {
    std::vector<std::string> out;
    if (const auto* f = tf::find_family(c.text_model_type))
        for (const auto& name : f->feature_names())
            if (tf::composite_exports(name)) out.push_back(name);
    return out;
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "typeformer-export: export a Hugging Face Transformers checkpoint (config.json + safetensors or pytorch_model.bin, "
        "sharded or not, f32/f16/bf16) to "
        "ONNX, then validate the graph with ONNX Runtime against typeformer's reference forward pass.\n\n"
        "Writes OUTPUT/model.onnx (with --external-data, or automatically past 2 GiB, plus OUTPUT/model.onnx_data) "
        "and copies config.json and the tokenizer files next to it; an encoder-decoder's generation task writes "
        "Optimum's encoder_model.onnx, decoder_model.onnx, decoder_with_past_model.onnx and "
        "decoder_model_merged.onnx instead. Output is atomic: everything is written in a "
        "hidden staging folder inside OUTPUT, then renamed into place, so an error, a kill or a full disk leaves "
        "OUTPUT as it was. An existing model.onnx is replaced only by an export that validated; one that failed "
        "validation is left as OUTPUT/model.onnx.invalid (OUTPUT/invalid/ with external data), and --no-validate "
        "refuses to overwrite; --force replaces it in both cases.\n\nExit status: 0 exported and validated; 1 validation failed; 2 bad input "
        "(arguments, config, checkpoint) or an I/O error.",
        "typeformer-export"};
    tf::export_options opt;
    std::filesystem::path model_dir;
    std::filesystem::path output = "onnx";
    std::string list_for;
    bool list_all = false;
    app.add_option("--model,-m", model_dir,
                   "A folder (config.json and weights: model.safetensors, sharded model.safetensors.index.json, "
                   "pytorch_model.bin or its sharded index), or a Hugging Face repository id (org/name) looked up "
                   "offline in the local cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)");
    app.add_option("--feature", opt.feature,
                   "Feature (task) to export, as transformers.onnx names it (default: --task's)");
    std::string task = "auto";
    app.add_option("--task", task,
                   "Task to export, as optimum-cli names it (feature-extraction, fill-mask, text-generation, "
                   "text-generation-with-past, text2text-generation, text2text-generation-with-past, "
                   "text-classification, token-classification, question-answering, multiple-choice, "
                   "feature-extraction-with-past) or as --feature does; instead of --feature. auto: the task "
                   "config.json's architectures name (BertForMaskedLM: fill-mask; a decoder's or an "
                   "encoder-decoder's generation class: with the cache), as optimum-cli infers it")
        ->capture_default_str();
    app.add_option("--dtype", opt.dtype,
                   "Type of the exported weights and float outputs: fp32, or fp16 (float16 weights and outputs, "
                   "computed in float32; the reference then uses the same float16-rounded weights and the default "
                   "--atol becomes 1e-2). Checkpoints stored as F32, F16 or BF16 are converted while written")
        ->check(CLI::IsMember({"fp32", "fp16"}))
        ->capture_default_str();
    std::string quantize = "none";
    app.add_option("--quantize", quantize,
                   "int8: also write model_quantized.onnx (each graph's <graph>_quantized.onnx, Optimum's names), "
                   "every Linear (and MatMul by a weight) one com.microsoft DynamicQuantizeMatMul on int8 weights "
                   "quantized per output channel while they are written (activations quantized at run time, as "
                   "onnxruntime's quantize_dynamic); validated against the reference on the dequantized weights, "
                   "atol 0.2 x the largest output value. Not with --dtype fp16 or --genai")
        ->check(CLI::IsMember({"none", "int8"}))
        ->capture_default_str();
    app.add_flag("--quantized-only", opt.quantized_only,
                 "With --quantize: write model_quantized.onnx alone, without model.onnx");
    app.add_option("--opset", opt.opset, "ONNX opset to target: 13 to 23 (default 18)")->capture_default_str();
    app.add_option("--atol", opt.atol, "Absolute tolerance for validation (default: the architecture's, 1e-5)");
    bool no_validate = false;
    app.add_flag("--no-validate", no_validate, "Write the model without validating it with ONNX Runtime");
    app.add_option("--list-features", list_for,
                   "List the features a model_type supports, then exit (config.json's spelling, gpt_neo, or "
                   "transformers.onnx's, gpt-neo)");
    app.add_flag("--list-models", list_all,
                 "List the supported model types, each with its features (transformers.onnx's names) and the "
                 "same as optimum-cli's tasks, then exit");
    app.add_option("--revision", opt.revision,
                   "With --model org/name: the branch, tag or commit of the cached snapshot to export")
        ->capture_default_str();
    std::string follow = "5";
    app.add_option("--follow-transformers", follow,
                   "Where Transformers releases compute the same checkpoint differently (Mistral's and Phi-3's "
                   "sliding window, Qwen2's windowed layers, Phi-3's \"yarn\" scaling, Gemma's activation, the token "
                   "a decoder's sequence-classification scores), "
                   "follow the model code of Transformers 5 (the default) or of 4.41; the log says when it matters")
        ->check(CLI::IsMember({"5", "4.41"}))
        ->capture_default_str();
    std::string memory = "auto";
    app.add_option("--validation-memory", memory,
                   "How validation holds the weights: full (the reference keeps every weight as float32 and ONNX "
                   "Runtime loads the model as it serves it: about twice the float32 model in memory), bounded (the "
                   "reference converts each weight as a layer uses it, ONNX Runtime maps the weights file without "
                   "copying it: a few GiB beyond the files' pages, for models larger than memory; the whole model "
                   "still runs), or auto (bounded when full would not fit in the memory available)")
        ->check(CLI::IsMember({"auto", "bounded", "full"}))
        ->capture_default_str();
    app.add_flag("--external-data", opt.external_data,
                 "Write the weights to OUTPUT/model.onnx_data next to model.onnx (automatic when the model is over "
                 "2 GiB, the limit of one protobuf file)");
    app.add_flag("--monolith", opt.monolith,
                 "Write an encoder-decoder's seq2seq-lm (text2text-generation) as one model.onnx (input_ids, "
                 "attention_mask, decoder_input_ids -> logits), as the legacy exporter did, instead of "
                 "encoder_model.onnx and decoder_model.onnx; a task with the cache cannot be one graph");
    app.add_flag("--interpolate-pos-encoding", opt.interpolate_pos_encoding,
                 "Resize the learned positions to each image's patch grid (bicubic), as Transformers' forward "
                 "argument interpolate_pos_encoding=True does: the graph takes pixel_values of any height and "
                 "width, validated at the config's size and at another. vit, deit, beit and data2vec-vision (BEiT's "
                 "relative position biases are resized too, as Transformers 5 resizes them; masked-im of vit "
                 "and deit keeps the config's size, which its graph states); another model type is refused");
    app.add_flag("--genai", opt.genai,
                 "Also write genai_config.json next to model.onnx, for ONNX Runtime GenAI (onnxruntime-genai): "
                 "causal-lm-with-past (text-generation-with-past, chosen when --task is auto) of a model type GenAI "
                 "runs (llama, mistral, qwen2, qwen3, phi, phi3, gemma, gemma2, gemma3_text, granite, "
                 "smollm3); the graph's input and output names, its cache's sizes, the special tokens and "
                 "generation_config.json's search defaults. Anything else is refused");
    bool quiet = false;
    app.add_flag("--quiet,-q", quiet,
                 "Print errors only: no log, no warnings, no progress line; a failed validation is one line on "
                 "stderr (the exit status is the same)");
    std::string progress = "auto";
    app.add_option("--progress", progress,
                   "A progress line on stderr while the weights are written (tensors and MB written, rate, time "
                   "left), rewritten in place: auto (when stderr is a terminal), always, or never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    app.add_flag("--force", opt.force,
                 "Replace an existing OUTPUT/model.onnx even when the new export was not validated (--no-validate) "
                 "or failed validation (exit status 1 then)");

    app.add_option("output", output, "Output folder")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    if (task == "auto") {
        if (!app.count("--feature")) opt.feature = "auto";
    } else {
        const auto feature = tf::feature_of_task(task);
        if (feature.empty()) {
            std::cerr << "typeformer-export: unknown --task " << task << " (tasks:";
            for (const auto& t : tf::optimum_tasks) std::cerr << " " << t.task;
            std::cerr << "; or a feature name)\n";
            return 2;
        }
        if (app.count("--feature") && opt.feature != feature) {
            std::cerr << "typeformer-export: --task " << task << " is the feature " << feature
                      << ", but --feature " << opt.feature << " was given too\n";
            return 2;
        }
        opt.feature = std::string(feature);
    }
    opt.validate = !no_validate;
    opt.quantize = quantize == "int8" ? tf::quantization::int8 : tf::quantization::none;
    opt.follow = follow == tf::to_string(tf::follow_transformers::v4_41) ? tf::follow_transformers::v4_41
                                                                         : tf::follow_transformers::v5;
    for (const auto v : {tf::validation_memory::automatic, tf::validation_memory::bounded, tf::validation_memory::full})
        if (memory == tf::to_string(v)) opt.memory = v;
    for (const auto v : {tf::progress_mode::automatic, tf::progress_mode::always, tf::progress_mode::never})
        if (progress == tf::to_string(v)) opt.progress = v;
    std::ostream nowhere(nullptr);  // --quiet: the log and the warnings go nowhere
    if (quiet) {
        opt.log = &nowhere;
        opt.warnings = &nowhere;
        opt.progress = tf::progress_mode::never;
    }
    try {
        if (list_all) {
            // "bert: default masked-lm ...; tasks: feature-extraction fill-mask ...", the tasks in the features' order
            for (const auto& type : tf::supported_model_types()) {
                const auto features = tf::supported_features(type);
                std::cout << type << ":";
                for (const auto& f : features) std::cout << " " << f;
                std::cout << "; tasks:";
                for (const auto& f : features) {
                    const auto t = tf::task_of_feature(f);
                    std::cout << " " << (t.empty() ? std::string_view(f) : t);
                }
                std::cout << "\n";
            }
            // multimodal checkpoints whose text decoder exports (export/composite.hpp)
            for (const auto& c : tf::composite_types()) {
                const auto features = composite_features(c);
                if (features.empty()) continue;
                std::cout << c.model_type << ":";
                for (const auto& f : features) std::cout << " " << f;
                std::cout << "; tasks:";
                for (const auto& f : features) std::cout << " " << tf::task_of_feature(f);
                std::cout << "\n";
            }
            return 0;
        }
        if (!list_for.empty()) {
            std::string underscored = list_for;  // transformers.onnx's spelling: "-" for "_"
            std::replace(underscored.begin(), underscored.end(), '-', '_');
            if (const auto* c = tf::find_composite(underscored); c && !composite_features(*c).empty()) {
                for (const auto& f : composite_features(*c)) std::cout << f << "\n";
                return 0;
            }
            const auto* family = tf::find_family_any_spelling(list_for);
            if (!family) {
                std::cerr << "typeformer-export: model_type " << list_for << " is not supported (supported: "
                          << tf::joined_model_types() << ")\n";
                return 2;
            }
            for (const auto& f : family->feature_names()) std::cout << f << "\n";
            return 0;
        }
        if (model_dir.empty()) {
            std::cerr << "typeformer-export: --model is required (a folder with config.json and model.safetensors); "
                         "see --help\n";
            return 2;
        }
        const auto report = tf::export_pretrained(model_dir, output, opt);
        if (!report.ok() && quiet)  // the one line --quiet keeps of a failed validation
            std::cerr << "typeformer-export: validation failed (atol " << report.atol << "); "
                      << (opt.force ? "--force: written anyway at " : "the rejected export is at ")
                      << report.model.string() << "\n";
        return report.ok() ? 0 : 1;
    } catch (const std::exception& e) {  // typeformer::error: "[id] message"
        std::cerr << "typeformer-export: " << e.what() << "\n";
        return 2;
    }
}
