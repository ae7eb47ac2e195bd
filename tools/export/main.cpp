// typeformer-export: export a Hugging Face checkpoint folder to ONNX and
// validate it with ONNX Runtime against the reference forward pass.
#include <CLI/CLI.hpp>

#include <iostream>

#include "family.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/io/config_json.hpp"
#include "typeformer/io/hub.hpp"

namespace cli = typeformer_cli;

int main(int argc, char** argv) {
    CLI::App app{
        "typeformer-export: export a Hugging Face Transformers checkpoint (config.json + safetensors or pytorch_model.bin, "
        "sharded or not, f32/f16/bf16) to "
        "ONNX, then validate the graph with ONNX Runtime against typeformer's reference forward pass.\n\n"
        "Writes OUTPUT/model.onnx (with --external-data, or automatically past 2 GiB, plus OUTPUT/model.onnx_data) "
        "and copies config.json and the tokenizer files next to it. Output is atomic: everything is written in a "
        "hidden staging folder inside OUTPUT, then renamed into place, so an error, a kill or a full disk leaves "
        "OUTPUT as it was. An existing model.onnx is replaced only by an export that validated; one that failed "
        "validation is left as OUTPUT/model.onnx.invalid (OUTPUT/invalid/ with external data), and --no-validate "
        "refuses to overwrite; --force replaces it in both cases.\n\nExit status: 0 exported and validated; 1 validation failed; 2 bad input "
        "(arguments, config, checkpoint) or an I/O error.",
        "typeformer-export"};
    cli::request req;
    std::string list_for;
    bool list_all = false;
    app.add_option("--model,-m", req.model_dir, "Folder with config.json and model.safetensors");
    app.add_option("--feature", req.feature, "Feature (task) to export, as transformers.onnx names it")
        ->capture_default_str();
    app.add_option("--dtype", req.dtype,
                   "Type of the exported weights and float outputs: fp32, or fp16 (float16 weights and outputs, "
                   "computed in float32; the reference then uses the same float16-rounded weights and the default "
                   "--atol becomes 1e-2). Checkpoints stored as F32, F16 or BF16 are converted while written")
        ->check(CLI::IsMember({"fp32", "fp16"}))
        ->capture_default_str();
    app.add_option("--opset", req.opset, "ONNX opset to target (13 to 17)")->capture_default_str();
    app.add_option("--atol", req.atol, "Absolute tolerance for validation (default: the architecture's, 1e-5)");
    bool no_validate = false;
    app.add_flag("--no-validate", no_validate, "Write the model without validating it with ONNX Runtime");
    app.add_option("--list-features", list_for, "List the features a model_type supports, then exit");
    app.add_flag("--list-models", list_all, "List the supported model types and their features, then exit");
    // options of the checkpoints group (issue #5) below this line
    app.get_option("--model")->description(
        "A folder (config.json and weights: model.safetensors, sharded model.safetensors.index.json, "
        "pytorch_model.bin or its sharded index), or a Hugging Face repository id (org/name) looked up offline "
        "in the local cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)");
    std::string revision = "main";
    app.add_option("--revision", revision,
                   "With --model org/name: the branch, tag or commit of the cached snapshot to export")
        ->capture_default_str();

    // options of the robustness group (issue #5) below this line
    app.add_flag("--external-data", req.external_data,
                 "Write the weights to OUTPUT/model.onnx_data next to model.onnx (automatic when the model is over "
                 "2 GiB, the limit of one protobuf file)");
    app.add_flag("--force", req.force,
                 "Replace an existing OUTPUT/model.onnx even when the new export was not validated (--no-validate) "
                 "or failed validation (exit status 1 then)");

    req.output = "onnx";
    app.add_option("output", req.output, "Output folder")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    req.validate = !no_validate;
    auto families = cli::all_families();
    // families left out of this build (TYPEFORMER_FAMILIES) have no run
    std::erase_if(families, [](const cli::family_entry& f) { return f.run == nullptr; });
    auto find = [&](std::string_view type) -> const cli::family_entry* {
        for (const auto& f : families)
            if (f.model_type == type) return &f;
        return nullptr;
    };
    auto supported = [&] {
        std::string s;
        for (const auto& f : families) s += (s.empty() ? "" : ", ") + std::string(f.model_type);
        return s;
    };
    if (list_all) {
        for (const auto& f : families) {
            std::cout << f.model_type << ":";
            for (auto t : f.features) std::cout << " " << t;
            std::cout << "\n";
        }
        return 0;
    }
    if (!list_for.empty()) {
        const auto* f = find(list_for);
        if (!f) {
            std::cerr << "typeformer-export: model_type " << list_for << " is not supported (supported: " << supported()
                      << ")\n";
            return 2;
        }
        for (auto t : f->features) std::cout << t << "\n";
        return 0;
    }
    if (req.model_dir.empty()) {
        std::cerr << "typeformer-export: --model is required (a folder with config.json and model.safetensors); see --help\n";
        return 2;
    }
    try {
        if (const auto where = typeformer::resolve_model(req.model_dir.string(), revision); where != req.model_dir) {
            std::cout << "typeformer: " << req.model_dir.string() << " (revision " << revision << ") found in the Hugging Face cache at "
                      << where.string() << "\n";
            req.model_dir = where;
        }
        const auto json = typeformer::config_reader::load(req.model_dir / "config.json");
        std::string model_type;
        typeformer::config_reader(json, (req.model_dir / "config.json").string()).get("model_type", model_type);
        if (model_type.empty())
            throw typeformer::error("config.missing_field", (req.model_dir / "config.json").string() + ": no model_type");
        const auto* f = find(model_type);
        if (!f)
            throw typeformer::error("export.model_type", "model_type " + model_type + " is not supported (supported: " +
                                                             supported() + ")");
        bool has = false;
        std::string feats;
        for (auto t : f->features) has |= t == req.feature, feats += (feats.empty() ? "" : ", ") + std::string(t);
        if (!has)
            throw typeformer::error("export.feature", "feature " + req.feature + " is not supported for " + model_type +
                                                          " (supported: " + feats + ")");
        return f->run(req, json);
    } catch (const typeformer::error& e) {
        std::cerr << "typeformer-export: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "typeformer-export: " << e.what() << "\n";
        return 2;
    }
}
