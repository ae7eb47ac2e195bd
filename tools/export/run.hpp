// tools/export/run.hpp: the export job, generic over a family; included by
// each family's translation unit.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
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

inline constexpr const char* model_file = "model.onnx";
inline constexpr const char* data_file = "model.onnx_data";

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
    if (!req.validate && !req.force && fs::exists(req.output / model_file))
        throw tf::error("export.exists", (req.output / model_file).string() +
                                             " exists and --no-validate was given: an existing model is only "
                                             "replaced by a validated export, or with --force");
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
    const auto single_file = tf::single_file_size(built.model, built.initializers);
    const bool external = req.external_data || single_file > tf::max_single_file;
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(single_file) / (1024.0 * 1024.0));
    std::cout << "typeformer: graph built and checked in " << seconds_since(t0) << " (" << built.model.graph().node_size()
              << " nodes, " << built.initializers.size() << " initializers, " << size << ")\n";
    if (external && !req.external_data)
        std::cout << "typeformer: the model is over 2 GiB, the limit of one protobuf file: its weights go to "
                  << data_file << " next to " << model_file << "\n";

    const fs::path target = req.output / model_file;
    tf::staged_output out(req.output);
    const auto t1 = std::chrono::steady_clock::now();
    tf::write_report report;
    if (external) {
        std::string model_bytes;  // the graph and the tensors' descriptions: small
        out.write(data_file, [&](std::ostream& data_out) {
            std::ostringstream model_out;
            const bool ok = tf::write_onnx_external(model_out, data_out, data_file, built.model, built.initializers,
                                                    &report);
            model_bytes = std::move(model_out).str();
            return ok;
        });
        out.write(model_file, [&](std::ostream& o) { return static_cast<bool>(o << model_bytes); });
    } else {
        out.write(model_file, [&](std::ostream& o) { return tf::write_onnx(o, built.model, built.initializers, &report); });
    }
    std::cout << "typeformer: weights written in " << seconds_since(t1) << " ("
              << (external ? std::string(model_file) + " + " + data_file : std::string(model_file)) << ")\n";
    for (const auto& [name, count] : report.nonfinite)
        std::cerr << "typeformer: warning: checkpoint tensor " << name << " holds " << count
                  << " NaN or infinite value" << (count > 1 ? "s" : "") << "\n";
    for (const char* name : copied_files)
        if (fs::exists(req.model_dir / name)) out.copy_in(req.model_dir / name);

    bool ok = true;
    if (req.validate) {
        std::cout << "Validating ONNX model " << target.string() << "...\n";
        tf::axis_sizes sizes;  // batch 3, sequence 9; with a cache, past length 11
        auto inputs = tf::make_inputs<model>(cfg, sizes);
        auto weights = req.dtype == "fp16" ? tf::fp16_rounded_weights<F, Task>(cfg, ck) : tf::weight_cache{};
        auto reference = tf::reference_outputs<F, Task>(cfg, ck, inputs, &weights);
        tf::ort_runner ort(out.staged(model_file));
        if constexpr (tf::task::has_past<Task>)
            std::cout << "\t- with a past of " << inputs.at("attention_mask").shape()[1] - inputs.at("input_ids").shape()[1]
                      << " tokens:\n";
        ok = tf::compare_outputs(reference, ort.run(inputs), atol, std::cout);
        if constexpr (tf::task::has_past<Task>) {
            // the first step of generation: the same graph with an empty past
            sizes.past = 0;
            inputs = tf::make_inputs<model>(cfg, sizes);
            reference = tf::reference_outputs<F, Task>(cfg, ck, inputs, &weights);
            std::cout << "\t- with an empty past (the first step):\n";
            ok = tf::compare_outputs(reference, ort.run(inputs), atol, std::cout) && ok;
        }
    }
    if (!ok && !req.force) {
        const fs::path rejected = external ? req.output / "invalid" : req.output / "model.onnx.invalid";
        if (external) out.keep_folder_as(rejected);
        else out.keep_as(model_file, rejected);
        std::cerr << "typeformer: validation failed; " << target.string() << " was left as it was and the rejected "
                  << "export is at " << rejected.string() << " (--force writes it anyway)\n";
        return 1;
    }
    const bool stale_data = !external && fs::exists(req.output / data_file);
    out.commit();
    if (stale_data) {  // the previous export's weights; the new model.onnx holds its own
        std::error_code ec;
        fs::remove(req.output / data_file, ec);
    }
    if (!ok) {
        std::cerr << "typeformer: validation failed; --force: written anyway at " << target.string() << "\n";
        return 1;
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
