// bench_generate: greedy decoding at batch 1 through ONNX Runtime on an
// exported causal-lm-with-past graph, feeding present.* back as
// past_key_values.* (the loop a user of the export writes), timed.
//
//   bench_generate MODEL.onnx [--prompt 32] [--new 64] [--reps 3] [--threads 2] [--spin 1] [--vocab N]
//
// The prompt is token ids (1000 + 37 i) mod vocab, i = 0..prompt-1, the same
// as bench/generate_torch.py. One run: the prefill (the prompt with an empty
// past; its last logits give the first new token), then new-1 decode steps
// (one token each, past = the previous present). Each figure is the median
// over `reps` runs after an untimed warm-up run of min(new, 8) tokens:
//   prefill_ms      the first Session::Run + the argmax
//   decode_tok_s    (new - 1) / the time of the decode steps
//   total_ms        the whole run
// Session creation (loading the weights, ORT's graph optimizations) is timed
// once, separately. ONNX Runtime: intra-op `threads`, inter-op 1, sequential
// execution, default optimization level (all), CPU provider, arena on: what
// ort_runner (the exporter's validator) uses; `--spin 0` sets
// session.intra_op.allow_spinning=0 (idle pool threads sleep instead of
// spinning: much faster on a machine whose cores are busy with other work;
// bench/decoders.sh's SPIN=0 pairs it with OMP_WAIT_POLICY=PASSIVE for
// PyTorch). Prints one JSON object.
//
// Outputs stay ONNX Runtime's: present.* values are moved into the next feed
// (no copy); only the last row of the logits is read.
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct input_spec {
    std::string name;
    ONNXTensorElementDataType type;
    std::vector<std::int64_t> dims;        // -1: symbolic
    std::vector<std::string> symbolic;     // names of the symbolic dims
};

struct run_result {
    double prefill_s = 0, decode_s = 0, total_s = 0;
    std::vector<std::int64_t> tokens;
};

class generator {
public:
    generator(const char* path, int threads, bool spin) : session_(make(path, threads, spin)) {
        Ort::AllocatorWithDefaultOptions alloc;
        for (std::size_t k = 0; k < session_.GetInputCount(); ++k) {
            input_spec s;
            s.name = session_.GetInputNameAllocated(k, alloc).get();
            const auto type_info = session_.GetInputTypeInfo(k);  // owns what info points to
            const auto info = type_info.GetTensorTypeAndShapeInfo();
            s.type = info.GetElementType();
            s.dims = info.GetShape();
            std::vector<const char*> sym(s.dims.size());
            info.GetSymbolicDimensions(sym.data(), sym.size());
            for (const char* p : sym) s.symbolic.emplace_back(p ? p : "");
            inputs_.push_back(std::move(s));
        }
        for (std::size_t k = 0; k < session_.GetOutputCount(); ++k)
            outputs_.emplace_back(session_.GetOutputNameAllocated(k, alloc).get());
        for (const auto& s : inputs_)
            if (s.name != "input_ids" && s.name != "attention_mask" && s.name != "position_ids" &&
                !s.name.starts_with("past_key_values."))
                throw std::runtime_error("unexpected graph input " + s.name +
                                         " (want input_ids, attention_mask, [position_ids], past_key_values.*)");
        if (std::find(outputs_.begin(), outputs_.end(), "logits") == outputs_.end())
            throw std::runtime_error("the graph has no output named logits (export --feature causal-lm-with-past)");
        const auto vocab = logits_vocab();
        if (vocab > 0) vocab_ = vocab;
    }

    [[nodiscard]] std::int64_t vocab() const { return vocab_; }
    void set_vocab(std::int64_t v) { vocab_ = v; }
    [[nodiscard]] std::size_t cache_inputs() const {
        return static_cast<std::size_t>(std::count_if(inputs_.begin(), inputs_.end(), [](const input_spec& s) {
            return s.name.starts_with("past_key_values.");
        }));
    }

    run_result run(const std::vector<std::int64_t>& prompt, int new_tokens) {
        run_result r;
        const auto t_all = clock_type::now();
        std::map<std::string, Ort::Value> past;  // past_key_values.* -> value
        for (const auto& s : inputs_) {
            if (!s.name.starts_with("past_key_values.")) continue;
            std::vector<std::int64_t> shape;
            for (std::size_t d = 0; d < s.dims.size(); ++d) {
                if (s.dims[d] >= 0) shape.push_back(s.dims[d]);
                else if (s.symbolic[d] == "batch") shape.push_back(1);
                else if (s.symbolic[d] == "past_sequence") shape.push_back(0);
                else throw std::runtime_error(s.name + ": symbolic axis '" + s.symbolic[d] + "' is not handled");
            }
            past.emplace(s.name, Ort::Value::CreateTensor<float>(alloc_, shape.data(), shape.size()));
        }
        std::vector<std::int64_t> step_ids = prompt;
        std::int64_t length = 0;  // tokens already in the cache
        for (int step = 0; step < new_tokens; ++step) {
            const auto t0 = clock_type::now();
            const auto S = static_cast<std::int64_t>(step_ids.size());
            std::vector<std::int64_t> mask(static_cast<std::size_t>(length + S), 1), pos(static_cast<std::size_t>(S));
            for (std::int64_t s = 0; s < S; ++s) pos[static_cast<std::size_t>(s)] = length + s;
            const std::int64_t ids_shape[] = {1, S}, mask_shape[] = {1, length + S};
            std::vector<Ort::Value> feeds;
            std::vector<const char*> names;
            for (const auto& s : inputs_) {
                names.push_back(s.name.c_str());
                if (s.name == "input_ids")
                    feeds.push_back(Ort::Value::CreateTensor<std::int64_t>(mem_, step_ids.data(), step_ids.size(), ids_shape, 2));
                else if (s.name == "attention_mask")
                    feeds.push_back(Ort::Value::CreateTensor<std::int64_t>(mem_, mask.data(), mask.size(), mask_shape, 2));
                else if (s.name == "position_ids")
                    feeds.push_back(Ort::Value::CreateTensor<std::int64_t>(mem_, pos.data(), pos.size(), ids_shape, 2));
                else
                    feeds.push_back(std::move(past.at(s.name)));
            }
            std::vector<const char*> out_names;
            for (const auto& n : outputs_) out_names.push_back(n.c_str());
            auto outs = session_.Run(Ort::RunOptions{nullptr}, names.data(), feeds.data(), feeds.size(),
                                     out_names.data(), out_names.size());
            std::int64_t next = 0;
            for (std::size_t k = 0; k < outs.size(); ++k) {
                if (outputs_[k] == "logits") {
                    const auto shape = outs[k].GetTensorTypeAndShapeInfo().GetShape();  // [1, S, V]
                    const auto V = shape.at(2);
                    const float* row = outs[k].GetTensorData<float>() + (shape.at(1) - 1) * V;
                    next = std::max_element(row, row + V) - row;
                } else if (outputs_[k].starts_with("present.")) {
                    past.insert_or_assign("past_key_values." + outputs_[k].substr(8), std::move(outs[k]));
                }
            }
            r.tokens.push_back(next);
            length += S;
            step_ids.assign(1, next);
            const double dt = seconds_since(t0);
            (step == 0 ? r.prefill_s : r.decode_s) += dt;
        }
        r.total_s = seconds_since(t_all);
        return r;
    }

private:
    static Ort::Env& env() {
        static Ort::Env e(ORT_LOGGING_LEVEL_WARNING, "bench_generate");
        return e;
    }
    static Ort::Session make(const char* path, int threads, bool spin) {
        Ort::SessionOptions opts;
        opts.SetIntraOpNumThreads(threads);
        opts.SetInterOpNumThreads(1);
        if (!spin) opts.AddConfigEntry("session.intra_op.allow_spinning", "0");
        return Ort::Session(env(), path, opts);
    }
    [[nodiscard]] std::int64_t logits_vocab() const {
        for (std::size_t k = 0; k < outputs_.size(); ++k)
            if (outputs_[k] == "logits") {
                const auto type_info = session_.GetOutputTypeInfo(k);
                const auto shape = type_info.GetTensorTypeAndShapeInfo().GetShape();
                return shape.size() == 3 ? shape[2] : -1;
            }
        return -1;
    }

    Ort::Session session_;
    Ort::AllocatorWithDefaultOptions alloc_;
    Ort::MemoryInfo mem_ = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<input_spec> inputs_;
    std::vector<std::string> outputs_;
    std::int64_t vocab_ = -1;
};

int usage() {
    std::cerr << "usage: bench_generate MODEL.onnx [--prompt 32] [--new 64] [--reps 3] [--threads 2] [--spin 1] [--vocab N]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const char* model = argv[1];
    int prompt_len = 32, new_tokens = 64, reps = 3, threads = 2, spin = 1;
    std::int64_t vocab = -1;
    for (int k = 2; k < argc; ++k) {
        const std::string a = argv[k];
        if (k + 1 >= argc) return usage();
        const std::string v = argv[++k];
        if (a == "--prompt") prompt_len = std::stoi(v);
        else if (a == "--new") new_tokens = std::stoi(v);
        else if (a == "--reps") reps = std::stoi(v);
        else if (a == "--threads") threads = std::stoi(v);
        else if (a == "--vocab") vocab = std::stoll(v);
        else if (a == "--spin") spin = std::stoi(v);
        else return usage();
    }
    if (prompt_len < 1 || new_tokens < 2 || reps < 1 || threads < 1) return usage();
    try {
        const auto t0 = clock_type::now();
        generator g(model, threads, spin != 0);
        const double session_s = seconds_since(t0);
        if (vocab > 0) g.set_vocab(vocab);
        if (g.vocab() <= 0) throw std::runtime_error("the logits' vocabulary axis is not static: pass --vocab");
        std::vector<std::int64_t> prompt(static_cast<std::size_t>(prompt_len));
        for (int i = 0; i < prompt_len; ++i) prompt[static_cast<std::size_t>(i)] = (1000 + 37LL * i) % g.vocab();

        (void)g.run(prompt, std::min(new_tokens, 8));  // warm-up, untimed
        std::vector<double> prefill, decode, total;
        std::vector<std::int64_t> tokens_out;
        for (int r = 0; r < reps; ++r) {
            const auto res = g.run(prompt, new_tokens);
            if (r > 0 && res.tokens != tokens_out) throw std::runtime_error("greedy decoding is not deterministic across runs");
            tokens_out = res.tokens;
            prefill.push_back(res.prefill_s);
            decode.push_back(res.decode_s);
            total.push_back(res.total_s);
        }
        std::ostringstream tokens;
        for (std::size_t k = 0; k < tokens_out.size(); ++k) tokens << (k ? "," : "") << tokens_out[k];
        std::cout << "{\"runtime\": \"onnxruntime\", \"threads\": " << threads << ", \"prompt\": " << prompt_len
                  << ", \"new\": " << new_tokens << ", \"reps\": " << reps << ", \"cache_inputs\": " << g.cache_inputs()
                  << ", \"load_s\": " << session_s << ", \"prefill_ms\": " << 1e3 * median(prefill)
                  << ", \"decode_tok_s\": " << (new_tokens - 1) / median(decode)
                  << ", \"total_ms\": " << 1e3 * median(total) << ", \"tokens\": [" << tokens.str() << "]}\n";
    } catch (const std::exception& e) {
        std::cerr << "bench_generate: " << model << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
