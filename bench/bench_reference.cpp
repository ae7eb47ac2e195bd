// bench_reference: the reference forward pass (xtensor + OpenBLAS) next to
// ONNX Runtime on the graph typeformer exports, same checkpoint, same inputs.
//
//   TYPEFORMER_BENCH_MODEL    checkpoint folder (config.json + model.safetensors);
//                             default: <build>/bench/bert-base (bench/run.sh makes it)
//   TYPEFORMER_BENCH_THREADS  threads for both OpenBLAS and ONNX Runtime's
//                             intra-op pool (default 2; inter-op is 1)
//   TYPEFORMER_BENCH_SEQ      sequence length (default 128)
//   TYPEFORMER_BENCH_FEATURE  feature (default "default")
//
// Any registered model_type runs: the family is reached through its handle
// (typeformer_families), so this program compiles no forward pass of its own.
// Setup (not timed): the checkpoint is mapped, the graph is built (opset 18),
// serialized once and loaded into one ONNX Runtime session. The reference keeps one weight cache across
// iterations (weights are converted to float32 arrays once, in the warm-up
// run, as a session would), so each reference iteration is one forward pass;
// each ONNX Runtime iteration is one Session::Run plus copying the output out.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "typeformer/export/registry.hpp"
#include "typeformer/export/onnxruntime.hpp"

namespace {

namespace tf = typeformer;

#ifndef TYPEFORMER_BENCH_DEFAULT_MODEL
#define TYPEFORMER_BENCH_DEFAULT_MODEL "build/bench/bert-base"
#endif

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::move(fallback);
}

struct fixture {
    tf::loaded_model m;
    const tf::feature_handle* feature = nullptr;
    std::unique_ptr<tf::ort_runner> ort;
    tf::weight_cache weights;
    std::int64_t seq = 128;
};

fixture* g = nullptr;

tf::tensor_map inputs_for(std::int64_t batch) {
    return g->feature->make_inputs(g->m.config, {.batch = batch, .sequence = g->seq}, 7);
}

void bm_reference(benchmark::State& state) {
    const auto batch = state.range(0);
    const auto inputs = inputs_for(batch);
    for (auto _ : state) {
        auto out = g->feature->reference(g->m.config, g->m.weights, inputs, &g->weights);
        benchmark::DoNotOptimize(out);
    }
    state.counters["tokens/s"] =
        benchmark::Counter(static_cast<double>(batch * g->seq), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_onnxruntime(benchmark::State& state) {
    const auto batch = state.range(0);
    const auto inputs = inputs_for(batch);
    for (auto _ : state) {
        auto out = g->ort->run(inputs);
        benchmark::DoNotOptimize(out);
    }
    state.counters["tokens/s"] =
        benchmark::Counter(static_cast<double>(batch * g->seq), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const std::filesystem::path dir = env_or("TYPEFORMER_BENCH_MODEL", TYPEFORMER_BENCH_DEFAULT_MODEL);
    const int threads = std::stoi(env_or("TYPEFORMER_BENCH_THREADS", "2"));
    fixture f;
    f.seq = std::stoll(env_or("TYPEFORMER_BENCH_SEQ", "128"));
    try {
#ifdef OPENBLAS_VERSION
        openblas_set_num_threads(threads);
#endif
        const auto json = tf::config_reader::load(dir / "config.json");
        const auto& family = tf::require_family(json.value("model_type", std::string()));
        f.m = tf::load_model(family, dir, json);
        f.feature = &f.m.family().require(env_or("TYPEFORMER_BENCH_FEATURE", "default"));
        std::string bytes;
        {
            auto model = tf::materialize(f.feature->build(f.m.config, f.m.weights, 17, dir.string()));
            if (!model.SerializeToString(&bytes)) throw tf::error("bench.serialize", "cannot serialize");
        }
        f.ort = std::make_unique<tf::ort_runner>(bytes, threads);
    } catch (const std::exception& e) {
        std::cerr << "bench_reference: cannot set up from " << dir.string() << ": " << e.what()
                  << "\n(make it with typeformer-make-checkpoint, or run bench/run.sh)\n";
        return 2;
    }
    g = &f;

    // One sanity check, so a fast wrong graph cannot pass unnoticed.
    {
        const auto in = inputs_for(1);
        const auto ref = f.feature->reference(f.m.config, f.m.weights, in, &f.weights);  // also warms the cache
        const auto ort = f.ort->run(in);
        double worst = 0;
        for (const auto& [name, v] : ref)
            if (auto it = ort.find(name); it != ort.end()) worst = std::max(worst, tf::max_abs_diff(v, it->second));
        benchmark::AddCustomContext("max_abs_diff_batch1", std::to_string(worst));
    }
    benchmark::AddCustomContext("model", dir.string());
    benchmark::AddCustomContext("model_type_feature",
                                std::string(f.m.family().model_type) + "/" + std::string(f.feature->name));
    benchmark::AddCustomContext("sequence", std::to_string(f.seq));
    benchmark::AddCustomContext("threads_openblas_and_ort_intra_op", std::to_string(threads));

    for (const std::int64_t batch : {1, 8}) {
        benchmark::RegisterBenchmark("reference", bm_reference)->Arg(batch)->ArgName("batch")
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark("onnxruntime", bm_onnxruntime)->Arg(batch)->ArgName("batch")
            ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    g = nullptr;
    return 0;
}
