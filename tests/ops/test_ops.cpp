// tests/ops/test_ops.cpp: the op conformance suite (as ggml's test-backend-ops).
//
// Every op of the vocabulary (ops/vocabulary.hpp) is a small case written
// once, as a generic lambda over a backend: `[](auto& b, const auto& x) {
// return b.gelu(x); }`. The lambda is interpreted twice:
//  - by the eval backend, on random (seeded) inputs: the reference;
//  - by the ONNX backend, at every supported opset, with every graph input on
//    named dynamic axes. The emitted graph must pass the ONNX checker with full
//    shape inference; ONNX Runtime then runs that one graph at 2-3 shapes
//    (batch 1 and sequence 1 included, odd sizes) and its result must match
//    the reference within the case's error bound, with the same shape and
//    element type. The symbolic shape the ONNX backend tracked for the result
//    is checked too: a static dim must equal the run's, a named dim must equal
//    the size of the graph input axis of that name.
//
// A test is named <op>_<variant>_opset<N>; a failure names the shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "typeformer/export/export.hpp"
#include "typeformer/ops/vocabulary.hpp"

namespace tf = typeformer;

namespace {

static_assert(tf::Backend<tf::eval_backend>, "the eval backend must model the op vocabulary");
static_assert(tf::Backend<tf::onnx_backend>, "the ONNX backend must model the op vocabulary");

using shape_t = std::vector<std::size_t>;
using rng_t = std::mt19937;

// -- input generators ----------------------------------------------------------
using generator = std::function<tf::eval_value(const shape_t&, rng_t&)>;

/// Realistic activations: normal(0, stddev).
generator normal(float stddev = 1.f) {
    return [stddev](const shape_t& s, rng_t& rng) {
        std::normal_distribution<float> d(0.f, stddev);
        xt::xarray<float> a = xt::zeros<float>(s);
        for (auto& v : a) v = d(rng);
        return tf::eval_value(std::move(a));
    };
}
/// int64 uniform in [lo, hi).
generator ints(std::int64_t lo, std::int64_t hi) {
    return [lo, hi](const shape_t& s, rng_t& rng) {
        std::uniform_int_distribution<std::int64_t> d(lo, hi - 1);
        xt::xarray<std::int64_t> a = xt::zeros<std::int64_t>(s);
        for (auto& v : a) v = d(rng);
        return tf::eval_value(std::move(a));
    };
}
/// float32 holding integers uniform in [lo, hi) (exact in both backends' casts).
generator int_floats(std::int64_t lo, std::int64_t hi) {
    return [lo, hi](const shape_t& s, rng_t& rng) {
        std::uniform_int_distribution<std::int64_t> d(lo, hi - 1);
        xt::xarray<float> a = xt::zeros<float>(s);
        for (auto& v : a) v = static_cast<float>(d(rng));
        return tf::eval_value(std::move(a));
    };
}
/// float32 uniform in [lo, hi) (a BatchNorm's running variance).
generator uniform(float lo, float hi) {
    return [lo, hi](const shape_t& s, rng_t& rng) {
        std::uniform_real_distribution<float> d(lo, hi);
        xt::xarray<float> a = xt::zeros<float>(s);
        for (auto& v : a) v = d(rng);
        return tf::eval_value(std::move(a));
    };
}
/// normal(0, 1) with about a quarter of the values exactly 0 (casts to boolean).
generator normal_with_zeros() {
    return [](const shape_t& s, rng_t& rng) {
        std::normal_distribution<float> d(0.f, 1.f);
        std::uniform_int_distribution<int> z(0, 3);
        xt::xarray<float> a = xt::zeros<float>(s);
        for (auto& v : a) v = z(rng) == 0 ? 0.f : d(rng);
        return tf::eval_value(std::move(a));
    };
}
/// A padding mask as an additive bias [B, 1, 1, Sk]: 0 where attended,
/// the lowest float (torch.finfo(float32).min) where padded; row b pads its
/// last b % Sk keys, so no row is fully masked and batch rows differ.
generator padding_bias() {
    return [](const shape_t& s, rng_t&) {
        xt::xarray<float> a = xt::zeros<float>(s);
        const std::size_t batch = s[0], keys = s[3];
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t j = 0; j < keys; ++j)
                if (j >= keys - b % keys) a(b, 0, 0, j) = std::numeric_limits<float>::lowest();
        return tf::eval_value(std::move(a));
    };
}
/// A causal mask as an additive bias [B, 1, S, S]: key j > query i is masked.
generator causal_bias() {
    return [](const shape_t& s, rng_t&) {
        xt::xarray<float> a = xt::zeros<float>(s);
        for (std::size_t b = 0; b < s[0]; ++b)
            for (std::size_t i = 0; i < s[2]; ++i)
                for (std::size_t j = i + 1; j < s[3]; ++j) a(b, 0, i, j) = std::numeric_limits<float>::lowest();
        return tf::eval_value(std::move(a));
    };
}

/// Activations that ONNX Runtime's dynamic quantization (DynamicQuantizeLinear:
/// uint8, scale (max(x, 0) - min(x, 0)) / 255, per tensor) represents
/// exactly: integers in [0, 64], the first 255 (scale 1, zero point 0) and
/// the second 0. A quantized product is then exact in integers, and each
/// pair of adjacent terms stays within int16 (255 · 127 + 0, 2 · 64 · 127),
/// so no CPU's u8s8 kernel saturates.
generator exact_uint8() {
    return [](const shape_t& s, rng_t& rng) {
        std::uniform_int_distribution<int> d(0, 64);
        xt::xarray<float> a = xt::zeros<float>(s);
        for (auto& v : a) v = static_cast<float>(d(rng));
        if (a.size() > 0) a.data()[0] = 255.f;
        if (a.size() > 1) a.data()[1] = 0.f;
        return tf::eval_value(std::move(a));
    };
}

/// A decoder's bias [B, Hb, S, T] for S new queries after T - S cached
/// keys: key j is masked for query i past i + T - S (causal) and below
/// b % (T - S + 1) (row b left-padded), never a whole row; with Hb > 1 a
/// per-head normal(0, 2) term where attended (an ALiBi-like bias).
generator decoder_bias() {
    return [](const shape_t& s, rng_t& rng) {
        std::normal_distribution<float> d(0.f, 2.f);
        xt::xarray<float> a = xt::zeros<float>(s);
        const std::size_t S = s[2], T = s[3], past = T - S;
        for (std::size_t b = 0; b < s[0]; ++b)
            for (std::size_t h = 0; h < s[1]; ++h)
                for (std::size_t i = 0; i < S; ++i)
                    for (std::size_t j = 0; j < T; ++j)
                        a(b, h, i, j) = j > i + past || j < b % (past + 1) ? std::numeric_limits<float>::lowest()
                                        : s[1] > 1                          ? d(rng)
                                                                            : 0.f;
        return tf::eval_value(std::move(a));
    };
}

struct input_spec {
    std::string name;
    tf::dtype type;
    generator gen;
};
input_spec f32(std::string name, generator g = normal()) { return {std::move(name), tf::dtype::f32, std::move(g)}; }
input_spec i64(std::string name, generator g) { return {std::move(name), tf::dtype::i64, std::move(g)}; }

/// The error bound: |onnx - eval| <= atol + rtol · max|eval|.
struct bound {
    double atol = 1e-6;
    double rtol = 0;
};

// -- the number of values a case's lambda takes -----------------------------------
template <class F, class B, std::size_t... I>
constexpr bool invocable_with(std::index_sequence<I...>) {
    return std::is_invocable_v<F&, B&, decltype((void)I, std::declval<const typename B::value&>())...>;
}
template <class F, class B, std::size_t N = 0>
constexpr std::size_t arity() {
    static_assert(N <= 6, "a case lambda must be (auto& b, const auto&... inputs) with at most 6 inputs");
    if constexpr (invocable_with<F, B>(std::make_index_sequence<N>{})) return N;
    else return arity<F, B, N + 1>();
}
template <std::size_t N, class F, class B>
typename B::value call(F& f, B& b, const std::vector<typename B::value>& v) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) { return f(b, v[I]...); }(std::make_index_sequence<N>{});
}

// -- a case ---------------------------------------------------------------------
struct op_case {
    std::string op;       // the vocabulary member it tests
    std::string variant;  // what about it
    std::vector<input_spec> inputs;
    std::vector<std::vector<shape_t>> shapes;  // each run: one shape per input
    bound tol;
    bool weights = false;  // the backends read the test checkpoint
    bool int8 = false;     // --quantize int8: the ONNX backend quantizes, the reference dequantizes
    std::function<tf::eval_value(tf::eval_backend&, const std::vector<tf::eval_value>&)> eval;
    std::function<tf::onnx_value(tf::onnx_backend&, const std::vector<tf::onnx_value>&)> emit;

    op_case(std::string o, std::string v) : op(std::move(o)), variant(std::move(v)) {}
    op_case&& in(input_spec s) && {
        inputs.push_back(std::move(s));
        return std::move(*this);
    }
    op_case&& at(std::vector<shape_t> s) && {
        shapes.push_back(std::move(s));
        return std::move(*this);
    }
    op_case&& within(bound b) && {
        tol = b;
        return std::move(*this);
    }
    op_case&& with_weights() && {
        weights = true;
        return std::move(*this);
    }
    op_case&& quantized() && {
        weights = int8 = true;
        return std::move(*this);
    }
    /// One definition, two interpretations.
    template <class F>
    op_case&& def(F f) && {
        constexpr std::size_t n = arity<F, tf::eval_backend>();
        static_assert(n == arity<F, tf::onnx_backend>(), "the lambda must take the same inputs on both backends");
        if (n != inputs.size()) throw std::logic_error(op + "/" + variant + ": lambda arity != number of inputs");
        for (const auto& s : shapes)
            if (s.size() != n) throw std::logic_error(op + "/" + variant + ": a run gives the wrong number of shapes");
        eval = [f](tf::eval_backend& b, const std::vector<tf::eval_value>& v) mutable { return call<n>(f, b, v); };
        emit = [f](tf::onnx_backend& b, const std::vector<tf::onnx_value>& v) mutable { return call<n>(f, b, v); };
        return std::move(*this);
    }
    [[nodiscard]] std::string name() const {
        // letters, digits and single '_' (GoogleTest names); '-' reads 'm'
        std::string s;
        for (char c : op + "_" + variant) {
            if (c == '-') c = 'm';
            if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') s += c;
            else if (!s.empty() && s.back() != '_') s += '_';
        }
        while (!s.empty() && s.back() == '_') s.pop_back();
        return s;
    }
};

op_case&& at_all(op_case&& c, const std::vector<std::vector<shape_t>>& runs) {
    for (const auto& r : runs) c.shapes.push_back(r);
    return std::move(c);
}

/// One input at batch 1 x sequence 1, and odd sizes.
const std::vector<std::vector<shape_t>> seq3{{{1, 1, 8}}, {{3, 7, 12}}, {{2, 5, 20}}};

// -- a tiny checkpoint for the param and scope cases ------------------------------
constexpr std::int64_t w_in = 12, w_out = 10;

/// model.safetensors in a fresh temporary folder, opened as a checkpoint.
const tf::checkpoint& test_checkpoint() {
    static const tf::checkpoint ck = [] {
        std::vector<std::pair<std::string, std::vector<std::int64_t>>> tensors{
            {"encoder.layer.0.dense.weight", {w_out, w_in}},
            {"encoder.layer.0.dense.bias", {w_out}},
            {"encoder.layer.0.norm.weight", {w_in}},
            {"encoder.layer.0.norm.bias", {w_in}},
        };
        rng_t rng(7);
        std::normal_distribution<float> d(0.f, 1.f);
        std::string header = "{";
        std::string data;
        for (const auto& [name, shape] : tensors) {
            std::int64_t n = 1;
            for (auto s : shape) n *= s;
            const auto begin = data.size();
            for (std::int64_t k = 0; k < n; ++k) {
                const float v = d(rng);
                data.append(reinterpret_cast<const char*>(&v), sizeof v);
            }
            header += (header.size() > 1 ? "," : "") + std::string("\"") + name + "\":{\"dtype\":\"F32\",\"shape\":[";
            for (std::size_t k = 0; k < shape.size(); ++k) header += (k ? "," : "") + std::to_string(shape[k]);
            header += "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
        }
        header += "}";
        while (header.size() % 8 != 0) header += ' ';
        const auto dir = std::filesystem::temp_directory_path() / ("typeformer_test_ops." + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        {
            std::ofstream out(dir / "model.safetensors", std::ios::binary | std::ios::trunc);
            const std::uint64_t n = header.size();
            out.write(reinterpret_cast<const char*>(&n), 8);
            out << header << data;
        }
        auto c = tf::checkpoint::open(dir);
        std::filesystem::remove_all(dir);  // the file stays mapped
        return c;
    }();
    return ck;
}

/// The int8 cases' bound: float32 round-off of the reference's products.
constexpr bound int8_bound{1e-6, 1e-6};

// -- the cases ----------------------------------------------------------------------
std::vector<op_case> make_cases() {
    std::vector<op_case> c;
    auto add = [&](op_case&& x) { c.push_back(std::move(x)); };

    // elementwise, binary, with broadcasting both ways
    const auto binary_runs = [](std::vector<std::size_t> y1, std::vector<std::size_t> y2, std::vector<std::size_t> y3,
                                bool swap = false) {
        std::vector<std::vector<shape_t>> r{{{1, 1, 8}, y1}, {{3, 7, 12}, y2}, {{2, 5, 20}, y3}};
        if (swap)
            for (auto& run : r) std::swap(run[0], run[1]);
        return r;
    };
    const auto same = binary_runs({1, 1, 8}, {3, 7, 12}, {2, 5, 20});
    const auto last = binary_runs({8}, {12}, {20});
    const auto mid1 = binary_runs({1, 1, 8}, {3, 1, 12}, {2, 1, 20});
    const auto mid1_swapped = binary_runs({1, 1, 8}, {3, 1, 12}, {2, 1, 20}, true);
    // division is correctly rounded in IEEE arithmetic: the two sides agree
    // exactly, even for denominators near 0
    for (const auto& [variant, runs] : std::vector<std::pair<std::string, std::vector<std::vector<shape_t>>>>{
             {"same shape", same}, {"x[B,S,H] y[H]", last}, {"x[B,S,H] y[B,1,H]", mid1},
             {"x[B,1,H] y[B,S,H]", mid1_swapped}}) {
        add(at_all(op_case("add", variant).in(f32("x")).in(f32("y")), runs)
                .def([](auto& b, const auto& x, const auto& y) { return b.add(x, y); }));
        add(at_all(op_case("sub", variant).in(f32("x")).in(f32("y")), runs)
                .def([](auto& b, const auto& x, const auto& y) { return b.sub(x, y); }));
        add(at_all(op_case("mul", variant).in(f32("x")).in(f32("y")), runs)
                .def([](auto& b, const auto& x, const auto& y) { return b.mul(x, y); }));
        add(at_all(op_case("div", variant).in(f32("x")).in(f32("y")), runs)
                .def([](auto& b, const auto& x, const auto& y) { return b.div(x, y); }));
    }
    add(at_all(op_case("add", "int64").in(i64("x", ints(-100, 100))).in(i64("y", ints(-100, 100))), mid1)
            .def([](auto& b, const auto& x, const auto& y) { return b.add(x, y); }));
    // less: small int range so that ties (x == y -> false) occur
    add(at_all(op_case("less", "int64").in(i64("x", ints(0, 4))).in(i64("y", ints(0, 4))), same)
            .def([](auto& b, const auto& x, const auto& y) { return b.less(x, y); }));
    add(at_all(op_case("less", "int64 y[H]").in(i64("x", ints(0, 4))).in(i64("y", ints(0, 4))), last)
            .def([](auto& b, const auto& x, const auto& y) { return b.less(x, y); }));
    add(at_all(op_case("less", "int64 ids[B,S] < range").in(i64("ids", ints(0, 9))),
               {{{1, 1}}, {{3, 7}}, {{2, 5}}})
            .def([](auto& b, const auto& ids) { return b.less(ids, b.range(ids, 1)); }));
    add(at_all(op_case("less", "float32").in(f32("x")).in(f32("y")), mid1)
            .def([](auto& b, const auto& x, const auto& y) { return b.less(x, y); }));

    // elementwise, unary. tanh, sigmoid and erf are computed by different
    // approximations (libm here, MLAS in ONNX Runtime): a few ulp apart, which
    // stays under 1e-6 for |result| < 4; the wide inputs (sd 4) reach |result|
    // of ~15, where a few ulp is ~4e-6, so the bound is relative there.
    const bound wide_bound{1e-6, 5e-7};
    add(at_all(op_case("tanh", "normal").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.tanh(x); }));
    add(at_all(op_case("tanh", "wide").in(f32("x", normal(4.f))), seq3)
            .def([](auto& b, const auto& x) { return b.tanh(x); }));
    add(at_all(op_case("relu", "normal").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.relu(x); }));
    add(at_all(op_case("sigmoid", "normal").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.sigmoid(x); }));
    add(at_all(op_case("sigmoid", "wide").in(f32("x", normal(4.f))), seq3)
            .def([](auto& b, const auto& x) { return b.sigmoid(x); }));
    // exp and softplus: libm's and ONNX Runtime's (vectorised) exp and log differ by an ulp or two
    add(at_all(op_case("exp", "normal").in(f32("x")), seq3).within({1e-6, 1e-6})
            .def([](auto& b, const auto& x) { return b.exp(x); }));
    add(at_all(op_case("softplus", "normal").in(f32("x")), seq3).within({1e-6, 1e-6})
            .def([](auto& b, const auto& x) { return b.softplus(x); }));
    // past torch's threshold (20): x itself, which log(exp(x) + 1) rounds to in float32
    add(at_all(op_case("softplus", "wide").in(f32("x", normal(12.f))), seq3).within({1e-6, 1e-6})
            .def([](auto& b, const auto& x) { return b.softplus(x); }));
    add(at_all(op_case("gelu", "normal").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.gelu(x); }));
    add(at_all(op_case("gelu", "wide").in(f32("x", normal(4.f))), seq3)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.gelu(x); }));
    add(at_all(op_case("gelu_tanh", "normal").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.gelu_tanh(x); }));
    add(at_all(op_case("gelu_tanh", "wide").in(f32("x", normal(4.f))), seq3)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.gelu_tanh(x); }));
    for (auto a : {tf::activation::gelu, tf::activation::gelu_new, tf::activation::relu, tf::activation::silu,
                   tf::activation::tanh})
        add(at_all(op_case("activate", std::string(tf::name_of(a))).in(f32("x")), seq3)
                .def([a](auto& b, const auto& x) { return activate(b, a, x); }));

    // cast
    const auto seq2 = std::vector<std::vector<shape_t>>{{{1, 1}}, {{3, 7}}, {{2, 5}}};
    add(at_all(op_case("cast", "i64 to f32").in(i64("x", ints(-1000, 1000))), seq2)
            .def([](auto& b, const auto& x) { return b.cast(x, tf::dtype::f32); }));
    add(at_all(op_case("cast", "f32 to i64 integer valued").in(f32("x", int_floats(-1000, 1000))), seq3)
            .def([](auto& b, const auto& x) { return b.cast(x, tf::dtype::i64); }));
    add(at_all(op_case("cast", "f32 to boolean").in(f32("x", normal_with_zeros())), seq3)
            .def([](auto& b, const auto& x) { return b.cast(x, tf::dtype::boolean); }));
    add(at_all(op_case("cast", "i64 to boolean").in(i64("x", ints(-2, 3))), seq2)
            .def([](auto& b, const auto& x) { return b.cast(x, tf::dtype::boolean); }));
    add(at_all(op_case("cast", "boolean to f32").in(i64("x", ints(0, 4))).in(i64("y", ints(0, 4))), same)
            .def([](auto& b, const auto& x, const auto& y) { return b.cast(b.less(x, y), tf::dtype::f32); }));
    add(at_all(op_case("cast", "boolean to i64").in(i64("x", ints(0, 4))).in(i64("y", ints(0, 4))), same)
            .def([](auto& b, const auto& x, const auto& y) { return b.cast(b.less(x, y), tf::dtype::i64); }));

    // round_bf16: every result exact; integers past 256 need rounding, the odd ones between 256 and 512 are
    // ties (to even)
    add(at_all(op_case("round_bf16", "normal").in(f32("x", normal(4.f))), seq3)
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.round_bf16(x); }));
    add(at_all(op_case("round_bf16", "integers, ties").in(f32("x", int_floats(-1000, 1000))), seq3)
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.round_bf16(x); }));

    // shapes
    add(at_all(op_case("reshape", "static 0 -1").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(x, {0, -1}); }));
    add(at_all(op_case("reshape", "static 0 0 2 -1").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(x, {0, 0, 2, -1}); }));
    add(at_all(op_case("reshape", "static -1 int64").in(i64("x", ints(0, 100))), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(x, std::vector<std::int64_t>{-1}); }));
    add(at_all(op_case("reshape", "static 0 0 -1 2").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(x, {0, 0, -1, 2}); }));
    add(at_all(op_case("reshape", "dynamic round trip").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(b.reshape(x, std::vector<std::int64_t>{-1}), b.shape(x, 0, 3)); }));
    add(at_all(op_case("reshape", "dynamic to another input s shape").in(f32("x")).in(f32("y")),
               {{{1, 1, 8}, {1, 8}}, {{3, 7, 12}, {21, 12}}, {{2, 5, 20}, {10, 20}}})
            .def([](auto& b, const auto& x, const auto& y) { return b.reshape(y, b.shape(x, 0, 3)); }));
    add(at_all(op_case("reshape", "dynamic from constant_i64").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.reshape(x, b.constant_i64({0, -1})); }));
    for (auto [s, e] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 3}, {0, 1}, {1, 3}, {-2, -1}, {0, -1}})
        add(at_all(op_case("shape", std::to_string(s) + " " + std::to_string(e)).in(f32("x")), seq3)
                .def([s, e](auto& b, const auto& x) { return b.shape(x, s, e); }));
    for (std::int64_t axis : {0, 1, 2})
        add(at_all(op_case("flatten", "axis " + std::to_string(axis)).in(f32("x")), seq3)
                .def([axis](auto& b, const auto& x) { return b.flatten(x, axis); }));
    add(at_all(op_case("flatten", "4d axis 2").in(f32("x")), {{{1, 1, 1, 8}}, {{3, 2, 7, 5}}, {{2, 4, 5, 3}}})
            .def([](auto& b, const auto& x) { return b.flatten(x, 2); }));
    for (const auto& perm : std::vector<std::vector<std::int64_t>>{{0, 2, 1}, {2, 0, 1}, {1, 0, 2}})
        add(at_all(op_case("transpose", std::to_string(perm[0]) + std::to_string(perm[1]) + std::to_string(perm[2]))
                       .in(f32("x")),
                   seq3)
                .def([perm](auto& b, const auto& x) { return b.transpose(x, perm); }));
    add(at_all(op_case("transpose", "4d 0213").in(f32("x")), {{{1, 1, 2, 4}}, {{3, 7, 4, 3}}, {{2, 5, 2, 10}}})
            .def([](auto& b, const auto& x) { return b.transpose(x, {0, 2, 1, 3}); }));
    add(at_all(op_case("transpose", "2d int64").in(i64("x", ints(0, 100))), seq2)
            .def([](auto& b, const auto& x) { return b.transpose(x, {1, 0}); }));
    for (const auto& axes : std::vector<std::vector<std::int64_t>>{{0}, {1}, {-1}, {1, 3}, {0, -1}, {3, 1}}) {
        std::string v;
        for (auto a : axes) v += (v.empty() ? "" : " ") + std::to_string(a);
        add(at_all(op_case("unsqueeze", v).in(f32("x")), seq3)
                .def([axes](auto& b, const auto& x) { return b.unsqueeze(x, axes); }));
    }
    add(at_all(op_case("unsqueeze", "mask 1 2").in(i64("mask", ints(0, 2))), seq2)
            .def([](auto& b, const auto& m) { return b.unsqueeze(m, {1, 2}); }));
    for (auto [axis, index] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 0}, {-1, 1}, {0, 0}, {2, 1}})
        add(at_all(op_case("select", "axis " + std::to_string(axis) + " index " + std::to_string(index)).in(f32("x")),
                   seq3)
                .def([axis, index](auto& b, const auto& x) { return b.select(x, axis, index); }));
    add(at_all(op_case("select", "int64 axis 1 index 0").in(i64("x", ints(0, 100))), seq2)
            .def([](auto& b, const auto& x) { return b.select(x, 1, 0); }));
    for (std::int64_t axis : {0, 1, -1})
        add(at_all(op_case("range", "axis " + std::to_string(axis)).in(f32("x")), seq3)
                .def([axis](auto& b, const auto& x) { return b.range(x, axis); }));
    add(at_all(op_case("range", "int64 input").in(i64("ids", ints(0, 9))), seq2)
            .def([](auto& b, const auto& ids) { return b.range(ids, 1); }));

    // gather: an embedding lookup, ids [B, S] into a table [V, H]
    const auto lookup = std::vector<std::vector<shape_t>>{{{1, 1}, {5, 8}}, {{3, 7}, {11, 12}}, {{2, 5}, {30, 20}}};
    add(at_all(op_case("gather", "embedding").in(i64("ids", ints(0, 5))).in(f32("table")), lookup)
            .def([](auto& b, const auto& ids, const auto& t) { return b.gather(t, ids); }));
    add(at_all(op_case("gather", "negative ids").in(i64("ids", ints(-5, 5))).in(f32("table")), lookup)
            .def([](auto& b, const auto& ids, const auto& t) { return b.gather(t, ids); }));
    add(at_all(op_case("gather", "positions").in(f32("x")).in(f32("table")),
               {{{1, 1, 8}, {4, 8}}, {{3, 7, 12}, {9, 12}}, {{2, 5, 20}, {5, 20}}})
            .def([](auto& b, const auto& x, const auto& t) { return b.gather(t, b.range(x, 1)); }));

    // matmul. Both sides sum K products in float, in different orders (OpenBLAS
    // here, MLAS there): the error grows with the magnitude of the terms, so
    // the bound is relative to the result's magnitude: 1e-6 · max|result| is
    // ~8 ulp of it; for K <= 20 we see at most ~3 (about sqrt(K) ulp).
    const bound sum_bound{1e-6, 1e-6};
    add(at_all(op_case("matmul", "2d").in(f32("a")).in(f32("b")),
               {{{1, 1}, {1, 8}}, {{3, 7}, {7, 12}}, {{5, 20}, {20, 3}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& y) { return b.matmul(x, y); }));
    add(at_all(op_case("matmul", "batched 4d").in(f32("a")).in(f32("b")),
               {{{1, 1, 1, 8}, {1, 1, 8, 1}}, {{3, 2, 7, 6}, {3, 2, 6, 7}}, {{2, 4, 5, 5}, {2, 4, 5, 9}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& y) { return b.matmul(x, y); }));
    add(at_all(op_case("matmul", "3d x 2d").in(f32("a")).in(f32("b")),
               {{{1, 1, 8}, {8, 4}}, {{3, 7, 12}, {12, 5}}, {{2, 5, 20}, {20, 7}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& y) { return b.matmul(x, y); }));
    add(at_all(op_case("matmul", "broadcast batch dims").in(f32("a")).in(f32("b")),
               {{{1, 1, 1, 8}, {1, 1, 8, 2}}, {{3, 1, 7, 6}, {1, 2, 6, 5}}, {{2, 1, 5, 5}, {1, 4, 5, 9}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& y) { return b.matmul(x, y); }));
    add(at_all(op_case("matmul", "2d x 4d").in(f32("a")).in(f32("b")),
               {{{1, 8}, {1, 1, 8, 2}}, {{7, 6}, {3, 2, 6, 5}}, {{5, 5}, {2, 4, 5, 9}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& y) { return b.matmul(x, y); }));

    // linear, with the weight as a graph input (the ONNX backend emits a
    // Transpose) and, below, as a parameter (a pre-transposed initializer)
    const auto lin = std::vector<std::vector<shape_t>>{
        {{1, 1, 8}, {4, 8}, {4}}, {{3, 7, 12}, {5, 12}, {5}}, {{2, 5, 20}, {16, 20}, {16}}};
    add(at_all(op_case("linear", "bias").in(f32("x")).in(f32("w")).in(f32("bias")), lin)
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) { return b.linear(x, w, &bias); }));
    add(at_all(op_case("linear", "no bias").in(f32("x")).in(f32("w")),
               {{{1, 1, 8}, {4, 8}}, {{3, 7, 12}, {5, 12}}, {{2, 5, 20}, {16, 20}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w) { return b.linear(x, w); }));
    add(at_all(op_case("linear", "2d").in(f32("x")).in(f32("w")).in(f32("bias")),
               {{{1, 8}, {4, 8}, {4}}, {{7, 12}, {5, 12}, {5}}, {{10, 20}, {16, 20}, {16}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) { return b.linear(x, w, &bias); }));

    // layer_norm: the eval backend accumulates in double, ONNX Runtime in
    // float (and below opset 17 the graph spells it as ReduceMean/Sub/Div/Sqrt):
    // a few ulp of the result, scaled by |gamma|; relative to the magnitude.
    const bound norm_bound{1e-6, 1e-6};
    const auto norm_runs = std::vector<std::vector<shape_t>>{
        {{1, 1, 8}, {8}, {8}}, {{3, 7, 12}, {12}, {12}}, {{2, 5, 20}, {20}, {20}}};
    for (float eps : {1e-12f, 1e-5f}) {
        std::ostringstream v;
        v << "eps " << eps;
        add(at_all(op_case("layer_norm", v.str()).in(f32("x")).in(f32("gamma")).in(f32("beta")), norm_runs)
                .within(norm_bound)
                .def([eps](auto& b, const auto& x, const auto& g, const auto& be) { return b.layer_norm(x, g, be, eps); }));
    }
    // ONNX Runtime's LayerNormalization (opset 17) takes the variance as
    // E[x²] - E[x]² in float, which cancels when |mean| >> std: with mean 3
    // and std 1 it loses ~mean²/var = 9x more ulp, hence the looser bound.
    add(at_all(op_case("layer_norm", "offset input").in(f32("x")).in(f32("gamma")).in(f32("beta")), norm_runs)
            .within({1e-6, 4e-6})
            .def([](auto& b, const auto& x, const auto& g, const auto& be) {
                return b.layer_norm(b.add(x, b.scalar(3.f)), g, be, 1e-12f);
            }));

    // rms_norm: the same decomposition in both below opset 23; from 23,
    // ONNX Runtime's RMSNormalization (its own sum of squares and order of
    // operations): a few ulp, scaled by |scale|, relative to the magnitude.
    for (float eps : {1e-6f, 1e-5f}) {
        std::ostringstream v;
        v << "eps " << eps;
        add(at_all(op_case("rms_norm", v.str()).in(f32("x")).in(f32("scale")),
                   {{{1, 1, 8}, {8}}, {{3, 7, 12}, {12}}, {{2, 5, 20}, {20}}})
                .within(norm_bound)
                .def([eps](auto& b, const auto& x, const auto& s) { return b.rms_norm(x, s, eps); }));
    }
    add(at_all(op_case("rms_norm", "4d heads").in(f32("x", normal(3.f))).in(f32("scale")),
               {{{1, 1, 1, 8}, {8}}, {{3, 7, 2, 12}, {12}}, {{2, 5, 4, 16}, {16}}})
            .within(norm_bound)
            .def([](auto& b, const auto& x, const auto& s) { return b.rms_norm(x, s, 1e-6f); }));

    // softmax: exp in both, normalised by a float (here: double) sum
    add(at_all(op_case("softmax", "3d").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.softmax(x); }));
    add(at_all(op_case("softmax", "4d wide").in(f32("x", normal(5.f))), {{{1, 1, 1, 1}}, {{3, 2, 7, 7}}, {{2, 4, 5, 9}}})
            .def([](auto& b, const auto& x) { return b.softmax(x); }));

    // attention: q [B, Sq, H·D], k and v [B, Sk, H·D]. Two sums of products
    // and a softmax: the result is a convex combination of rows of v, so the
    // error is relative to max|v| ~ max|result|.
    const bound attn_bound{1e-6, 1e-6};
    for (std::int64_t heads : {1, 2, 4}) {
        const std::string h = "heads " + std::to_string(heads);
        add(at_all(op_case("attention", h + " padding bias")
                       .in(f32("q"))
                       .in(f32("k"))
                       .in(f32("v"))
                       .in(f32("bias", padding_bias())),
                   {{{1, 1, 8}, {1, 1, 8}, {1, 1, 8}, {1, 1, 1, 1}},
                    {{3, 7, 12}, {3, 7, 12}, {3, 7, 12}, {3, 1, 1, 7}},
                    {{2, 5, 20}, {2, 5, 20}, {2, 5, 20}, {2, 1, 1, 5}}})
                .within(attn_bound)
                .def([heads](auto& b, const auto& q, const auto& k, const auto& v, const auto& m) {
                    return b.attention(q, k, v, &m, heads, 0.5f);
                }));
        add(at_all(op_case("attention", h + " causal bias")
                       .in(f32("q"))
                       .in(f32("k"))
                       .in(f32("v"))
                       .in(f32("bias", causal_bias())),
                   {{{1, 1, 8}, {1, 1, 8}, {1, 1, 8}, {1, 1, 1, 1}},
                    {{3, 7, 12}, {3, 7, 12}, {3, 7, 12}, {3, 1, 7, 7}},
                    {{2, 5, 20}, {2, 5, 20}, {2, 5, 20}, {2, 1, 5, 5}}})
                .within(attn_bound)
                .def([heads](auto& b, const auto& q, const auto& k, const auto& v, const auto& m) {
                    return b.attention(q, k, v, &m, heads, 0.35355339f);
                }));
        add(at_all(op_case("attention", h + " no bias").in(f32("q")).in(f32("k")).in(f32("v")),
                   {{{1, 1, 8}, {1, 1, 8}, {1, 1, 8}},
                    {{3, 7, 12}, {3, 7, 12}, {3, 7, 12}},
                    {{2, 5, 20}, {2, 5, 20}, {2, 5, 20}}})
                .within(attn_bound)
                .def([heads](auto& b, const auto& q, const auto& k, const auto& v) {
                    return b.attention(q, k, v, nullptr, heads, 0.5f);
                }));
    }
    add(at_all(op_case("attention", "cross heads 2 padding bias")
                   .in(f32("q"))
                   .in(f32("k"))
                   .in(f32("v"))
                   .in(f32("bias", padding_bias())),
               {{{1, 1, 8}, {1, 3, 8}, {1, 3, 8}, {1, 1, 1, 3}},
                {{3, 7, 12}, {3, 4, 12}, {3, 4, 12}, {3, 1, 1, 4}},
                {{2, 5, 20}, {2, 1, 20}, {2, 1, 20}, {2, 1, 1, 1}}})
            .within(attn_bound)
            .def([](auto& b, const auto& q, const auto& k, const auto& v, const auto& m) {
                return b.attention(q, k, v, &m, 2, 0.5f);
            }));

    // grouped_attention: q [B, H, S, D], k and v [B, KVH, T, D] (T - S
    // cached keys first), a decoder's bias; from opset 23 ONNX Runtime's
    // Attention (its own sums and softmax: relative to max|v|, as above).
    struct gqa_variant {
        std::size_t heads, kv_heads;
        float scale, softcap;
        bool per_head_bias;
    };
    for (const auto& g : {gqa_variant{2, 2, 0.35355339f, 0.f, false}, gqa_variant{4, 2, 0.35355339f, 0.f, false},
                          gqa_variant{4, 1, 0.35355339f, 0.f, false}, gqa_variant{6, 3, 1.f, 0.f, false},
                          gqa_variant{3, 3, 0.35355339f, 0.f, true},
                          gqa_variant{4, 2, 0.35355339f, 0.f, true}, gqa_variant{4, 2, 0.5f, 1.5f, false},
                          gqa_variant{2, 1, 0.5f, 2.f, true}}) {
        std::ostringstream v;
        v << "heads " << g.heads << " kv " << g.kv_heads << " scale " << g.scale;
        if (g.softcap > 0.f) v << " softcap " << g.softcap;
        v << (g.per_head_bias ? " bias per head" : " bias");
        const tf::attention_dims a{static_cast<std::int64_t>(g.heads), static_cast<std::int64_t>(g.kv_heads), 8,
                                   g.scale, g.softcap};
        const std::size_t H = g.heads, KVH = g.kv_heads, Hb = g.per_head_bias ? H : 1;
        // (B, S, T): one token, no past; a prompt after a past; a prompt; one token after a past
        std::vector<std::vector<shape_t>> runs;
        for (const auto& [B, S, T] : std::vector<std::array<std::size_t, 3>>{{1, 1, 1}, {3, 4, 7}, {2, 5, 5}, {2, 1, 6}})
            runs.push_back({{B, H, S, 8}, {B, KVH, T, 8}, {B, KVH, T, 8}, {B, Hb, S, T}});
        add(at_all(op_case("grouped_attention", v.str())
                       .in(f32("q"))
                       .in(f32("k"))
                       .in(f32("v"))
                       .in(f32("bias", decoder_bias())),
                   runs)
                .within(attn_bound)
                .def([a](auto& b, const auto& q, const auto& k, const auto& v, const auto& m) {
                    return b.grouped_attention(q, k, v, &m, a);
                }));
    }
    add(at_all(op_case("grouped_attention", "heads 4 kv 2 no bias").in(f32("q")).in(f32("k")).in(f32("v")),
               {{{1, 4, 1, 8}, {1, 2, 1, 8}, {1, 2, 1, 8}},
                {{3, 4, 4, 8}, {3, 2, 7, 8}, {3, 2, 7, 8}},
                {{2, 4, 5, 8}, {2, 2, 5, 8}, {2, 2, 5, 8}}})
            .within(attn_bound)
            .def([](auto& b, const auto& q, const auto& k, const auto& v) {
                return b.grouped_attention(q, k, v, nullptr, tf::attention_dims{4, 2, 8, 0.35355339f});
            }));

    // constants
    add(at_all(op_case("scalar", "add 2.5").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.add(x, b.scalar(2.5f)); }));
    add(at_all(op_case("scalar", "scalar first").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.sub(b.scalar(1.f), b.mul(b.scalar(-0.125f), x)); }));
    add(at_all(op_case("constant_i64", "add").in(i64("ids", ints(0, 100))), seq2)
            .def([](auto& b, const auto& ids) { return b.add(ids, b.constant_i64({7})); }));
    add(at_all(op_case("constant_i64", "mul 3 values").in(i64("x", ints(-100, 100))),
               {{{1, 3}}, {{5, 3}}, {{2, 3}}})
            .def([](auto& b, const auto& x) { return b.mul(x, b.constant_i64({2, -3, 5})); }));

    // parameters and scopes, read from a checkpoint
    const auto wx = std::vector<std::vector<shape_t>>{{{1, 1, w_in}}, {{3, 7, w_in}}, {{2, 5, w_in}}};
    add(at_all(op_case("param", "linear weight and bias").in(f32("x")), wx)
            .within(sum_bound)
            .with_weights()
            .def([](auto& b, const auto& x) {
                auto s = b.scope("encoder.layer.0.dense");
                auto w = b.param("weight", {w_out, w_in});
                auto bias = b.param("bias", {w_out});
                return b.linear(x, w, &bias);
            }));
    // --quantize int8: the products with a weight and the embedding lookup, against the reference on the
    // dequantized weights. The activations are quantized exactly (exact_uint8), so ONNX Runtime's integer
    // product equals the float one up to float32 round-off: a bound that the float weights (about 0.4%
    // away) or a scale per wrong axis would exceed.
    add(at_all(op_case("linear", "int8 weight and bias").in(f32("x", exact_uint8())), wx)
            .within(int8_bound)
            .quantized()
            .def([](auto& b, const auto& x) { return tf::dense(b, "encoder.layer.0.dense", x, w_in, w_out); }));
    add(at_all(op_case("linear", "int8 weight").in(f32("x", exact_uint8())), wx)
            .within(int8_bound)
            .quantized()
            .def([](auto& b, const auto& x) {
                auto s = b.scope("encoder.layer.0.dense");
                const auto& w = b.param("weight", {w_out, w_in});
                return b.linear(x, w);
            }));
    // a Conv1D's weight, [in, out] as stored: quantized per column
    add(at_all(op_case("matmul", "int8 weight [in, out]").in(f32("x", exact_uint8())),
               {{{1, 1, w_out}}, {{3, 7, w_out}}, {{2, 5, w_out}}})
            .within(int8_bound)
            .quantized()
            .def([](auto& b, const auto& x) {
                auto s = b.scope("encoder.layer.0.dense");
                const auto& w = b.param("weight", {w_out, w_in});
                return b.matmul(x, w);
            }));
    // an embedding table, quantized per row: the rows, exactly
    add(at_all(op_case("gather", "int8 table").in(i64("ids", ints(0, w_out))), {{{1, 1}}, {{3, 7}}, {{2, 5}}})
            .within({0, 0})
            .quantized()
            .def([](auto& b, const auto& ids) {
                auto s = b.scope("encoder.layer.0.dense");
                return b.gather(b.param("weight", {w_out, w_in}), ids);
            }));
    add(at_all(op_case("scope", "nested layer norm").in(f32("x")), wx)
            .within(norm_bound)
            .with_weights()
            .def([](auto& b, const auto& x) {
                auto outer = b.scope("encoder");
                auto inner = b.scope("layer.0.norm");
                return b.layer_norm(x, b.param("weight", {w_in}), b.param("bias", {w_in}), 1e-12f);
            }));

    // not_equal: small int ranges so that ties (x == y -> false) occur
    add(at_all(op_case("not_equal", "int64").in(i64("x", ints(0, 3))).in(i64("y", ints(0, 3))), same)
            .def([](auto& b, const auto& x, const auto& y) { return b.not_equal(x, y); }));
    add(at_all(op_case("not_equal", "int64 y[B,1,H]").in(i64("x", ints(0, 3))).in(i64("y", ints(0, 3))), mid1)
            .def([](auto& b, const auto& x, const auto& y) { return b.not_equal(x, y); }));
    add(at_all(op_case("not_equal", "int64 ids[B,S] != constant").in(i64("ids", ints(0, 4))), seq2)
            .def([](auto& b, const auto& ids) { return b.not_equal(ids, b.constant_i64({1})); }));
    add(at_all(op_case("not_equal", "float32 with ties").in(f32("x", int_floats(-2, 2))).in(f32("y", int_floats(-2, 2))),
               last)
            .def([](auto& b, const auto& x, const auto& y) { return b.not_equal(x, y); }));
    // cumsum: integer sums are exact; float sums of n terms are rounded the
    // same way when both sides add in order (ONNX Runtime does), so the bound
    // is a few ulp of the running magnitude
    for (std::int64_t axis : {0, 1, 2, -1})
        add(at_all(op_case("cumsum", "float32 axis " + std::to_string(axis)).in(f32("x")), seq3)
                .within({1e-6, 1e-6})
                .def([axis](auto& b, const auto& x) { return b.cumsum(x, axis); }));
    add(at_all(op_case("cumsum", "int64 axis 1").in(i64("x", ints(-100, 100))), seq2)
            .def([](auto& b, const auto& x) { return b.cumsum(x, 1); }));
    add(at_all(op_case("cumsum", "int64 4d axis 2").in(i64("x", ints(-100, 100))),
               {{{1, 1, 1, 1}}, {{3, 2, 7, 5}}, {{2, 4, 5, 3}}})
            .def([](auto& b, const auto& x) { return b.cumsum(x, 2); }));
    // RoBERTa's create_position_ids_from_input_ids, padding index 1:
    // cumsum(ids != 1) * (ids != 1) + 1
    add(at_all(op_case("cumsum", "padding aware positions").in(i64("ids", ints(0, 4))), seq2)
            .def([](auto& b, const auto& ids) {
                auto pad = b.constant_i64({1});
                auto m = b.cast(b.not_equal(ids, pad), tf::dtype::i64);
                return b.add(b.mul(b.cumsum(m, 1), m), pad);
            }));

    // select from the end (SequenceSummary's "last" token)
    add(at_all(op_case("select", "axis 1 index -1").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.select(x, 1, -1); }));
    // reduce_mean sums in float on both sides, in different orders
    for (std::int64_t axis : {1, -1, 0})
        add(at_all(op_case("reduce_mean", "axis " + std::to_string(axis)).in(f32("x")), seq3)
                .within(sum_bound)
                .def([axis](auto& b, const auto& x) { return b.reduce_mean(x, axis); }));

    // concat and slice copy values: exact. The axis sizes differ between inputs
    // and between runs, so the joined dim is unknown to the ONNX backend.
    add(at_all(op_case("concat", "two axis 1").in(f32("x")).in(f32("y")),
               {{{1, 1, 8}, {1, 2, 8}}, {{3, 7, 12}, {3, 1, 12}}, {{2, 5, 20}, {2, 5, 20}}})
            .def([](auto& b, const auto& x, const auto& y) { return b.concat({x, y}, 1); }));
    add(at_all(op_case("concat", "three axis -1").in(f32("x")).in(f32("y")).in(f32("z")),
               {{{1, 1, 8}, {1, 1, 1}, {1, 1, 3}}, {{3, 7, 12}, {3, 7, 4}, {3, 7, 12}}, {{2, 5, 2}, {2, 5, 20}, {2, 5, 7}}})
            .def([](auto& b, const auto& x, const auto& y, const auto& z) { return b.concat({x, y, z}, -1); }));
    add(at_all(op_case("concat", "axis 0 same input twice").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.concat({x, x}, 0); }));
    add(at_all(op_case("concat", "one input").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.concat({x}, 2); }));
    add(at_all(op_case("concat", "int64 axis 1").in(i64("x", ints(0, 100))).in(i64("y", ints(0, 100))),
               {{{1, 1}, {1, 3}}, {{3, 7}, {3, 2}}, {{2, 5}, {2, 1}}})
            .def([](auto& b, const auto& x, const auto& y) { return b.concat({x, y}, 1); }));
    add(at_all(op_case("concat", "named with sliced").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.concat({x, b.slice(x, 1, 0, 1)}, 1); }));
    for (const auto& [start, end] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {1, std::numeric_limits<std::int64_t>::max()}, {0, -1}, {-1, std::numeric_limits<std::int64_t>::max()},
             {0, 1}, {2, 4}, {-3, -1}, {3, 1}, {-100, 100}}) {
        const std::string v = "axis 1 [" + std::to_string(start) + ":" +
                              (end == std::numeric_limits<std::int64_t>::max() ? std::string("end") : std::to_string(end)) + "]";
        add(at_all(op_case("slice", v).in(f32("x")), seq3).def([start, end](auto& b, const auto& x) {
            return b.slice(x, 1, start, end);
        }));
    }
    add(at_all(op_case("slice", "axis -1 static [2:5]").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.slice(b.slice(x, -1, 0, 8), -1, 2, 5); }));
    add(at_all(op_case("slice", "int64 axis 0 [1:end]").in(i64("x", ints(0, 100))), seq2)
            .def([](auto& b, const auto& x) { return b.slice(x, 0, 1, std::numeric_limits<std::int64_t>::max()); }));
    // slice_to: a copy, exact; the end computed in the graph from the run's shape
    add(at_all(op_case("slice_to", "axis 1 to S - 1").in(f32("x")), {{{1, 2, 8}}, {{3, 7, 12}}, {{2, 5, 20}}})
            .def([](auto& b, const auto& x) { return b.slice_to(x, 1, b.sub(b.shape(x, 1, 2), b.constant_i64({1}))); }));
    add(at_all(op_case("slice_to", "axis -1 past the end").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.slice_to(x, -1, b.add(b.shape(x, 2, 3), b.constant_i64({3}))); }));
    add(at_all(op_case("slice_to", "axis 1 negative end").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.slice_to(x, 1, b.constant_i64({-1})); }));
    // roll: a copy, exact; shifts of either sign, past the axis' length, zero
    for (std::int64_t k : {-1, 2, 0, -9, 13}) {
        add(at_all(op_case("roll", "axis 1 by " + std::to_string(k)).in(f32("x")), {{{1, 2, 8}}, {{3, 7, 12}}, {{2, 5, 20}}})
                .def([k](auto& b, const auto& x) { return b.roll(x, 1, b.constant_i64({k})); }));
    }
    // Swin's: -(w / 2) along the last two of [B, H, W, C] when min(H, W) > w = 3, else 0; run-time H and W
    add(at_all(op_case("roll", "swin shift on H and W").in(f32("x")),
               {{{1, 2, 5, 3}}, {{2, 4, 7, 2}}, {{1, 6, 3, 4}}, {{2, 5, 9, 1}}})
            .def([](auto& b, const auto& x) {
                auto w = b.constant_i64({3});
                auto on = b.mul(b.cast(b.less(w, b.shape(x, 1, 2)), tf::dtype::i64), b.cast(b.less(w, b.shape(x, 2, 3)), tf::dtype::i64));
                auto shift = b.sub(b.constant_i64({0}), b.mul(on, b.constant_i64({1})));
                return b.roll(b.roll(x, 1, shift), -2, shift);
            }));
    add(at_all(op_case("roll", "int64 axis 0").in(i64("x", ints(0, 100))), {{{3, 4}}, {{1, 2}}, {{5, 1}}})
            .def([](auto& b, const auto& x) { return b.roll(x, 0, b.constant_i64({-2})); }));
    // LongT5's global block positions: 0 .. S / 3 - 1 (empty below 3 tokens)
    add(at_all(op_case("slice_to", "int64 range S / 3").in(i64("ids", ints(0, 9))), {{{1, 1}}, {{3, 7}}, {{2, 9}}})
            .def([](auto& b, const auto& ids) {
                return b.slice_to(b.range(ids, 1), 0, b.div(b.shape(ids, 1, 2), b.constant_i64({3})));
            }));
    // MobileBERT's trigram input: each position with its right and left
    // neighbours, zero past either end
    add(at_all(op_case("concat", "shifted neighbours").in(f32("x")), seq3).def([](auto& b, const auto& x) {
        const auto end = std::numeric_limits<std::int64_t>::max();
        auto zero = b.mul(b.slice(x, 1, 0, 1), b.scalar(0.f));
        return b.concat({b.concat({b.slice(x, 1, 1, end), zero}, 1), x, b.concat({zero, b.slice(x, 1, 0, -1)}, 1)}, 2);
    }));

    for (std::int64_t k : {1, 3, 9}) {
        // kernels wider than the sequence included (S = 1, 5 < 9)
        add(at_all(op_case("unfold", "kernel " + std::to_string(k)).in(f32("x")), seq3)
                .def([k](auto& b, const auto& x) { return b.unfold(x, k); }));
    }
    add(at_all(op_case("unfold", "kernel 4 even").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.unfold(x, 4); }));
    // rotary: x [B, S, H·D], sin and cos [S, R/2] (RoFormer) or [B, S, R/2]
    // (a decoder's, from position_ids); interleaved and half-split pairs,
    // whole and partial heads, odd pair counts included. From opset 23
    // ONNX Runtime's RotaryEmbedding: the same two products and a sum per
    // feature, in its own order (a few ulp).
    const bound rotary_bound{1e-6, 1e-6};
    struct rotary_variant {
        std::size_t heads, head_dim, dims;
        bool interleaved;
    };
    for (const auto& r : {rotary_variant{1, 8, 8, true}, rotary_variant{2, 6, 6, true}, rotary_variant{2, 8, 8, false},
                          rotary_variant{3, 10, 4, false}, rotary_variant{2, 10, 6, true},
                          rotary_variant{1, 12, 2, false}}) {
        const std::string v = "heads " + std::to_string(r.heads) + " of " + std::to_string(r.head_dim) + " turn " +
                              std::to_string(r.dims) + (r.interleaved ? " interleaved" : " half-split");
        const tf::rotary_layout l{static_cast<std::int64_t>(r.heads), static_cast<std::int64_t>(r.head_dim),
                                  static_cast<std::int64_t>(r.dims), r.interleaved};
        const std::size_t hd = r.heads * r.head_dim, half = r.dims / 2;
        auto rotary = [l](auto& b, const auto& x, const auto& s, const auto& c) { return b.rotary(x, s, c, l); };
        add(at_all(op_case("rotary", v + " tables [S, R/2]").in(f32("x")).in(f32("sin")).in(f32("cos")),
                   {{{1, 1, hd}, {1, half}, {1, half}},
                    {{3, 7, hd}, {7, half}, {7, half}},
                    {{2, 5, hd}, {5, half}, {5, half}}})
                .within(rotary_bound)
                .def(rotary));
        add(at_all(op_case("rotary", v + " tables [B, S, R/2]").in(f32("x")).in(f32("sin")).in(f32("cos")),
                   {{{1, 1, hd}, {1, 1, half}, {1, 1, half}},
                    {{3, 7, hd}, {3, 7, half}, {3, 7, half}},
                    {{2, 5, hd}, {2, 5, half}, {2, 5, half}}})
                .within(rotary_bound)
                .def(rotary));
    }
    const std::vector<std::vector<shape_t>> seq3_16{{{1, 1, 16}}, {{3, 7, 16}}, {{2, 5, 16}}};
    // a decoder's tables share the batch axis of x (both from the graph's
    // batch): RotaryEmbedding reads them as they are, no Expand
    add(at_all(op_case("rotary", "tables on the batch axis of x").in(f32("x")), seq3_16)
            .within(rotary_bound)
            .def([](auto& b, const auto& x) {
                auto angles = b.slice(x, -1, 0, 4);  // [B, S, 4], x's own axes
                return b.rotary(x, b.sin(angles), b.cos(angles), tf::rotary_layout{2, 8, 8, false});
            }));

    // gather_last: DeBERTa's torch.gather of relative-position scores; a copy, exact
    add(at_all(op_case("gather_last", "x[B,H,S,N] idx[S,M]").in(f32("x")).in(i64("idx", ints(0, 8))),
               {{{1, 1, 1, 8}, {1, 1}}, {{3, 2, 7, 12}, {7, 5}}, {{2, 4, 5, 20}, {5, 9}}})
            .def([](auto& b, const auto& x, const auto& idx) { return b.gather_last(x, idx); }));
    add(at_all(op_case("gather_last", "x[B,S,N] idx[1,S,M]").in(f32("x")).in(i64("idx", ints(0, 8))),
               {{{1, 1, 8}, {1, 1, 3}}, {{3, 7, 12}, {1, 7, 7}}, {{2, 5, 20}, {1, 5, 16}}})
            .def([](auto& b, const auto& x, const auto& idx) { return b.gather_last(x, idx); }));
    add(at_all(op_case("gather_last", "same rank").in(f32("x")).in(i64("idx", ints(0, 8))),
               {{{1, 1, 8}, {1, 1, 3}}, {{3, 7, 12}, {3, 7, 7}}, {{2, 5, 20}, {2, 5, 16}}})
            .def([](auto& b, const auto& x, const auto& idx) { return b.gather_last(x, idx); }));
    add(at_all(op_case("gather_last", "int64 table lookup").in(i64("table", ints(-50, 50))).in(i64("idx", ints(0, 8))),
               {{{1, 8}, {1, 1}}, {{1, 9}, {1, 49}}, {{1, 30}, {1, 25}}})
            .def([](auto& b, const auto& t, const auto& idx) { return b.gather_last(t, idx); }));
    // clip: exact
    add(at_all(op_case("clip", "int64").in(i64("x", ints(-20, 20))), seq2)
            .def([](auto& b, const auto& x) { return b.clip(x, -5, 7); }));
    add(at_all(op_case("clip", "float32").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.clip(x, -1, 1); }));
    add(at_all(op_case("clamp", "float bounds").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.clamp(x, -0.75f, 0.5f); }));
    add(at_all(op_case("clamp", "upper only").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.clamp(x, -std::numeric_limits<float>::infinity(), 0.25f); }));
    // conv1d: a sum of C/groups · K products
    add(at_all(op_case("conv1d", "k3 pad1").in(f32("x")).in(f32("w")).in(f32("bias")),
               {{{1, 4, 1}, {4, 4, 3}, {4}}, {{3, 4, 7}, {6, 4, 3}, {6}}, {{2, 8, 5}, {8, 8, 3}, {8}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) { return b.conv1d(x, w, &bias, 1, 1); }));
    add(at_all(op_case("conv1d", "k5 pad2 groups2").in(f32("x")).in(f32("w")).in(f32("bias")),
               {{{1, 4, 1}, {4, 2, 5}, {4}}, {{3, 4, 7}, {6, 2, 5}, {6}}, {{2, 8, 9}, {8, 4, 5}, {8}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) { return b.conv1d(x, w, &bias, 2, 2); }));
    add(at_all(op_case("conv1d", "k2 no pad no bias").in(f32("x")).in(f32("w")),
               {{{1, 4, 2}, {4, 4, 2}}, {{3, 4, 7}, {6, 4, 2}}, {{2, 8, 5}, {8, 8, 2}}})
            .within(sum_bound)
            .def([](auto& b, const auto& x, const auto& w) { return b.conv1d(x, w, nullptr, 0, 1); }));
    // gated_delta_rule: the recurrence of Gated DeltaNet (Qwen3-Next, Qwen3.5): a Scan in the graph, a loop in
    // the reference; q and k L2-normalised as the layers give them, g a log decay (negative), beta in (0, 1).
    // Each step adds Dk products per output: the errors grow with the sequence, bounded as sums.
    {
        const auto unit_rows = [](float scale) {
            return generator([scale](const shape_t& s, rng_t& rng) {
                std::normal_distribution<float> d(0.f, 1.f);
                xt::xarray<float> a = xt::zeros<float>(s);
                const std::size_t n = s.back();
                for (std::size_t r = 0; r < a.size() / n; ++r) {
                    float sum = 0.f;
                    for (std::size_t j = 0; j < n; ++j) sum += (a.data()[r * n + j] = d(rng)) * a.data()[r * n + j];
                    for (std::size_t j = 0; j < n; ++j) a.data()[r * n + j] *= scale / std::sqrt(sum + 1e-6f);
                }
                return tf::eval_value(std::move(a));
            });
        };
        const generator zeros = [](const shape_t& s, rng_t&) { return tf::eval_value(xt::xarray<float>(xt::zeros<float>(s))); };
        const std::vector<std::vector<shape_t>> runs{
            {{1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1, 4}, {1, 1, 1}, {1, 1, 1}, {1, 1, 4, 4}},
            {{2, 3, 7, 4}, {2, 3, 7, 4}, {2, 3, 7, 6}, {2, 3, 7}, {2, 3, 7}, {2, 3, 4, 6}},
            {{3, 2, 70, 8}, {3, 2, 70, 8}, {3, 2, 70, 5}, {3, 2, 70}, {3, 2, 70}, {3, 2, 8, 5}}};
        const auto rule = [](auto& b, const auto& q, const auto& k, const auto& v, const auto& g, const auto& beta,
                             const auto& state) { return b.gated_delta_rule(q, k, v, g, beta, state); };
        add(at_all(op_case("gated_delta_rule", "with a state")
                       .in(f32("q", unit_rows(0.5f)))
                       .in(f32("k", unit_rows(1.f)))
                       .in(f32("v"))
                       .in(f32("g", uniform(-1.f, 0.f)))
                       .in(f32("beta", uniform(0.f, 1.f)))
                       .in(f32("state")),
                   runs)
                .within({1e-5, 1e-5})
                .def(rule));
        add(at_all(op_case("gated_delta_rule", "first step zero state")
                       .in(f32("q", unit_rows(0.35f)))
                       .in(f32("k", unit_rows(1.f)))
                       .in(f32("v", normal(2.f)))
                       .in(f32("g", uniform(-3.f, 0.f)))
                       .in(f32("beta", uniform(0.f, 1.f)))
                       .in(f32("state", zeros)),
                   runs)
                .within({1e-5, 1e-5})
                .def(rule));
    }

    // ties (integer-valued floats) must pick the first maximum, as torch.argmax and ONNX ArgMax do
    add(at_all(op_case("argmax", "last axis ties").in(f32("x", int_floats(0, 3))), seq3)
            .def([](auto& b, const auto& x) { return b.argmax(x, -1); }));
    add(at_all(op_case("argmax", "axis 1").in(f32("x")), seq3)
            .def([](auto& b, const auto& x) { return b.argmax(x, 1); }));

    // ops of the decoders. Rotary angles reach position · inv_freq,
    // up to a few thousand radians in a long context: the wide cases (sd 40)
    // check the argument reduction, within a bound relative to the angle.
    add(at_all(op_case("constant_f32", "added to x[.., 3]").in(f32("x")), {{{1, 3}}, {{4, 3}}, {{2, 3}}})
            .def([](auto& b, const auto& x) { return b.add(x, b.constant_f32({0.5f, -1.25f, 3e-8f})); }));
    add(at_all(op_case("sin", "normal").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.sin(x); }));
    add(at_all(op_case("sin", "angles").in(f32("x", normal(40.f))), seq3)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.sin(x); }));
    add(at_all(op_case("cos", "normal").in(f32("x")), seq3).def([](auto& b, const auto& x) { return b.cos(x); }));
    add(at_all(op_case("cos", "angles").in(f32("x", normal(40.f))), seq3)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.cos(x); }));
    add(at_all(op_case("sqrt", "integers").in(f32("x", int_floats(0, 100))), seq3)
            .def([](auto& b, const auto& x) { return b.sqrt(x); }));
    add(at_all(op_case("log", "integers").in(f32("x", int_floats(1, 3000))), seq3)
            .def([](auto& b, const auto& x) { return b.log(x); }));
    add(at_all(op_case("log", "positive").in(f32("x", uniform(0.01f, 50.f))), seq3)
            .def([](auto& b, const auto& x) { return b.log(x); }));

    // -- images, x [N, C, H, W]: batch 1 and 1x1 images included, odd sizes;
    // every input on named dynamic axes (the weights too: their kernel size is
    // then unknown to the ONNX backend, and Conv reads it from the weight)
    using runs_t = std::vector<std::vector<shape_t>>;
    // conv2d sums C/groups · kH · kW products (up to 147 here) in different
    // orders (im2col + OpenBLAS here, MLAS there): relative to the magnitude
    const bound conv_bound{1e-6, 2e-6};
    add(at_all(op_case("conv2d", "k3 pad1").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 3, 1, 1}, {4, 3, 3, 3}, {4}}, {{3, 3, 7, 5}, {6, 3, 3, 3}, {6}}, {{2, 4, 9, 11}, {8, 4, 3, 3}, {8}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {1, 1}, {1, 1, 1, 1});
            }));
    add(at_all(op_case("conv2d", "depthwise k3 pad1 groups 4").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 4, 1, 1}, {4, 1, 3, 3}, {4}}, {{3, 4, 7, 5}, {8, 1, 3, 3}, {8}}, {{2, 4, 6, 9}, {4, 1, 3, 3}, {4}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {1, 1}, {1, 1, 1, 1}, {1, 1}, 4);
            }));
    // ConvNeXT's depthwise 7x7
    add(at_all(op_case("conv2d", "depthwise k7 pad3 groups 3").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 3, 1, 1}, {3, 1, 7, 7}, {3}}, {{3, 3, 7, 5}, {3, 1, 7, 7}, {3}}, {{2, 3, 9, 10}, {6, 1, 7, 7}, {6}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {1, 1}, {3, 3, 3, 3}, {1, 1}, 3);
            }));
    add(at_all(op_case("conv2d", "groups 2 no bias").in(f32("x")).in(f32("w")),
               runs_t{{{1, 4, 3, 3}, {2, 2, 3, 3}}, {{3, 6, 7, 5}, {4, 3, 3, 3}}, {{2, 2, 5, 8}, {6, 1, 3, 3}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w) { return b.conv2d(x, w, nullptr, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2); }));
    add(at_all(op_case("conv2d", "stride 2 k3 pad1").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 3, 1, 1}, {4, 3, 3, 3}, {4}}, {{3, 3, 7, 5}, {6, 3, 3, 3}, {6}}, {{2, 3, 8, 9}, {5, 3, 3, 3}, {5}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {2, 2}, {1, 1, 1, 1});
            }));
    // ResNet's stem: 7x7, stride 2, pad 3
    add(at_all(op_case("conv2d", "stem k7 stride 2 pad3").in(f32("x")).in(f32("w")),
               runs_t{{{1, 3, 1, 1}, {4, 3, 7, 7}}, {{3, 3, 7, 5}, {6, 3, 7, 7}}, {{2, 3, 12, 9}, {5, 3, 7, 7}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w) { return b.conv2d(x, w, nullptr, {2, 2}, {3, 3, 3, 3}); }));
    add(at_all(op_case("conv2d", "dilation 2 k3 pad2").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 2, 1, 1}, {3, 2, 3, 3}, {3}}, {{3, 2, 7, 5}, {4, 2, 3, 3}, {4}}, {{2, 3, 9, 6}, {5, 3, 3, 3}, {5}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {1, 1}, {2, 2, 2, 2}, {2, 2});
            }));
    add(at_all(op_case("conv2d", "asymmetric pads k3x2 stride 2x1 dilation 1x2").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 3, 2, 1}, {4, 3, 3, 2}, {4}}, {{3, 3, 7, 5}, {6, 3, 3, 2}, {6}}, {{2, 3, 8, 9}, {5, 3, 3, 2}, {5}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {2, 1}, {0, 1, 2, 3}, {1, 2});
            }));
    // 1x1 at stride 1 without padding: sgemm on x itself
    add(at_all(op_case("conv2d", "1x1").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 5, 1, 1}, {4, 5, 1, 1}, {4}}, {{3, 5, 7, 5}, {6, 5, 1, 1}, {6}}, {{2, 5, 4, 9}, {8, 5, 1, 1}, {8}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) { return b.conv2d(x, w, &bias); }));
    // ResNet's projection shortcut: 1x1 at stride 2
    add(at_all(op_case("conv2d", "1x1 stride 2").in(f32("x")).in(f32("w")),
               runs_t{{{1, 5, 1, 1}, {4, 5, 1, 1}}, {{3, 5, 7, 5}, {6, 5, 1, 1}}, {{2, 5, 4, 9}, {8, 5, 1, 1}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w) { return b.conv2d(x, w, nullptr, {2, 2}); }));
    // ViT's / ConvNeXT's patch embedding: kernel = stride = 4; a size not a
    // multiple of 4 drops the rest, as torch does
    add(at_all(op_case("conv2d", "patchify k4 stride 4").in(f32("x")).in(f32("w")).in(f32("bias")),
               runs_t{{{1, 3, 4, 4}, {6, 3, 4, 4}, {6}}, {{3, 3, 8, 12}, {4, 3, 4, 4}, {4}}, {{2, 3, 9, 13}, {5, 3, 4, 4}, {5}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x, const auto& w, const auto& bias) {
                return b.conv2d(x, w, &bias, {4, 4});
            }));
    // a weight of static shape (a constant here, a parameter in a model):
    // kernel_shape is written, and "same" padding keeps H and W by name
    add(at_all(op_case("conv2d", "static weight keeps named H W").in(f32("x")),
               runs_t{{{1, 2, 1, 1}}, {{3, 2, 7, 5}}, {{2, 2, 6, 9}}})
            .within(conv_bound)
            .def([](auto& b, const auto& x) {
                std::vector<float> v(3 * 2 * 3 * 3);
                for (std::size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>(k % 7) * 0.25f - 0.75f;
                auto w = b.reshape(b.constant_f32(v), {3, 2, 3, 3});
                return b.conv2d(x, w, nullptr, {1, 1}, {1, 1, 1, 1});
            }));

    // batch_norm: running var positive, as a trained BatchNorm2d holds
    const auto image_runs = runs_t{{{1, 3, 1, 1}, {3}, {3}, {3}, {3}},
                                   {{3, 3, 7, 5}, {3}, {3}, {3}, {3}},
                                   {{2, 5, 6, 9}, {5}, {5}, {5}, {5}}};
    add(at_all(op_case("batch_norm", "eps 1e-5")
                   .in(f32("x"))
                   .in(f32("scale"))
                   .in(f32("bias"))
                   .in(f32("mean"))
                   .in(f32("var", uniform(0.1f, 3.f))),
               image_runs)
            .within(norm_bound)
            .def([](auto& b, const auto& x, const auto& s, const auto& bias, const auto& m, const auto& v) {
                return b.batch_norm(x, s, bias, m, v, 1e-5f);
            }));
    add(at_all(op_case("batch_norm", "eps 1e-3 tiny var")
                   .in(f32("x"))
                   .in(f32("scale"))
                   .in(f32("bias"))
                   .in(f32("mean"))
                   .in(f32("var", uniform(0.f, 1e-3f))),
               image_runs)
            .within(norm_bound)
            .def([](auto& b, const auto& x, const auto& s, const auto& bias, const auto& m, const auto& v) {
                return b.batch_norm(x, s, bias, m, v, 1e-3f);
            }));

    // pools: a max is exact; a mean divides a float sum of at most 9 values
    const auto pool_runs = runs_t{{{1, 2, 1, 1}}, {{3, 4, 7, 5}}, {{2, 3, 8, 9}}};
    const auto pool_runs_3 = runs_t{{{1, 2, 3, 3}}, {{3, 4, 7, 5}}, {{2, 3, 8, 10}}};
    const bound pool_bound{1e-6, 1e-6};
    add(at_all(op_case("max_pool2d", "resnet stem k3 stride 2 pad1").in(f32("x")), pool_runs)
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {3, 3}, {2, 2}, {1, 1, 1, 1}); }));
    add(at_all(op_case("max_pool2d", "k2 stride 2").in(f32("x")), runs_t{{{1, 2, 2, 2}}, {{3, 4, 7, 5}}, {{2, 3, 8, 9}}})
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {2, 2}, {2, 2}, {}); }));
    add(at_all(op_case("max_pool2d", "k3 stride 1 pad1 keeps named H W").in(f32("x")), pool_runs)
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {3, 3}, {1, 1}, {1, 1, 1, 1}); }));
    add(at_all(op_case("max_pool2d", "k3x2 stride 2x1 asymmetric pads").in(f32("x")),
               runs_t{{{1, 2, 2, 1}}, {{3, 4, 7, 5}}, {{2, 3, 8, 9}}})
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {3, 2}, {2, 1}, {0, 1, 1, 0}); }));
    add(at_all(op_case("max_pool2d", "k3 stride 2 ceil_mode").in(f32("x")), pool_runs_3)
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {3, 3}, {2, 2}, {}, true); }));
    // ceil_mode where the last window would start in the bottom padding (H or W 5, 8): dropped
    add(at_all(op_case("max_pool2d", "k3 stride 3 pad1 ceil_mode").in(f32("x")),
               runs_t{{{1, 2, 1, 1}}, {{3, 4, 5, 8}}, {{2, 3, 8, 5}}})
            .within({0, 0})
            .def([](auto& b, const auto& x) { return b.max_pool2d(x, {3, 3}, {3, 3}, {1, 1, 1, 1}, true); }));
    for (bool include : {true, false}) {
        const std::string pad = include ? " count pad" : " skip pad";
        add(at_all(op_case("avg_pool2d", "k3 stride 2 pad1" + pad).in(f32("x")), pool_runs)
                .within(pool_bound)
                .def([include](auto& b, const auto& x) { return b.avg_pool2d(x, {3, 3}, {2, 2}, {1, 1, 1, 1}, include); }));
        // PoolFormer's token mixer: AvgPool2d(3, 1, 1, count_include_pad=False)
        add(at_all(op_case("avg_pool2d", "k3 stride 1 pad1 keeps named H W" + pad).in(f32("x")), pool_runs)
                .within(pool_bound)
                .def([include](auto& b, const auto& x) { return b.avg_pool2d(x, {3, 3}, {1, 1}, {1, 1, 1, 1}, include); }));
        add(at_all(op_case("avg_pool2d", "k3 stride 2 ceil_mode" + pad).in(f32("x")), pool_runs_3)
                .within(pool_bound)
                .def([include](auto& b, const auto& x) { return b.avg_pool2d(x, {3, 3}, {2, 2}, {}, include, true); }));
        add(at_all(op_case("avg_pool2d", "k3 stride 3 pad1 ceil_mode" + pad).in(f32("x")),
                   runs_t{{{1, 2, 1, 1}}, {{3, 4, 5, 8}}, {{2, 3, 8, 5}}})
                .within(pool_bound)
                .def([include](auto& b, const auto& x) { return b.avg_pool2d(x, {3, 3}, {3, 3}, {1, 1, 1, 1}, include, true); }));
    }
    // ResNet-D's shortcut: AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
    add(at_all(op_case("avg_pool2d", "k2 stride 2 ceil_mode skip pad").in(f32("x")), pool_runs)
            .within(pool_bound)
            .def([](auto& b, const auto& x) { return b.avg_pool2d(x, {2, 2}, {2, 2}, {}, false, true); }));
    add(at_all(op_case("global_avg_pool", "image").in(f32("x")), runs_t{{{1, 3, 1, 1}}, {{3, 5, 7, 5}}, {{2, 4, 9, 6}}})
            .within(pool_bound)
            .def([](auto& b, const auto& x) { return b.global_avg_pool(x); }));

    // resize, as F.interpolate: downsampling, upsampling (2x exactly
    // included), output size 1 and 1x1 inputs. Linear and cubic weights are
    // computed in float on both sides from coordinates that differ by an ulp
    // or so (ONNX Runtime divides by out / in where torch multiplies by in /
    // out): relative to the magnitude.
    const auto resize_runs = runs_t{{{1, 2, 1, 1}}, {{3, 2, 7, 5}}, {{2, 3, 10, 14}}, {{1, 1, 3, 4}}};
    const bound resize_bound{1e-6, 2e-6};
    struct resize_variant {
        const char* name;
        tf::resize_mode mode;
        bool align_corners;
    };
    for (const auto& [name, mode, ac] : std::vector<resize_variant>{
             {"nearest", tf::resize_mode::nearest, false},
             {"bilinear", tf::resize_mode::bilinear, false},
             {"bilinear align_corners", tf::resize_mode::bilinear, true},
             {"bicubic", tf::resize_mode::bicubic, false},
             {"bicubic align_corners", tf::resize_mode::bicubic, true}}) {
        for (const auto& [h, w] : std::vector<std::pair<std::int64_t, std::int64_t>>{{5, 7}, {1, 1}, {1, 3}, {14, 2}}) {
            add(at_all(op_case("resize", std::string(name) + " to " + std::to_string(h) + "x" + std::to_string(w)).in(f32("x")),
                       resize_runs)
                    .within(resize_bound)
                    .def([mode, ac, h, w](auto& b, const auto& x) { return b.resize(x, h, w, mode, ac); }));
        }
        // to another feature map's size: y's H and W, known at run time
        add(at_all(op_case("resize_to", std::string(name) + " to shape of y").in(f32("x")).in(f32("y")),
                   runs_t{{{1, 2, 1, 1}, {1, 1, 4, 3}}, {{3, 2, 7, 5}, {3, 1, 14, 10}}, {{2, 3, 10, 14}, {2, 4, 3, 1}}})
                .within(resize_bound)
                .def([mode, ac](auto& b, const auto& x, const auto& y) { return b.resize_to(x, b.shape(y, 2, 4), mode, ac); }));
    }

    // hardsigmoid and hardswish: torch's relu6(x + 3) / 6 against ONNX's
    // clamp(x / 6 + 1/2, 0, 1) (alpha 1/6 rounded to float): an ulp or two
    add(at_all(op_case("hardsigmoid", "wide").in(f32("x", normal(4.f))), seq3)
            .def([](auto& b, const auto& x) { return b.hardsigmoid(x); }));
    add(at_all(op_case("hardswish", "wide").in(f32("x", normal(4.f))), seq3)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.hardswish(x); }));
    add(at_all(op_case("hardswish", "image").in(f32("x", normal(4.f))), pool_runs)
            .within(wide_bound)
            .def([](auto& b, const auto& x) { return b.hardswish(x); }));

    // reduce_l2: sums of squares (double here, float there)
    const auto nhwc_runs = runs_t{{{1, 1, 1, 3}}, {{3, 7, 5, 4}}, {{2, 6, 9, 5}}};
    add(at_all(op_case("reduce_l2", "axes 1 2").in(f32("x")), nhwc_runs)
            .within(sum_bound)
            .def([](auto& b, const auto& x) { return b.reduce_l2(x, {1, 2}); }));
    add(at_all(op_case("reduce_l2", "axis -1").in(f32("x")), seq3)
            .within(sum_bound)
            .def([](auto& b, const auto& x) { return b.reduce_l2(x, {-1}); }));
    // ConvNeXTV2's GRN on channels-last x [N, H, W, C]:
    // Gx = ||x||_2 over H, W; Nx = Gx / (mean_C(Gx) + 1e-6); y = gamma · (x · Nx) + beta + x
    add(at_all(op_case("reduce_l2", "ConvNeXTV2 GRN").in(f32("x")).in(f32("gamma")).in(f32("beta")),
               runs_t{{{1, 1, 1, 3}, {3}, {3}}, {{3, 7, 5, 4}, {4}, {4}}, {{2, 6, 9, 5}, {5}, {5}}})
            .within({1e-6, 4e-6})
            .def([](auto& b, const auto& x, const auto& gamma, const auto& beta) {
                auto gx = b.reduce_l2(x, {1, 2});                                           // [N, 1, 1, C]
                auto mean = b.unsqueeze(b.reduce_mean(gx, -1), {-1});                        // [N, 1, 1, 1]
                auto nx = b.div(gx, b.add(mean, b.scalar(1e-6f)));
                return b.add(b.add(b.mul(gamma, b.mul(x, nx)), beta), x);
            }));

    // expand: a learned token [1, 1, E] to every row of x [B, S, E] (ViT's class token), and both ways
    add(at_all(op_case("expand", "token to batch").in(f32("t")).in(f32("x")),
               runs_t{{{1, 1, 4}, {1, 3, 4}}, {{1, 1, 5}, {3, 7, 5}}, {{1, 1, 2}, {2, 9, 2}}})
            .def([](auto& b, const auto& t, const auto& x) {
                return b.concat({b.expand(t, b.concat({b.shape(x, 0, 1), b.constant_i64({1, 1})}, 0)), x}, 1);
            }));
    add(at_all(op_case("expand", "both ways").in(f32("x")).in(f32("y")),
               runs_t{{{3, 1}, {1, 1, 4}}, {{1, 5}, {2, 3, 1}}, {{2, 1}, {6, 2, 1}}})
            .def([](auto& b, const auto& x, const auto& y) { return b.expand(x, b.shape(y, 0, static_cast<std::int64_t>(y.rank()))); }));
    add(at_all(op_case("expand", "int64").in(i64("x", ints(-9, 9))).in(f32("y")),
               runs_t{{{1, 3}, {2, 1}}, {{4, 1}, {4, 6}}})
            .def([](auto& b, const auto& x, const auto& y) { return b.expand(x, b.shape(y, 0, 2)); }));
    return c;
}

const std::vector<op_case>& cases() {
    static const std::vector<op_case> c = make_cases();
    return c;
}

// -- running one case ------------------------------------------------------------------
std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string r = "[";
    for (std::size_t k = 0; k < s.size(); ++k) r += (k ? "," : "") + std::to_string(s[k]);
    return r + "]";
}
std::string shape_text(const shape_t& s) { return shape_text(std::vector<std::int64_t>(s.begin(), s.end())); }

std::uint32_t seed_of(const std::string& s, std::size_t run) {
    std::uint32_t h = 2166136261u;  // FNV-1a: stable across standard libraries
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h ^ static_cast<std::uint32_t>(run * 0x9e3779b9u);
}

double max_abs(const tf::eval_value& v) {
    double m = 0;
    if (v.is_float())
        for (float x : v.f) m = std::max(m, std::abs(static_cast<double>(x)));
    else
        for (auto x : v.i) m = std::max(m, std::abs(static_cast<double>(x)));
    return m;
}

void run_case(const op_case& c, int opset) {
    const tf::checkpoint* ck = c.weights ? &test_checkpoint() : nullptr;

    // the graph: every input on named dynamic axes
    tf::onnx_backend ob(ck, opset, c.int8 ? tf::quantization::int8 : tf::quantization::none);
    std::vector<tf::onnx_value> sym;
    std::vector<std::vector<std::string>> axis_names(c.inputs.size());
    for (std::size_t k = 0; k < c.inputs.size(); ++k) {
        const auto rank = c.shapes.front()[k].size();
        for (std::size_t d = 0; d < rank; ++d) axis_names[k].push_back(c.inputs[k].name + "_d" + std::to_string(d));
        std::vector<std::string_view> axes(axis_names[k].begin(), axis_names[k].end());
        sym.push_back(ob.input(c.inputs[k].name, c.inputs[k].type, axes));
    }
    const tf::onnx_value y = c.emit(ob, sym);
    const std::vector<std::string_view> keep(y.rank(), "");  // "": keep the tracked dims
    ob.output("result", y, keep);
    ob.finish();
    ASSERT_NO_THROW(tf::check_onnx(ob.model())) << "the ONNX checker refused the graph";
    std::string bytes;
    ASSERT_TRUE(ob.model().SerializeToString(&bytes));
    std::unique_ptr<tf::ort_runner> ort;
    ASSERT_NO_THROW(ort = std::make_unique<tf::ort_runner>(bytes, 1)) << "ONNX Runtime could not load the graph";

    // the same graph at every run's shapes
    for (std::size_t run = 0; run < c.shapes.size(); ++run) {
        std::string where = "at";
        for (std::size_t k = 0; k < c.inputs.size(); ++k)
            where += " " + c.inputs[k].name + "=" + shape_text(c.shapes[run][k]);
        SCOPED_TRACE(c.op + " (" + c.variant + "), opset " + std::to_string(opset) + ", " + where);

        rng_t rng(seed_of(c.name(), run));
        std::vector<tf::eval_value> values;
        tf::tensor_map feeds;
        std::map<std::string, std::int64_t> axis_size;
        for (std::size_t k = 0; k < c.inputs.size(); ++k) {
            values.push_back(c.inputs[k].gen(c.shapes[run][k], rng));
            feeds.emplace(c.inputs[k].name, values.back());
            for (std::size_t d = 0; d < axis_names[k].size(); ++d)
                axis_size[axis_names[k][d]] = static_cast<std::int64_t>(c.shapes[run][k][d]);
        }
        tf::weight_cache held(tf::weight_cache::options{.quantize_int8 = c.int8});
        tf::eval_backend eb(ck, &held);
        const tf::eval_value want = c.eval(eb, values);

        tf::tensor_map got;
        ASSERT_NO_THROW(got = ort->run(feeds)) << "ONNX Runtime failed";
        ASSERT_TRUE(got.contains("result"));
        const tf::eval_value& have = got.at("result");

        ASSERT_EQ(tf::safetensors_name(have.type), tf::safetensors_name(want.type)) << "element types differ";
        ASSERT_EQ(tf::safetensors_name(y.type), tf::safetensors_name(want.type)) << "the tracked element type is wrong";
        ASSERT_EQ(shape_text(have.shape()), shape_text(want.shape())) << "shapes differ";
        // the symbolic shape the ONNX backend tracked must hold at this run
        ASSERT_EQ(y.rank(), want.rank()) << "the tracked rank is wrong";
        for (std::size_t d = 0; d < y.rank(); ++d) {
            const auto& t = y.shape[d];
            const auto actual = want.shape()[d];
            if (t.is_static()) {
                EXPECT_EQ(t.size, actual) << "tracked static dim " << d << " is wrong";
            } else if (auto it = axis_size.find(t.param); !t.param.empty() && it != axis_size.end()) {
                EXPECT_EQ(it->second, actual) << "tracked dim " << d << " is named " << t.param
                                              << ", an input axis of another size";
            }
        }

        const double diff = tf::max_abs_diff(want, have);
        const double limit = c.tol.atol + c.tol.rtol * max_abs(want);
        EXPECT_LE(diff, limit) << "max abs diff " << diff << " over the bound " << limit << " (atol " << c.tol.atol
                               << ", rtol " << c.tol.rtol << ", max|eval| " << max_abs(want) << ")";
        if (std::getenv("TYPEFORMER_TEST_OPS_VERBOSE"))
            std::printf("%-40s opset %d %-40s diff %.3g limit %.3g\n", c.name().c_str(), opset, where.c_str(), diff,
                        limit);
    }
}

// -- the tests -----------------------------------------------------------------------
struct conformance_param {
    std::size_t index;
    int opset;
};
void PrintTo(const conformance_param& p, std::ostream* os) {
    *os << cases()[p.index].op << " (" << cases()[p.index].variant << ") at opset " << p.opset;
}
class conformance : public testing::TestWithParam<conformance_param> {};

TEST_P(conformance, eval_matches_onnxruntime) {
    const auto& c = cases()[GetParam().index];
    run_case(c, GetParam().opset);
}

std::vector<conformance_param> all_params() {
    std::vector<conformance_param> p;
    for (std::size_t k = 0; k < cases().size(); ++k)
        for (int opset = tf::min_opset; opset <= tf::max_opset; ++opset) p.push_back({k, opset});
    return p;
}

INSTANTIATE_TEST_SUITE_P(ops, conformance, testing::ValuesIn(all_params()),
                         [](const testing::TestParamInfo<conformance_param>& info) {
                             return cases()[info.param.index].name() + "_opset" + std::to_string(info.param.opset);
                         });

TEST(ops, case_names_are_unique) {
    std::set<std::string> seen;
    for (const auto& c : cases()) EXPECT_TRUE(seen.insert(c.name()).second) << "duplicate case " << c.name();
}

// The image ops' eval against values torch 2.x computed (F.interpolate,
// F.avg_pool2d, F.max_pool2d) on x [1, 1, 4, 6] = (7k mod 11) - 5: the
// conformance cases above compare the eval backend with ONNX Runtime; these
// pin the eval backend to torch where the two could agree and both be wrong:
// nearest's floor(dst · in / out) (spelled as Gathers in the graph: ONNX
// Runtime's Resize divides by out / in and, from 14 to 2, reads column 6
// where torch reads 7), bilinear to size 1 (half_pixel, not
// pytorch_half_pixel), bicubic's A = -0.75 and border, and ceil_mode's last
// window (clipped to the padded input for the divisor, dropped when it would
// start in the end padding).
TEST(ops, image_ops_compute_what_torch_computes) {
    xt::xarray<float> a = xt::zeros<float>(shape_t{1, 1, 4, 6});
    for (std::size_t k = 0; k < a.size(); ++k) a.data()[k] = static_cast<float>(static_cast<int>((k * 7) % 11) - 5);
    const tf::eval_value x(a);
    tf::eval_backend b;
    struct expected {
        std::string what;
        tf::eval_value got;
        shape_t shape;
        std::vector<float> values;
    };
    using tf::resize_mode;
    const std::vector<expected> cases{
        {"nearest 3x2", b.resize(x, 3, 2, resize_mode::nearest, false), {1, 1, 3, 2}, {-5, 5, 4, 3, 2, 1}},
        {"nearest 7x4", b.resize(x, 7, 4, resize_mode::nearest, false), {1, 1, 7, 4},
         {-5, 2, 5, 1, -5, 2, 5, 1, 4, 0, 3, -1, 4, 0, 3, -1, 2, -2, 1, -3, 2, -2, 1, -3, 0, -4, -1, -5}},
        {"bilinear 1x1", b.resize(x, 1, 1, resize_mode::bilinear, false), {1, 1, 1, 1}, {1.25f}},
        {"bilinear 3x5", b.resize(x, 3, 5, resize_mode::bilinear, false), {1, 1, 3, 5},
         {-2.98333287f, 0.466666311f, 1.16666663f, 1.86666548f, -2.93333387f, 2.5999999f, -0.549999893f, 1.25f,
          -0.800001144f, -0.649999857f, -0.0666670501f, -1.56666648f, 1.33333302f, -3.46666813f, 1.63333368f}},
        {"bilinear align_corners 3x5", b.resize(x, 3, 5, resize_mode::bilinear, true), {1, 1, 3, 5},
         {-5, 1, 1.5f, 2, -3, 3, -0.625f, 1.25f, -1, -0.5f, 0, -2.25f, 1, -4, 2}},
        {"bicubic 5x3", b.resize(x, 5, 3, resize_mode::bicubic, false), {1, 1, 5, 3},
         {-1.33762527f, 1.62150025f, -1.25350022f, 1.73269558f, -0.441569567f, -3.20287514f, 1.375f, 1.765625f,
          -1.625f, -1.54844439f, 3.97282004f, -0.0471255779f, -2.77774978f, 1.90974975f, -1.99649978f}},
        {"bicubic align_corners 2x7", b.resize(x, 2, 7, resize_mode::bicubic, true), {1, 1, 2, 7},
         {-5, 1.34259224f, -1.1296283f, 1.5f, 4.7407403f, 0.0787028074f, -3, 0, -4.03356409f, 1.01851809f, 2.03125f,
          -3.09259176f, -4.34259224f, 2}},
        {"avg_pool2d k3 s2 p1 ceil count_include_pad", b.avg_pool2d(x, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true),
         {1, 1, 3, 4},
         {0.111111112f, 0.444444448f, 0, -1.33333337f, 0, 0.111111112f, -0.555555582f, 0.166666672f, -0.666666687f,
          -0.333333343f, -0.666666687f, 0.5f}},
        {"avg_pool2d k3 s2 ceil count_include_pad", b.avg_pool2d(x, {3, 3}, {2, 2}, {}, true, true), {1, 1, 2, 3},
         {0, 0.555555582f, -1.16666663f, 0.666666687f, 0, -0.5f}},
        {"max_pool2d k2 s3 p1 ceil", b.max_pool2d(x, {2, 2}, {3, 3}, {1, 1, 1, 1}, true), {1, 1, 2, 3},
         {-5, 5, -3, 2, 5, 4}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        ASSERT_EQ(shape_text(c.got.shape()), shape_text(c.shape));
        ASSERT_EQ(c.got.f.size(), c.values.size());
        // torch rounds its interpolation weights in its own order: a few ulp
        for (std::size_t k = 0; k < c.values.size(); ++k)
            EXPECT_NEAR(c.got.f.data()[k], c.values[k], 2e-6) << "at " << k;
    }
}

// The int8 cases' bound tells the reference on the dequantized weights from
// the reference on the float weights: on the same exactly quantized
// activations the two are far more than the bound apart, so a quantized
// graph that computed on the float weights (or a reference that forgot to
// dequantize) fails the cases.
TEST(ops, int8_bound_tells_dequantized_from_float_weights) {
    const auto& ck = test_checkpoint();
    rng_t rng(3);
    const auto x = exact_uint8()({3, 7, static_cast<std::size_t>(w_in)}, rng);
    tf::weight_cache dequantized(tf::weight_cache::options{.quantize_int8 = true}), plain;
    tf::eval_backend bq(&ck, &dequantized), bf(&ck, &plain);
    const auto a = tf::dense(bq, "encoder.layer.0.dense", x, w_in, w_out);
    const auto b = tf::dense(bf, "encoder.layer.0.dense", x, w_in, w_out);
    const double limit = int8_bound.atol + int8_bound.rtol * max_abs(a);
    EXPECT_GT(tf::max_abs_diff(a, b), 100 * limit);
    // and the table of a Gather: its rows dequantized, not as stored
    auto ids = ints(0, w_out)({2, 5}, rng);
    auto sq = bq.scope("encoder.layer.0.dense");
    auto sf = bf.scope("encoder.layer.0.dense");
    EXPECT_GT(tf::max_abs_diff(bq.gather(bq.param("weight", {w_out, w_in}), ids),
                               bf.gather(bf.param("weight", {w_out, w_in}), ids)),
              0.0);
}

// The checker every export passes knows the opsets the backend targets: the
// spelling of opset 17 that changed at 18 (ReduceMean's axes as an attribute)
// passes at 17 and is refused at 18, for an unknown attribute.
TEST(ops, the_checker_refuses_an_opset_17_spelling_at_18) {
    for (int opset : {17, 18}) {
        tf::onnx_backend ob(nullptr, opset);
        const std::vector<std::string_view> axes{"a", "b"}, out_axes{"a", ""};
        const auto x = ob.input("x", tf::dtype::f32, axes);
        tf::onnx_value r{ob.node("ReduceMean", {x.name},
                                 [](onnx::NodeProto& n) {
                                     auto* a = n.add_attribute();
                                     a->set_name("axes");
                                     a->set_type(onnx::AttributeProto::INTS);
                                     a->add_ints(-1);
                                 })[0],
                         tf::dtype::f32, {x.shape[0], tf::dim{1, {}}}};
        ob.output("y", r, out_axes);
        if (opset == 17)
            EXPECT_NO_THROW(tf::check_onnx(ob.model()));
        else
            EXPECT_THROW(tf::check_onnx(ob.model()), tf::error);
    }
}

// Every member of the Backend concept (ops/vocabulary.hpp), by hand, plus
// `activate` (ops/composite.hpp), which has cases of its own: when an op is
// added there, add it here and give it a case above.
TEST(ops, every_op_of_the_vocabulary_has_a_case) {
    const std::vector<std::string> vocabulary{
        "input",   "output",    "scope",    "param",   "scalar",     "constant_i64", "add",       "sub",
        "mul",     "div",       "less",     "tanh",    "relu",       "sigmoid",      "gelu",      "gelu_tanh", "exp", "softplus",
        "activate", "cast",     "round_bf16", "reshape",  "shape",   "flatten",    "transpose",    "unsqueeze", "select",
        "range",   "gather",    "matmul",   "linear",  "layer_norm", "rms_norm",     "softmax",      "attention",
        "grouped_attention",

        "not_equal", "cumsum",

        "reduce_mean",

        "concat", "slice", "slice_to", "roll",

        "rotary", "unfold",

        "gather_last", "clip", "clamp", "conv1d",

        "argmax", "gated_delta_rule",

        "constant_f32", "sin", "cos", "sqrt", "log",

        "conv2d", "batch_norm", "max_pool2d", "avg_pool2d", "global_avg_pool", "resize", "resize_to",
        "hardsigmoid", "hardswish", "reduce_l2", "expand",
    };
    std::set<std::string> covered;
    for (const auto& c : cases()) covered.insert(c.op);
    // every case goes through input and output on both backends
    if (!cases().empty()) covered.insert({"input", "output"});
    for (const auto& op : vocabulary) EXPECT_TRUE(covered.contains(op)) << "no conformance case for op " << op;
    for (const auto& op : covered)
        EXPECT_NE(std::find(vocabulary.begin(), vocabulary.end(), op), vocabulary.end())
            << "case for " << op << ", which is not in the vocabulary";
}

}  // namespace
