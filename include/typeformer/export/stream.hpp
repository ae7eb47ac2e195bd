// typeformer/export/stream.hpp: writing a model without holding its weights.
//
// The graph is built without initializers (a few hundred KB). The file is
// then written in protobuf's wire format in one pass: the model's fields,
// the graph field's header, the graph's nodes and I/O, then each initializer
// with its raw data read straight from the mapped checkpoint (converted or
// transposed chunk by chunk where needed). Every length is known before the
// first byte is written, so memory stays at one chunk whatever the model's size.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "typeformer/core/linkage.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/export/check.hpp"
#include "typeformer/export/progress.hpp"

namespace typeformer::inline v0 {

/// What the writer noticed on the way: tensors holding NaN or infinite
/// values (name, count), which the exporter reports as warnings. With a
/// `progress` line, the writer adds to it the bytes of each tensor's data
/// as it writes them, and each tensor once written.
struct write_report {
    std::vector<std::pair<std::string, std::uint64_t>> nonfinite;
    progress_line* progress = nullptr;
};

namespace detail {
/// Test hook: with TYPEFORMER_TEST_PAUSE=<point>:<file> in the environment,
/// the writer creates <file> on reaching <point> ("write": half of the
/// weights written; "commit": every file but model.onnx moved into place) and then
/// sleeps, so that a test can kill it there.
void test_pause(std::string_view point);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void test_pause(std::string_view point) {
    const char* env = std::getenv("TYPEFORMER_TEST_PAUSE");
    if (!env) return;
    const std::string_view spec(env);
    if (!spec.starts_with(point) || spec.size() <= point.size() + 1 || spec[point.size()] != ':') return;
    std::ofstream(std::string(spec.substr(point.size() + 1))) << ::getpid() << "\n";
    for (int k = 0; k < 600; ++k) ::sleep(1);
}
#endif

std::uint64_t count_nonfinite(const float* p, std::size_t n);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t count_nonfinite(const float* p, std::size_t n) {
    std::uint64_t c = 0;
    for (std::size_t k = 0; k < n; ++k) c += !std::isfinite(p[k]);
    return c;
}
#endif
}  // namespace detail

namespace detail::wire {
// (field number << 3) | 2, the tag of a length-delimited field
inline constexpr char model_graph = (7 << 3) | 2;         // ModelProto.graph
inline constexpr char graph_initializer = (5 << 3) | 2;   // GraphProto.initializer
inline constexpr char tensor_raw_data = (9 << 3) | 2;     // TensorProto.raw_data

std::size_t varint_size(std::uint64_t v);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) v >>= 7, ++n;
    return n;
}
#endif
void put_varint(std::ostream& out, std::uint64_t v);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void put_varint(std::ostream& out, std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) buf[n++] = static_cast<char>((v & 0x7f) | 0x80), v >>= 7;
    buf[n++] = static_cast<char>(v);
    out.write(buf, static_cast<std::streamsize>(n));
}
#endif

/// A TensorProto with everything but its data, serialized.
std::string tensor_header(const initializer_source& s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string tensor_header(const initializer_source& s) {
    onnx::TensorProto t;
    t.set_name(s.name);
    t.set_data_type(onnx_type(s.stored));
    for (auto d : s.dims) t.add_dims(d);
    return t.SerializeAsString();
}
#endif

std::uint64_t tensor_size(const std::string& header, const initializer_source& s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t tensor_size(const std::string& header, const initializer_source& s) {
    return header.size() + 1 + varint_size(s.byte_size()) + s.byte_size();
}
#endif

/// Release the pages of a mapped range we are done with (read-only mapping:
/// they come back from the file if read again).
void release(std::span<const std::byte> bytes);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void release(std::span<const std::byte> bytes) {
    static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data()) & ~(page - 1);
    const auto end = reinterpret_cast<std::uintptr_t>(bytes.data() + bytes.size());
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}
#endif

/// Write the tensor's float32 data, each chunk's bytes added to `progress`
/// (when not null) once written; returns how many values are NaN or infinite.
std::uint64_t write_data(std::ostream& out, const initializer_source& s, progress_line* progress = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t write_data(std::ostream& out, const initializer_source& s, progress_line* progress) {
    if (!s.view) throw error("checkpoint.missing", "missing tensor for initializer " + s.name);
    std::uint64_t nonfinite = 0;
    if (s.int8 != int8_part::none) {
        // --quantize int8: the channels' scales from one pass over the weight, then (the values) the
        // weight again, whole rows of the stored layout at a time, quantized as they go
        const auto scales = int8_scales(s);
        if (s.int8 == int8_part::scales) {
            out.write(reinterpret_cast<const char*>(scales.data()), static_cast<std::streamsize>(s.byte_size()));
            if (progress) progress->add_bytes(s.byte_size());
        } else {
            const std::int64_t row = s.dims.back();
            const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / row) * row;
            const auto n0 = static_cast<std::size_t>(std::min(chunk, std::max<std::int64_t>(s.numel(), 1)));
            std::vector<float> buf(n0);
            std::vector<std::int8_t> q(n0);
            for (std::int64_t first = 0; first < s.numel(); first += chunk) {
                const auto n = std::min(chunk, s.numel() - first);
                read_int8(s, scales, first, n, buf.data(), q.data());
                nonfinite += detail::count_nonfinite(buf.data(), static_cast<std::size_t>(n));
                out.write(reinterpret_cast<const char*>(q.data()), n);
                if (progress) progress->add_bytes(static_cast<std::uint64_t>(n));
            }
        }
    } else if (!s.transposed && s.view->type == dtype::f32 && s.stored == dtype::f32) {
        // 16 MiB at a time, each range's pages released once written: the
        // mapped pages count as resident until then
        constexpr std::size_t piece = std::size_t{16} << 20;
        const auto bytes = s.view->bytes;
        float buf[1024];  // the scan reads through an aligned copy (the mapping may be misaligned)
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            const auto part = bytes.subspan(at, std::min(piece, bytes.size() - at));
            out.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
            if (progress) progress->add_bytes(part.size());
            for (std::size_t first = 0; first < part.size() / 4; first += 1024) {
                const std::size_t m = std::min<std::size_t>(1024, part.size() / 4 - first);
                std::memcpy(buf, part.data() + first * 4, m * 4);
                nonfinite += detail::count_nonfinite(buf, m);
            }
            if (s.view->mapped) release(part);  // never drop heap pages (a gathered copy)
        }
    } else {
        // whole rows of the stored layout, about 4 MiB at a time
        const std::int64_t row = s.dims.empty() ? 1 : std::max<std::int64_t>(s.dims.back(), 1);
        const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 20) / row) * row;
        std::vector<float> buf(static_cast<std::size_t>(std::min(chunk, std::max<std::int64_t>(s.numel(), 1))));
        for (std::int64_t first = 0; first < s.numel(); first += chunk) {
            const auto n = std::min(chunk, s.numel() - first);
            s.read(first, n, buf.data());
            nonfinite += detail::count_nonfinite(buf.data(), static_cast<std::size_t>(n));
            if (s.stored == dtype::f16) {
                // --dtype fp16: float16 in place, element k's two bytes over the front of the buffer
                auto* h = reinterpret_cast<std::uint16_t*>(buf.data());
                for (std::int64_t k = 0; k < n; ++k) {
                    const std::uint16_t v = float_to_half(buf[static_cast<std::size_t>(k)]);
                    std::memcpy(h + k, &v, 2);
                }
                out.write(reinterpret_cast<const char*>(buf.data()), n * 2);
            } else {
                out.write(reinterpret_cast<const char*>(buf.data()), n * 4);
            }
            if (progress) progress->add_bytes(static_cast<std::uint64_t>(n) * (s.stored == dtype::f16 ? 2 : 4));
            if (!s.transposed && s.view->mapped) {  // the source elements read so far are done with
                const auto elem = size_of(s.view->type);
                release(s.view->bytes.subspan(static_cast<std::size_t>(first) * elem, static_cast<std::size_t>(n) * elem));
            }
        }
    }
    if (s.view->mapped) release(s.view->bytes);
    return nonfinite;
}
#endif

/// The progress line of `report`, if any.
inline progress_line* progress_of(write_report* report) { return report ? report->progress : nullptr; }

/// A tensor written: its NaN or infinite values noted, the progress line advanced.
void note(write_report* report, const initializer_source& s, std::uint64_t nonfinite);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void note(write_report* report, const initializer_source& s, std::uint64_t nonfinite) {
    if (report && nonfinite) report->nonfinite.emplace_back(s.name, nonfinite);
    if (auto* p = progress_of(report)) p->end_tensor();
}
#endif
}  // namespace detail::wire

/// Write `skeleton` (a model whose graph has no initializers) followed by the
/// initializers, as one ONNX file. Returns false when the stream failed.
bool write_onnx(std::ostream& out, const onnx::ModelProto& skeleton,
                const std::vector<initializer_source>& initializers, write_report* report = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool write_onnx(std::ostream& out, const onnx::ModelProto& skeleton, const std::vector<initializer_source>& initializers, write_report* report) {
    namespace w = detail::wire;
    if (skeleton.graph().initializer_size() != 0)
        throw error("export.write", "write_onnx expects a graph without initializers");
    onnx::ModelProto head = skeleton;
    head.clear_graph();
    const std::string model_head = head.SerializeAsString();
    const std::string graph_head = skeleton.graph().SerializeAsString();
    std::vector<std::string> headers;
    std::uint64_t graph_size = graph_head.size();
    for (const auto& s : initializers) {
        headers.push_back(w::tensor_header(s));
        const auto t = w::tensor_size(headers.back(), s);
        graph_size += 1 + w::varint_size(t) + t;
    }
    out.write(model_head.data(), static_cast<std::streamsize>(model_head.size()));
    out.put(w::model_graph);
    w::put_varint(out, graph_size);
    out.write(graph_head.data(), static_cast<std::streamsize>(graph_head.size()));
    for (std::size_t k = 0; k < initializers.size() && out; ++k) {
        const auto& s = initializers[k];
        out.put(w::graph_initializer);
        w::put_varint(out, w::tensor_size(headers[k], s));
        out.write(headers[k].data(), static_cast<std::streamsize>(headers[k].size()));
        out.put(w::tensor_raw_data);
        w::put_varint(out, s.byte_size());
        w::note(report, s, w::write_data(out, s, w::progress_of(report)));
        if (k + 1 == (initializers.size() + 1) / 2) out.flush(), detail::test_pause("write");
    }
    return static_cast<bool>(out);
}
#endif

/// The size of the single file write_onnx would write. Protobuf cannot
/// parse a message of 2 GiB or more: past max_single_file, write the
/// weights as external data (write_onnx_external).
std::uint64_t single_file_size(const onnx::ModelProto& skeleton,
                               const std::vector<initializer_source>& initializers);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t single_file_size(const onnx::ModelProto& skeleton, const std::vector<initializer_source>& initializers) {
    namespace w = detail::wire;
    onnx::ModelProto head = skeleton;
    head.clear_graph();
    std::uint64_t graph_size = skeleton.graph().ByteSizeLong();
    for (const auto& s : initializers) {
        const auto t = w::tensor_size(w::tensor_header(s), s);
        graph_size += 1 + w::varint_size(t) + t;
    }
    return head.ByteSizeLong() + 1 + w::varint_size(graph_size) + graph_size;
}
#endif
inline constexpr std::uint64_t max_single_file = (std::uint64_t{1} << 31) - 1;

/// Each tensor of an external data file starts at a multiple of this (the
/// page size, so that a runtime can map it).
inline constexpr std::uint64_t external_alignment = 4096;

/// Write `skeleton` with its initializers stored as ONNX external data: the
/// model (graph and tensor descriptions, a few hundred KB) to `model_out`,
/// every tensor's float32 bytes to `data_out`, each at an offset aligned to
/// external_alignment. `location` is the data file's name as the model
/// records it, relative to the model's folder (ONNX Runtime resolves it
/// against the model file's folder, not the working directory). Memory
/// stays at one chunk; returns false when a stream failed.
bool write_onnx_external(std::ostream& model_out, std::ostream& data_out, const std::string& location,
                         const onnx::ModelProto& skeleton,
                         const std::vector<initializer_source>& initializers, write_report* report = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool write_onnx_external(std::ostream& model_out, std::ostream& data_out, const std::string& location, const onnx::ModelProto& skeleton, const std::vector<initializer_source>& initializers, write_report* report) {
    if (skeleton.graph().initializer_size() != 0)
        throw error("export.write", "write_onnx_external expects a graph without initializers");
    onnx::ModelProto m = skeleton;
    std::vector<std::uint64_t> offsets;
    std::uint64_t offset = 0;
    for (const auto& s : initializers) {
        offset = (offset + external_alignment - 1) / external_alignment * external_alignment;
        offsets.push_back(offset);
        auto* t = m.mutable_graph()->add_initializer();
        t->set_name(s.name);
        t->set_data_type(onnx_type(s.stored));
        for (auto d : s.dims) t->add_dims(d);
        t->set_data_location(onnx::TensorProto::EXTERNAL);
        const auto entry = [&](const char* key, std::string value) {
            auto* e = t->add_external_data();
            e->set_key(key);
            e->set_value(std::move(value));
        };
        entry("location", location);
        entry("offset", std::to_string(offset));
        entry("length", std::to_string(s.byte_size()));
        offset += s.byte_size();
    }
    if (!m.SerializeToOstream(&model_out)) return false;
    std::uint64_t at = 0;
    static const char zeros[external_alignment] = {};
    for (std::size_t k = 0; k < initializers.size() && data_out; ++k) {
        data_out.write(zeros, static_cast<std::streamsize>(offsets[k] - at));
        detail::wire::note(report, initializers[k],
                           detail::wire::write_data(data_out, initializers[k], detail::wire::progress_of(report)));
        at = offsets[k] + initializers[k].byte_size();
        if (k + 1 == (initializers.size() + 1) / 2) data_out.flush(), detail::test_pause("write");
    }
    return static_cast<bool>(model_out) && static_cast<bool>(data_out);
}
#endif

/// --dtype fp16: store every initializer as float16 and make every float
/// input and output float16. The graph still computes in float32: each
/// weight goes through one Cast to float32 at the top of the graph (ONNX
/// Runtime folds it when it loads the model; the file keeps float16), each
/// float input (a decoder's past_key_values) too, and each float output
/// through a Cast to float16 at the end, so a decoder's present.* feed its
/// past_key_values.* as they are. The file is about half the size; integer
/// inputs (token ids, masks) are unchanged.
void to_fp16(onnx::ModelProto& m, std::vector<initializer_source>& initializers);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void to_fp16(onnx::ModelProto& m, std::vector<initializer_source>& initializers) {
    auto* g = m.mutable_graph();
    const auto cast = [&](const std::string& from, const std::string& to, dtype type) {
        auto* n = g->add_node();
        n->set_op_type("Cast");
        n->set_name("/fp16/Cast_" + to);
        n->add_input(from);
        n->add_output(to);
        auto* a = n->add_attribute();
        a->set_name("to");
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(onnx_type(type));
    };
    google::protobuf::RepeatedPtrField<onnx::NodeProto> body;
    body.Swap(g->mutable_node());
    for (auto& s : initializers) {
        if (s.stored != dtype::f32) continue;
        const std::string used = s.name;
        s.name += ".fp16";
        s.stored = dtype::f16;
        cast(s.name, used, dtype::f32);
    }
    for (auto& in : *g->mutable_input()) {
        auto* tt = in.mutable_type()->mutable_tensor_type();
        if (tt->elem_type() != onnx_type(dtype::f32)) continue;
        const std::string f32 = in.name() + ".f32";
        // every reader, in the branches of an If (a merged decoder) too
        const auto reroute = [&](auto& self, onnx::NodeProto& n) -> void {
            for (auto& x : *n.mutable_input())
                if (x == in.name()) x = f32;
            for (auto& a : *n.mutable_attribute())
                if (a.type() == onnx::AttributeProto::GRAPH)
                    for (auto& inner : *a.mutable_g()->mutable_node()) self(self, inner);
        };
        for (auto& n : body) reroute(reroute, n);
        cast(in.name(), f32, dtype::f32);
        tt->set_elem_type(onnx_type(dtype::f16));
    }
    for (auto& n : body) *g->add_node() = std::move(n);
    for (auto& o : *g->mutable_output()) {
        auto* tt = o.mutable_type()->mutable_tensor_type();
        if (tt->elem_type() != onnx_type(dtype::f32)) continue;
        const std::string f32 = o.name() + ".f32";
        for (auto& n : *g->mutable_node())
            for (auto& out : *n.mutable_output())
                if (out == o.name()) out = f32;
        cast(f32, o.name(), dtype::f16);
        tt->set_elem_type(onnx_type(dtype::f16));
    }
}
#endif

/// The ONNX checker and strict shape inference on a graph without its
/// weights: each initializer is declared as a graph input of its name, type
/// and dims, which is all that checking and inferring the graph reads of it.
/// (A stand-in initializer will not do: ONNX 1.23's checker wants raw_data
/// of the declared size.)
void check_onnx_skeleton(const onnx::ModelProto& skeleton, const std::vector<initializer_source>& initializers);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void check_onnx_skeleton(const onnx::ModelProto& skeleton, const std::vector<initializer_source>& initializers) {
    onnx::ModelProto m = skeleton;
    for (const auto& s : initializers) {
        auto* in = m.mutable_graph()->add_input();
        in->set_name(s.name);
        auto* tt = in->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx_type(s.stored));
        auto* shape = tt->mutable_shape();
        for (auto d : s.dims) shape->add_dim()->set_dim_value(d);
    }
    check_onnx(m);
}
#endif

}  // namespace typeformer::inline v0
