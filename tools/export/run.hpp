// tools/export/run.hpp: the export job, generic over a family; included by
// each family's translation unit.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "family.hpp"
#include "typeformer/export/export.hpp"

namespace typeformer_cli {

namespace tf = typeformer;
namespace fs = std::filesystem;

/// Files copied next to the model, as Optimum does.
inline const char* const copied_files[] = {
    "config.json",          "generation_config.json", "tokenizer.json",         "tokenizer_config.json",
    "special_tokens_map.json", "vocab.txt",           "vocab.json",             "merges.txt",
    "added_tokens.json",    "spiece.model",           "sentencepiece.bpe.model", "preprocessor_config.json"};

/// "0.42 s"
inline std::string seconds_since(std::chrono::steady_clock::time_point t0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return buf;
}

template <class F, class Task>
int export_task(const request& req, const typename F::config& cfg, const tf::checkpoint& ck, double atol) {
    using model = tf::model_of<F, Task>;
    const auto t0 = std::chrono::steady_clock::now();
    std::cout << "typeformer: exporting " << F::model_type << " (" << Task::name << ") from " << req.model_dir.string()
              << " at opset " << req.opset << "\n";
    const auto stored = ck.stored_dtypes();
    std::cout << "typeformer: weights: " << ck.layout() << ", stored as " << stored;
    if (req.dtype == "fp16")
        std::cout << ", written as float16 (--dtype fp16: outputs float16, validation atol " << atol << ")";
    else if (stored != "F32")
        std::cout << ", converted to float32 while written";
    std::cout << "\n";
    auto built = tf::build_graph<F, Task>(cfg, ck, req.opset, req.model_dir.string());
    if (req.dtype == "fp16") tf::to_fp16(built.model, built.initializers);
    if (!built.params.unused.empty()) {
        std::cout << "typeformer: " << built.params.unused.size()
                  << " checkpoint tensors are not used by this task (another head's):";
        for (std::size_t k = 0; k < built.params.unused.size() && k < 5; ++k) std::cout << " " << built.params.unused[k];
        std::cout << (built.params.unused.size() > 5 ? " ..." : "") << "\n";
    }
    tf::check_onnx_skeleton(built.model, built.initializers);
    std::uint64_t weight_bytes = 0;
    for (const auto& i : built.initializers) weight_bytes += i.byte_size();
    const double mib = static_cast<double>(built.model.ByteSizeLong() + weight_bytes) / (1024.0 * 1024.0);
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MiB", mib);
    std::cout << "typeformer: graph built and checked in " << seconds_since(t0) << " (" << built.model.graph().node_size()
              << " nodes, " << built.initializers.size() << " initializers, " << size << ")\n";
    if (mib >= 2047.0)
        throw tf::error("export.size", "the model is " + std::to_string(static_cast<long>(mib)) +
                                           " MiB; a single protobuf file is capped at 2 GiB and external data is "
                                           "not supported yet");

    std::error_code ec;
    fs::create_directories(req.output, ec);
    if (ec || !fs::is_directory(req.output))
        throw tf::error("export.output", req.output.string() + ": cannot create the output folder" +
                                             (ec ? " (" + ec.message() + ")" : std::string()));
    const fs::path target = req.output / "model.onnx";
    const fs::path staged = req.output / ".model.onnx.staged";
    const auto t1 = std::chrono::steady_clock::now();
    tf::write_atomically(staged, [&](std::ostream& out) { return tf::write_onnx(out, built.model, built.initializers); });
    std::cout << "typeformer: weights written in " << seconds_since(t1) << "\n";

    bool ok = true;
    if (req.validate) {
        std::cout << "Validating ONNX model " << target.string() << "...\n";
        try {
            auto inputs = tf::make_inputs<model>(cfg.shape(), {});
            auto weights = req.dtype == "fp16" ? tf::fp16_rounded_weights<F, Task>(cfg, ck) : tf::weight_cache{};
            auto reference = tf::reference_outputs<F, Task>(cfg, ck, inputs, &weights);
            tf::ort_runner ort(staged);
            ok = tf::compare_outputs(reference, ort.run(inputs), atol, std::cout);
        } catch (...) {
            fs::remove(staged, ec);  // leave the folder as it was
            throw;
        }
    }
    if (!ok) {
        const fs::path rejected = req.output / "model.onnx.invalid";
        fs::rename(staged, rejected, ec);
        std::cerr << "typeformer: validation failed; " << target.string() << " was left as it was and the rejected "
                  << "graph is at " << rejected.string() << "\n";
        return 1;
    }
    fs::rename(staged, target, ec);
    if (ec) throw tf::error("export.write", target.string() + ": " + ec.message());
    for (const char* name : copied_files) {
        const fs::path from = req.model_dir / name;
        if (!fs::exists(from)) continue;
        std::ifstream in(from, std::ios::binary);
        tf::write_atomically(req.output / name, [&](std::ostream& out) {
            if (fs::file_size(from) > 0) out << in.rdbuf();
            return true;
        });
    }
    if (req.validate) std::cout << "All good, model saved at: " << target.string() << "\n";
    else std::cout << "Model saved (not validated) at: " << target.string() << "\n";
    return 0;
}

template <class F>
int run_family(const request& req, const nlohmann::json& json) {
    const auto where = (req.model_dir / "config.json").string();
    const auto cfg = F::load(tf::config_reader(json, where));
    auto ck = tf::checkpoint::open(req.model_dir);
    ck.set_base_prefix(std::string(F::base_prefix));
    tf::tie_weights<F>(cfg, ck);
    const double atol = req.atol >= 0 ? req.atol : req.dtype == "fp16" ? tf::fp16_atol : F::atol;
    int rc = -1;
    tf::for_each_type(typename F::features{}, [&]<class Task>() {
        if (rc < 0 && Task::name == req.feature) rc = export_task<F, Task>(req, cfg, ck, atol);
    });
    if (rc < 0) throw tf::error("export.feature", "feature " + req.feature + " is not supported for " + std::string(F::model_type));
    return rc;
}

template <class F>
family_entry make_entry() {
    family_entry e{F::model_type, {}, &run_family<F>};
    tf::for_each_type(typename F::features{}, [&]<class Task>() { e.features.push_back(Task::name); });
    return e;
}

}  // namespace typeformer_cli
