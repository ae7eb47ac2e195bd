// bench_reference: the reference forward pass (xtensor + OpenBLAS) next to
// ONNX Runtime on the graph typeformer exports, same checkpoint, same inputs.
//
//   TYPEFORMER_BENCH_MODEL    checkpoint folder (config.json + model.safetensors);
//                             default: <build>/bench/bert-base (bench/run.sh makes it)
//   TYPEFORMER_BENCH_THREADS  threads for both OpenBLAS and ONNX Runtime's
//                             intra-op pool (default 2; inter-op is 1)
//   TYPEFORMER_BENCH_SEQ      sequence length (default 128)
//
// Setup (not timed): the checkpoint is mapped, the graph is built with
// build_onnx (task default, opset 17), serialized once and loaded into one
// ONNX Runtime session. The reference keeps one weight cache across
// iterations (weights are converted to float32 arrays once, in the warm-up
// run, as a session would), so each reference iteration is one forward pass;
// each ONNX Runtime iteration is one Session::Run plus copying the output out.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "typeformer/export/export.hpp"
#include "typeformer/models/bert.hpp"

namespace {

namespace tf = typeformer;
using family = tf::bert_family;
using task = tf::task::default_;
using model = tf::model_of<family, task>;

#ifndef TYPEFORMER_BENCH_DEFAULT_MODEL
#define TYPEFORMER_BENCH_DEFAULT_MODEL "build/bench/bert-base"
#endif

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::move(fallback);
}

struct fixture {
    tf::bert_config cfg;
    tf::checkpoint ck;
    std::unique_ptr<tf::ort_runner> ort;
    tf::weight_cache weights;
    std::int64_t seq = 128;
};

fixture* g = nullptr;

tf::tensor_map inputs_for(std::int64_t batch) {
    return tf::make_inputs<model>(g->cfg.shape(), {.batch = batch, .sequence = g->seq});
}

void bm_reference(benchmark::State& state) {
    const auto batch = state.range(0);
    const auto inputs = inputs_for(batch);
    for (auto _ : state) {
        auto out = tf::reference_outputs<family, task>(g->cfg, g->ck, inputs, &g->weights);
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
        const auto where = (dir / "config.json").string();
        f.cfg = family::load(tf::config_reader(tf::config_reader::load(dir / "config.json"), where));
        f.ck = tf::checkpoint::open(dir);
        f.ck.set_base_prefix(std::string(family::base_prefix));
        std::string bytes;
        {
            auto built = tf::build_onnx<family, task>(f.cfg, f.ck, 17, where);
            if (!built.proto.SerializeToString(&bytes)) throw tf::error("bench.serialize", "cannot serialize");
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
        const auto ref = tf::reference_outputs<family, task>(f.cfg, f.ck, in, &f.weights);  // also warms the cache
        const auto ort = f.ort->run(in);
        double worst = 0;
        for (const auto& [name, v] : ref)
            if (auto it = ort.find(name); it != ort.end()) worst = std::max(worst, tf::max_abs_diff(v, it->second));
        benchmark::AddCustomContext("max_abs_diff_batch1", std::to_string(worst));
    }
    benchmark::AddCustomContext("model", dir.string());
    benchmark::AddCustomContext("layers_hidden_heads",
                                std::to_string(f.cfg.num_hidden_layers) + "/" + std::to_string(f.cfg.hidden_size) + "/" +
                                    std::to_string(f.cfg.num_attention_heads));
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
