// typeformer/export/onnxruntime.hpp: running an exported graph in ONNX Runtime.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "typeformer/backend/eval.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"

namespace typeformer::inline v0 {

/// The process-wide ONNX Runtime environment.
Ort::Env& ort_env();
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE Ort::Env& ort_env() {
    static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "typeformer");
    return env;
}
#endif

/// Run a model (a file, or serialized bytes) on named inputs; returns every output by name.
class ort_runner {
public:
    /// `threads` 0: ONNX Runtime's default (one per core). `bounded_memory`:
    /// hold no second copy of the weights, for a model larger than memory.
    /// ONNX Runtime maps external data (aligned, as write_onnx_external
    /// writes it) instead of reading it; this also turns off its prepacking
    /// of constant weights, its graph optimizations (constant folding
    /// would make float32 copies of a float16 model's weights) and its
    /// memory pattern (one block reserved for every initializer), so the
    /// pages it maps stay the file's and the kernel can drop them.
    explicit ort_runner(const std::filesystem::path& model, int threads = 0, bool bounded_memory = false)
        : ort_runner(make(model.c_str(), nullptr, 0, threads, bounded_memory)) {}
    explicit ort_runner(const std::string& bytes, int threads = 0)
        : ort_runner(make(nullptr, bytes.data(), bytes.size(), threads, false)) {}

    [[nodiscard]] const std::vector<std::string>& input_names() const { return inputs_; }

    std::map<std::string, eval_value, std::less<>> run(const std::map<std::string, eval_value, std::less<>>& feeds);

private:
    explicit ort_runner(Ort::Session s);

    template <class Get>
    static std::vector<std::string> names(std::size_t count, Get get) {
        Ort::AllocatorWithDefaultOptions alloc;
        std::vector<std::string> v;
        for (std::size_t k = 0; k < count; ++k) v.emplace_back(get(k, alloc).get());
        return v;
    }

    static Ort::Session make(const char* path, const void* data, std::size_t size, int threads, bool bounded);

    Ort::Session session_;
    std::vector<std::string> inputs_, outputs_;
    std::vector<bool> input_half_;  // per input: the graph takes float16
    std::vector<bool> input_bool_;  // per input: the graph takes bool
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto ort_runner::run(const std::map<std::string, eval_value, std::less<>>& feeds) -> std::map<std::string, eval_value, std::less<>> {
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    const auto& in_names = inputs_;
    const auto& out_names = outputs_;
    std::vector<Ort::Value> inputs;
    std::vector<const char*> in_c, out_c;
    std::vector<std::vector<std::uint16_t>> halves;  // float16 copies, alive until Run returns
    halves.reserve(in_names.size());
    std::vector<std::vector<char>> bools;  // bool copies, alive until Run returns
    bools.reserve(in_names.size());
    for (std::size_t k = 0; k < in_names.size(); ++k) {
        const auto& n = in_names[k];
        auto it = feeds.find(n);
        if (it == feeds.end()) throw error("validate.input", "no value for graph input " + n);
        auto& v = const_cast<eval_value&>(it->second);
        const auto shape = v.shape();
        if (v.is_float() && input_half_[k]) {
            // a float16 input (--dtype fp16): the float32 value, rounded
            auto& h = halves.emplace_back(v.f.size());
            for (std::size_t j = 0; j < h.size(); ++j) h[j] = float_to_half(v.f.data()[j]);
            inputs.push_back(Ort::Value::CreateTensor(mem, h.data(), h.size() * sizeof(std::uint16_t), shape.data(),
                                                      shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16));
        } else if (!v.is_float() && input_bool_[k]) {
            // a bool input (a merged decoder's use_cache_branch), given as 0/1 integers
            auto& b = bools.emplace_back(v.i.size());
            for (std::size_t j = 0; j < b.size(); ++j) b[j] = v.i.data()[j] != 0;
            inputs.push_back(Ort::Value::CreateTensor<bool>(mem, reinterpret_cast<bool*>(b.data()), b.size(),
                                                            shape.data(), shape.size()));
        } else if (v.is_float())
            inputs.push_back(Ort::Value::CreateTensor<float>(mem, v.f.data(), v.f.size(), shape.data(), shape.size()));
        else
            inputs.push_back(
                Ort::Value::CreateTensor<std::int64_t>(mem, v.i.data(), v.i.size(), shape.data(), shape.size()));
        in_c.push_back(n.c_str());
    }
    for (const auto& n : out_names) out_c.push_back(n.c_str());
    auto outs = session_.Run(Ort::RunOptions{nullptr}, in_c.data(), inputs.data(), inputs.size(), out_c.data(),
                             out_c.size());
    std::map<std::string, eval_value, std::less<>> result;
    for (std::size_t k = 0; k < outs.size(); ++k) {
        auto info = outs[k].GetTensorTypeAndShapeInfo();
        auto shape = info.GetShape();
        std::vector<std::size_t> s(shape.begin(), shape.end());
        const auto count = info.GetElementCount();
        if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            xt::xarray<float> a = xt::zeros<float>(s);
            std::copy_n(outs[k].GetTensorData<float>(), count, a.data());
            result.emplace(out_names[k], eval_value(std::move(a)));
        } else if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
            // --dtype fp16 outputs, widened (exactly) for the comparison
            xt::xarray<float> a = xt::zeros<float>(s);
            const auto* p = static_cast<const std::uint16_t*>(outs[k].GetTensorRawData());
            for (std::size_t j = 0; j < count; ++j) a.data()[j] = half_to_float(p[j]);
            result.emplace(out_names[k], eval_value(std::move(a)));
        } else if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
            xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(s);
            std::copy_n(outs[k].GetTensorData<std::int64_t>(), count, a.data());
            result.emplace(out_names[k], eval_value(std::move(a)));
        } else if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) {
            xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(s);
            const bool* p = outs[k].GetTensorData<bool>();
            for (std::size_t j = 0; j < count; ++j) a.data()[j] = p[j] ? 1 : 0;
            result.emplace(out_names[k], eval_value(std::move(a), dtype::boolean));
        } else {
            throw error("validate.output", "output " + out_names[k] + " has an unsupported element type");
        }
    }
    return result;
}

TYPEFORMER_INLINE ort_runner::ort_runner(Ort::Session s) : session_(std::move(s)), inputs_(names(session_.GetInputCount(), [&](std::size_t k, auto& a) { return session_.GetInputNameAllocated(k, a); })), outputs_(names(session_.GetOutputCount(), [&](std::size_t k, auto& a) { return session_.GetOutputNameAllocated(k, a); })) {
    for (std::size_t k = 0; k < inputs_.size(); ++k)
    {
        const auto type = session_.GetInputTypeInfo(k).GetTensorTypeAndShapeInfo().GetElementType();
        input_half_.push_back(type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
        input_bool_.push_back(type == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL);
    }
}

TYPEFORMER_INLINE auto ort_runner::make(const char* path, const void* data, std::size_t size, int threads, bool bounded) -> Ort::Session {
    Ort::SessionOptions opts;
    opts.SetIntraOpNumThreads(threads);
    opts.SetInterOpNumThreads(1);
    if (bounded) {
        // The graph as written: graph optimizations fold a float16 model's
        // casts into float32 copies of its weights (and ONNX Runtime 1.23
        // aborts when constant folding alone is turned off on such a graph);
        // prepacking copies every MatMul weight.
        opts.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);
        opts.AddConfigEntry("session.disable_prepacking", "1");
        // With a memory pattern ONNX Runtime reserves one block for all the
        // initializers, mapped ones included: larger than memory, it fails.
        opts.DisableMemPattern();
    }
    try {
        if (path) return Ort::Session(ort_env(), path, opts);
        return Ort::Session(ort_env(), data, size, opts);
    } catch (const Ort::Exception& e) {
        throw error("validate.load", std::string("ONNX Runtime could not load the model: ") + e.what());
    }
}
#endif  // TYPEFORMER_DEFINITIONS

}  // namespace typeformer::inline v0
