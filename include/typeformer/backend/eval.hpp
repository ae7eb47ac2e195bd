// typeformer/backend/eval.hpp: the eval backend, the reference forward pass.
//
// Values are xtensor arrays: float32 for activations and weights, int64 for
// ids, masks and shapes (booleans are int64 0/1 tagged `boolean`). Matrix
// products go to BLAS (cblas_sgemm). Every op evaluates eagerly into a
// container, so no lazy expression outlives its operands.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "typeformer/backend/scope.hpp"
#include "typeformer/core/config.hpp"
#include "typeformer/core/dtype.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/io/checkpoint.hpp"

namespace typeformer::inline v0 {

/// A tensor of the eval backend.
struct eval_value {
    dtype type = dtype::f32;
    xt::xarray<float> f;         // type == f32
    xt::xarray<std::int64_t> i;  // type == i64 or boolean

    eval_value() = default;
    eval_value(xt::xarray<float> a) : type(dtype::f32), f(std::move(a)) {}  // NOLINT: implicit on purpose
    eval_value(xt::xarray<std::int64_t> a, dtype t = dtype::i64) : type(t), i(std::move(a)) {}

    [[nodiscard]] bool is_float() const { return type == dtype::f32; }
    [[nodiscard]] std::vector<std::int64_t> shape() const {
        const auto& s = is_float() ? f.shape() : i.shape();
        return {s.begin(), s.end()};
    }
    [[nodiscard]] std::size_t rank() const { return is_float() ? f.dimension() : i.dimension(); }
};

namespace detail {
inline std::size_t norm_axis(std::int64_t axis, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) throw error("eval.axis", "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

inline std::int64_t numel(const std::vector<std::int64_t>& s) {
    return std::accumulate(s.begin(), s.end(), std::int64_t{1}, std::multiplies<>());
}

/// ONNX Reshape semantics: 0 copies the input's dim, -1 is inferred.
inline std::vector<std::size_t> reshape_target(const std::vector<std::int64_t>& in,
                                               const std::vector<std::int64_t>& spec) {
    std::vector<std::int64_t> out(spec.size());
    std::int64_t known = 1;
    int infer = -1;
    for (std::size_t k = 0; k < spec.size(); ++k) {
        if (spec[k] == 0) {
            if (k >= in.size()) throw error("eval.reshape", "reshape: 0 at an axis the input lacks");
            out[k] = in[k];
        } else if (spec[k] == -1) {
            if (infer >= 0) throw error("eval.reshape", "reshape: more than one -1");
            infer = static_cast<int>(k);
            continue;
        } else {
            out[k] = spec[k];
        }
        known *= out[k];
    }
    const std::int64_t total = numel(in);
    if (infer >= 0) out[static_cast<std::size_t>(infer)] = known == 0 ? 0 : total / known;
    if (numel(out) != total) throw error("eval.reshape", "reshape: element count mismatch");
    return {out.begin(), out.end()};
}

template <class T>
xt::xarray<T> reshaped(const xt::xarray<T>& a, const std::vector<std::size_t>& shape) {
    xt::xarray<T> r = a;
    r.reshape(shape);
    return r;
}

// C[m×n] = alpha · A[m×k] · op(B) (+ beta C), row-major, with leading dimensions.
inline void sgemm(bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                  std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
}  // namespace detail

/// Weights converted to float32 arrays, by full name: what the reference
/// pass reads its parameters from. Share one between runs to convert each
/// weight once.
///
/// Two options change what it holds:
/// - `round_to_fp16`: each weight is rounded to float16 and back as it is
///   converted (the reference of a --dtype fp16 export);
/// - `keep_bytes` > 0 bounds the memory: once the weights converted since
///   the last turn exceed it, they become the previous generation and the
///   generation before is freed. At most about 2 x keep_bytes are held,
///   and a weight handed out stays valid until at least keep_bytes more
///   have been converted, so a layer whose weights together stay under
///   keep_bytes can hold references to them while it computes. A model
///   larger than memory then runs its reference pass in one streamed pass
///   over the checkpoint (each weight converted when it is used).
class weight_cache {
public:
    struct options {
        bool round_to_fp16 = false;
        std::size_t keep_bytes = 0;  ///< 0: keep every weight
    };
    weight_cache() = default;
    explicit weight_cache(options o) : options_(o) {}

    [[nodiscard]] const options& settings() const { return options_; }
    /// The weight converted under `name`, or null.
    [[nodiscard]] const eval_value* find(std::string_view name) const {
        if (auto it = current_.find(name); it != current_.end()) return &it->second;
        if (auto it = previous_.find(name); it != previous_.end()) return &it->second;
        return nullptr;
    }
    /// Keep a converted weight; returns it, valid as described above.
    const eval_value& insert(std::string name, eval_value v) {
        const auto bytes = (v.is_float() ? v.f.size() : v.i.size()) * 4;
        const auto& kept = current_.insert_or_assign(std::move(name), std::move(v)).first->second;
        current_bytes_ += bytes;
        ++converted_;
        if (options_.keep_bytes > 0 && current_bytes_ > options_.keep_bytes) {
            previous_ = std::move(current_);  // the nodes move: references stay valid
            current_.clear();
            current_bytes_ = 0;
        }
        return kept;
    }
    /// Weights held now.
    [[nodiscard]] std::size_t size() const { return current_.size() + previous_.size(); }
    /// Weights converted in all (a weight freed and asked for again counts twice).
    [[nodiscard]] std::size_t converted() const { return converted_; }

private:
    options options_;
    std::map<std::string, eval_value, std::less<>> current_, previous_;
    std::size_t current_bytes_ = 0, converted_ = 0;
};

/// The reference backend. Feed it inputs, run a model's forward on it, read the outputs.
class eval_backend {
public:
    using value = eval_value;

    explicit eval_backend(const checkpoint* weights = nullptr, weight_cache* cache = nullptr)
        : weights_(weights), cache_(cache ? cache : &own_cache_) {}

    // -- graph boundary ------------------------------------------------------
    void feed(std::string name, value v);

    value input(std::string_view name, dtype type, std::span<const std::string_view> axes);
    void output(std::string_view name, const value& v, std::span<const std::string_view> /*axes*/);
    [[nodiscard]] const std::map<std::string, value, std::less<>>& outputs() const { return outputs_; }

    // -- scopes and parameters -----------------------------------------------
    module_path& path() { return path_; }
    scope_guard<eval_backend> scope(std::string_view dotted) { return {*this, dotted}; }

    /// A weight, by name relative to the current scope; `tied_to` is the full
    /// name of the tensor it shares storage with, when tied. Converted once,
    /// then returned by reference from the cache.
    const value& param(std::string_view rel, std::vector<std::int64_t> shape, std::string_view tied_to = {});

    // -- constants -----------------------------------------------------------
    value scalar(float x);
    value constant_i64(std::vector<std::int64_t> v);

    // -- elementwise ---------------------------------------------------------
    value add(const value& a, const value& b);
    value sub(const value& a, const value& b);
    value mul(const value& a, const value& b);
    value div(const value& a, const value& b);

    value less(const value& a, const value& b);

    value tanh(const value& x);
    value relu(const value& x);
    value sigmoid(const value& x);
    /// GELU, exact (erf) form: x/2 · (1 + erf(x/√2)).
    value gelu(const value& x);
    /// GELU, tanh approximation: x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))).
    value gelu_tanh(const value& x);

    value cast(const value& x, dtype to);
    /// x rounded to the nearest bfloat16 (ties to even; NaN kept), as float32:
    /// what torch computes in bfloat16 (Falcon's ALiBi).
    value round_bf16(const value& x);

    // -- shapes --------------------------------------------------------------
    value reshape(const value& x, const std::vector<std::int64_t>& spec);
    value reshape(const value& x, const value& shape);
    /// The input's dims [start, end) as a 1-D int64 tensor.
    value shape(const value& x, std::int64_t start, std::int64_t end);
    /// Merge dims [0, axis) into one and [axis, rank) into another.
    value flatten(const value& x, std::int64_t axis);
    value transpose(const value& x, const std::vector<std::int64_t>& perm);
    value unsqueeze(const value& x, const std::vector<std::int64_t>& axes);
    /// x[..., index, ...] along `axis`; the axis disappears (ONNX Gather with a scalar index).
    value select(const value& x, std::int64_t axis, std::int64_t index);
    /// 0, 1, ..., dim(x, axis) - 1 as int64.
    value range(const value& x, std::int64_t axis);

    // -- linear algebra ------------------------------------------------------
    /// Embedding lookup: table[indices], appending the table's row axis.
    value gather(const value& table, const value& indices);

    /// numpy matmul on float tensors of rank >= 2 (batch dims broadcast).
    value matmul(const value& a, const value& b);

    /// x · wᵀ (+ bias), w in PyTorch's Linear layout [out, in].
    value linear(const value& x, const value& w, const value* bias = nullptr);

    // -- normalisation and attention ----------------------------------------
    /// LayerNorm over the last axis.
    value layer_norm(const value& x, const value& gamma, const value& beta, float eps);

    /// Softmax over the last axis.
    value softmax(const value& x);

    /// Multi-head scaled dot-product attention.
    /// q [B, Sq, H·D], k and v [B, Sk, H·D]; bias additive, broadcastable to
    /// [B, H, Sq, Sk] (null for none); returns [B, Sq, H·D].
    value attention(const value& q, const value& k, const value& v, const value* bias, std::int64_t heads, float scale);

    /// a != b, elementwise with broadcasting (int64 or float32 operands): boolean.
    value not_equal(const value& a, const value& b);
    /// Inclusive running sum along `axis` (ONNX CumSum, exclusive = reverse = 0):
    /// y[..., k, ...] = x[..., 0, ...] + ... + x[..., k, ...]. int64 or float32;
    /// a boolean must be cast first, as ONNX requires.
    value cumsum(const value& x, std::int64_t axis);

    /// Mean over one axis of a float tensor; the axis disappears (ReduceMean, keepdims 0).
    value reduce_mean(const value& x, std::int64_t axis);

    /// The inputs joined along `axis` (negative counts from the end); every
    /// other dim must agree, and so must the element types.
    value concat(const std::vector<value>& xs, std::int64_t axis);

    /// x[..., start:end, ...] along `axis`, Python's rules: negative start and
    /// end count from the end, both are clamped to [0, dim] (so INT64_MAX
    /// means "to the end"), and end <= start gives an empty axis.
    value slice(const value& x, std::int64_t axis, std::int64_t start, std::int64_t end);

    /// Windows of `kernel` positions along the sequence, centred as a
    /// convolution padded by (kernel - 1) / 2 on the left (and the rest on the
    /// right) with zeros: x [B, S, C] -> y [B, S, K, C],
    /// y[b, s, j, c] = x[b, s + j - (K - 1) / 2, c], 0 outside [0, S).
    /// nn.Unfold's im2col, with which ConvBERT builds its convolutions.
    value unfold(const value& x, std::int64_t kernel);

    /// Rotary position embedding with interleaved pairs (RoFormer, GPT-J's
    /// rotate_every_two) over whole heads: x [B, S, H·D], sin and cos
    /// [S, D/2]. Pair i of every head at position s turns by the angle whose
    /// sine and cosine are sin[s, i] and cos[s, i]:
    ///   y[2i] = x[2i]·cos - x[2i+1]·sin,  y[2i+1] = x[2i+1]·cos + x[2i]·sin.
    value rotary(const value& x, const value& sin, const value& cos, std::int64_t heads);

    /// torch.gather(x, -1, idx): out[..., i, j] = x[..., i, idx[..., i, j]].
    /// idx (int64) has rank <= rank(x), its leading axes 1 (broadcast over
    /// x's) or equal to x's; the result has x's leading axes and idx's last.
    value gather_last(const value& x, const value& idx);

    /// Elementwise clamp to [lo, hi] (torch.clamp, ONNX Clip), int64 or float32.
    value clip(const value& x, std::int64_t lo, std::int64_t hi);

    /// nn.Conv1d with stride 1: x [B, C, L], w [O, C / groups, K], optional
    /// bias [O], `pad` zeros on both ends; returns [B, O, L + 2·pad - K + 1].
    value conv1d(const value& x, const value& w, const value* bias, std::int64_t pad, std::int64_t groups);

    /// Index of the first maximum of a float tensor along `axis`, which
    /// disappears (ONNX ArgMax, keepdims 0, select_last_index 0); int64.
    value argmax(const value& x, std::int64_t axis);

    value constant_f32(std::vector<float> v);
    value sin(const value& x);
    value cos(const value& x);
    value sqrt(const value& x);

private:
    static void softmax_row(float* p, std::size_t n);

    template <class F>
    static value binary(const value& a, const value& b, F f) {
        if (a.type != b.type)
            throw error("eval.type", "binary op on " + std::string(safetensors_name(a.type)) + " and " +
                                         std::string(safetensors_name(b.type)));
        if (a.is_float()) return value(xt::xarray<float>(f(a.f, b.f)));
        return value(xt::xarray<std::int64_t>(f(a.i, b.i)), a.type);
    }
    template <class F>
    static value unary(const value& x, F f) {
        if (!x.is_float()) throw error("eval.type", "float op on an integer tensor");
        xt::xarray<float> out = x.f;
        for (auto& v : out) v = f(v);
        return value(std::move(out));
    }

    const checkpoint* weights_;
    module_path path_;
    std::map<std::string, value, std::less<>> feeds_, outputs_;
    weight_cache own_cache_;
    weight_cache* cache_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto eval_backend::feed(std::string name, value v) -> void { feeds_.insert_or_assign(std::move(name), std::move(v)); }

TYPEFORMER_INLINE auto eval_backend::input(std::string_view name, dtype type, std::span<const std::string_view> axes) -> value {
    auto it = feeds_.find(name);
    if (it == feeds_.end()) throw error("eval.input", "no value fed for input " + std::string(name));
    if (it->second.rank() != axes.size())
        throw error("eval.input", "input " + std::string(name) + " has rank " +
                                      std::to_string(it->second.rank()) + ", expected " +
                                      std::to_string(axes.size()));
    if (type == dtype::f32 && !it->second.is_float())
        throw error("eval.input", "input " + std::string(name) + " must be float32");
    return it->second;
}

TYPEFORMER_INLINE auto eval_backend::output(std::string_view name, const value& v, std::span<const std::string_view> /*axes*/) -> void {
    outputs_.insert_or_assign(std::string(name), v);
}

TYPEFORMER_INLINE auto eval_backend::param(std::string_view rel, std::vector<std::int64_t> shape, std::string_view tied_to) -> const value& {
    param_request req{path_.dotted(rel), std::string(tied_to), std::move(shape)};
    if (const auto* kept = cache_->find(req.name)) return *kept;
    if (!weights_) throw error("eval.param", "no checkpoint to read " + req.name + " from");
    const tensor_view* t = resolve(*weights_, req);
    if (!t) throw error("checkpoint.missing", "missing tensor " + req.name);
    if (t->shape != req.shape)
        throw error("checkpoint.mismatch", "tensor " + req.name + " has shape " + shape_string(t->shape) +
                                               ", expected " + shape_string(req.shape));
    auto a = xt::xarray<float>::from_shape(std::vector<std::size_t>(t->shape.begin(), t->shape.end()));
    read_as_f32(*t, std::span<float>(a.data(), a.size()));
    if (cache_->settings().round_to_fp16)
        for (auto& v : a) v = half_to_float(float_to_half(v));
    return cache_->insert(std::move(req.name), value(std::move(a)));
}

TYPEFORMER_INLINE auto eval_backend::scalar(float x) -> value { return value(xt::xarray<float>(x)); }

TYPEFORMER_INLINE auto eval_backend::constant_i64(std::vector<std::int64_t> v) -> value {
    const std::vector<std::size_t> shape{v.size()};
    return value(xt::xarray<std::int64_t>(xt::adapt(v, shape)));
}

TYPEFORMER_INLINE auto eval_backend::add(const value& a, const value& b) -> value { return binary(a, b, [](auto x, auto y) { return x + y; }); }

TYPEFORMER_INLINE auto eval_backend::sub(const value& a, const value& b) -> value { return binary(a, b, [](auto x, auto y) { return x - y; }); }

TYPEFORMER_INLINE auto eval_backend::mul(const value& a, const value& b) -> value { return binary(a, b, [](auto x, auto y) { return x * y; }); }

TYPEFORMER_INLINE auto eval_backend::div(const value& a, const value& b) -> value { return binary(a, b, [](auto x, auto y) { return x / y; }); }

TYPEFORMER_INLINE auto eval_backend::less(const value& a, const value& b) -> value {
    if (a.type != b.type) throw error("eval.type", "less: operand types differ");
    if (a.is_float()) return value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(a.f < b.f)), dtype::boolean);
    return value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(a.i < b.i)), dtype::boolean);
}

TYPEFORMER_INLINE auto eval_backend::tanh(const value& x) -> value { return unary(x, [](float v) { return std::tanh(v); }); }

TYPEFORMER_INLINE auto eval_backend::relu(const value& x) -> value { return unary(x, [](float v) { return v > 0.f ? v : 0.f; }); }

TYPEFORMER_INLINE auto eval_backend::sigmoid(const value& x) -> value { return unary(x, [](float v) { return 1.f / (1.f + std::exp(-v)); }); }

TYPEFORMER_INLINE auto eval_backend::gelu(const value& x) -> value {
    return unary(x, [](float v) { return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f)); });
}

TYPEFORMER_INLINE auto eval_backend::gelu_tanh(const value& x) -> value {
    return unary(x, [](float v) {
        return 0.5f * v * (1.f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    });
}

TYPEFORMER_INLINE auto eval_backend::round_bf16(const value& x) -> value {
    return unary(x, [](float v) { return std::isnan(v) ? v : bf16_to_float(float_to_bf16(v)); });
}

TYPEFORMER_INLINE auto eval_backend::cast(const value& x, dtype to) -> value {
    if (to == dtype::f32) return x.is_float() ? x : value(xt::xarray<float>(xt::cast<float>(x.i)));
    // float -> bool is x != 0 (ONNX Cast), not a truncation to int first: 0.5 is true
    if (to == dtype::boolean && x.is_float())
        return value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(xt::not_equal(x.f, 0.f))), dtype::boolean);
    if (to == dtype::i64 || to == dtype::boolean) {
        value r = x.is_float() ? value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(x.f))) : x;
        if (to == dtype::boolean) r.i = xt::xarray<std::int64_t>(xt::cast<std::int64_t>(xt::not_equal(r.i, std::int64_t{0})));
        r.type = to;
        return r;
    }
    throw error("eval.cast", "cast to " + std::string(safetensors_name(to)) + " is not supported");
}

TYPEFORMER_INLINE auto eval_backend::reshape(const value& x, const std::vector<std::int64_t>& spec) -> value {
    const auto target = detail::reshape_target(x.shape(), spec);
    if (x.is_float()) return value(detail::reshaped(x.f, target));
    return value(detail::reshaped(x.i, target), x.type);
}

TYPEFORMER_INLINE auto eval_backend::reshape(const value& x, const value& shape) -> value {
    if (shape.is_float() || shape.rank() != 1) throw error("eval.reshape", "shape must be a 1-D int64 tensor");
    return reshape(x, std::vector<std::int64_t>(shape.i.begin(), shape.i.end()));
}

TYPEFORMER_INLINE auto eval_backend::shape(const value& x, std::int64_t start, std::int64_t end) -> value {
    auto s = x.shape();
    const auto r = static_cast<std::int64_t>(s.size());
    if (start < 0) start += r;
    if (end < 0) end += r;
    return constant_i64(std::vector<std::int64_t>(s.begin() + start, s.begin() + end));
}

TYPEFORMER_INLINE auto eval_backend::flatten(const value& x, std::int64_t axis) -> value {
    auto s = x.shape();
    const auto ax = static_cast<std::size_t>(axis);
    const std::int64_t outer = detail::numel({s.begin(), s.begin() + static_cast<std::ptrdiff_t>(ax)});
    return reshape(x, {outer, -1});
}

TYPEFORMER_INLINE auto eval_backend::transpose(const value& x, const std::vector<std::int64_t>& perm) -> value {
    std::vector<std::size_t> p(perm.begin(), perm.end());
    if (x.is_float()) return value(xt::xarray<float>(xt::transpose(x.f, p)));
    return value(xt::xarray<std::int64_t>(xt::transpose(x.i, p)), x.type);
}

TYPEFORMER_INLINE auto eval_backend::unsqueeze(const value& x, const std::vector<std::int64_t>& axes) -> value {
    auto s = x.shape();
    std::vector<std::int64_t> sorted = axes;
    const auto out_rank = s.size() + axes.size();
    for (auto& a : sorted) a = static_cast<std::int64_t>(detail::norm_axis(a, out_rank));
    std::sort(sorted.begin(), sorted.end());
    for (auto a : sorted) s.insert(s.begin() + a, 1);
    return reshape(x, s);
}

TYPEFORMER_INLINE auto eval_backend::select(const value& x, std::int64_t axis, std::int64_t index) -> value {
    const auto ax = detail::norm_axis(axis, x.rank());
    if (index < 0) index += x.shape()[ax];  // from the end, as ONNX Gather counts
    xt::xstrided_slice_vector sv(x.rank(), xt::all());
    sv[ax] = index;
    if (x.is_float()) return value(xt::xarray<float>(xt::strided_view(x.f, sv)));
    return value(xt::xarray<std::int64_t>(xt::strided_view(x.i, sv)), x.type);
}

TYPEFORMER_INLINE auto eval_backend::range(const value& x, std::int64_t axis) -> value {
    const auto n = x.shape()[detail::norm_axis(axis, x.rank())];
    return value(xt::xarray<std::int64_t>(xt::arange<std::int64_t>(n)));
}

TYPEFORMER_INLINE auto eval_backend::gather(const value& table, const value& indices) -> value {
    if (!table.is_float() || table.rank() != 2 || indices.is_float())
        throw error("eval.gather", "gather expects a 2-D float table and int64 indices");
    const auto rows = table.f.shape()[0], cols = table.f.shape()[1];
    auto shape = indices.shape();
    std::vector<std::size_t> out_shape(shape.begin(), shape.end());
    out_shape.push_back(cols);
    xt::xarray<float> out = xt::xarray<float>::from_shape(out_shape);  // every row is copied below
    for (std::size_t k = 0; k < indices.i.size(); ++k) {
        std::int64_t id = indices.i.data()[k];
        if (id < 0) id += static_cast<std::int64_t>(rows);
        if (id < 0 || static_cast<std::size_t>(id) >= rows)
            throw error("eval.gather", "index " + std::to_string(indices.i.data()[k]) + " out of range [0, " +
                                           std::to_string(rows) + ")");
        std::copy_n(table.f.data() + static_cast<std::size_t>(id) * cols, cols, out.data() + k * cols);
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::matmul(const value& a, const value& b) -> value {
    auto sa = a.shape(), sb = b.shape();
    if (sa.size() < 2 || sb.size() < 2) throw error("eval.matmul", "matmul expects rank >= 2");
    const auto m = static_cast<std::size_t>(sa[sa.size() - 2]), k = static_cast<std::size_t>(sa.back());
    const auto n = static_cast<std::size_t>(sb.back());
    if (static_cast<std::size_t>(sb[sb.size() - 2]) != k) throw error("eval.matmul", "matmul: inner dims differ");
    std::vector<std::int64_t> ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const std::size_t r = std::max(ba.size(), bb.size());
    ba.insert(ba.begin(), r - ba.size(), 1);
    bb.insert(bb.begin(), r - bb.size(), 1);
    std::vector<std::size_t> out_shape;
    for (std::size_t d = 0; d < r; ++d) out_shape.push_back(static_cast<std::size_t>(std::max(ba[d], bb[d])));
    const std::size_t batches = std::accumulate(out_shape.begin(), out_shape.end(), std::size_t{1}, std::multiplies<>());
    out_shape.push_back(m);
    out_shape.push_back(n);
    xt::xarray<float> out = xt::xarray<float>::from_shape(out_shape);  // sgemm (beta 0) writes it all
    for (std::size_t idx = 0; idx < batches; ++idx) {
        std::size_t rem = idx, off_a = 0, off_b = 0, stride_a = 1, stride_b = 1;
        for (std::size_t d = r; d-- > 0;) {
            const std::size_t pos = rem % out_shape[d];
            rem /= out_shape[d];
            off_a += (ba[d] == 1 ? 0 : pos) * stride_a;
            off_b += (bb[d] == 1 ? 0 : pos) * stride_b;
            stride_a *= static_cast<std::size_t>(ba[d]);
            stride_b *= static_cast<std::size_t>(bb[d]);
        }
        detail::sgemm(false, m, n, k, 1.f, a.f.data() + off_a * m * k, k, b.f.data() + off_b * k * n, n, 0.f,
                      out.data() + idx * m * n, n);
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::linear(const value& x, const value& w, const value* bias) -> value {
    auto s = x.shape();
    const auto in = static_cast<std::size_t>(s.back()), out_dim = static_cast<std::size_t>(w.f.shape()[0]);
    if (w.f.shape()[1] != in) throw error("eval.linear", "linear: weight has " + std::to_string(w.f.shape()[1]) + " inputs, x has " + std::to_string(in));
    const std::size_t rows = x.f.size() / std::max<std::size_t>(in, 1);
    std::vector<std::size_t> out_shape(s.begin(), s.end());
    out_shape.back() = out_dim;
    xt::xarray<float> out = xt::xarray<float>::from_shape(out_shape);  // bias rows, or sgemm with beta 0
    if (bias)
        for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias->f.data(), out_dim, out.data() + r * out_dim);
    detail::sgemm(true, rows, out_dim, in, 1.f, x.f.data(), in, w.f.data(), in, bias ? 1.f : 0.f, out.data(),
                  out_dim);
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::layer_norm(const value& x, const value& gamma, const value& beta, float eps) -> value {
    const std::size_t n = x.f.shape().back(), rows = x.f.size() / std::max<std::size_t>(n, 1);
    xt::xarray<float> out = xt::xarray<float>::from_shape(x.f.shape());  // every row written below
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x.f.data() + r * n;
        float* o = out.data() + r * n;
        double mean = 0;
        for (std::size_t j = 0; j < n; ++j) mean += in[j];
        mean /= static_cast<double>(n);
        double var = 0;
        for (std::size_t j = 0; j < n; ++j) var += (in[j] - mean) * (in[j] - mean);
        var /= static_cast<double>(n);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (std::size_t j = 0; j < n; ++j)
            o[j] = static_cast<float>((in[j] - mean) * inv) * gamma.f.data()[j] + beta.f.data()[j];
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::softmax(const value& x) -> value {
    xt::xarray<float> out = x.f;
    const std::size_t n = out.shape().back(), rows = out.size() / std::max<std::size_t>(n, 1);
    for (std::size_t r = 0; r < rows; ++r) softmax_row(out.data() + r * n, n);
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::attention(const value& q, const value& k, const value& v, const value* bias, std::int64_t heads, float scale) -> value {
    const auto B = q.f.shape()[0], Sq = q.f.shape()[1], HD = q.f.shape()[2], Sk = k.f.shape()[1];
    const auto H = static_cast<std::size_t>(heads), D = HD / H;
    // every (b, h) writes its D columns of every row
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{B, Sq, HD});
    std::vector<float> scores(Sq * Sk);
    std::vector<std::size_t> bs;  // bias shape padded to rank 4
    if (bias) {
        auto s = bias->f.shape();
        bs.assign(4 - s.size(), 1);
        bs.insert(bs.end(), s.begin(), s.end());
    }
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h) {
            detail::sgemm(true, Sq, Sk, D, scale, q.f.data() + b * Sq * HD + h * D, HD,
                          k.f.data() + b * Sk * HD + h * D, HD, 0.f, scores.data(), Sk);
            if (bias) {
                const std::size_t bb = bs[0] == 1 ? 0 : b, hh = bs[1] == 1 ? 0 : h;
                for (std::size_t i = 0; i < Sq; ++i)
                    for (std::size_t j = 0; j < Sk; ++j) {
                        const std::size_t ii = bs[2] == 1 ? 0 : i, jj = bs[3] == 1 ? 0 : j;
                        scores[i * Sk + j] += bias->f.data()[((bb * bs[1] + hh) * bs[2] + ii) * bs[3] + jj];
                    }
            }
            for (std::size_t i = 0; i < Sq; ++i) softmax_row(scores.data() + i * Sk, Sk);
            detail::sgemm(false, Sq, D, Sk, 1.f, scores.data(), Sk, v.f.data() + b * Sk * HD + h * D, HD, 0.f,
                          out.data() + b * Sq * HD + h * D, HD);
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::not_equal(const value& a, const value& b) -> value {
    if (a.type != b.type) throw error("eval.type", "not_equal: operand types differ");
    if (a.is_float()) return value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(xt::not_equal(a.f, b.f))), dtype::boolean);
    return value(xt::xarray<std::int64_t>(xt::cast<std::int64_t>(xt::not_equal(a.i, b.i))), dtype::boolean);
}

TYPEFORMER_INLINE auto eval_backend::cumsum(const value& x, std::int64_t axis) -> value {
    if (x.type == dtype::boolean) throw error("eval.type", "cumsum of a boolean tensor: cast it to int64 first");
    const auto s = x.shape();
    const auto ax = detail::norm_axis(axis, s.size());
    const auto len = static_cast<std::size_t>(s[ax]);
    const auto inner = static_cast<std::size_t>(detail::numel({s.begin() + static_cast<std::ptrdiff_t>(ax) + 1, s.end()}));
    const auto outer = static_cast<std::size_t>(detail::numel({s.begin(), s.begin() + static_cast<std::ptrdiff_t>(ax)}));
    auto run = [&](auto a) {  // a copy of the input, summed in place
        auto* p = a.data();
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t k = 1; k < len; ++k)
                for (std::size_t j = 0; j < inner; ++j)
                    p[(o * len + k) * inner + j] += p[(o * len + k - 1) * inner + j];
        return a;
    };
    if (x.is_float()) return value(run(x.f));
    return value(run(x.i), x.type);
}

TYPEFORMER_INLINE auto eval_backend::reduce_mean(const value& x, std::int64_t axis) -> value {
    if (!x.is_float()) throw error("eval.type", "reduce_mean of an integer tensor");
    const auto ax = detail::norm_axis(axis, x.rank());
    const auto& s = x.f.shape();
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < ax; ++d) outer *= s[d];
    for (std::size_t d = ax + 1; d < s.size(); ++d) inner *= s[d];
    const std::size_t n = s[ax];
    std::vector<std::size_t> out_shape(s.begin(), s.end());
    out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(ax));
    xt::xarray<float> out = xt::zeros<float>(out_shape);
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t k = 0; k < n; ++k) {
            const float* in = x.f.data() + (o * n + k) * inner;
            float* acc = out.data() + o * inner;
            for (std::size_t j = 0; j < inner; ++j) acc[j] += in[j];
        }
    const auto count = static_cast<float>(n);
    for (auto& v : out) v /= count;
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::concat(const std::vector<value>& xs, std::int64_t axis) -> value {
    if (xs.empty()) throw error("eval.concat", "concat of no tensors");
    const auto& first = xs.front();
    const auto ax = detail::norm_axis(axis, first.rank());
    auto out_shape = first.shape();
    out_shape[ax] = 0;
    for (const auto& x : xs) {
        auto s = x.shape();
        if (x.type != first.type) throw error("eval.concat", "concat: element types differ");
        if (s.size() != out_shape.size()) throw error("eval.concat", "concat: ranks differ");
        for (std::size_t d = 0; d < s.size(); ++d)
            if (d != ax && s[d] != out_shape[d])
                throw error("eval.concat", "concat: shapes " + shape_string(first.shape()) + " and " +
                                               shape_string(s) + " differ off axis " + std::to_string(ax));
        out_shape[ax] += s[ax];
    }
    // row-major: for each index of the dims before the axis, one
    // contiguous run of (dim(axis) · inner) elements per input
    const std::size_t outer = static_cast<std::size_t>(
        detail::numel({out_shape.begin(), out_shape.begin() + static_cast<std::ptrdiff_t>(ax)}));
    const std::size_t inner = static_cast<std::size_t>(
        detail::numel({out_shape.begin() + static_cast<std::ptrdiff_t>(ax) + 1, out_shape.end()}));
    auto join = [&](auto member) {
        using array = std::remove_cvref_t<decltype(first.*member)>;
        array out = array::from_shape(std::vector<std::size_t>(out_shape.begin(), out_shape.end()));
        auto* dst = out.data();
        for (std::size_t o = 0; o < outer; ++o)
            for (const auto& x : xs) {
                const std::size_t run = static_cast<std::size_t>(x.shape()[ax]) * inner;
                dst = std::copy_n((x.*member).data() + o * run, run, dst);
            }
        return out;
    };
    if (first.is_float()) return value(join(&value::f));
    return value(join(&value::i), first.type);
}

TYPEFORMER_INLINE auto eval_backend::slice(const value& x, std::int64_t axis, std::int64_t start, std::int64_t end) -> value {
    const auto ax = detail::norm_axis(axis, x.rank());
    const std::int64_t n = x.shape()[ax];
    auto clamp = [n](std::int64_t i) { return std::clamp(i < 0 ? i + n : i, std::int64_t{0}, n); };
    const std::int64_t s = clamp(start), e = std::max(clamp(end), clamp(start));
    xt::xstrided_slice_vector sv(x.rank(), xt::all());
    sv[ax] = xt::range(s, e);
    if (x.is_float()) return value(xt::xarray<float>(xt::strided_view(x.f, sv)));
    return value(xt::xarray<std::int64_t>(xt::strided_view(x.i, sv)), x.type);
}

TYPEFORMER_INLINE auto eval_backend::unfold(const value& x, std::int64_t kernel) -> value {
    if (!x.is_float() || x.rank() != 3 || kernel < 1)
        throw error("eval.unfold", "unfold expects x [B, S, C] and a positive kernel size");
    const auto B = x.f.shape()[0], S = x.f.shape()[1], C = x.f.shape()[2];
    const auto K = static_cast<std::size_t>(kernel);
    const auto left = static_cast<std::ptrdiff_t>((K - 1) / 2);
    xt::xarray<float> out = xt::zeros<float>(std::vector<std::size_t>{B, S, K, C});
    for (std::size_t bb = 0; bb < B; ++bb)
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t j = 0; j < K; ++j) {
                const auto src = static_cast<std::ptrdiff_t>(s + j) - left;
                if (src < 0 || src >= static_cast<std::ptrdiff_t>(S)) continue;
                std::copy_n(x.f.data() + (bb * S + static_cast<std::size_t>(src)) * C, C,
                            out.data() + ((bb * S + s) * K + j) * C);
            }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::rotary(const value& x, const value& sin, const value& cos, std::int64_t heads) -> value {
    if (!x.is_float() || x.rank() != 3 || sin.rank() != 2 || cos.shape() != sin.shape())
        throw error("eval.rotary", "rotary expects x [B, S, H*D] and sin, cos [S, D/2]");
    const auto B = x.f.shape()[0], S = x.f.shape()[1], HD = x.f.shape()[2];
    const auto H = static_cast<std::size_t>(heads), half = sin.f.shape()[1];
    if (H == 0 || HD != H * 2 * half || sin.f.shape()[0] != S)
        throw error("eval.rotary", "rotary: x has " + std::to_string(HD) + " features, sin and cos are " +
                                       shape_string(sin.shape()) + ", heads " + std::to_string(heads));
    xt::xarray<float> out = xt::xarray<float>::from_shape(x.f.shape());  // every element written below
    for (std::size_t bb = 0; bb < B; ++bb)
        for (std::size_t s = 0; s < S; ++s) {
            const float* sn = sin.f.data() + s * half;
            const float* cs = cos.f.data() + s * half;
            const float* in = x.f.data() + (bb * S + s) * HD;
            float* o = out.data() + (bb * S + s) * HD;
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t i = 0; i < half; ++i) {
                    const std::size_t j = h * 2 * half + 2 * i;
                    o[j] = in[j] * cs[i] - in[j + 1] * sn[i];
                    o[j + 1] = in[j + 1] * cs[i] + in[j] * sn[i];
                }
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::gather_last(const value& x, const value& idx) -> value {
    if (idx.is_float() || x.rank() == 0 || idx.rank() == 0 || idx.rank() > x.rank())
        throw error("eval.gather_last", "gather_last expects int64 indices of rank 1 to rank(x)");
    const auto xs = x.shape();
    auto is = idx.shape();
    const std::size_t r = xs.size();
    is.insert(is.begin(), r - is.size(), 1);
    for (std::size_t d = 0; d + 1 < r; ++d)
        if (is[d] != 1 && is[d] != xs[d])
            throw error("eval.gather_last", "gather_last: index axis " + std::to_string(d) + " has size " +
                                                std::to_string(is[d]) + ", the data " + std::to_string(xs[d]));
    const auto n = static_cast<std::size_t>(xs.back()), m = static_cast<std::size_t>(is.back());
    std::vector<std::size_t> out_shape(xs.begin(), xs.end() - 1);
    out_shape.push_back(m);
    const std::size_t rows = static_cast<std::size_t>(detail::numel({xs.begin(), xs.end() - 1}));
    auto run = [&](const auto& data, auto& out) {
        for (std::size_t row = 0; row < rows; ++row) {
            std::size_t rem = row, off = 0, stride = 1;
            for (std::size_t d = r - 1; d-- > 0;) {
                const auto size = static_cast<std::size_t>(xs[d]);
                if (is[d] != 1) off += (rem % size) * stride;
                rem /= size;
                stride *= static_cast<std::size_t>(is[d]);
            }
            for (std::size_t j = 0; j < m; ++j) {
                std::int64_t k = idx.i.data()[off * m + j];
                if (k < 0) k += static_cast<std::int64_t>(n);
                if (k < 0 || static_cast<std::size_t>(k) >= n)
                    throw error("eval.gather_last", "index " + std::to_string(idx.i.data()[off * m + j]) +
                                                        " out of range [0, " + std::to_string(n) + ")");
                out.data()[row * m + j] = data.data()[row * n + static_cast<std::size_t>(k)];
            }
        }
    };
    if (x.is_float()) {
        xt::xarray<float> out = xt::xarray<float>::from_shape(out_shape);
        run(x.f, out);
        return value(std::move(out));
    }
    xt::xarray<std::int64_t> out = xt::xarray<std::int64_t>::from_shape(out_shape);
    run(x.i, out);
    return value(std::move(out), x.type);
}

TYPEFORMER_INLINE auto eval_backend::clip(const value& x, std::int64_t lo, std::int64_t hi) -> value {
    if (x.is_float()) {
        const float l = static_cast<float>(lo), h = static_cast<float>(hi);
        return unary(x, [l, h](float v) { return std::min(std::max(v, l), h); });
    }
    xt::xarray<std::int64_t> out = x.i;
    for (auto& v : out) v = std::min(std::max(v, lo), hi);
    return value(std::move(out), x.type);
}

TYPEFORMER_INLINE auto eval_backend::conv1d(const value& x, const value& w, const value* bias, std::int64_t pad, std::int64_t groups) -> value {
    if (x.rank() != 3 || w.rank() != 3 || groups < 1)
        throw error("eval.conv1d", "conv1d expects x [B, C, L], w [O, C/groups, K] and groups >= 1");
    const auto B = x.f.shape()[0], C = x.f.shape()[1], L = x.f.shape()[2];
    const auto O = w.f.shape()[0], Cg = w.f.shape()[1], K = w.f.shape()[2];
    const auto G = static_cast<std::size_t>(groups);
    const auto P = static_cast<std::ptrdiff_t>(pad);
    if (Cg * G != C || O % G != 0) throw error("eval.conv1d", "conv1d: channels do not match the groups");
    const std::ptrdiff_t out_len = static_cast<std::ptrdiff_t>(L) + 2 * P - static_cast<std::ptrdiff_t>(K) + 1;
    if (out_len < 0) throw error("eval.conv1d", "conv1d: kernel longer than the padded input");
    const auto T = static_cast<std::size_t>(out_len), Og = O / G;
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{B, O, T});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t o = 0; o < O; ++o) {
            const std::size_t c0 = o / Og * Cg;
            for (std::size_t t = 0; t < T; ++t) {
                float acc = bias ? bias->f.data()[o] : 0.f;
                for (std::size_t c = 0; c < Cg; ++c)
                    for (std::size_t k = 0; k < K; ++k) {
                        const std::ptrdiff_t pos = static_cast<std::ptrdiff_t>(t + k) - P;
                        if (pos < 0 || pos >= static_cast<std::ptrdiff_t>(L)) continue;
                        acc += w.f.data()[(o * Cg + c) * K + k] *
                               x.f.data()[(b * C + c0 + c) * L + static_cast<std::size_t>(pos)];
                    }
                out.data()[(b * O + o) * T + t] = acc;
            }
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::argmax(const value& x, std::int64_t axis) -> value {
    if (!x.is_float()) throw error("eval.type", "argmax expects a float tensor");
    const auto ax = detail::norm_axis(axis, x.rank());
    const auto s = x.shape();
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < ax; ++d) outer *= static_cast<std::size_t>(s[d]);
    for (std::size_t d = ax + 1; d < s.size(); ++d) inner *= static_cast<std::size_t>(s[d]);
    const auto n = static_cast<std::size_t>(s[ax]);
    if (n == 0) throw error("eval.argmax", "argmax over an empty axis");
    std::vector<std::size_t> out_shape;
    for (std::size_t d = 0; d < s.size(); ++d)
        if (d != ax) out_shape.push_back(static_cast<std::size_t>(s[d]));
    xt::xarray<std::int64_t> out = xt::xarray<std::int64_t>::from_shape(out_shape);
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) {
            const float* p = x.f.data() + o * n * inner + i;
            std::size_t best = 0;
            for (std::size_t k = 1; k < n; ++k)
                if (p[k * inner] > p[best * inner]) best = k;
            out.data()[o * inner + i] = static_cast<std::int64_t>(best);
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::constant_f32(std::vector<float> v) -> value {
    const std::vector<std::size_t> shape{v.size()};
    return value(xt::xarray<float>(xt::adapt(v, shape)));
}

TYPEFORMER_INLINE auto eval_backend::sin(const value& x) -> value { return unary(x, [](float v) { return std::sin(v); }); }

TYPEFORMER_INLINE auto eval_backend::cos(const value& x) -> value { return unary(x, [](float v) { return std::cos(v); }); }

TYPEFORMER_INLINE auto eval_backend::sqrt(const value& x) -> value { return unary(x, [](float v) { return std::sqrt(v); }); }

TYPEFORMER_INLINE auto eval_backend::softmax_row(float* p, std::size_t n) -> void {
    float mx = -std::numeric_limits<float>::infinity();
    for (std::size_t j = 0; j < n; ++j) mx = std::max(mx, p[j]);
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j) {
        p[j] = std::exp(p[j] - mx);
        sum += p[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (std::size_t j = 0; j < n; ++j) p[j] *= inv;
}
#endif  // TYPEFORMER_DEFINITIONS

}  // namespace typeformer::inline v0
