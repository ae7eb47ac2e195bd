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
#include <limits>
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
#include "typeformer/core/quantize.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/spatial.hpp"
#include "typeformer/io/checkpoint.hpp"
#include "typeformer/ops/decomposed.hpp"

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
/// - `quantize_int8`: a weight that a Linear or a MatMul uses as its
///   constant operand, or a Gather as its table (an embedding), is used as
///   its int8 quantization, dequantized (q · scale per output channel, per
///   row of a table; core/quantize.hpp: the values a --quantize int8 export
///   stores), held under `<name>#int8`; every other use of a weight (norms,
///   biases, a position table added whole) reads it as it is;
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
        bool quantize_int8 = false;
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
    /// exp(x), float32.
    value exp(const value& x);
    /// torch's F.softplus (beta 1, threshold 20): x where x > 20, else log1p(exp(x)).
    value softplus(const value& x);
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

    /// RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · scale.
    value rms_norm(const value& x, const value& scale, float eps);

    /// Softmax over the last axis.
    value softmax(const value& x);

    /// Multi-head scaled dot-product attention.
    /// q [B, Sq, H·D], k and v [B, Sk, H·D]; bias additive, broadcastable to
    /// [B, H, Sq, Sk] (null for none); returns [B, Sq, H·D].
    value attention(const value& q, const value& k, const value& v, const value* bias, std::int64_t heads, float scale);
    /// Grouped-query attention, heads first (see the vocabulary): q [B, H,
    /// S, D], k and v [B, KVH, T, D], bias broadcast to [B, H, S, T]; computed
    /// as ops/decomposed.hpp composes it (the ONNX backend's spelling below
    /// opset 23).
    value grouped_attention(const value& q, const value& k, const value& v, const value* bias,
                            const attention_dims& a);

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
    /// x[..., :end, ...] along `axis`, `end` an int64 [1] known only at run
    /// time (a length computed in the graph), with slice's rules: a negative
    /// end counts from the end, and it is clamped to [0, dim].
    value slice_to(const value& x, std::int64_t axis, const value& end);
    /// torch.roll along `axis` by `shift`, an int64 [1] known only at run time
    /// (Swin's cyclic shift): out[i] = x[(i - shift) mod n]; a negative shift
    /// rolls towards the start. The axis must not be empty.
    value roll(const value& x, std::int64_t axis, const value& shift);

    /// Windows of `kernel` positions along the sequence, centred as a
    /// convolution padded by (kernel - 1) / 2 on the left (and the rest on the
    /// right) with zeros: x [B, S, C] -> y [B, S, K, C],
    /// y[b, s, j, c] = x[b, s + j - (K - 1) / 2, c], 0 outside [0, S).
    /// nn.Unfold's im2col, with which ConvBERT builds its convolutions.
    value unfold(const value& x, std::int64_t kernel);

    /// Rotary position embedding (see rotary_layout): x [B, S, H·D], sin and
    /// cos [S, R/2] or [B, S, R/2]. Pair (a, b) of every head at position s
    /// turns by the angle whose sine and cosine are sin[.., s, i] and
    /// cos[.., s, i]: y[a] = x[a]·cos - x[b]·sin, y[b] = x[b]·cos + x[a]·sin.
    /// Computed as ops/decomposed.hpp composes it (the ONNX backend's
    /// spelling below opset 23).
    value rotary(const value& x, const value& sin, const value& cos, const rotary_layout& l);

    /// torch.gather(x, -1, idx): out[..., i, j] = x[..., i, idx[..., i, j]].
    /// idx (int64) has rank <= rank(x), its leading axes 1 (broadcast over
    /// x's) or equal to x's; the result has x's leading axes and idx's last.
    value gather_last(const value& x, const value& idx);

    /// Elementwise clamp to [lo, hi] (torch.clamp, ONNX Clip), int64 or float32.
    value clip(const value& x, std::int64_t lo, std::int64_t hi);
    /// Elementwise float32 clamp to [lo, hi] (torch.clamp with float bounds,
    /// ONNX Clip); an infinite bound clamps one side only.
    value clamp(const value& x, float lo, float hi);

    /// nn.Conv1d with stride 1: x [B, C, L], w [O, C / groups, K], optional
    /// bias [O], `pad` zeros on both ends; returns [B, O, L + 2·pad - K + 1].
    value conv1d(const value& x, const value& w, const value* bias, std::int64_t pad, std::int64_t groups);

    /// The gated delta rule (Gated DeltaNet's recurrence), one step at a
    /// time: q, k [B, H, S, Dk], v [B, H, S, Dv], g and beta [B, H, S],
    /// state [B, H, Dk, Dv]; for t = 0 .. S-1, in float32:
    ///   state ·= exp(g_t);  delta = (v_t - k_tᵀ·state) · beta_t;
    ///   state += k_t ⊗ delta;  o_t = q_tᵀ·state.
    /// Returns [B, H, S + Dk, Dv]: rows :S the outputs o, rows S: the final state.
    value gated_delta_rule(const value& q, const value& k, const value& v, const value& g, const value& beta,
                           const value& state);

    /// Index of the first maximum of a float tensor along `axis`, which
    /// disappears (ONNX ArgMax, keepdims 0, select_last_index 0); int64.
    value argmax(const value& x, std::int64_t axis);

    value constant_f32(std::vector<float> v);
    value sin(const value& x);
    value cos(const value& x);
    value sqrt(const value& x);
    value log(const value& x);  ///< the natural logarithm (Llama 4's attention temperature, Mistral 4's query scaling)

    // -- images: [N, C, H, W] ------------------------------------------------
    /// nn.Conv2d (zero padding): x [N, C, H, W], w [M, C / groups, kH, kW],
    /// optional bias [M]; returns [N, M, Ho, Wo] with
    /// Ho = (H + top + bottom - dilation.h · (kH - 1) - 1) / stride.h + 1 (and
    /// so for W). Computed as im2col and one sgemm per image and group (a
    /// 1x1 kernel at stride 1 without padding multiplies x itself).
    value conv2d(const value& x, const value& w, const value* bias, hw strides = {}, pads2d pads = {},
                 hw dilations = {}, std::int64_t groups = 1);

    /// nn.BatchNorm2d in eval mode over axis 1 of x [N, C, ...]: scale, bias
    /// and the running mean and var are [C]. As torch computes it: per
    /// channel a = scale / sqrt(var + eps), c = bias - mean · a; y = x · a + c.
    value batch_norm(const value& x, const value& scale, const value& bias, const value& mean, const value& var,
                     float eps);

    /// nn.MaxPool2d (dilation 1): the maximum over each window; padded
    /// positions never win. ceil_mode as torch: the output size rounds up,
    /// but a window must start inside the input or its top/left padding.
    value max_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode = false);

    /// nn.AvgPool2d (no divisor_override): the mean over each window. With
    /// count_include_pad the divisor is the window clipped to the padded
    /// input (torch's pool_size), else the number of input positions in it.
    value avg_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool count_include_pad,
                     bool ceil_mode = false);

    /// The mean over H and W, kept as [N, C, 1, 1] (nn.AdaptiveAvgPool2d(1),
    /// x.mean((2, 3), keepdim=True); ONNX GlobalAveragePool).
    value global_avg_pool(const value& x);

    /// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode,
    /// align_corners) on x [N, C, H, W], with torch's coordinates: nearest
    /// takes src = min(floor(dst · (in / out)), in - 1) (align_corners must be
    /// false, as torch requires); bilinear and bicubic take src = dst · (in -
    /// 1) / (out - 1) with align_corners (0 when out is 1), else (dst + 0.5) ·
    /// in / out - 0.5 (bilinear clamps it at 0); bicubic uses A = -0.75 and
    /// replicates the border pixels.
    value resize(const value& x, std::int64_t out_h, std::int64_t out_w, resize_mode mode, bool align_corners);
    /// resize to a size known at run time: `size` is int64 [2] (height,
    /// width), such as shape(other, 2, 4) (SegFormer's and DETR's "to this
    /// feature map's size").
    value resize_to(const value& x, const value& size, resize_mode mode, bool align_corners);

    /// torch's hardsigmoid: relu6(x + 3) / 6.
    value hardsigmoid(const value& x);
    /// torch's hardswish: x · relu6(x + 3) / 6.
    value hardswish(const value& x);

    /// The L2 norm over `axes`, kept as size-1 axes (torch.linalg.vector_norm(x,
    /// 2, dim=axes, keepdim=True); ONNX ReduceL2): ConvNeXTV2's GRN.
    value reduce_l2(const value& x, const std::vector<std::int64_t>& axes);

    /// x broadcast (numpy's rules, both ways) with `shape`, an int64 [r]
    /// tensor (ONNX Expand; torch's expand where the shape's 1s keep x's
    /// size): a learned token [1, 1, E] to every row of a batch.
    value expand(const value& x, const value& shape);

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

    /// With quantize_int8: the dequantized int8 weight for `w` when it is a
    /// weight ([out, in] a Linear's when `transposed`, else [in, out]); else null.
    const value* int8_weight(const value& w, bool transposed);

    const checkpoint* weights_;
    module_path path_;
    std::map<std::string, value, std::less<>> feeds_, outputs_;
    std::map<const float*, std::string> param_names_;  // the data of the weights handed out, by address
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
    // an axis the graph states a size for (ViT's image, the config's only): that size, as ONNX Runtime requires
    const auto shape = it->second.shape();
    for (std::size_t d = 0; d < axes.size(); ++d)
        if (const auto n = static_extent(axes[d]); n >= 0 && static_cast<std::int64_t>(shape[d]) != n)
            throw error("eval.input", "input " + std::string(name) + " has " + std::to_string(shape[d]) +
                                          " at axis " + std::to_string(d) + ", where the model takes " +
                                          std::to_string(n) + " only (its input's shape " + shape_string(shape) +
                                          ")");
    return it->second;
}

TYPEFORMER_INLINE auto eval_backend::output(std::string_view name, const value& v, std::span<const std::string_view> /*axes*/) -> void {
    outputs_.insert_or_assign(std::string(name), v);
}

TYPEFORMER_INLINE auto eval_backend::param(std::string_view rel, std::vector<std::int64_t> shape, std::string_view tied_to) -> const value& {
    param_request req{path_.dotted(rel), std::string(tied_to), std::move(shape)};
    if (const auto* kept = cache_->find(req.name)) {
        if (kept->is_float()) param_names_.insert_or_assign(kept->f.data(), req.name);
        return *kept;
    }
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
    const float* data = a.data();
    param_names_.insert_or_assign(data, req.name);
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

TYPEFORMER_INLINE auto eval_backend::exp(const value& x) -> value { return unary(x, [](float v) { return std::exp(v); }); }

TYPEFORMER_INLINE auto eval_backend::softplus(const value& x) -> value {
    return unary(x, [](float v) { return v > 20.f ? v : std::log1p(std::exp(v)); });
}

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
    // the dims themselves, not a Reshape spec: an empty axis is 0, not "copy"
    const std::vector<std::size_t> target(s.begin(), s.end());
    if (x.is_float()) return value(detail::reshaped(x.f, target));
    return value(detail::reshaped(x.i, target), x.type);
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

TYPEFORMER_INLINE auto eval_backend::gather(const value& table_in, const value& indices) -> value {
    const value* q = int8_weight(table_in, true);  // an embedding table quantized per row
    const value& table = q ? *q : table_in;
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

TYPEFORMER_INLINE auto eval_backend::int8_weight(const value& w, bool transposed) -> const value* {
    if (!cache_->settings().quantize_int8 || !w.is_float() || w.rank() != 2) return nullptr;
    const auto it = param_names_.find(w.f.data());
    if (it == param_names_.end()) return nullptr;
    const auto* kept = cache_->find(it->second);  // still that weight (not memory reused since)
    if (!kept || !kept->is_float() || kept->f.data() != w.f.data()) return nullptr;
    std::string key = it->second + (transposed ? "#int8" : "#int8.columns");
    if (const auto* q = cache_->find(key)) return q;
    const std::size_t rows = w.f.shape()[0], cols = w.f.shape()[1];
    const std::size_t channels = transposed ? rows : cols;
    std::vector<float> m(channels, 0.f);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) {
            auto& x = m[transposed ? r : c];
            x = std::max(x, std::abs(w.f.data()[r * cols + c]));
        }
    for (auto& x : m) x = int8_scale(x);
    xt::xarray<float> d = xt::xarray<float>::from_shape(w.f.shape());
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) {
            const float scale = m[transposed ? r : c];
            d.data()[r * cols + c] = static_cast<float>(quantize_int8(w.f.data()[r * cols + c], scale)) * scale;
        }
    return &cache_->insert(std::move(key), value(std::move(d)));
}

TYPEFORMER_INLINE auto eval_backend::matmul(const value& a, const value& b_in) -> value {
    const value* q = a.is_float() ? int8_weight(b_in, false) : nullptr;
    const value& b = q ? *q : b_in;
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

TYPEFORMER_INLINE auto eval_backend::linear(const value& x, const value& w_in, const value* bias) -> value {
    const value* q = x.is_float() ? int8_weight(w_in, true) : nullptr;
    const value& w = q ? *q : w_in;
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

TYPEFORMER_INLINE auto eval_backend::rms_norm(const value& x, const value& scale, float eps) -> value {
    // the steps of the decomposition, in its order: the reference the
    // families were checked against with RMSNorm written as a composite
    auto var = unsqueeze(reduce_mean(mul(x, x), -1), {-1});
    return mul(div(x, sqrt(add(var, scalar(eps)))), scale);
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

TYPEFORMER_INLINE auto eval_backend::grouped_attention(const value& q, const value& k, const value& v, const value* bias, const attention_dims& a) -> value {
    if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || a.kv_heads <= 0 || a.heads % a.kv_heads != 0 ||
        static_cast<std::int64_t>(q.shape()[1]) != a.heads || static_cast<std::int64_t>(k.shape()[1]) != a.kv_heads)
        throw error("eval.grouped_attention", "grouped_attention expects q [B, " + std::to_string(a.heads) +
                                                   ", S, D] and k, v [B, " + std::to_string(a.kv_heads) +
                                                   ", T, D]; got q " + shape_string(q.shape()) + ", k " +
                                                   shape_string(k.shape()));
    return decomposed::grouped_attention(*this, q, k, v, bias, a);
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

TYPEFORMER_INLINE auto eval_backend::slice_to(const value& x, std::int64_t axis, const value& end) -> value {
    if (end.is_float() || end.i.size() != 1) throw error("eval.slice_to", "slice_to: end must be an int64 [1]");
    return slice(x, axis, 0, end.i.data()[0]);
}

TYPEFORMER_INLINE auto eval_backend::roll(const value& x, std::int64_t axis, const value& shift) -> value {
    if (shift.is_float() || shift.i.size() != 1) throw error("eval.roll", "roll: shift must be an int64 [1]");
    const auto ax = static_cast<std::int64_t>(detail::norm_axis(axis, x.rank()));
    const std::int64_t n = x.shape()[static_cast<std::size_t>(ax)];
    if (n == 0) throw error("eval.roll", "roll: the axis is empty");
    const std::int64_t k = ((shift.i.data()[0] % n) + n) % n;
    return concat({slice(x, ax, n - k, n), slice(x, ax, 0, n - k)}, ax);
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

TYPEFORMER_INLINE auto eval_backend::rotary(const value& x, const value& sin, const value& cos, const rotary_layout& l) -> value {
    if (!x.is_float() || x.rank() != 3 || (sin.rank() != 2 && sin.rank() != 3) || cos.shape() != sin.shape())
        throw error("eval.rotary", "rotary expects x [B, S, H*D] and sin, cos [S, R/2] or [B, S, R/2]");
    const auto HD = static_cast<std::int64_t>(x.f.shape()[2]);
    const auto half = static_cast<std::int64_t>(sin.shape().back());
    if (l.heads <= 0 || HD != l.heads * l.head_dim || l.dims > l.head_dim || l.dims != 2 * half)
        throw error("eval.rotary", "rotary: x has " + std::to_string(HD) + " features, sin and cos are " +
                                       shape_string(sin.shape()) + ", heads " + std::to_string(l.heads) +
                                       " of " + std::to_string(l.head_dim) + ", " + std::to_string(l.dims) +
                                       " turned");
    return decomposed::rotary(*this, x, sin, cos, l);
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

TYPEFORMER_INLINE auto eval_backend::clamp(const value& x, float lo, float hi) -> value {
    if (!x.is_float()) throw error("eval.clamp", "clamp expects float32");
    return unary(x, [lo, hi](float v) { return std::min(std::max(v, lo), hi); });
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

TYPEFORMER_INLINE auto eval_backend::gated_delta_rule(const value& q, const value& k, const value& v,
                                                      const value& g, const value& beta, const value& state)
    -> value {
    if (!q.is_float() || !k.is_float() || !v.is_float() || !g.is_float() || !beta.is_float() || !state.is_float() ||
        q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || g.rank() != 3 || beta.rank() != 3 || state.rank() != 4)
        throw error("eval.gated_delta_rule", "gated_delta_rule expects float32 q, k [B, H, S, Dk], v [B, H, S, Dv], "
                                             "g, beta [B, H, S] and state [B, H, Dk, Dv]");
    const auto sq = q.f.shape(), sv = v.f.shape(), ss = state.f.shape();
    const std::size_t B = sq[0], H = sq[1], S = sq[2], Dk = sq[3], Dv = sv[3];
    if (k.f.shape() != sq || sv[0] != B || sv[1] != H || sv[2] != S || g.f.shape()[0] != B || g.f.shape()[1] != H ||
        g.f.shape()[2] != S || beta.f.shape() != g.f.shape() || ss[0] != B || ss[1] != H || ss[2] != Dk || ss[3] != Dv)
        throw error("eval.gated_delta_rule", "gated_delta_rule: the shapes of q, k, v, g, beta and state disagree");
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{B, H, S + Dk, Dv});
    std::vector<float> st(Dk * Dv), mem(Dv), delta(Dv);
    for (std::size_t bh = 0; bh < B * H; ++bh) {
        std::copy_n(state.f.data() + bh * Dk * Dv, Dk * Dv, st.data());
        for (std::size_t t = 0; t < S; ++t) {
            const float* qt = q.f.data() + (bh * S + t) * Dk;
            const float* kt = k.f.data() + (bh * S + t) * Dk;
            const float* vt = v.f.data() + (bh * S + t) * Dv;
            const float decay = std::exp(g.f.data()[bh * S + t]), bt = beta.f.data()[bh * S + t];
            for (auto& x : st) x *= decay;
            std::fill(mem.begin(), mem.end(), 0.f);
            for (std::size_t i = 0; i < Dk; ++i)
                for (std::size_t j = 0; j < Dv; ++j) mem[j] += kt[i] * st[i * Dv + j];
            for (std::size_t j = 0; j < Dv; ++j) delta[j] = (vt[j] - mem[j]) * bt;
            for (std::size_t i = 0; i < Dk; ++i)
                for (std::size_t j = 0; j < Dv; ++j) st[i * Dv + j] += kt[i] * delta[j];
            float* ot = out.data() + (bh * (S + Dk) + t) * Dv;
            std::fill_n(ot, Dv, 0.f);
            for (std::size_t i = 0; i < Dk; ++i)
                for (std::size_t j = 0; j < Dv; ++j) ot[j] += qt[i] * st[i * Dv + j];
        }
        std::copy_n(st.data(), Dk * Dv, out.data() + (bh * (S + Dk) + S) * Dv);
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
TYPEFORMER_INLINE auto eval_backend::log(const value& x) -> value { return unary(x, [](float v) { return std::log(v); }); }

namespace detail {
/// The sizes of an image op's input x [N, C, H, W].
struct image_dims {
    std::size_t n, c, h, w;
};
inline image_dims image_of(const eval_value& x, const char* op) {
    if (!x.is_float() || x.rank() != 4)
        throw error("eval.image", std::string(op) + " expects a float32 x [N, C, H, W], got " + shape_string(x.shape()));
    const auto& s = x.f.shape();
    return {s[0], s[1], s[2], s[3]};
}
inline void check_window(const char* op, hw kernel, hw strides, pads2d pads, hw dilations = {}) {
    if (kernel.h < 1 || kernel.w < 1 || strides.h < 1 || strides.w < 1 || dilations.h < 1 || dilations.w < 1 ||
        pads.top < 0 || pads.left < 0 || pads.bottom < 0 || pads.right < 0)
        throw error("eval.window", std::string(op) + ": kernel, strides and dilations must be positive, pads non-negative");
}
/// A pool's pads stay below its kernel (torch: at most half of it), so every window reads the input.
inline void check_pool(const char* op, hw kernel, hw strides, pads2d pads) {
    check_window(op, kernel, strides, pads);
    if (pads.top >= kernel.h || pads.bottom >= kernel.h || pads.left >= kernel.w || pads.right >= kernel.w)
        throw error("eval.window", std::string(op) + ": pads must be smaller than the kernel");
}
inline std::size_t window_out(const char* op, std::size_t in, std::int64_t k, std::int64_t s, std::int64_t pb,
                              std::int64_t pe, std::int64_t d = 1, bool ceil_mode = false) {
    const auto out = window_output_size(static_cast<std::int64_t>(in), k, s, pb, pe, d, ceil_mode);
    if (out < 1)
        throw error("eval.window", std::string(op) + ": no window of " + std::to_string(d * (k - 1) + 1) +
                                       " fits an axis of " + std::to_string(in) + " padded by " +
                                       std::to_string(pb) + " and " + std::to_string(pe));
    return static_cast<std::size_t>(out);
}

/// How one output position of a resize reads the input along one axis: up
/// to four input indices and their weights, as torch's upsample kernels
/// compute them (in float, as torch does for float32).
struct resize_taps {
    std::size_t count = 0;
    std::size_t index[4]{};
    float weight[4]{};
};
inline std::vector<resize_taps> resize_axis(std::size_t in, std::size_t out, resize_mode mode, bool align_corners) {
    std::vector<resize_taps> taps(out);
    const auto last = static_cast<std::int64_t>(in) - 1;
    if (mode == resize_mode::nearest) {
        // torch's nearest_idx: identity and exact doubling are special-cased,
        // which the general formula gives too
        const float scale = static_cast<float>(in) / static_cast<float>(out);
        for (std::size_t o = 0; o < out; ++o) {
            const auto src = static_cast<std::int64_t>(std::floor(static_cast<float>(o) * scale));
            taps[o] = {1, {static_cast<std::size_t>(std::min(src, last))}, {1.f}};
        }
        return taps;
    }
    // area_pixel_compute_scale and area_pixel_compute_source_index
    const float scale = align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.f)
                                      : static_cast<float>(in) / static_cast<float>(out);
    for (std::size_t o = 0; o < out; ++o) {
        const auto dst = static_cast<float>(o);
        float src = align_corners ? scale * dst : scale * (dst + 0.5f) - 0.5f;
        auto& t = taps[o];
        if (mode == resize_mode::bilinear && src < 0.f) src = 0.f;
        // guard_index_and_lambda: the tap left of src (at most the last) and the fraction past it
        const auto i = std::min(static_cast<std::int64_t>(std::floor(src)), last);
        const float lambda = std::min(std::max(src - static_cast<float>(i), 0.f), 1.f);
        if (mode == resize_mode::bilinear) {
            t.count = 2;
            t.index[0] = static_cast<std::size_t>(i);
            t.index[1] = static_cast<std::size_t>(i < last ? i + 1 : i);
            t.weight[0] = 1.f - lambda;
            t.weight[1] = lambda;
        } else {
            // cubic convolution with A = -0.75 (Keys), taps i - 1 .. i + 2 clamped to the border
            constexpr float A = -0.75f;
            auto inner = [](float v) { return ((A + 2.f) * v - (A + 3.f)) * v * v + 1.f; };         // |v| <= 1
            auto outer = [](float v) { return ((A * v - 5.f * A) * v + 8.f * A) * v - 4.f * A; };  // 1 < |v| < 2
            const float rest = 1.f - lambda;
            t.count = 4;
            t.weight[0] = outer(lambda + 1.f);
            t.weight[1] = inner(lambda);
            t.weight[2] = inner(rest);
            t.weight[3] = outer(rest + 1.f);
            for (std::int64_t k = 0; k < 4; ++k)
                t.index[k] = static_cast<std::size_t>(std::clamp(i - 1 + k, std::int64_t{0}, last));
        }
    }
    return taps;
}
}  // namespace detail

TYPEFORMER_INLINE auto eval_backend::conv2d(const value& x, const value& w, const value* bias, hw strides, pads2d pads, hw dilations, std::int64_t groups) -> value {
    const auto [N, C, H, W] = detail::image_of(x, "conv2d");
    if (!w.is_float() || w.rank() != 4 || groups < 1)
        throw error("eval.conv2d", "conv2d expects w [M, C/groups, kH, kW] and groups >= 1");
    detail::check_window("conv2d", {1, 1}, strides, pads, dilations);
    const auto M = w.f.shape()[0], Cg = w.f.shape()[1], KH = w.f.shape()[2], KW = w.f.shape()[3];
    const auto G = static_cast<std::size_t>(groups);
    if (Cg * G != C || M % G != 0)
        throw error("eval.conv2d", "conv2d: x has " + std::to_string(C) + " channels, w is " + shape_string(w.shape()) +
                                       ", groups " + std::to_string(groups));
    if (bias && (!bias->is_float() || bias->f.size() != M))
        throw error("eval.conv2d", "conv2d: the bias must be [" + std::to_string(M) + "]");
    const auto kh = static_cast<std::int64_t>(KH), kw = static_cast<std::int64_t>(KW);
    const auto Ho = detail::window_out("conv2d", H, kh, strides.h, pads.top, pads.bottom, dilations.h);
    const auto Wo = detail::window_out("conv2d", W, kw, strides.w, pads.left, pads.right, dilations.w);
    const std::size_t Mg = M / G, K = Cg * KH * KW, P = Ho * Wo;
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{N, M, Ho, Wo});
    // a 1x1 kernel at stride 1 without padding reads x as it is: [Cg, H·W]
    const bool direct = KH == 1 && KW == 1 && strides == hw{} && pads == pads2d{};
    std::vector<float> col(direct ? 0 : K * P);  // im2col: row (c, i, j), column (oh, ow)
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t g = 0; g < G; ++g) {
            const float* src = x.f.data() + (n * C + g * Cg) * H * W;
            if (!direct) {
                for (std::size_t c = 0; c < Cg; ++c)
                    for (std::size_t i = 0; i < KH; ++i)
                        for (std::size_t j = 0; j < KW; ++j) {
                            float* row = col.data() + ((c * KH + i) * KW + j) * P;
                            const std::int64_t dy = static_cast<std::int64_t>(i) * dilations.h - pads.top;
                            const std::int64_t dx = static_cast<std::int64_t>(j) * dilations.w - pads.left;
                            for (std::size_t oh = 0; oh < Ho; ++oh) {
                                const std::int64_t ih = static_cast<std::int64_t>(oh) * strides.h + dy;
                                float* dst = row + oh * Wo;
                                if (ih < 0 || ih >= static_cast<std::int64_t>(H)) {
                                    std::fill_n(dst, Wo, 0.f);
                                    continue;
                                }
                                const float* line = src + (c * H + static_cast<std::size_t>(ih)) * W;
                                for (std::size_t ow = 0; ow < Wo; ++ow) {
                                    const std::int64_t iw = static_cast<std::int64_t>(ow) * strides.w + dx;
                                    dst[ow] = iw < 0 || iw >= static_cast<std::int64_t>(W) ? 0.f
                                                                                           : line[static_cast<std::size_t>(iw)];
                                }
                            }
                        }
            }
            float* dst = out.data() + (n * M + g * Mg) * P;
            if (bias)
                for (std::size_t o = 0; o < Mg; ++o) std::fill_n(dst + o * P, P, bias->f.data()[g * Mg + o]);
            // out[Mg, P] = w_g[Mg, K] · col[K, P] (+ bias)
            detail::sgemm(false, Mg, P, K, 1.f, w.f.data() + g * Mg * K, K, direct ? src : col.data(), P,
                          bias ? 1.f : 0.f, dst, P);
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::batch_norm(const value& x, const value& scale, const value& bias, const value& mean, const value& var, float eps) -> value {
    if (!x.is_float() || x.rank() < 2) throw error("eval.batch_norm", "batch_norm expects a float32 x [N, C, ...]");
    const auto& s = x.f.shape();
    const std::size_t N = s[0], C = s[1], inner = x.f.size() / std::max<std::size_t>(N * C, 1);
    for (const value* p : {&scale, &bias, &mean, &var})
        if (!p->is_float() || p->f.size() != C)
            throw error("eval.batch_norm", "batch_norm: scale, bias, mean and var must be [" + std::to_string(C) + "]");
    std::vector<float> a(C), c(C);
    for (std::size_t k = 0; k < C; ++k) {
        const float invstd = 1.f / std::sqrt(var.f.data()[k] + eps);
        a[k] = invstd * scale.f.data()[k];
        c[k] = bias.f.data()[k] - mean.f.data()[k] * a[k];
    }
    xt::xarray<float> out = xt::xarray<float>::from_shape(s);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t k = 0; k < C; ++k) {
            const float* in = x.f.data() + (n * C + k) * inner;
            float* o = out.data() + (n * C + k) * inner;
            for (std::size_t j = 0; j < inner; ++j) o[j] = in[j] * a[k] + c[k];
        }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::max_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode) -> value {
    const auto [N, C, H, W] = detail::image_of(x, "max_pool2d");
    detail::check_pool("max_pool2d", kernel, strides, pads);
    const auto Ho = detail::window_out("max_pool2d", H, kernel.h, strides.h, pads.top, pads.bottom, 1, ceil_mode);
    const auto Wo = detail::window_out("max_pool2d", W, kernel.w, strides.w, pads.left, pads.right, 1, ceil_mode);
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{N, C, Ho, Wo});
    const auto h = static_cast<std::int64_t>(H), w = static_cast<std::int64_t>(W);
    for (std::size_t p = 0; p < N * C; ++p) {
        const float* in = x.f.data() + p * H * W;
        float* o = out.data() + p * Ho * Wo;
        for (std::size_t oh = 0; oh < Ho; ++oh) {
            const std::int64_t h0 = static_cast<std::int64_t>(oh) * strides.h - pads.top;
            const std::int64_t h1 = std::min(h0 + kernel.h, h);
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const std::int64_t w0 = static_cast<std::int64_t>(ow) * strides.w - pads.left;
                const std::int64_t w1 = std::min(w0 + kernel.w, w);
                float best = -std::numeric_limits<float>::infinity();
                for (std::int64_t ih = std::max<std::int64_t>(h0, 0); ih < h1; ++ih)
                    for (std::int64_t iw = std::max<std::int64_t>(w0, 0); iw < w1; ++iw) {
                        const float v = in[ih * w + iw];
                        if (v > best || std::isnan(v)) best = v;  // a NaN wins and stays, as in torch
                    }
                o[oh * Wo + ow] = best;
            }
        }
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::avg_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool count_include_pad, bool ceil_mode) -> value {
    const auto [N, C, H, W] = detail::image_of(x, "avg_pool2d");
    detail::check_pool("avg_pool2d", kernel, strides, pads);
    const auto Ho = detail::window_out("avg_pool2d", H, kernel.h, strides.h, pads.top, pads.bottom, 1, ceil_mode);
    const auto Wo = detail::window_out("avg_pool2d", W, kernel.w, strides.w, pads.left, pads.right, 1, ceil_mode);
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{N, C, Ho, Wo});
    const auto h = static_cast<std::int64_t>(H), w = static_cast<std::int64_t>(W);
    for (std::size_t p = 0; p < N * C; ++p) {
        const float* in = x.f.data() + p * H * W;
        float* o = out.data() + p * Ho * Wo;
        for (std::size_t oh = 0; oh < Ho; ++oh) {
            // torch's cpu_avg_pool: the window clipped to the padded input, then to the input
            std::int64_t h0 = static_cast<std::int64_t>(oh) * strides.h - pads.top;
            std::int64_t h1 = std::min(h0 + kernel.h, h + pads.bottom);
            const std::int64_t rows = h1 - h0;
            h0 = std::max<std::int64_t>(h0, 0);
            h1 = std::min(h1, h);
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                std::int64_t w0 = static_cast<std::int64_t>(ow) * strides.w - pads.left;
                std::int64_t w1 = std::min(w0 + kernel.w, w + pads.right);
                const std::int64_t pool_size = rows * (w1 - w0);
                w0 = std::max<std::int64_t>(w0, 0);
                w1 = std::min(w1, w);
                float sum = 0.f;
                for (std::int64_t ih = h0; ih < h1; ++ih)
                    for (std::int64_t iw = w0; iw < w1; ++iw) sum += in[ih * w + iw];
                const std::int64_t count = count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
                o[oh * Wo + ow] = h0 >= h1 || w0 >= w1 ? 0.f : sum / static_cast<float>(count);
            }
        }
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::global_avg_pool(const value& x) -> value {
    const auto [N, C, H, W] = detail::image_of(x, "global_avg_pool");
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{N, C, 1, 1});
    const std::size_t area = H * W;
    for (std::size_t p = 0; p < N * C; ++p) {
        const float* in = x.f.data() + p * area;
        double sum = 0;
        for (std::size_t k = 0; k < area; ++k) sum += in[k];
        out.data()[p] = static_cast<float>(sum / static_cast<double>(area));
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::resize(const value& x, std::int64_t out_h, std::int64_t out_w, resize_mode mode, bool align_corners) -> value {
    const auto [N, C, H, W] = detail::image_of(x, "resize");
    if (out_h < 1 || out_w < 1)
        throw error("eval.resize", "resize to " + std::to_string(out_h) + "x" + std::to_string(out_w) + ": sizes must be positive");
    if (mode == resize_mode::nearest && align_corners)
        throw error("eval.resize", "resize: align_corners applies to bilinear and bicubic only (torch refuses it for nearest)");
    const auto Ho = static_cast<std::size_t>(out_h), Wo = static_cast<std::size_t>(out_w);
    const auto ty = detail::resize_axis(H, Ho, mode, align_corners);
    const auto tx = detail::resize_axis(W, Wo, mode, align_corners);
    xt::xarray<float> out = xt::xarray<float>::from_shape(std::vector<std::size_t>{N, C, Ho, Wo});
    for (std::size_t p = 0; p < N * C; ++p) {
        const float* in = x.f.data() + p * H * W;
        float* o = out.data() + p * Ho * Wo;
        for (std::size_t oh = 0; oh < Ho; ++oh) {
            const auto& y = ty[oh];
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const auto& t = tx[ow];
                // sum over rows of (row weight · sum over columns of column weight · pixel), torch's order
                float acc = 0.f;
                for (std::size_t a = 0; a < y.count; ++a) {
                    const float* line = in + y.index[a] * W;
                    float r = 0.f;
                    for (std::size_t b = 0; b < t.count; ++b) r += t.weight[b] * line[t.index[b]];
                    acc += y.weight[a] * r;
                }
                o[oh * Wo + ow] = acc;
            }
        }
    }
    return value(std::move(out));
}

TYPEFORMER_INLINE auto eval_backend::resize_to(const value& x, const value& size, resize_mode mode, bool align_corners) -> value {
    if (size.is_float() || size.rank() != 1 || size.i.size() != 2)
        throw error("eval.resize", "resize_to expects the size as int64 [2] (height, width), got " + shape_string(size.shape()));
    return resize(x, size.i.data()[0], size.i.data()[1], mode, align_corners);
}

TYPEFORMER_INLINE auto eval_backend::hardsigmoid(const value& x) -> value {
    return unary(x, [](float v) { return std::min(std::max(v + 3.f, 0.f), 6.f) / 6.f; });
}

TYPEFORMER_INLINE auto eval_backend::hardswish(const value& x) -> value {
    return unary(x, [](float v) { return v * std::min(std::max(v + 3.f, 0.f), 6.f) / 6.f; });
}

TYPEFORMER_INLINE auto eval_backend::expand(const value& x, const value& shape) -> value {
    if (shape.is_float() || shape.rank() != 1) throw error("eval.expand", "expand: the shape must be a 1-D int64 tensor");
    const auto xs = x.shape();
    const std::size_t rank = std::max(xs.size(), shape.i.size());
    std::vector<std::size_t> target(rank, 1);
    for (std::size_t d = 0; d < rank; ++d) {
        const std::int64_t a = d + xs.size() >= rank ? xs[d + xs.size() - rank] : 1;
        const std::int64_t b = d + shape.i.size() >= rank ? shape.i(d + shape.i.size() - rank) : 1;
        if (a != b && a != 1 && b != 1)
            throw error("eval.expand", "expand: sizes " + std::to_string(a) + " and " + std::to_string(b) +
                                           " do not broadcast at axis " + std::to_string(d));
        target[d] = static_cast<std::size_t>(a == 1 ? b : a);
    }
    if (x.is_float()) return value(xt::xarray<float>(xt::broadcast(x.f, target)));
    return value(xt::xarray<std::int64_t>(xt::broadcast(x.i, target)));
}

TYPEFORMER_INLINE auto eval_backend::reduce_l2(const value& x, const std::vector<std::int64_t>& axes) -> value {
    if (!x.is_float()) throw error("eval.type", "reduce_l2 of an integer tensor");
    const auto s = x.shape();
    std::vector<bool> reduced(s.size(), false);
    for (auto a : axes) reduced[detail::norm_axis(a, s.size())] = true;
    std::vector<std::size_t> out_shape(s.size());
    for (std::size_t d = 0; d < s.size(); ++d) out_shape[d] = reduced[d] ? 1 : static_cast<std::size_t>(s[d]);
    std::vector<double> acc(detail::numel({out_shape.begin(), out_shape.end()}), 0.0);
    // walk x in order, keeping the output offset of the current index
    std::vector<std::size_t> idx(s.size(), 0), ostride(s.size(), 1);
    for (std::size_t d = s.size(); d-- > 1;) ostride[d - 1] = ostride[d] * out_shape[d];
    std::size_t off = 0;
    for (std::size_t k = 0; k < x.f.size(); ++k) {
        const double v = x.f.data()[k];
        acc[off] += v * v;
        for (std::size_t d = s.size(); d-- > 0;) {  // next index
            if (!reduced[d]) off += ostride[d];
            if (++idx[d] < static_cast<std::size_t>(s[d])) break;
            if (!reduced[d]) off -= ostride[d] * idx[d];
            idx[d] = 0;
        }
    }
    xt::xarray<float> out = xt::xarray<float>::from_shape(out_shape);
    for (std::size_t k = 0; k < acc.size(); ++k) out.data()[k] = static_cast<float>(std::sqrt(acc[k]));
    return value(std::move(out));
}

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
