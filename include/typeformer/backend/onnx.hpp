// typeformer/backend/onnx.hpp: the ONNX backend, a graph builder.
//
// The same forward that computes on the eval backend emits nodes here. Values
// are symbolic: a tensor name, an element type and a shape whose dims are
// static sizes, named dynamic axes (`dim_param`) or unknown. Each op is
// spelled as the target opset requires (13 to 23); high-level ops (layer
// norm, RMS norm, GELU, attention, rotary) are decomposed where the opset
// has no native op (LayerNormalization 17, Gelu 20, RMSNormalization,
// Attention and RotaryEmbedding 23).
// From opset 18 the Reduce ops take their axes as an input; every other op
// emitted keeps one spelling from 13 to 23 (later versions only add types or
// optional inputs and attributes whose defaults are the earlier behaviour).
//
// Parameters are recorded as requests (name, tied alternative, shape) while
// the graph is built; `finish()` turns the ones the graph uses into
// initializers, read from the mapped checkpoint. A Linear weight is stored
// transposed, as `<name>.T`, so that the product is one MatMul. With
// quantization::int8 (--quantize int8) a product with a weight is one
// com.microsoft DynamicQuantizeMatMul on `<name>.T.int8` and `<name>.T.scale`
// (a MatMul's weight: `<name>.int8`, `<name>.scale`), a Gather of a weight
// reads `<name>.rows.int8` and `<name>.rows.scale`: the writer makes them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "typeformer/backend/scope.hpp"
#include "typeformer/core/config.hpp"
#include "typeformer/core/dtype.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/core/quantize.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/core/spatial.hpp"
#include "typeformer/io/checkpoint.hpp"
#include "typeformer/ops/decomposed.hpp"

namespace typeformer::inline v0 {

/// One dimension of a symbolic shape: a static size, a named axis, or unknown.
struct dim {
    std::int64_t size = -1;  // >= 0 when static
    std::string param;       // the axis name when dynamic and named

    [[nodiscard]] bool is_static() const { return size >= 0; }
    friend bool operator==(const dim&, const dim&) = default;
};

/// A tensor of the ONNX backend.
struct onnx_value {
    std::string name;
    dtype type = dtype::f32;
    std::vector<dim> shape;

    [[nodiscard]] std::size_t rank() const { return shape.size(); }
};

inline constexpr int min_opset = 13;
inline constexpr int max_opset = 23;  // ONNX 1.18 or later knows it (cmake/onnx.cmake)
inline constexpr int default_opset = 18;

/// What an initializer holds of an int8-quantized weight (--quantize int8):
/// nothing (a float tensor), the int8 values, or the scales of its channels
/// (core/quantize.hpp): a product's weight [in, out] per column (scales
/// [out]), an embedding table [rows, width] per row (scales [rows]).
enum class int8_part : std::uint8_t { none, values, scales };

/// An initializer of the exported graph and where its data comes from:
/// a checkpoint tensor, possibly stored transposed ([in, out] for a Linear).
struct initializer_source {
    std::string name;
    std::vector<std::int64_t> dims;  // as stored in the graph
    const tensor_view* view = nullptr;
    bool transposed = false;
    dtype stored = dtype::f32;  // the initializer's type in the file: f32, f16 (--dtype fp16), i8 (int8_part::values)
    /// An int8-quantized weight's part: `dims` are then the values' (the
    /// scales' [channels]); the channels are the columns of the weight as
    /// stored, or with `int8_rows` its rows (an embedding table, read by Gather).
    int8_part int8 = int8_part::none;
    bool int8_rows = false;

    [[nodiscard]] std::int64_t numel() const {
        std::int64_t n = 1;
        for (auto d : dims) n *= d;
        return n;
    }
    [[nodiscard]] std::uint64_t byte_size() const { return static_cast<std::uint64_t>(numel()) * size_of(stored); }

    /// Elements [first, first + count) of the stored layout, as float32.
    void read(std::int64_t first, std::int64_t count, float* out) const {
        if (!view) throw error("checkpoint.missing", "missing tensor for initializer " + name);
        if (!transposed) {
            read_range_as_f32(*view, static_cast<std::size_t>(first), {out, static_cast<std::size_t>(count)});
            return;
        }
        // stored [cols, rows] from a checkpoint [rows, cols]
        const std::int64_t rows = dims[1], cols = dims[0];
        const std::int64_t c0 = first / rows, c1 = (first + count + rows - 1) / rows;
        const std::int64_t width = c1 - c0;
        if (first % rows == 0 && count % rows == 0) {
            // whole output rows: transpose tiles of 64 source rows, so that both
            // the reads and the writes are runs of contiguous floats
            constexpr std::int64_t tile = 64;
            std::vector<float> seg(static_cast<std::size_t>(tile * width));
            for (std::int64_t r0 = 0; r0 < rows; r0 += tile) {
                const std::int64_t nr = std::min(tile, rows - r0);
                for (std::int64_t r = 0; r < nr; ++r)
                    read_range_as_f32(*view, static_cast<std::size_t>((r0 + r) * cols + c0),
                                      {seg.data() + r * width, static_cast<std::size_t>(width)});
                for (std::int64_t c = 0; c < width; ++c) {
                    float* dst = out + c * rows + r0;
                    for (std::int64_t r = 0; r < nr; ++r) dst[r] = seg[static_cast<std::size_t>(r * width + c)];
                }
            }
            return;
        }
        // any window: read each source row's needed span once
        std::vector<float> seg(static_cast<std::size_t>(width));
        for (std::int64_t r = 0; r < rows; ++r) {
            read_range_as_f32(*view, static_cast<std::size_t>(r * cols + c0), seg);
            for (std::int64_t c = c0; c < c1; ++c) {
                const std::int64_t k = c * rows + r - first;
                if (k >= 0 && k < count) out[k] = seg[static_cast<std::size_t>(c - c0)];
            }
        }
    }
};

/// The scale of each channel (column, as stored) of an int8-quantized
/// weight: one pass over the checkpoint tensor in its own layout, a row at a
/// time (a Linear's [out, in]: a channel is a row; a Conv1D's [in, out]: a
/// column).
std::vector<float> int8_scales(const initializer_source& s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<float> int8_scales(const initializer_source& s) {
    if (!s.view) throw error("checkpoint.missing", "missing tensor for initializer " + s.name);
    if (s.view->shape.size() != 2) throw error("export.quantize", s.name + ": only a matrix is quantized");
    const std::int64_t rows = s.view->shape[0], row = s.view->shape[1];
    const bool by_row = s.transposed || s.int8_rows;  // a channel is a row of the checkpoint's tensor
    std::vector<float> m(static_cast<std::size_t>(by_row ? rows : row), 0.f);
    std::vector<float> buf(static_cast<std::size_t>(row));
    for (std::int64_t r = 0; r < rows; ++r) {
        read_range_as_f32(*s.view, static_cast<std::size_t>(r * row), buf);
        if (by_row) {
            float a = 0.f;
            for (const float v : buf) a = std::max(a, std::abs(v));
            m[static_cast<std::size_t>(r)] = a;
        } else {
            for (std::size_t c = 0; c < buf.size(); ++c) m[c] = std::max(m[c], std::abs(buf[c]));
        }
    }
    for (auto& v : m) v = int8_scale(v);
    return m;
}
#endif

/// Elements [first, first + count) of an int8 initializer's values, given
/// the channels' scales (int8_scales).
inline void read_int8(const initializer_source& s, const std::vector<float>& scales, std::int64_t first,
                      std::int64_t count, float* scratch, std::int8_t* out) {
    s.read(first, count, scratch);
    const std::int64_t cols = s.dims.at(1);
    for (std::int64_t k = 0; k < count; ++k) {
        const auto channel = s.int8_rows ? (first + k) / cols : (first + k) % cols;
        out[k] = quantize_int8(scratch[k], scales[static_cast<std::size_t>(channel)]);
    }
}

/// Add initializers, read from their sources, to a graph.
inline void add_initializers(onnx::GraphProto& g, const std::vector<initializer_source>& sources) {
    for (const auto& src : sources) {
        auto* t = g.add_initializer();
        t->set_name(src.name);
        t->set_data_type(onnx_type(src.stored));
        for (auto d : src.dims) t->add_dims(d);
        if (src.int8 != int8_part::none) {
            const auto scales = int8_scales(src);
            std::string raw(static_cast<std::size_t>(src.byte_size()), '\0');
            if (src.int8 == int8_part::scales) {
                std::memcpy(raw.data(), scales.data(), raw.size());
            } else {
                std::vector<float> f(static_cast<std::size_t>(src.numel()));
                read_int8(src, scales, 0, src.numel(), f.data(), reinterpret_cast<std::int8_t*>(raw.data()));
            }
            t->set_raw_data(std::move(raw));
            continue;
        }
        std::vector<float> f(static_cast<std::size_t>(src.numel()));
        src.read(0, src.numel(), f.data());
        std::string raw(static_cast<std::size_t>(src.byte_size()), '\0');
        if (src.stored == dtype::f16)
            for (std::size_t k = 0; k < f.size(); ++k) {
                const std::uint16_t h = float_to_half(f[k]);
                std::memcpy(raw.data() + 2 * k, &h, 2);
            }
        else if (!f.empty())
            std::memcpy(raw.data(), f.data(), raw.size());
        t->set_raw_data(std::move(raw));
    }
}

class onnx_backend {
public:
    using value = onnx_value;

    /// `quantize` int8: every product with a constant weight (a Linear, a
    /// MatMul by a parameter) is one com.microsoft DynamicQuantizeMatMul on
    /// the weight quantized per output channel (core/quantize.hpp).
    explicit onnx_backend(const checkpoint* weights, int opset = default_opset,
                          quantization quantize = quantization::none);

    [[nodiscard]] int opset() const { return opset_; }
    [[nodiscard]] quantization quantize() const { return quantize_; }
    onnx::ModelProto& model() { return model_; }
    onnx::GraphProto* graph();

    // -- graph boundary ------------------------------------------------------
    value input(std::string_view name, dtype type, std::span<const std::string_view> axes);
    /// A graph output; named axes become dim_params, "" axes keep the size found.
    void output(std::string_view name, const value& v, std::span<const std::string_view> axes);

    // -- scopes and parameters -----------------------------------------------
    module_path& path() { return path_; }
    scope_guard<onnx_backend> scope(std::string_view dotted) { return {*this, dotted}; }

    value param(std::string_view rel, std::vector<std::int64_t> shape, std::string_view tied_to = {});
    /// Every parameter the graph asked for, in order.
    [[nodiscard]] const std::vector<param_request>& requests() const { return requests_; }

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
    value exp(const value& x);
    /// Softplus, log(exp(x) + 1) (torch's threshold 20 changes the result
    /// by less than a float32 ulp there).
    value softplus(const value& x);
    value gelu(const value& x);
    value gelu_tanh(const value& x);
    value cast(const value& x, dtype to);
    /// Cast to BFLOAT16 and back to FLOAT (opset 13 on).
    value round_bf16(const value& x);

    // -- shapes --------------------------------------------------------------
    value reshape(const value& x, const std::vector<std::int64_t>& spec);
    value reshape(const value& x, const value& shape);
    value shape(const value& x, std::int64_t start, std::int64_t end);
    value flatten(const value& x, std::int64_t axis);
    value transpose(const value& x, const std::vector<std::int64_t>& perm);
    value unsqueeze(const value& x, const std::vector<std::int64_t>& axes);
    value select(const value& x, std::int64_t axis, std::int64_t index);
    value range(const value& x, std::int64_t axis);

    // -- linear algebra ------------------------------------------------------
    value gather(const value& table, const value& indices);
    value matmul(const value& a, const value& b);
    value linear(const value& x, const value& w, const value* bias = nullptr);

    // -- normalisation and attention ----------------------------------------
    value layer_norm(const value& x, const value& gamma, const value& beta, float eps);
    /// RMSNorm over the last axis, x / sqrt(mean(x²) + eps) · scale:
    /// RMSNormalization from opset 23, ReduceMean, Add, Sqrt, Div, Mul below.
    value rms_norm(const value& x, const value& scale, float eps);
    value softmax(const value& x);
    /// Attention from opset 23 (3D inputs, q_num_heads = kv_num_heads =
    /// heads, the bias as a float attn_mask); MatMul, Mul, Add, Softmax below.
    value attention(const value& q, const value& k, const value& v, const value* bias, std::int64_t heads, float scale);
    /// Attention from opset 23 (4D inputs: grouped-query heads from the
    /// shapes, the bias as a float attn_mask, scale and softcap as
    /// attributes); below, ops/decomposed.hpp's composition.
    value grouped_attention(const value& q, const value& k, const value& v, const value* bias,
                            const attention_dims& a);

    /// Not(Equal(a, b)): boolean.
    value not_equal(const value& a, const value& b);
    /// CumSum with the axis as a 0-D int64 constant (opset 11+).
    value cumsum(const value& x, std::int64_t axis);

    /// Mean over one axis; the axis disappears (keepdims 0).
    value reduce_mean(const value& x, std::int64_t axis);

    value concat(const std::vector<value>& xs, std::int64_t axis);
    value slice(const value& x, std::int64_t axis, std::int64_t start, std::int64_t end);
    /// Slice with starts 0 and `end` (int64 [1], computed in the graph) as ends.
    value slice_to(const value& x, std::int64_t axis, const value& end);
    /// torch.roll by a run-time shift (see the eval backend): k = Mod(shift,
    /// n) (the divisor's sign: in [0, n)), then Concat(x[n - k:], x[:n - k]).
    value roll(const value& x, std::int64_t axis, const value& shift);

    /// Windows along the sequence (see the eval backend): Pad, then one
    /// Gather with indices s + j, [S, K].
    value unfold(const value& x, std::int64_t kernel);

    /// Rotary position embedding (see the eval backend): RotaryEmbedding
    /// from opset 23 (3D input, num_heads, rotary_embedding_dim, no
    /// position_ids: the tables expanded to [B, S, R/2] where they are not
    /// already per batch row); below, ops/decomposed.hpp's composition.
    value rotary(const value& x, const value& sin, const value& cos, const rotary_layout& l);

    /// GatherElements on the last axis, the indices first expanded to the
    /// data's leading axes: to (shape(x) · [1, ..., 1, 0] + [0, ..., 0, 1]).
    value gather_last(const value& x, const value& idx);
    value clip(const value& x, std::int64_t lo, std::int64_t hi);
    value clamp(const value& x, float lo, float hi);
    value conv1d(const value& x, const value& w, const value* bias, std::int64_t pad, std::int64_t groups);
    /// The gated delta rule (see the eval backend): one Scan over axis 2 of
    /// q, k, v, g and beta, the state [B, H, Dk, Dv] its loop-carried
    /// variable, the body the recurrence's step (Exp, MatMul, Mul, Add);
    /// then Concat(outputs, final state) along axis 2.
    value gated_delta_rule(const value& q, const value& k, const value& v, const value& g, const value& beta,
                           const value& state);

    value argmax(const value& x, std::int64_t axis);

    value constant_f32(std::vector<float> v);
    value sin(const value& x);
    value cos(const value& x);
    value sqrt(const value& x);
    value log(const value& x);

    // -- images: [N, C, H, W] (see the eval backend for what each computes) ---
    /// Conv; kernel_shape from the weight's static dims (else left to the weight).
    value conv2d(const value& x, const value& w, const value* bias, hw strides = {}, pads2d pads = {},
                 hw dilations = {}, std::int64_t groups = 1);
    /// BatchNormalization in inference mode: one output, epsilon only.
    value batch_norm(const value& x, const value& scale, const value& bias, const value& mean, const value& var,
                     float eps);
    value max_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode = false);
    value avg_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool count_include_pad,
                     bool ceil_mode = false);
    value global_avg_pool(const value& x);
    /// bilinear and bicubic: Resize with `sizes` = Concat(Shape(x)[0:2],
    /// [out_h, out_w]), half_pixel or align_corners (torch at output size 1
    /// included: half_pixel, not pytorch_half_pixel); nearest: a Gather per
    /// axis of torch's source indices, computed in the graph as torch does.
    value resize(const value& x, std::int64_t out_h, std::int64_t out_w, resize_mode mode, bool align_corners);
    value resize_to(const value& x, const value& size, resize_mode mode, bool align_corners);
    /// HardSigmoid, alpha 1/6, beta 1/2.
    value hardsigmoid(const value& x);
    /// HardSwish from opset 14; x · HardSigmoid(x) below.
    value hardswish(const value& x);
    /// ReduceL2, keepdims 1.
    value reduce_l2(const value& x, const std::vector<std::int64_t>& axes);
    /// Expand: the sizes where x's is static and not 1, unknown elsewhere.
    value expand(const value& x, const value& shape);

    // -- finishing -----------------------------------------------------------
    /// The initializers the graph uses, each with the checkpoint tensor it is
    /// read from (nullptr when the checkpoint lacks it) and whether it is
    /// stored transposed. Nothing is read yet.
    /// A weight used both as it is and transposed (an LM head tied to the
    /// word embeddings) is stored once: its transposed use reads a Transpose
    /// node at the top of the graph (ONNX Runtime folds it when it loads the
    /// model) instead of a second, transposed copy in the file.
    [[nodiscard]] std::vector<initializer_source> initializers();

    /// Add the initializers to the graph, read from the checkpoint (the
    /// in-memory model; export/stream.hpp writes them without this copy).
    void finish();

    /// Emit one node; returns its output names. `outs` overrides the generated names.
    template <class Attrs = void (*)(onnx::NodeProto&)>
    std::vector<std::string> node(std::string_view op, const std::vector<std::string>& ins, Attrs attrs = nullptr,
                                  std::vector<std::string> outs = {}, std::size_t n_out = 1) {
        auto* n = graph()->add_node();
        std::string base = path_.slashed() + "/" + std::string(op);
        const auto count = name_counts_[base]++;
        if (count > 0) base += "_" + std::to_string(count);
        n->set_name(base);
        n->set_op_type(std::string(op));
        for (const auto& i : ins) n->add_input(i);
        if (outs.empty())
            for (std::size_t k = 0; k < n_out; ++k) outs.push_back(base + "_output_" + std::to_string(k));
        for (const auto& o : outs) n->add_output(o);
        if constexpr (!std::is_same_v<Attrs, void (*)(onnx::NodeProto&)>) attrs(*n);
        else if (attrs) attrs(*n);
        return outs;
    }

private:
    struct param_info {
        const tensor_view* view;
        std::vector<std::int64_t> shape;
    };

    static void attr_i(onnx::NodeProto& n, const char* name, std::int64_t v);
    static void attr_f(onnx::NodeProto& n, const char* name, float v);
    static void attr_ints(onnx::NodeProto& n, const char* name, const std::vector<std::int64_t>& v);
    static void attr_s(onnx::NodeProto& n, const char* name, const char* v);
    /// A spatial output dim of a window op: static when the input's is, the
    /// input's (named) when the window keeps the size, else unknown.
    static dim window_dim(const dim& in, std::int64_t kernel, std::int64_t stride, std::int64_t pad_begin,
                          std::int64_t pad_end, std::int64_t dilation, bool ceil_mode);
    /// Bilinear or bicubic Resize of x [N, C, H, W] to hw_size (int64 [2]).
    value resize_node(const value& x, const value& hw_size, resize_mode mode, bool align_corners);
    /// Nearest resize of x [N, C, H, W] to out_h x out_w (0-D int64 names), as Gathers.
    value nearest_node(const value& x, const std::string& out_h, const std::string& out_w, bool align_corners);
    /// MaxPool or AveragePool with torch's padding, ceil_mode and divisor.
    value pool_node(const char* op, const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode,
                    bool count_include_pad);

    value constant(onnx::TensorProto t, std::vector<dim> shape, dtype type = dtype::f32);
    /// An additive bias [B | 1, Hb, S | 1, T] as Attention's attn_mask: on q's batch and query axes.
    value attention_mask(const value& bias, const value& q, std::size_t seq_axis);
    /// Q, K, V and, where given, the bias as attn_mask: an Attention node's inputs.
    static std::vector<std::string> attention_inputs(const value& q, const value& k, const value& v, const value* bias) {
        std::vector<std::string> ins{q.name, k.name, v.name};
        if (bias) ins.push_back(bias->name);
        return ins;
    }
    std::string scalar_i64(std::int64_t x);

    static std::vector<dim> broadcast(std::vector<dim> a, std::vector<dim> b);
    value binary(const char* op, const value& a, const value& b);
    value unary(const char* op, const value& x);
    value reduce_mean_last(const value& x);
    /// x · W for the parameter `w` ([out, in] as stored when `transposed`, a
    /// Linear's; else [in, out]) quantized: DynamicQuantizeMatMul(x,
    /// W int8 [in, out], scales [out], no zero point, bias).
    value int8_matmul(const value& x, const value& w, bool transposed, const value* bias);

    void write_value_info(onnx::ValueInfoProto* vi, const value& v);
    const checkpoint* weights_;
    int opset_;
    quantization quantize_;
    onnx::ModelProto model_;
    module_path path_;
    std::map<std::string, std::size_t> name_counts_;
    std::vector<param_request> requests_;
    std::map<std::string, param_info> params_;
    std::set<std::string> transposed_;
    std::set<std::string> transposes_;  // weights whose transposed use is a Transpose node
    std::set<std::string> int8_transposed_, int8_plain_, int8_rows_;  // weights used quantized: a Linear's, a MatMul's, a Gather's
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE onnx_backend::onnx_backend(const checkpoint* weights, int opset, quantization quantize)
    : weights_(weights), opset_(opset), quantize_(quantize) {
    if (opset < min_opset || opset > max_opset)
        throw error("export.opset", "opset " + std::to_string(opset) + " is not supported (supported: " +
                                        std::to_string(min_opset) + " to " + std::to_string(max_opset) + ")");
    // the IR version each opset came out with (onnx.helper's VERSION_TABLE):
    // 8 up to 18, 9 for 19 and 20, 10 for 21 and 22, 11 for 23
    model_.set_ir_version(opset <= 18 ? 8 : opset <= 20 ? 9 : opset <= 22 ? 10 : 11);
    model_.set_producer_name("typeformer");
    model_.set_producer_version("0.1.0");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    if (quantize_ != quantization::none) {  // DynamicQuantizeMatMul
        auto* ms = model_.add_opset_import();
        ms->set_domain("com.microsoft");
        ms->set_version(1);
    }
    graph()->set_name("typeformer");
}

TYPEFORMER_INLINE auto onnx_backend::graph() -> onnx::GraphProto* { return model_.mutable_graph(); }

TYPEFORMER_INLINE auto onnx_backend::input(std::string_view name, dtype type, std::span<const std::string_view> axes) -> value {
    value v{std::string(name), type, {}};
    for (auto a : axes)
        v.shape.push_back(static_extent(a) >= 0 ? dim{static_extent(a), {}} : dim{-1, std::string(a)});
    write_value_info(graph()->add_input(), v);
    return v;
}

TYPEFORMER_INLINE auto onnx_backend::output(std::string_view name, const value& v, std::span<const std::string_view> axes) -> void {
    if (axes.size() != v.rank())
        throw error("export.output", "output " + std::string(name) + " has rank " + std::to_string(v.rank()) +
                                         " but " + std::to_string(axes.size()) + " axes are declared");
    value o{std::string(name), v.type, v.shape};
    for (std::size_t k = 0; k < axes.size(); ++k)
        if (!axes[k].empty()) o.shape[k] = dim{-1, std::string(axes[k])};
    auto guard = scope("");
    node("Identity", {v.name}, {}, {o.name});
    write_value_info(graph()->add_output(), o);
}

TYPEFORMER_INLINE auto onnx_backend::param(std::string_view rel, std::vector<std::int64_t> shape, std::string_view tied_to) -> value {
    param_request req{path_.dotted(rel), std::string(tied_to), std::move(shape)};
    std::string name = req.name;
    const tensor_view* t = weights_ ? resolve(*weights_, req, &name) : nullptr;
    if (!std::any_of(requests_.begin(), requests_.end(), [&](const auto& r) { return r.name == req.name; }))
        requests_.push_back(req);
    value v{name, dtype::f32, {}};
    for (auto s : req.shape) v.shape.push_back(dim{s, {}});
    params_.emplace(name, param_info{t, req.shape});
    return v;
}

TYPEFORMER_INLINE auto onnx_backend::scalar(float x) -> value {
    onnx::TensorProto t;
    t.set_data_type(onnx_type(dtype::f32));
    t.add_float_data(x);
    return constant(std::move(t), {});
}

TYPEFORMER_INLINE auto onnx_backend::constant_i64(std::vector<std::int64_t> v) -> value {
    onnx::TensorProto t;
    t.set_data_type(onnx_type(dtype::i64));
    t.add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) t.add_int64_data(x);
    return constant(std::move(t), {dim{static_cast<std::int64_t>(v.size()), {}}}, dtype::i64);
}

TYPEFORMER_INLINE auto onnx_backend::add(const value& a, const value& b) -> value { return binary("Add", a, b); }

TYPEFORMER_INLINE auto onnx_backend::sub(const value& a, const value& b) -> value { return binary("Sub", a, b); }

TYPEFORMER_INLINE auto onnx_backend::mul(const value& a, const value& b) -> value { return binary("Mul", a, b); }

TYPEFORMER_INLINE auto onnx_backend::div(const value& a, const value& b) -> value { return binary("Div", a, b); }

TYPEFORMER_INLINE auto onnx_backend::less(const value& a, const value& b) -> value {
    value r = binary("Less", a, b);
    r.type = dtype::boolean;
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::tanh(const value& x) -> value { return unary("Tanh", x); }

TYPEFORMER_INLINE auto onnx_backend::relu(const value& x) -> value { return unary("Relu", x); }

TYPEFORMER_INLINE auto onnx_backend::sigmoid(const value& x) -> value { return unary("Sigmoid", x); }

TYPEFORMER_INLINE auto onnx_backend::exp(const value& x) -> value { return unary("Exp", x); }

TYPEFORMER_INLINE auto onnx_backend::softplus(const value& x) -> value { return unary("Softplus", x); }

TYPEFORMER_INLINE auto onnx_backend::gelu(const value& x) -> value {
    if (opset_ >= 20) return unary("Gelu", x);  // approximate "none": erf
    // x/2 · (1 + erf(x/√2)), the exporter's spelling before opset 20
    auto t = unary("Erf", div(x, scalar(1.41421356237309505f)));
    return mul(mul(x, add(t, scalar(1.f))), scalar(0.5f));
}

TYPEFORMER_INLINE auto onnx_backend::gelu_tanh(const value& x) -> value {
    if (opset_ >= 20) {
        value r = x;
        r.name = node("Gelu", {x.name}, [](onnx::NodeProto& n) { attr_s(n, "approximate", "tanh"); })[0];
        return r;
    }
    auto cube = mul(mul(x, x), x);
    auto inner = mul(add(x, mul(cube, scalar(0.044715f))), scalar(0.79788456080286536f));
    return mul(mul(x, scalar(0.5f)), add(unary("Tanh", inner), scalar(1.f)));
}

TYPEFORMER_INLINE auto onnx_backend::cast(const value& x, dtype to) -> value {
    value r = x;
    r.type = to;
    r.name = node("Cast", {x.name}, [&](onnx::NodeProto& n) { attr_i(n, "to", onnx_type(to)); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::round_bf16(const value& x) -> value {
    return cast(cast(x, dtype::bf16), dtype::f32);
}

TYPEFORMER_INLINE auto onnx_backend::reshape(const value& x, const std::vector<std::int64_t>& spec) -> value {
    value r = x;
    r.shape.clear();
    std::int64_t in_total = 1, known = 1;
    bool in_static = true;
    for (const auto& d : x.shape) in_static = in_static && d.is_static(), in_total *= std::max<std::int64_t>(d.size, 1);
    int infer = -1;
    for (std::size_t k = 0; k < spec.size(); ++k) {
        dim d;
        if (spec[k] == 0 && k < x.shape.size()) d = x.shape[k];
        else if (spec[k] > 0) d = dim{spec[k], {}};
        else if (spec[k] == -1) infer = static_cast<int>(k);
        if (spec[k] != -1) known = d.is_static() && known >= 0 ? known * d.size : -1;
        r.shape.push_back(d);
    }
    if (infer >= 0 && in_static && known > 0) r.shape[static_cast<std::size_t>(infer)] = dim{in_total / known, {}};
    r.name = node("Reshape", {x.name, constant_i64(spec).name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::reshape(const value& x, const value& shape) -> value {
    value r = x;
    r.shape.assign(shape.shape.empty() || !shape.shape[0].is_static() ? 0 : static_cast<std::size_t>(shape.shape[0].size), dim{});
    r.name = node("Reshape", {x.name, shape.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::shape(const value& x, std::int64_t start, std::int64_t end) -> value {
    const auto rank = static_cast<std::int64_t>(x.rank());
    const std::int64_t s = start < 0 ? start + rank : start, e = end < 0 ? end + rank : end;
    value r{{}, dtype::i64, {dim{e - s, {}}}};
    if (opset_ >= 15) {
        r.name = node("Shape", {x.name}, [&](onnx::NodeProto& n) {
            attr_i(n, "start", s);
            attr_i(n, "end", e);
        })[0];
    } else {
        auto full = node("Shape", {x.name})[0];
        r.name = node("Slice", {full, constant_i64({s}).name, constant_i64({e}).name, constant_i64({0}).name})[0];
    }
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::flatten(const value& x, std::int64_t axis) -> value {
    value r = x;
    auto fold = [](auto b, auto e) {
        dim d{1, {}};
        for (auto it = b; it != e; ++it) d = (d.is_static() && it->is_static()) ? dim{d.size * it->size, {}} : dim{};
        return d;
    };
    r.shape = {fold(x.shape.begin(), x.shape.begin() + axis), fold(x.shape.begin() + axis, x.shape.end())};
    r.name = node("Flatten", {x.name}, [&](onnx::NodeProto& n) { attr_i(n, "axis", axis); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::transpose(const value& x, const std::vector<std::int64_t>& perm) -> value {
    value r = x;
    for (std::size_t k = 0; k < perm.size(); ++k) r.shape[k] = x.shape[static_cast<std::size_t>(perm[k])];
    r.name = node("Transpose", {x.name}, [&](onnx::NodeProto& n) { attr_ints(n, "perm", perm); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::unsqueeze(const value& x, const std::vector<std::int64_t>& axes) -> value {
    value r = x;
    const auto out_rank = static_cast<std::int64_t>(x.rank() + axes.size());
    std::vector<std::int64_t> sorted;
    for (auto a : axes) sorted.push_back(a < 0 ? a + out_rank : a);
    std::sort(sorted.begin(), sorted.end());
    for (auto a : sorted) r.shape.insert(r.shape.begin() + a, dim{1, {}});
    r.name = node("Unsqueeze", {x.name, constant_i64(axes).name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::select(const value& x, std::int64_t axis, std::int64_t index) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    value r = x;
    r.shape.erase(r.shape.begin() + ax);
    r.name = node("Gather", {x.name, scalar_i64(index)}, [&](onnx::NodeProto& n) { attr_i(n, "axis", ax); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::range(const value& x, std::int64_t axis) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    auto full = node("Shape", {x.name})[0];
    auto n = node("Gather", {full, scalar_i64(ax)}, [&](onnx::NodeProto& nd) { attr_i(nd, "axis", 0); })[0];
    value r{{}, dtype::i64, {x.shape[static_cast<std::size_t>(ax)]}};
    r.name = node("Range", {scalar_i64(0), n, scalar_i64(1)})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::gather(const value& table, const value& indices) -> value {
    value r{{}, table.type, indices.shape};
    r.shape.push_back(table.shape.back());
    if (quantize_ != quantization::none && table.type == dtype::f32 && table.rank() == 2 &&
        params_.contains(table.name)) {
        // an embedding table quantized per row, as quantize_dynamic quantizes Gather's data: the rows and
        // their scales gathered, the rows widened and scaled
        int8_rows_.insert(table.name);
        const auto axis0 = [](onnx::NodeProto& n) { attr_i(n, "axis", 0); };
        auto q = node("Gather", {table.name + ".rows.int8", indices.name}, axis0)[0];
        auto s = node("Gather", {table.name + ".rows.scale", indices.name}, axis0)[0];
        auto wide = node("Cast", {q}, [](onnx::NodeProto& n) { attr_i(n, "to", onnx_type(dtype::f32)); })[0];
        r.name = node("Mul", {wide, node("Unsqueeze", {s, constant_i64({-1}).name})[0]})[0];
        return r;
    }
    r.name = node("Gather", {table.name, indices.name}, [&](onnx::NodeProto& n) { attr_i(n, "axis", 0); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::matmul(const value& a, const value& b) -> value {
    if (quantize_ != quantization::none && a.type == dtype::f32 && b.rank() == 2 && params_.contains(b.name))
        return int8_matmul(a, b, false, nullptr);
    value r{{}, a.type, {}};
    std::vector<dim> ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
    r.shape = broadcast(ba, bb);
    r.shape.push_back(a.shape[a.rank() - 2]);
    r.shape.push_back(b.shape.back());
    r.name = node("MatMul", {a.name, b.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::int8_matmul(const value& x, const value& w, bool transposed, const value* bias) -> value {
    (transposed ? int8_transposed_ : int8_plain_).insert(w.name);
    const std::string base = w.name + (transposed ? ".T" : "");
    value r = x;
    r.shape.back() = transposed ? w.shape[0] : w.shape[1];
    std::vector<std::string> ins{x.name, base + ".int8", base + ".scale"};
    const bool fused_bias = bias && bias->rank() == 1 && bias->type == dtype::f32;
    if (fused_bias) ins.insert(ins.end(), {std::string(), bias->name});  // no zero point: symmetric
    r.name = node("DynamicQuantizeMatMul", ins, [](onnx::NodeProto& n) { n.set_domain("com.microsoft"); })[0];
    // a contrib op: ONNX's shape inference does not know it, the graph states its output
    write_value_info(graph()->add_value_info(), r);
    if (bias && !fused_bias) r = add(r, *bias);
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::linear(const value& x, const value& w, const value* bias) -> value {
    if (quantize_ != quantization::none && x.type == dtype::f32 && w.rank() == 2 && params_.contains(w.name))
        return int8_matmul(x, w, true, bias);
    std::string wt;
    if (auto it = params_.find(w.name); it != params_.end()) {
        wt = w.name + ".T";  // materialised transposed by finish()
        transposed_.insert(w.name);
    } else {
        wt = transpose(w, {1, 0}).name;
    }
    value r = x;
    r.shape.back() = w.shape[0];
    r.name = node("MatMul", {x.name, wt})[0];
    if (bias) r = add(r, *bias);
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::layer_norm(const value& x, const value& gamma, const value& beta, float eps) -> value {
    if (opset_ >= 17) {
        value r = x;
        r.name = node("LayerNormalization", {x.name, gamma.name, beta.name}, [&](onnx::NodeProto& n) {
            attr_i(n, "axis", -1);
            attr_f(n, "epsilon", eps);
        })[0];
        return r;
    }
    auto mean = reduce_mean_last(x);
    auto centered = sub(x, mean);
    auto var = reduce_mean_last(mul(centered, centered));
    auto normed = div(centered, unary("Sqrt", add(var, scalar(eps))));
    return add(mul(normed, gamma), beta);
}

TYPEFORMER_INLINE auto onnx_backend::rms_norm(const value& x, const value& scale, float eps) -> value {
    if (opset_ >= 23) {
        // stash_type 1: computed in float32
        value r = x;
        r.name = node("RMSNormalization", {x.name, scale.name}, [&](onnx::NodeProto& n) {
            attr_i(n, "axis", -1);
            attr_f(n, "epsilon", eps);
        })[0];
        return r;
    }
    auto var = unsqueeze(reduce_mean(mul(x, x), -1), {-1});
    return mul(div(x, sqrt(add(var, scalar(eps)))), scale);
}

TYPEFORMER_INLINE auto onnx_backend::softmax(const value& x) -> value {
    value r = x;
    r.name = node("Softmax", {x.name}, [&](onnx::NodeProto& n) { attr_i(n, "axis", -1); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::attention(const value& q, const value& k, const value& v, const value* bias, std::int64_t heads, float scale) -> value {
    if (opset_ >= 23) {
        value r = q;
        r.shape.back() = v.shape.back();
        const auto mask = bias ? attention_mask(*bias, q, 1) : value{};
        r.name = node("Attention", attention_inputs(q, k, v, bias ? &mask : nullptr),
                      [&](onnx::NodeProto& n) {
                          attr_i(n, "q_num_heads", heads);
                          attr_i(n, "kv_num_heads", heads);
                          attr_f(n, "scale", scale);
                      })[0];
        return r;
    }
    // a dynamic hidden size (-1) is inferred by Reshape
    const std::int64_t hd = q.shape[2].size, d = hd > 0 ? hd / heads : -1;
    auto split = [&](const value& x) { return reshape(x, {0, 0, heads, d}); };
    auto qh = transpose(split(q), {0, 2, 1, 3});  // [B, H, Sq, D]
    auto kt = transpose(split(k), {0, 2, 3, 1});  // [B, H, D, Sk]
    auto vh = transpose(split(v), {0, 2, 1, 3});  // [B, H, Sk, D]
    auto scores = mul(matmul(qh, kt), scalar(scale));
    if (bias) scores = add(scores, *bias);
    auto ctx = transpose(matmul(softmax(scores), vh), {0, 2, 1, 3});
    return reshape(ctx, {0, 0, hd > 0 ? hd : -1});
}

TYPEFORMER_INLINE auto onnx_backend::grouped_attention(const value& q, const value& k, const value& v, const value* bias, const attention_dims& a) -> value {
    // Attention-23 computes (q · kᵀ) · scale, softcap, plus attn_mask,
    // softmax, times v, a key/value head serving the H / KVH query heads
    // next to it (repeat_interleave), as the composition does. Composed
    // instead where ONNX Runtime 1.23's CPU kernel departs from that:
    //  - softcap: it caps the scores after adding the mask, so a masked
    //    score becomes -cap and keeps a share of the softmax (Gemma 2);
    //  - a bias with a head axis (ALiBi) under grouped-query heads: it reads
    //    the mask's head axis as the key/value heads' and refuses H of them.
    // The causal, windowed and padding masks come in the bias (is_causal is
    // not set: the bias already holds the past offset and the padding), and
    // the layer has concatenated the past keys and values (its present is
    // the cache either way), so past_key and past_value stay unused.
    const bool per_head = bias && bias->rank() == 4 && !(bias->shape[1].is_static() && bias->shape[1].size == 1);
    if (opset_ < 23 || a.softcap > 0.f || (per_head && a.heads != a.kv_heads))
        return decomposed::grouped_attention(*this, q, k, v, bias, a);
    value r = q;
    r.shape.back() = v.shape.back();
    const auto mask = bias ? attention_mask(*bias, q, 2) : value{};
    r.name = node("Attention", attention_inputs(q, k, v, bias ? &mask : nullptr),
                  [&](onnx::NodeProto& n) { attr_f(n, "scale", a.scale); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::attention_mask(const value& bias, const value& q, std::size_t seq_axis) -> value {
    // ONNX Runtime 1.23's CPU Attention does not broadcast a mask's batch or
    // query axis of size 1 (it reads past the mask): unless the bias is known
    // to have q's batch and query axes, expand it to them.
    auto same = [](const dim& a, const dim& b) { return a == b && (a.is_static() || !a.param.empty()); };
    if (bias.rank() == 4 && same(bias.shape[0], q.shape[0]) && same(bias.shape[2], q.shape[seq_axis])) return bias;
    const auto to = concat({shape(q, 0, 1), constant_i64({1}), shape(q, static_cast<std::int64_t>(seq_axis),
                                                                      static_cast<std::int64_t>(seq_axis) + 1),
                            constant_i64({1})},
                           0);
    value m = expand(bias, to);
    m.shape = {q.shape[0], bias.rank() == 4 ? bias.shape[1] : dim{}, q.shape[seq_axis],
               bias.rank() == 4 ? bias.shape[3] : dim{}};
    return m;
}

TYPEFORMER_INLINE auto onnx_backend::not_equal(const value& a, const value& b) -> value {
    value eq = binary("Equal", a, b);
    eq.type = dtype::boolean;
    return unary("Not", eq);
}

TYPEFORMER_INLINE auto onnx_backend::cumsum(const value& x, std::int64_t axis) -> value {
    value r = x;
    r.name = node("CumSum", {x.name, scalar_i64(axis)})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::reduce_mean(const value& x, std::int64_t axis) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    value r = x;
    r.shape.erase(r.shape.begin() + ax);
    if (opset_ >= 18) {
        r.name = node("ReduceMean", {x.name, constant_i64({ax}).name},
                      [&](onnx::NodeProto& n) { attr_i(n, "keepdims", 0); })[0];
    } else {
        r.name = node("ReduceMean", {x.name}, [&](onnx::NodeProto& n) {
            attr_ints(n, "axes", {ax});
            attr_i(n, "keepdims", 0);
        })[0];
    }
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::concat(const std::vector<value>& xs, std::int64_t axis) -> value {
    if (xs.empty()) throw error("export.concat", "concat of no tensors");
    const auto rank = xs.front().rank();
    const auto ax = static_cast<std::size_t>(axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis);
    value r{{}, xs.front().type, std::vector<dim>(rank)};
    std::vector<std::string> names;
    dim joined{0, {}};
    for (const auto& x : xs) {
        names.push_back(x.name);
        joined = joined.is_static() && x.shape[ax].is_static() ? dim{joined.size + x.shape[ax].size, {}} : dim{};
        // off the axis all inputs agree: keep the best known dim (static, else named)
        for (std::size_t d = 0; d < rank; ++d)
            if (d != ax && !r.shape[d].is_static() && (x.shape[d].is_static() || r.shape[d].param.empty()))
                r.shape[d] = x.shape[d];
    }
    r.shape[ax] = joined;
    r.name = node("Concat", names, [&](onnx::NodeProto& n) { attr_i(n, "axis", static_cast<std::int64_t>(ax)); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::slice(const value& x, std::int64_t axis, std::int64_t start, std::int64_t end) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    value r = x;
    auto& d = r.shape[static_cast<std::size_t>(ax)];
    if (d.is_static()) {
        const std::int64_t n = d.size;
        auto clamp = [n](std::int64_t i) { return std::clamp(i < 0 ? i + n : i, std::int64_t{0}, n); };
        d = dim{std::max(clamp(end), clamp(start)) - clamp(start), {}};
    } else {
        d = dim{};  // depends on the run-time size (clamping)
    }
    r.name = node("Slice", {x.name, constant_i64({start}).name, constant_i64({end}).name,
                            constant_i64({ax}).name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::slice_to(const value& x, std::int64_t axis, const value& end) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    value r = x;
    r.shape[static_cast<std::size_t>(ax)] = dim{};  // known at run time only
    r.name = node("Slice", {x.name, constant_i64({0}).name, end.name, constant_i64({ax}).name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::roll(const value& x, std::int64_t axis, const value& shift) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    const auto n = shape(x, ax, ax + 1);
    const auto k = node("Mod", {shift.name, n.name}, [](onnx::NodeProto& m) { attr_i(m, "fmod", 0); })[0];
    const auto start = node("Sub", {n.name, k})[0];
    const auto axes = constant_i64({ax}).name;
    const auto tail = node("Slice", {x.name, start, constant_i64({std::numeric_limits<std::int64_t>::max()}).name, axes})[0];
    const auto head = node("Slice", {x.name, constant_i64({0}).name, start, axes})[0];
    value r = x;
    r.name = node("Concat", {tail, head}, [&](onnx::NodeProto& m) { attr_i(m, "axis", ax); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::unfold(const value& x, std::int64_t kernel) -> value {
    const std::int64_t left = (kernel - 1) / 2, right = kernel - 1 - left;
    value padded = x;
    padded.shape[1] = dim{};
    padded.name = node("Pad", {x.name, constant_i64({0, left, 0, 0, right, 0}).name})[0];
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(kernel));
    for (std::int64_t j = 0; j < kernel; ++j) offsets[static_cast<std::size_t>(j)] = j;
    auto idx = add(unsqueeze(range(x, 1), {1}), unsqueeze(constant_i64(offsets), {0}));  // [S, K]
    value r{{}, x.type, {x.shape[0], x.shape[1], dim{kernel, {}}, x.shape[2]}};
    r.name = node("Gather", {padded.name, idx.name}, [](onnx::NodeProto& n) { attr_i(n, "axis", 1); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::rotary(const value& x, const value& sin, const value& cos, const rotary_layout& l) -> value {
    if (opset_ < 23) {
        value r = decomposed::rotary(*this, x, sin, cos, l);
        r.shape = x.shape;
        return r;
    }
    // Without position_ids, RotaryEmbedding reads the tables as [B, S, R/2]:
    // tables of the sequence only ([S, R/2]), or whose batch axis is not
    // known to be x's, are expanded to x's batch and sequence.
    const bool per_row = sin.rank() == 3 && sin.shape[0] == x.shape[0] &&
                         (sin.shape[0].is_static() || !sin.shape[0].param.empty());
    auto table = [&](const value& t) {
        if (per_row) return t;
        auto to = concat({shape(x, 0, 2), constant_i64({l.dims / 2})}, 0);
        value e = expand(t.rank() == 2 ? unsqueeze(t, {0}) : t, to);
        e.shape = {x.shape[0], x.shape[1], dim{l.dims / 2, {}}};
        return e;
    };
    const auto c = table(cos), s = table(sin);
    value r = x;
    r.name = node("RotaryEmbedding", {x.name, c.name, s.name}, [&](onnx::NodeProto& n) {
        attr_i(n, "interleaved", l.interleaved ? 1 : 0);
        attr_i(n, "num_heads", l.heads);
        attr_i(n, "rotary_embedding_dim", l.dims);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::gather_last(const value& x, const value& idx) -> value {
    const auto r = static_cast<std::int64_t>(x.rank()), k = static_cast<std::int64_t>(idx.rank());
    auto u = idx;
    if (k < r) {
        std::vector<std::int64_t> lead(static_cast<std::size_t>(r - k));
        for (std::int64_t a = 0; a < r - k; ++a) lead[static_cast<std::size_t>(a)] = a;
        u = unsqueeze(idx, lead);
    }
    std::vector<std::int64_t> keep(static_cast<std::size_t>(r), 1), one(static_cast<std::size_t>(r), 0);
    keep.back() = 0;
    one.back() = 1;
    auto full = node("Shape", {x.name})[0];
    auto target = node("Add", {node("Mul", {full, constant_i64(keep).name})[0], constant_i64(one).name})[0];
    auto expanded = node("Expand", {u.name, target})[0];
    value out{{}, x.type, {x.shape.begin(), x.shape.end() - 1}};
    out.shape.push_back(idx.shape.back());
    out.name = node("GatherElements", {x.name, expanded}, [&](onnx::NodeProto& n) { attr_i(n, "axis", r - 1); })[0];
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::clip(const value& x, std::int64_t lo, std::int64_t hi) -> value {
    const bool f = x.type == dtype::f32;
    const std::string l = f ? scalar(static_cast<float>(lo)).name : scalar_i64(lo);
    const std::string h = f ? scalar(static_cast<float>(hi)).name : scalar_i64(hi);
    value out = x;
    out.name = node("Clip", {x.name, l, h})[0];
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::clamp(const value& x, float lo, float hi) -> value {
    const std::string l = scalar(lo).name, h = scalar(hi).name;
    value out = x;
    out.name = node("Clip", {x.name, l, h})[0];
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::conv1d(const value& x, const value& w, const value* bias, std::int64_t pad, std::int64_t groups) -> value {
    const std::int64_t k = w.shape[2].size;
    std::vector<std::string> ins{x.name, w.name};
    if (bias) ins.push_back(bias->name);
    value out{{}, x.type, {x.shape[0], w.shape[0], dim{}}};
    if (k == 2 * pad + 1) out.shape[2] = x.shape[2];
    else if (x.shape[2].is_static()) out.shape[2] = dim{x.shape[2].size + 2 * pad - k + 1, {}};
    out.name = node("Conv", ins, [&](onnx::NodeProto& n) {
        if (k > 0) attr_ints(n, "kernel_shape", {k});  // else taken from the weight
        attr_ints(n, "pads", {pad, pad});
        attr_ints(n, "strides", {1});
        attr_i(n, "group", groups);
    })[0];
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::gated_delta_rule(const value& q, const value& k, const value& v,
                                                      const value& g, const value& beta, const value& state)
    -> value {
    if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4 || g.rank() != 3 || beta.rank() != 3 || state.rank() != 4)
        throw error("export.gated_delta_rule", "gated_delta_rule expects q, k [B, H, S, Dk], v [B, H, S, Dv], "
                                               "g, beta [B, H, S] and state [B, H, Dk, Dv]");
    // the step's graph: its names carry the Scan node's, unique in the model
    std::string base = path_.slashed() + "/GatedDeltaRule";
    if (const auto count = name_counts_[base]++; count > 0) base += "_" + std::to_string(count);
    onnx::GraphProto body;
    body.set_name(base + "/step");
    const auto local = [&](std::string_view n) { return base + "/step/" + std::string(n); };
    const auto unknown = [](std::size_t rank) { return std::vector<dim>(rank, dim{}); };
    const auto body_io = [&](onnx::ValueInfoProto* vi, std::string_view n, std::size_t rank) {
        write_value_info(vi, value{local(n), dtype::f32, unknown(rank)});
    };
    body_io(body.add_input(), "state_in", 4);
    body_io(body.add_input(), "q", 3);
    body_io(body.add_input(), "k", 3);
    body_io(body.add_input(), "v", 3);
    body_io(body.add_input(), "g", 2);
    body_io(body.add_input(), "beta", 2);
    const auto step = [&](std::string_view op, std::vector<std::string> ins, std::string_view out) {
        auto* n = body.add_node();
        n->set_name(local(out) + "/" + std::string(op));
        n->set_op_type(std::string(op));
        for (auto& i : ins) n->add_input(local(i));
        n->add_output(local(out));
    };
    const auto axes = [&](std::string_view out, std::vector<std::int64_t> a) {
        auto* n = body.add_node();
        n->set_name(local(out) + "/Constant");
        n->set_op_type("Constant");
        n->add_output(local(out));
        auto* at = n->add_attribute();
        at->set_name("value");
        at->set_type(onnx::AttributeProto::TENSOR);
        auto* t = at->mutable_t();
        t->set_data_type(onnx_type(dtype::i64));
        t->add_dims(static_cast<std::int64_t>(a.size()));
        for (auto x : a) t->add_int64_data(x);
    };
    axes("axis_2", {2});
    axes("axis_3", {3});
    axes("axes_2_3", {2, 3});
    step("Exp", {"g"}, "decay");
    step("Unsqueeze", {"decay", "axes_2_3"}, "decay_4d");
    step("Mul", {"state_in", "decay_4d"}, "decayed");            // [B, H, Dk, Dv]
    step("Unsqueeze", {"k", "axis_2"}, "k_row");                 // [B, H, 1, Dk]
    step("MatMul", {"k_row", "decayed"}, "memory_row");          // [B, H, 1, Dv]
    step("Squeeze", {"memory_row", "axis_2"}, "memory");         // [B, H, Dv]
    step("Sub", {"v", "memory"}, "error");
    step("Unsqueeze", {"beta", "axis_2"}, "beta_col");           // [B, H, 1]
    step("Mul", {"error", "beta_col"}, "delta");                 // [B, H, Dv]
    step("Unsqueeze", {"k", "axis_3"}, "k_col");                 // [B, H, Dk, 1]
    step("Unsqueeze", {"delta", "axis_2"}, "delta_row");         // [B, H, 1, Dv]
    step("Mul", {"k_col", "delta_row"}, "update");               // [B, H, Dk, Dv]
    step("Add", {"decayed", "update"}, "state_out");
    step("Unsqueeze", {"q", "axis_2"}, "q_row");                 // [B, H, 1, Dk]
    step("MatMul", {"q_row", "state_out"}, "out_row");           // [B, H, 1, Dv]
    step("Squeeze", {"out_row", "axis_2"}, "out");               // [B, H, Dv]
    body_io(body.add_output(), "state_out", 4);
    body_io(body.add_output(), "out", 3);

    auto* n = graph()->add_node();
    n->set_name(base);
    n->set_op_type("Scan");
    for (const auto* x : {&state, &q, &k, &v, &g, &beta}) n->add_input(x->name);
    const std::string final_state = base + "_state", outputs = base + "_outputs";
    n->add_output(final_state);
    n->add_output(outputs);
    attr_i(*n, "num_scan_inputs", 5);
    attr_ints(*n, "scan_input_axes", {2, 2, 2, 2, 2});
    attr_ints(*n, "scan_output_axes", {2});
    auto* at = n->add_attribute();
    at->set_name("body");
    at->set_type(onnx::AttributeProto::GRAPH);
    *at->mutable_g() = std::move(body);

    value r{{}, dtype::f32, {q.shape[0], q.shape[1], dim{}, v.shape[3]}};
    if (q.shape[2].is_static() && q.shape[3].is_static()) r.shape[2] = dim{q.shape[2].size + q.shape[3].size, {}};
    r.name = node("Concat", {outputs, final_state}, [&](onnx::NodeProto& c) { attr_i(c, "axis", 2); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::argmax(const value& x, std::int64_t axis) -> value {
    const auto ax = axis < 0 ? axis + static_cast<std::int64_t>(x.rank()) : axis;
    value r{{}, dtype::i64, x.shape};
    r.shape.erase(r.shape.begin() + ax);
    r.name = node("ArgMax", {x.name}, [&](onnx::NodeProto& n) {
        attr_i(n, "axis", ax);
        attr_i(n, "keepdims", 0);
        attr_i(n, "select_last_index", 0);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::constant_f32(std::vector<float> v) -> value {
    onnx::TensorProto t;
    t.set_data_type(onnx_type(dtype::f32));
    t.add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) t.add_float_data(x);
    return constant(std::move(t), {dim{static_cast<std::int64_t>(v.size()), {}}});
}

TYPEFORMER_INLINE auto onnx_backend::sin(const value& x) -> value { return unary("Sin", x); }

TYPEFORMER_INLINE auto onnx_backend::cos(const value& x) -> value { return unary("Cos", x); }

TYPEFORMER_INLINE auto onnx_backend::sqrt(const value& x) -> value { return unary("Sqrt", x); }
TYPEFORMER_INLINE auto onnx_backend::log(const value& x) -> value { return unary("Log", x); }

TYPEFORMER_INLINE auto onnx_backend::conv2d(const value& x, const value& w, const value* bias, hw strides, pads2d pads, hw dilations, std::int64_t groups) -> value {
    if (x.rank() != 4 || w.rank() != 4) throw error("export.conv2d", "conv2d expects x [N, C, H, W] and w [M, C/groups, kH, kW]");
    const std::int64_t kh = w.shape[2].size, kw = w.shape[3].size;  // -1 when not static
    std::vector<std::string> ins{x.name, w.name};
    if (bias) ins.push_back(bias->name);
    value out{{}, x.type,
              {x.shape[0], w.shape[0], window_dim(x.shape[2], kh, strides.h, pads.top, pads.bottom, dilations.h, false),
               window_dim(x.shape[3], kw, strides.w, pads.left, pads.right, dilations.w, false)}};
    out.name = node("Conv", ins, [&](onnx::NodeProto& n) {
        if (kh > 0 && kw > 0) attr_ints(n, "kernel_shape", {kh, kw});
        attr_ints(n, "strides", {strides.h, strides.w});
        attr_ints(n, "pads", {pads.top, pads.left, pads.bottom, pads.right});
        attr_ints(n, "dilations", {dilations.h, dilations.w});
        attr_i(n, "group", groups);
    })[0];
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::batch_norm(const value& x, const value& scale, const value& bias, const value& mean, const value& var, float eps) -> value {
    // BatchNormalization-9 (opset 13), -14 and -15 (opsets 14 to 23) all take
    // this spelling: five inputs, epsilon, the one output Y. spatial is gone
    // since 9; training_mode (14) defaults to 0, where the running mean and
    // var are inputs only and the extra outputs must be absent; 15 only lets
    // scale/bias and mean/var differ in type.
    value r = x;
    r.name = node("BatchNormalization", {x.name, scale.name, bias.name, mean.name, var.name},
                  [&](onnx::NodeProto& n) { attr_f(n, "epsilon", eps); })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::pool_node(const char* op, const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode, bool count_include_pad) -> value {
    if (x.rank() != 4) throw error("export.pool", std::string(op) + " expects x [N, C, H, W]");
    if (kernel.h < 1 || kernel.w < 1 || strides.h < 1 || strides.w < 1 || pads.top < 0 || pads.left < 0 ||
        pads.bottom < 0 || pads.right < 0 || pads.top >= kernel.h || pads.bottom >= kernel.h ||
        pads.left >= kernel.w || pads.right >= kernel.w)
        throw error("export.pool", std::string(op) + ": kernel and strides must be positive, pads in [0, kernel)");
    value r{{}, x.type,
            {x.shape[0], x.shape[1], window_dim(x.shape[2], kernel.h, strides.h, pads.top, pads.bottom, 1, ceil_mode),
             window_dim(x.shape[3], kernel.w, strides.w, pads.left, pads.right, 1, ceil_mode)}};
    // ceil_mode is spelled as floor mode over extra end padding (core/spatial.hpp),
    // which gives torch's window count whatever a runtime's ceil_mode rounds
    const std::int64_t eh = ceil_mode ? ceil_mode_extra_pad(kernel.h, strides.h, pads.bottom) : 0;
    const std::int64_t ew = ceil_mode ? ceil_mode_extra_pad(kernel.w, strides.w, pads.right) : 0;
    std::string in = x.name;
    std::vector<std::int64_t> onnx_pads{pads.top, pads.left, pads.bottom + eh, pads.right + ew};
    std::int64_t include = count_include_pad ? 1 : 0;
    if (count_include_pad && (eh > 0 || ew > 0)) {
        // torch divides by the window clipped to the padded input, where
        // AveragePool would count the extra positions too: pad with zeros
        // first, then average over what the window holds of the padded input
        in = node("Pad", {x.name, constant_i64({0, 0, pads.top, pads.left, 0, 0, pads.bottom, pads.right}).name})[0];
        onnx_pads = {0, 0, eh, ew};
        include = 0;
    }
    const bool average = std::string_view(op) == "AveragePool";
    r.name = node(op, {in}, [&](onnx::NodeProto& n) {
        attr_ints(n, "kernel_shape", {kernel.h, kernel.w});
        attr_ints(n, "strides", {strides.h, strides.w});
        attr_ints(n, "pads", onnx_pads);
        if (average) attr_i(n, "count_include_pad", include);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::max_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool ceil_mode) -> value {
    return pool_node("MaxPool", x, kernel, strides, pads, ceil_mode, false);
}

TYPEFORMER_INLINE auto onnx_backend::avg_pool2d(const value& x, hw kernel, hw strides, pads2d pads, bool count_include_pad, bool ceil_mode) -> value {
    return pool_node("AveragePool", x, kernel, strides, pads, ceil_mode, count_include_pad);
}

TYPEFORMER_INLINE auto onnx_backend::global_avg_pool(const value& x) -> value {
    if (x.rank() != 4) throw error("export.global_avg_pool", "global_avg_pool expects x [N, C, H, W]");
    value r{{}, x.type, {x.shape[0], x.shape[1], dim{1, {}}, dim{1, {}}}};
    r.name = node("GlobalAveragePool", {x.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::resize(const value& x, std::int64_t out_h, std::int64_t out_w, resize_mode mode, bool align_corners) -> value {
    if (out_h < 1 || out_w < 1)
        throw error("export.resize", "resize to " + std::to_string(out_h) + "x" + std::to_string(out_w) + ": sizes must be positive");
    value r = mode == resize_mode::nearest ? nearest_node(x, scalar_i64(out_h), scalar_i64(out_w), align_corners)
                                           : resize_node(x, constant_i64({out_h, out_w}), mode, align_corners);
    r.shape[2] = dim{out_h, {}};
    r.shape[3] = dim{out_w, {}};
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::resize_to(const value& x, const value& size, resize_mode mode, bool align_corners) -> value {
    if (size.type != dtype::i64 || size.rank() != 1 || (size.shape[0].is_static() && size.shape[0].size != 2))
        throw error("export.resize", "resize_to expects the size as int64 [2] (height, width)");
    if (mode != resize_mode::nearest) return resize_node(x, size, mode, align_corners);
    auto pick = [&](std::int64_t k) {
        return node("Gather", {size.name, scalar_i64(k)}, [](onnx::NodeProto& n) { attr_i(n, "axis", 0); })[0];
    };
    return nearest_node(x, pick(0), pick(1), align_corners);
}

TYPEFORMER_INLINE auto onnx_backend::hardsigmoid(const value& x) -> value {
    value r = x;
    r.name = node("HardSigmoid", {x.name}, [&](onnx::NodeProto& n) {
        attr_f(n, "alpha", 1.f / 6.f);
        attr_f(n, "beta", 0.5f);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::hardswish(const value& x) -> value {
    if (opset_ >= 14) return unary("HardSwish", x);
    return mul(x, hardsigmoid(x));
}

TYPEFORMER_INLINE auto onnx_backend::expand(const value& x, const value& shape) -> value {
    if (shape.shape.size() != 1 || !shape.shape[0].is_static())
        throw error("export.expand", "expand: the shape must be a 1-D int64 tensor of known length");
    const auto rank = std::max(x.rank(), static_cast<std::size_t>(shape.shape[0].size));
    value r{{}, x.type, std::vector<dim>(rank, dim{})};
    for (std::size_t d = 0; d < x.rank(); ++d) {
        const auto& xd = x.shape[d];
        if (xd.is_static() && xd.size != 1) r.shape[d + rank - x.rank()] = xd;
    }
    r.name = node("Expand", {x.name, shape.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::reduce_l2(const value& x, const std::vector<std::int64_t>& axes) -> value {
    const auto rank = static_cast<std::int64_t>(x.rank());
    std::vector<std::int64_t> norm;
    value r = x;
    for (auto a : axes) {
        const auto ax = a < 0 ? a + rank : a;
        if (ax < 0 || ax >= rank) throw error("export.reduce_l2", "reduce_l2: axis " + std::to_string(a) + " out of range");
        norm.push_back(ax);
        r.shape[static_cast<std::size_t>(ax)] = dim{1, {}};
    }
    if (opset_ >= 18) {
        r.name = node("ReduceL2", {x.name, constant_i64(norm).name}, [&](onnx::NodeProto& n) { attr_i(n, "keepdims", 1); })[0];
    } else {
        r.name = node("ReduceL2", {x.name}, [&](onnx::NodeProto& n) {
            attr_ints(n, "axes", norm);
            attr_i(n, "keepdims", 1);
        })[0];
    }
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::resize_node(const value& x, const value& hw_size, resize_mode mode, bool align_corners) -> value {
    if (x.rank() != 4) throw error("export.resize", "resize expects x [N, C, H, W]");
    // sizes of all four axes: N and C as they are, then the target
    auto sizes = concat({shape(x, 0, 2), hw_size}, 0);
    value r{{}, x.type, {x.shape[0], x.shape[1], dim{}, dim{}}};
    // Resize-13, -18 and -19 (opsets 13 to 23): roi and scales are optional, left empty when
    // sizes is given; 18's antialias, axes and keep_aspect_ratio_policy keep their defaults.
    // torch's source coordinate is (dst + 0.5) · in / out - 0.5 at every output size (at size 1
    // too, where pytorch_half_pixel would take 0): half_pixel; or dst · (in - 1) / (out - 1)
    // (0 at size 1): align_corners. Bicubic: A = -0.75, border pixels replicated (exclude_outside 0).
    r.name = node("Resize", {x.name, "", "", sizes.name}, [&](onnx::NodeProto& n) {
        attr_s(n, "mode", mode == resize_mode::bilinear ? "linear" : "cubic");
        attr_s(n, "coordinate_transformation_mode", align_corners ? "align_corners" : "half_pixel");
        if (mode == resize_mode::bicubic) attr_f(n, "cubic_coeff_a", -0.75f);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::nearest_node(const value& x, const std::string& out_h, const std::string& out_w, bool align_corners) -> value {
    if (x.rank() != 4) throw error("export.resize", "resize expects x [N, C, H, W]");
    if (align_corners)
        throw error("export.resize", "resize: align_corners applies to bilinear and bicubic only (torch refuses it for nearest)");
    // torch's legacy nearest, src = min(floor(dst · (float(in) / out)), in - 1),
    // in the same float operations, then a Gather. Resize (asymmetric, floor)
    // divides dst by out / in instead, which can land below an integer where
    // torch lands on it (14 to 2: 1 / float(2 / 14) = 6.9999995, where 1 · 7 = 7).
    auto axis = [&](const std::string& cur, std::int64_t ax, const std::string& out) {
        auto full = node("Shape", {x.name})[0];
        auto in = node("Gather", {full, scalar_i64(ax)}, [](onnx::NodeProto& n) { attr_i(n, "axis", 0); })[0];
        auto to_f = [&](const std::string& v) {
            return node("Cast", {v}, [](onnx::NodeProto& n) { attr_i(n, "to", onnx_type(dtype::f32)); })[0];
        };
        auto scale = node("Div", {to_f(in), to_f(out)})[0];
        auto dst = to_f(node("Range", {scalar_i64(0), out, scalar_i64(1)})[0]);
        auto src = node("Cast", {node("Floor", {node("Mul", {dst, scale})[0]})[0]},
                        [](onnx::NodeProto& n) { attr_i(n, "to", onnx_type(dtype::i64)); })[0];
        auto last = node("Sub", {in, scalar_i64(1)})[0];
        auto idx = node("Min", {src, last})[0];
        return node("Gather", {cur, idx}, [ax](onnx::NodeProto& n) { attr_i(n, "axis", ax); })[0];
    };
    value r{{}, x.type, {x.shape[0], x.shape[1], dim{}, dim{}}};
    r.name = axis(axis(x.name, 2, out_h), 3, out_w);
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::initializers() -> std::vector<initializer_source> {
    std::set<std::string> used;
    for (const auto& n : graph()->node())
        for (const auto& in : n.input()) used.insert(in);
    std::vector<initializer_source> out;
    for (const auto& [name, info] : params_) {
        const bool plain = used.contains(name), flipped = transposed_.contains(name) && used.contains(name + ".T");
        if (plain && flipped && !transposes_.contains(name)) {
            transposes_.insert(name);
            auto* g = graph();
            auto* n = g->add_node();
            n->set_name("/" + name + "/Transpose");
            n->set_op_type("Transpose");
            n->add_input(name);
            n->add_output(name + ".T");
            auto* a = n->add_attribute();
            a->set_name("perm");
            a->set_type(onnx::AttributeProto::INTS);
            a->add_ints(1);
            a->add_ints(0);
            for (int k = g->node_size() - 1; k > 0; --k) g->mutable_node()->SwapElements(k, k - 1);  // first
        }
        if (plain) out.push_back({name, info.shape, info.view, false});
        if (flipped && !transposes_.contains(name))
            out.push_back({name + ".T", {info.shape[1], info.shape[0]}, info.view, true});
        // quantized uses: the int8 values [in, out] and the scales [out] of each
        for (const bool t : {true, false}) {
            const std::string base = name + (t ? ".T" : "");
            if (!(t ? int8_transposed_ : int8_plain_).contains(name) || !used.contains(base + ".int8")) continue;
            const std::int64_t in = info.shape[t ? 1 : 0], cols = info.shape[t ? 0 : 1];
            out.push_back({base + ".int8", {in, cols}, info.view, t, dtype::i8, int8_part::values});
            out.push_back({base + ".scale", {cols}, info.view, t, dtype::f32, int8_part::scales});
        }
        if (int8_rows_.contains(name) && used.contains(name + ".rows.int8")) {  // an embedding table's
            out.push_back({name + ".rows.int8", info.shape, info.view, false, dtype::i8, int8_part::values, true});
            out.push_back({name + ".rows.scale", {info.shape[0]}, info.view, false, dtype::f32, int8_part::scales, true});
        }
    }
    return out;
}

TYPEFORMER_INLINE auto onnx_backend::finish() -> void { add_initializers(*graph(), initializers()); }

TYPEFORMER_INLINE auto onnx_backend::attr_i(onnx::NodeProto& n, const char* name, std::int64_t v) -> void {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}

TYPEFORMER_INLINE auto onnx_backend::attr_f(onnx::NodeProto& n, const char* name, float v) -> void {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
}

TYPEFORMER_INLINE auto onnx_backend::attr_ints(onnx::NodeProto& n, const char* name, const std::vector<std::int64_t>& v) -> void {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
}

TYPEFORMER_INLINE auto onnx_backend::attr_s(onnx::NodeProto& n, const char* name, const char* v) -> void {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
}

TYPEFORMER_INLINE auto onnx_backend::window_dim(const dim& in, std::int64_t kernel, std::int64_t stride, std::int64_t pad_begin, std::int64_t pad_end, std::int64_t dilation, bool ceil_mode) -> dim {
    if (kernel < 1) return dim{};  // the kernel is known only at run time
    if (in.is_static()) return dim{window_output_size(in.size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode), {}};
    if (stride == 1 && pad_begin + pad_end == dilation * (kernel - 1)) return in;
    return dim{};
}

TYPEFORMER_INLINE auto onnx_backend::constant(onnx::TensorProto t, std::vector<dim> shape, dtype type) -> value {
    value r{{}, type, std::move(shape)};
    r.name = node("Constant", {}, [&](onnx::NodeProto& n) {
        auto* a = n.add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        *a->mutable_t() = std::move(t);
    })[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::scalar_i64(std::int64_t x) -> std::string {
    onnx::TensorProto t;
    t.set_data_type(onnx_type(dtype::i64));
    t.add_int64_data(x);
    return constant(std::move(t), {}, dtype::i64).name;
}

TYPEFORMER_INLINE auto onnx_backend::broadcast(std::vector<dim> a, std::vector<dim> b) -> std::vector<dim> {
    if (a.size() < b.size()) std::swap(a, b);
    b.insert(b.begin(), a.size() - b.size(), dim{1, {}});
    std::vector<dim> r(a.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].size == 1) r[k] = b[k];
        else if (b[k].size == 1) r[k] = a[k];
        else if (a[k].is_static()) r[k] = a[k];
        else if (b[k].is_static()) r[k] = b[k];
        else if (a[k] == b[k]) r[k] = a[k];
        else r[k] = dim{};  // two different dynamic dims: either may be 1 at run time
    }
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::binary(const char* op, const value& a, const value& b) -> value {
    value r{{}, a.type, broadcast(a.shape, b.shape)};
    r.name = node(op, {a.name, b.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::unary(const char* op, const value& x) -> value {
    value r = x;
    r.name = node(op, {x.name})[0];
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::reduce_mean_last(const value& x) -> value {
    value r = x;
    r.shape.back() = dim{1, {}};
    if (opset_ >= 18) {
        r.name = node("ReduceMean", {x.name, constant_i64({-1}).name})[0];
    } else {
        r.name = node("ReduceMean", {x.name}, [&](onnx::NodeProto& n) {
            attr_ints(n, "axes", {-1});
            attr_i(n, "keepdims", 1);
        })[0];
    }
    return r;
}

TYPEFORMER_INLINE auto onnx_backend::write_value_info(onnx::ValueInfoProto* vi, const value& v) -> void {
    vi->set_name(v.name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_type(v.type));
    auto* sh = tt->mutable_shape();
    for (const auto& d : v.shape) {
        auto* dd = sh->add_dim();
        if (!d.param.empty()) dd->set_dim_param(d.param);
        else if (d.is_static()) dd->set_dim_value(d.size);
    }
}
#endif  // TYPEFORMER_DEFINITIONS

}  // namespace typeformer::inline v0
