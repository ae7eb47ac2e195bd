// typeformer/export/export.hpp: build, check, write and validate an export.
//
// The user's main job, as a library: from a config and a checkpoint, build
// the ONNX graph of (family, task), check it with the ONNX checker and full
// shape inference, write it atomically, and validate it with ONNX Runtime
// against the reference pass at shapes the export never saw.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "typeformer/core/linkage.hpp"
#include "typeformer/backend/eval.hpp"
#include "typeformer/backend/onnx.hpp"
#include "typeformer/export/check.hpp"
#include "typeformer/export/stream.hpp"
#include "typeformer/export/onnxruntime.hpp"
#include "typeformer/core/cache.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/models/model.hpp"

namespace typeformer::inline v0 {

using tensor_map = std::map<std::string, eval_value, std::less<>>;

/// How a graph is spelled: the opset, and whether products with a
/// constant weight are quantized (--quantize int8). Made from an opset alone.
struct graph_options {
    int opset = default_opset;
    quantization quantize = quantization::none;
    graph_options(int o = default_opset, quantization q = quantization::none)  // NOLINT: an opset is one
        : opset(o), quantize(q) {}
};

/// A built graph: the model without its weights, the initializers it needs
/// (each pointing at its checkpoint tensor) and what the parameter check noted.
struct built_graph {
    onnx::ModelProto model;
    std::vector<initializer_source> initializers;
    param_report params;
};

/// Build the graph of Family for Task and check the checkpoint against the
/// parameters it asks for (every problem reported in one error). No weight
/// is read: write it with write_onnx, or add the weights with materialize.
/// A part of a feature of several graphs (`Feature`: an encoder-decoder's
/// generation task) is checked against the parameters of every part: the
/// checkpoint holds the encoder's and the decoder's weights, each graph uses
/// some.
template <Family F, class Task, class Feature = Task>
built_graph build_graph(const typename F::config& c, const checkpoint& ck, graph_options o, std::string_view where) {
    onnx_backend b(&ck, o.opset, o.quantize);
    forward<model_of<F, Task>>(b, c);
    auto requests = b.requests();
    if constexpr (!std::is_same_v<Task, Feature>) {
        std::set<std::string, std::less<>> seen;
        for (const auto& r : requests) seen.insert(r.name);
        for_each_type(task::graphs_of<Feature>{}, [&]<class Part>() {
            if constexpr (!std::is_same_v<Part, Task>) {
                onnx_backend other(nullptr);
                forward<model_of<F, Part>>(other, c);
                for (const auto& r : other.requests())
                    if (seen.insert(r.name).second) requests.push_back(r);
            }
        });
    }
    std::vector<std::string> ignored;
    if constexpr (requires { { F::ignored(c) } -> std::same_as<std::vector<std::string>>; }) ignored = F::ignored(c);
    else ignored = F::ignored();
    auto report = check_params(ck, requests, F::base_prefix, ignored, where);
    auto inits = b.initializers();
    return {std::move(b.model()), std::move(inits), std::move(report)};
}

/// Declare every tied weight of the family (the ties of all its features) to
/// the checkpoint, so that a tied tensor stored under either of its names, or
/// under both, is found (an LM head's decoder saved without the embeddings,
/// or the embeddings without the decoder). Builds each feature's graph once
/// without weights; reads nothing; a feature the config cannot build (an
/// error of the config's, such as DETR's image-segmentation without the
/// maps its mask head reads) has no ties, and exporting it says why. A
/// family that declares
/// `static void make_weights(const config&, checkpoint&)` then adds the
/// tensors it makes from stored ones (GPT-OSS's MXFP4 experts, dequantized).
template <Family F>
void tie_weights(const typename F::config& c, checkpoint& ck) {
    for_each_type(typename F::features{}, [&]<class Task>() {
        for_each_type(task::graphs_of<Task>{}, [&]<class Graph>() {
            onnx_backend b(nullptr);
            try {
                forward<model_of<F, Graph>>(b, c);
            } catch (const error& e) {
                if (e.id().starts_with("config.")) return;
                throw;
            }
            for (const auto& r : b.requests())
                if (!r.tied_to.empty()) ck.tie(r.name, r.tied_to);
        });
    });
    if constexpr (requires { F::make_weights(c, ck); }) F::make_weights(c, ck);
}

/// --dtype fp16: the default validation tolerance. The reference runs in
/// float32 on the same float16-rounded weights (a weight_cache with
/// round_to_fp16), so
/// what remains is the rounding of the outputs to float16 (11 significant
/// bits: half a unit in the last place is 0.0078 at magnitude 32) and
/// float32 round-off.
inline constexpr double fp16_atol = 1e-2;

/// The whole model in memory, weights included.
onnx::ModelProto materialize(built_graph g);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE onnx::ModelProto materialize(built_graph g) {
    add_initializers(*g.model.mutable_graph(), g.initializers);
    return std::move(g.model);
}
#endif

/// What build_onnx returns: the model and what the parameter check noted.
struct built_model {
    onnx::ModelProto proto;
    param_report params;
};

/// Build the whole model in memory and run the checker with full shape
/// inference on it (tests and small models; the exporter streams instead).
template <Family F, class Task>
built_model build_onnx(const typename F::config& c, const checkpoint& ck, graph_options o, std::string_view where) {
    auto g = build_graph<F, Task>(c, ck, o, where);
    auto report = std::move(g.params);
    auto model = materialize(std::move(g));
    check_onnx(model);
    return {std::move(model), std::move(report)};
}

/// The reference pass of Family for Task on the given inputs. Pass a cache
/// to convert the weights once across several runs.
template <Family F, class Task>
tensor_map reference_outputs(const typename F::config& c, const checkpoint& ck, const tensor_map& inputs,
                             weight_cache* cache = nullptr) {
    eval_backend b(&ck, cache);
    for (const auto& [name, v] : inputs) b.feed(name, v);
    forward<model_of<F, Task>>(b, c);
    return tensor_map(b.outputs().begin(), b.outputs().end());
}

/// Sizes of the dynamic axes used to make validation inputs. `past` is the
/// past length of a with-past model's cache inputs (ignored by the others);
/// an encoder-decoder's encoder reads `sequence` tokens, its decoder
/// `decoder` new ones after `past`. An image model that reads any size
/// reads `height` x `width` images (0: the size its config names, else 64,
/// Optimum's).
struct axis_sizes {
    std::int64_t batch = 3, sequence = 9, choice = 3, past = 11, decoder = 5, height = 0, width = 0;
};

namespace detail {
template <class C>
encoder_shape shape_of(const C& c) {
    if constexpr (std::is_same_v<C, encoder_shape>) return c;
    else if constexpr (requires { c.shape(); }) return c.shape();
    else {  // no text: an image model's config
        encoder_shape sh{};
        sh.max_positions = std::int64_t{1} << 40;
        return sh;
    }
}
/// The height or width of the validation images: the requested size, else
/// the config's, else 64.
template <class C>
std::int64_t image_extent(const C& c, std::int64_t requested, bool height) {
    if (requested > 0) return requested;
    if constexpr (ImageConfig<C>) {
        const auto im = c.image();
        if (const auto n = height ? im.height : im.width; n > 0) return n;
    }
    return 64;
}
}  // namespace detail

namespace detail {
/// A pixel_mask [batch, height, width]: 1 on the image, 0 on the padding at
/// its bottom and right, as an image processor pads a batch to its largest
/// image: row 0 of every three unpadded, row 1 the top-left quarter (half
/// the rows and columns, rounding down, at least one), row 2 without its
/// last third of columns; never a row all padding.
inline void fill_pixel_mask(std::span<std::int64_t> v, const std::vector<std::size_t>& shape) {
    const std::size_t H = shape.at(1), W = shape.at(2);
    for (std::size_t k = 0; k < v.size(); ++k) {
        const std::size_t row = k / (H * W), y = k / W % H, x = k % W;
        const std::size_t h = row % 3 == 1 ? std::max<std::size_t>(H / 2, 1) : H;
        const std::size_t w = row % 3 == 0 ? W : row % 3 == 1 ? std::max<std::size_t>(W / 2, 1) : W - W / 3;
        v[k] = y < h && x < w ? 1 : 0;
    }
}
template <class... D>
constexpr dummy_fill find_dummy(type_list<D...>, [[maybe_unused]] std::string_view name) {
    dummy_fill f = nullptr;
    ((D::name == name ? (f = D::fill, 0) : 0), ...);
    return f;
}
template <class Slot>
struct input_has_no_validation_values {  // named in the error, with the input's slot
    static constexpr bool value = false;
};
}  // namespace detail

/// Deterministic inputs for a model: ids in [0, vocab), token types in
/// [0, min(2, type_vocab)), masks with the later rows padded (never a row
/// fully masked), position_ids past, past + 1, ...; cache inputs (a
/// with-past model) normal(0, 1) at past length n.past. The sequence (past
/// included) never exceeds the model's position table; any other int64 input
/// from its entry in `Dummies` (a family's dummy_inputs). `c` is the config,
/// or for a model without a cache its encoder_shape.
template <class Model, class Dummies = type_list<>, class C>
tensor_map make_inputs(const C& c, axis_sizes n, std::uint32_t seed = 42) {
    const encoder_shape sh = detail::shape_of(c);
    std::mt19937 rng(seed);
    n.sequence = std::min(n.sequence, sh.max_positions - sh.position_offset);
    n.decoder = std::min(n.decoder, sh.max_positions - sh.position_offset);
    bool seq2seq = false;  // the past is an encoder-decoder's decoder's (its graphs have a decoder axis)
    for_each_type(typename Model::inputs{}, [&]<class I>() {
        if constexpr (!is_per_layer<I>)
            for (auto a : I::axes_type::names) seq2seq = seq2seq || a == decoder_axis;
    });
    n.past = std::max<std::int64_t>(0, std::min(n.past, sh.max_positions - sh.position_offset -
                                                            (seq2seq ? n.decoder : n.sequence)));
    tensor_map out;
    auto size_of_axis = [&](std::string_view a) -> std::int64_t {
        if (static_extent(a) >= 0) return static_extent(a);
        if (a == "batch") return n.batch;
        if (a == "choice") return n.choice;
        if (a == "batch * num_heads") return -1;  // set by the caller
        if (a == past_axis || a == past_decoder_axis) return n.past;
        if (a == total_axis) return n.past + n.sequence;
        if (a == decoder_axis) return n.decoder;
        if (a == total_decoder_axis) return n.past + n.decoder;
        if (a == height_axis) return detail::image_extent(c, n.height, true);
        if (a == width_axis) return detail::image_extent(c, n.width, false);
        return n.sequence;
    };
    for_each_type(typename Model::inputs{}, [&]<class I>() {
        if constexpr (is_per_layer<I>) {  // float32 tensors the config spells out: a cache, encoder states
            std::normal_distribution<float> normal(0.f, 1.f);
            for (const auto& [name, axes] : I::expand(c)) {
                std::vector<std::size_t> shape;
                for (const auto& a : axes) {
                    auto d = size_of_axis(a);
                    if (d < 0) {
                        if constexpr (CacheConfig<C>) d = n.batch * c.cache().kv_heads;
                        else throw error("export.inputs", "no size for the axis " + a + " of " + name);
                    }
                    shape.push_back(static_cast<std::size_t>(d));
                }
                xt::xarray<float> v = xt::xarray<float>::from_shape(shape);
                bool zeros = false;  // a recurrent layer's state at an empty past: none seen yet
                if constexpr (requires { I::zero_states_without_past; })
                    zeros = n.past == 0 && std::none_of(axes.begin(), axes.end(), [](const std::string& a) {
                                return a == past_axis || a == total_axis;
                            });
                for (auto& x : v) x = zeros ? 0.f : normal(rng);
                out.emplace(name, eval_value(std::move(v)));
            }
            return;
        } else {
        std::vector<std::size_t> shape;
        for (auto a : I::axes_type::names) shape.push_back(static_cast<std::size_t>(size_of_axis(a)));
        xt::xarray<std::int64_t> v = xt::zeros<std::int64_t>(shape);
        constexpr dummy_fill fill = detail::find_dummy(Dummies{}, I::name);
        constexpr bool mask = I::name == "attention_mask" || I::name == "encoder_attention_mask";
        constexpr bool pixel_mask = I::name == "pixel_mask";
        constexpr bool known = I::name == "input_ids" || I::name == "decoder_input_ids" || mask ||
                               I::name == "token_type_ids" || I::name == "position_ids" || pixel_mask;
        if constexpr (fill != nullptr) {
            fill(std::span<std::int64_t>(v.data(), v.size()), shape, sh, rng);
        } else if constexpr (pixel_mask) {  // [batch, height, width], padded as a DETR image processor pads a batch
            detail::fill_pixel_mask(std::span<std::int64_t>(v.data(), v.size()), shape);
        } else if constexpr (!known) {
            static_assert(detail::input_has_no_validation_values<typename I::slot_type>::value,
                          "make_inputs: an input other than input_ids, attention_mask, token_type_ids and "
                          "position_ids needs validation values: a dummy_input in its family's dummy_inputs");
        } else {
            const auto seq = shape.empty() ? std::size_t{1} : std::max<std::size_t>(shape.back(), 1);
            for (std::size_t k = 0; k < v.size(); ++k) {
                const std::size_t row = k / seq, pos = k % seq;
                if (mask)
                    v.data()[k] = pos < seq - std::min(seq - 1, row % 3 * 2) ? 1 : 0;
                else if (I::name == "position_ids")  // after the past, as Transformers counts them
                    v.data()[k] = n.past + static_cast<std::int64_t>(pos);
                else if (I::name == "token_type_ids")
                    v.data()[k] = static_cast<std::int64_t>(
                        rng() % static_cast<std::uint32_t>(std::min<std::int64_t>(2, std::max<std::int64_t>(sh.type_vocab_size, 1))));
                else
                    v.data()[k] = static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(sh.vocab_size));
            }
        }
        out.emplace(std::string(I::name), eval_value(std::move(v)));
        }
    });
    return out;
}

/// Largest |a - b|; +inf when the shapes differ, NaN-aware.
double max_abs_diff(const eval_value& a, const eval_value& b);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE double max_abs_diff(const eval_value& a, const eval_value& b) {
    if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
    double m = 0;
    if (a.is_float() && b.is_float()) {
        for (std::size_t k = 0; k < a.f.size(); ++k) {
            const double d = std::abs(static_cast<double>(a.f.data()[k]) - b.f.data()[k]);
            if (std::isnan(d)) return std::numeric_limits<double>::infinity();
            m = std::max(m, d);
        }
    } else if (!a.is_float() && !b.is_float()) {
        for (std::size_t k = 0; k < a.i.size(); ++k)
            m = std::max(m, static_cast<double>(std::llabs(a.i.data()[k] - b.i.data()[k])));
    } else {
        return std::numeric_limits<double>::infinity();
    }
    return m;
}
#endif

std::string shape_tuple(const std::vector<std::int64_t>& s);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::string shape_tuple(const std::vector<std::int64_t>& s) {
    std::string r = "(";
    for (std::size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
    return r + (s.size() == 1 ? ",)" : ")");
}
#endif

/// Compare ONNX Runtime's outputs with the reference, printing Transformers'
/// familiar validation log. True when every output matches. `diffs`, when
/// given, receives each reference output's largest difference (+inf when
/// ONNX Runtime lacks it or its shape differs).
bool compare_outputs(const tensor_map& reference, const tensor_map& onnx, double atol, std::ostream& log,
                     std::map<std::string, double>* diffs = nullptr);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool compare_outputs(const tensor_map& reference, const tensor_map& onnx, double atol, std::ostream& log, std::map<std::string, double>* diffs) {
    bool ok = true;
    std::string ref_names, onnx_names;
    for (const auto& [n, v] : reference) ref_names += (ref_names.empty() ? "" : ", ") + n;
    for (const auto& [n, v] : onnx) onnx_names += (onnx_names.empty() ? "" : ", ") + n;
    if (ref_names == onnx_names) {
        log << "\t-[\u2713] ONNX model output names match reference model (" << onnx_names << ")\n";
    } else {
        log << "\t-[x] ONNX model output names (" << onnx_names << ") do not match reference model (" << ref_names
            << ")\n";
        ok = false;
    }
    for (const auto& [name, ref] : reference) {
        if (diffs) (*diffs)[name] = std::numeric_limits<double>::infinity();
        auto it = onnx.find(name);
        if (it == onnx.end()) continue;
        log << "\t- Validating ONNX Model output \"" << name << "\":\n";
        const auto rs = ref.shape(), os = it->second.shape();
        if (rs == os) {
            log << "\t\t-[\u2713] " << shape_tuple(os) << " matches " << shape_tuple(rs) << "\n";
        } else {
            log << "\t\t-[x] shape " << shape_tuple(os) << " doesn't match " << shape_tuple(rs) << "\n";
            ok = false;
            continue;
        }
        const double d = max_abs_diff(ref, it->second);
        if (diffs) (*diffs)[name] = d;
        std::ostringstream tol;
        tol << atol;
        // the reference's largest magnitude: what float32 round-off scales with
        std::ostringstream scale;
        if (ref.is_float()) {
            float m = 0;
            for (const float v : ref.f) m = std::max(m, std::abs(v));
            scale << " of values up to " << m;
        }
        if (d <= atol) {
            log << "\t\t-[\u2713] all values close (atol: " << tol.str() << "), max diff: " << d << scale.str()
                << "\n";
        } else {
            log << "\t\t-[x] values not close enough, max diff: " << d << scale.str() << " (atol: " << tol.str()
                << ")\n";
            ok = false;
        }
    }
    return ok;
}
#endif

namespace detail::output {

inline std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

/// fsync a file or a folder; false (errno set) when it failed.
bool sync_path(const std::filesystem::path& p, bool directory);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool sync_path(const std::filesystem::path& p, bool directory) {
    const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return false;
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    errno = err;
    return rc == 0 || directory;  // some filesystems refuse fsync on folders
}
#endif

inline constexpr std::string_view staging_prefix = ".typeformer-staging.";
inline constexpr std::string_view commit_marker = ".commit";

/// Move the files of a committed staging folder into `output`, the one
/// named `last` (model.onnx) last, then remove the staging folder.
void move_in(const std::filesystem::path& staging, const std::filesystem::path& output, std::string_view last);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void move_in(const std::filesystem::path& staging, const std::filesystem::path& output, std::string_view last) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(staging))
        if (e.path().filename() != commit_marker && e.path().filename() != last) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (fs::exists(staging / last)) files.push_back(staging / last);
    for (const auto& f : files) {
        if (f.filename() == last) test_pause("commit");
        std::error_code ec;
        fs::rename(f, output / f.filename(), ec);
        if (ec)
            throw error("export.write", (output / f.filename()).string() + ": cannot move the written file into place (" +
                                            ec.message() + ")");
    }
    sync_path(output, true);
    std::error_code ignored;
    fs::remove_all(staging, ignored);
}
#endif

}  // namespace detail::output

/// An export written into a hidden staging folder inside the output folder
/// (.typeformer-staging.PID), then moved into place by renames: nothing is
/// ever half-written under the names a user reads.
///
/// - Files are written in the staging folder and flushed to disk.
/// - commit() writes a marker, then renames every staged file into the
///   output folder, the main file (model.onnx) last.
/// - Destroyed before commit() (an error, a failed validation), the staging
///   folder is removed; the output folder is as it was.
/// - Killed before the marker, the staging folder is left over, hidden; the
///   next export into that folder removes it. Killed during the renames
///   (after the marker), the next export completes them first, so that
///   model.onnx and model.onnx_data always end up from the same export.
class staged_output {
public:
    /// Create `output` if needed, recover or remove what an interrupted
    /// export left there (saying so on `*notes`, when not null), and create
    /// the staging folder. `main` is the file committed last.
    explicit staged_output(std::filesystem::path output, std::string main = "model.onnx",
                           std::ostream* notes = &std::cerr);
    staged_output(const staged_output&) = delete;
    staged_output& operator=(const staged_output&) = delete;
    ~staged_output();

    [[nodiscard]] const std::filesystem::path& output() const { return output_; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    /// Where a file is staged.
    [[nodiscard]] std::filesystem::path staged(std::string_view name) const { return dir_ / name; }

    /// Write the staged file `name` through `write(std::ostream&) -> bool`,
    /// flushed to disk; throws export.write naming the file and the cause.
    template <class Writer>
    void write(std::string_view name, Writer&& write) {
        const auto p = staged(name);
        {
            std::ofstream out(p, std::ios::binary | std::ios::trunc);
            if (!out) fail(name, "cannot open for writing", errno);
            errno = 0;
            const bool wrote = write(static_cast<std::ostream&>(out));
            int err = errno;
            out.flush();
            if (!err) err = errno;
            if (!wrote || !out) fail(name, "write failed", err);
            out.close();
            if (!out) fail(name, "write failed", errno);
        }
        if (!detail::output::sync_path(p, false)) fail(name, "cannot flush to disk", errno);
    }

    /// Stage a copy of `from` under its own name.
    void copy_in(const std::filesystem::path& from);

    /// Move every staged file into the output folder, the main file last.
    void commit();

    /// Move the staged main file (and nothing else) to `output/name`, e.g.
    /// model.onnx.invalid; the rest is removed with the staging folder.
    void keep_as(std::string_view file, const std::filesystem::path& to);

    /// Move the whole staging folder to `to` (replacing it), e.g. a rejected
    /// export with external data, which must stay next to its data file.
    void keep_folder_as(const std::filesystem::path& to);

    /// What interrupted exports left in `output`: a staging folder whose
    /// process is gone is completed if it was committed, else removed.
    /// Returns what it did, one line each (empty when nothing was left),
    /// and writes them on `*notes` (when not null).
    static std::vector<std::string> recover(const std::filesystem::path& output, const std::string& main = "model.onnx",
                                            std::ostream* notes = &std::cerr);

private:
    [[noreturn]] void fail(std::string_view name, std::string_view what, int err);

    std::filesystem::path output_, dir_;
    std::string main_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE staged_output::staged_output(std::filesystem::path output, std::string main, std::ostream* notes) : output_(std::move(output)), main_(std::move(main)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(output_, ec);
    if (ec || !fs::is_directory(output_))
        throw error("export.output", output_.string() + ": cannot create the output folder" +
                                         (ec ? " (" + ec.message() + ")" : std::string()));
    recover(output_, main_, notes);
    dir_ = output_ / (std::string(detail::output::staging_prefix) + std::to_string(::getpid()));
    fs::remove_all(dir_, ec);
    if (!fs::create_directory(dir_, ec) || ec)
        throw error("export.output", output_.string() + ": cannot write in the output folder (" +
                                         (ec ? ec.message() : std::string("unknown error")) + ")");
}

TYPEFORMER_INLINE staged_output::~staged_output() {
    if (dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

TYPEFORMER_INLINE auto staged_output::copy_in(const std::filesystem::path& from) -> void {
    std::error_code ec;
    std::filesystem::copy_file(from, staged(from.filename().string()), ec);
    if (ec) throw error("export.write", (output_ / from.filename()).string() + ": cannot copy " + from.string() +
                                            " (" + ec.message() + ")");
    detail::output::sync_path(staged(from.filename().string()), false);
}

TYPEFORMER_INLINE auto staged_output::commit() -> void {
    namespace fs = std::filesystem;
    const auto marker = dir_ / detail::output::commit_marker;
    { std::ofstream(marker) << main_ << "\n"; }
    if (!fs::exists(marker)) fail(detail::output::commit_marker, "cannot write the commit marker", errno);
    detail::output::sync_path(marker, false);
    detail::output::sync_path(dir_, true);
    detail::output::move_in(dir_, output_, main_);
    dir_.clear();
}

TYPEFORMER_INLINE auto staged_output::keep_as(std::string_view file, const std::filesystem::path& to) -> void {
    std::error_code ec;
    std::filesystem::remove_all(to, ec);
    std::filesystem::rename(staged(file), to, ec);
    if (ec) throw error("export.write", to.string() + ": " + ec.message());
}

TYPEFORMER_INLINE auto staged_output::keep_folder_as(const std::filesystem::path& to) -> void {
    std::error_code ec;
    std::filesystem::remove_all(to, ec);
    std::filesystem::rename(dir_, to, ec);
    if (ec) throw error("export.write", to.string() + ": " + ec.message());
    dir_.clear();
}

TYPEFORMER_INLINE auto staged_output::recover(const std::filesystem::path& output, const std::string& main, std::ostream* notes) -> std::vector<std::string> {
    namespace fs = std::filesystem;
    std::vector<std::string> done;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(output, ec)) {
        const auto name = e.path().filename().string();
        if (!name.starts_with(detail::output::staging_prefix) || !e.is_directory()) continue;
        const auto pid = std::atol(name.c_str() + detail::output::staging_prefix.size());
        if (pid > 0 && pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
            continue;  // another export, still running
        if (fs::exists(e.path() / detail::output::commit_marker)) {
            detail::output::move_in(e.path(), output, main);
            done.push_back("completed an interrupted export into " + output.string());
        } else {
            std::error_code ignored;
            fs::remove_all(e.path(), ignored);
            done.push_back("removed what an interrupted export left (" + name + ")");
        }
    }
    if (notes)
        for (const auto& line : done) *notes << "typeformer: " << line << "\n";
    return done;
}

TYPEFORMER_INLINE auto staged_output::fail(std::string_view name, std::string_view what, int err) -> void {
    throw error("export.write", (output_ / name).string() + ": " + std::string(what) +
                                    (err ? " (" + detail::output::errno_text(err) + ")" : std::string(" (disk full?)")));
}
#endif  // TYPEFORMER_DEFINITIONS

/// Write a file atomically: `write(stream)` fills a temporary file in the
/// same folder, which is flushed to disk and then renamed over `target`. On
/// any failure the temporary file is removed and `target` is left as it was.
template <class Writer>
void write_atomically(const std::filesystem::path& target, Writer&& write) {
    const auto tmp = target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
    auto fail = [&](const std::string& why) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw error("export.write", why);
    };
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail(tmp.string() + ": cannot open for writing");
        const bool wrote = write(static_cast<std::ostream&>(out));
        out.flush();
        if (!wrote || !out) fail(tmp.string() + ": write failed (disk full?)");
    }
    if (!detail::output::sync_path(tmp, false)) fail(tmp.string() + ": cannot flush to disk");
    std::error_code ec;
    std::filesystem::rename(tmp, target, ec);
    if (ec) fail(target.string() + ": cannot move the written file into place (" + ec.message() + ")");
}

}  // namespace typeformer::inline v0
