// typeformer/io/safetensors.hpp: a memory-mapped safetensors reader and a
// small streaming writer.
//
// The format (https://github.com/huggingface/safetensors):
//
//   [ u64 little-endian N ][ N bytes of JSON header ][ data buffer ... ]
//
// The header is a JSON object that maps each tensor name to
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// where [begin, end) is a byte range relative to the start of the data buffer
// (file offset 8 + N). An optional "__metadata__" entry maps strings to strings.
// Writers pad the header with spaces so that the data buffer starts on an
// 8-byte boundary, but the format does not promise that each tensor is aligned
// to its element size: the reader accepts misaligned tensors and every read
// below goes through memcpy.
//
// A file is validated completely when it is opened; every failure throws
// typeformer::error with one of these ids, and a message that names the file
// and, where there is one, the tensor:
//
//   safetensors.io         open/stat/mmap/write failed (with strerror)
//   safetensors.truncated  shorter than the 8-byte length prefix
//   safetensors.header     header length beyond the file or > 100 MB; header
//                          not JSON, or not a JSON object
//   safetensors.metadata   "__metadata__" not an object of strings
//   safetensors.entry      an entry not an object; dtype / shape / data_offsets
//                          missing or of the wrong type or sign; begin > end
//   safetensors.dtype      a dtype string this library does not know
//   safetensors.duplicate  a tensor name given twice
//   safetensors.overflow   element count or byte size does not fit in 64 bits
//   safetensors.offsets    data_offsets outside the data buffer
//   safetensors.size       end - begin differs from numel x dtype size
//   safetensors.overlap    two (non-empty) tensors share bytes
//   safetensors.convert    read_as_*: wrong output size or dtype
//   safetensors.write      write_safetensors: inconsistent input
//
// POSIX only (mmap). Multi-byte values are read as little-endian, so the host
// must be little-endian too.
#pragma once

#include <typeformer/core/dtype.hpp>
#include <typeformer/core/error.hpp>
#include <typeformer/core/linkage.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace typeformer::inline v0 {

static_assert(std::endian::native == std::endian::little,
              "typeformer reads safetensors (little-endian) in place: a little-endian host is required");

/// One tensor of an open safetensors_file: a view into the mapping, no copy.
/// Valid as long as the safetensors_file it came from is alive (moving the
/// file object keeps views valid).
struct tensor_view {
    std::string_view name;  // points into the reader's storage
    dtype type = dtype::f32;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> bytes;
    /// Whether `bytes` lie in a read-only file mapping (their pages may be
    /// dropped once read); false for a copy on the heap (a gathered tensor).
    bool mapped = true;

    /// Number of elements (1 for a scalar of shape [], 0 if a dimension is 0).
    [[nodiscard]] std::int64_t numel() const {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }

    /// Whether the tensor's first byte is aligned to its element size. The
    /// format does not promise it; the reads below do not need it.
    [[nodiscard]] bool is_aligned() const noexcept {
        return reinterpret_cast<std::uintptr_t>(bytes.data()) % size_of(type) == 0;
    }
};

/// "[2, 3]": a shape as the library's messages print it.
template <class Int>
std::string shape_string(const std::vector<Int>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

namespace detail::safetensors {

/// Headers larger than this are refused (the reference implementation's limit).
inline constexpr std::uint64_t max_header_size = 100'000'000;

[[noreturn]] inline void fail(std::string_view id, const std::filesystem::path& file,
                              std::string_view message) {
    throw error(id, file.string() + ": " + std::string(message));
}

[[noreturn]] inline void fail(std::string_view id, const std::filesystem::path& file,
                              std::string_view tensor, std::string_view message) {
    throw error(id, file.string() + ": tensor \"" + std::string(tensor) + "\": " + std::string(message));
}

inline std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }


std::uint64_t read_u64_le(const std::byte* p) noexcept;
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::uint64_t read_u64_le(const std::byte* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;  // host is little-endian (static_assert above)
}
#endif

/// A read-only private mapping of a whole file; move-only.
class mapping {
public:
    mapping() = default;
    mapping(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
    mapping(mapping&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    mapping& operator=(mapping&& o) noexcept {
        if (this != &o) {
            reset();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    mapping(const mapping&) = delete;
    mapping& operator=(const mapping&) = delete;
    ~mapping() { reset(); }

    [[nodiscard]] const std::byte* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    void reset() noexcept {
        if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Closes a file descriptor on scope exit.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

mapping map_file(const std::filesystem::path& file);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE mapping map_file(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("safetensors.io", file, "cannot open: " + errno_text(errno));
    fd_guard guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("safetensors.io", file, "cannot stat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) fail("safetensors.io", file, "not a regular file");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < 8)
        fail("safetensors.truncated", file,
             "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) fail("safetensors.io", file, "cannot mmap: " + errno_text(errno));
    return mapping(static_cast<const std::byte*>(p), static_cast<std::size_t>(size));
    // the mapping stays valid after the descriptor is closed
}
#endif

/// A non-negative JSON integer that fits in int64, or nothing.
std::optional<std::uint64_t> as_index(const nlohmann::json& v);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::optional<std::uint64_t> as_index(const nlohmann::json& v) {
    if (!v.is_number_unsigned()) return std::nullopt;  // negatives parse as number_integer
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return u;
}
#endif

}  // namespace detail::safetensors

/// A safetensors file, memory-mapped read-only and validated on open.
/// Move-only; unmaps in its destructor.
class safetensors_file {
public:
    /// Maps and validates `file`; throws typeformer::error (ids listed at the top).
    [[nodiscard]] static safetensors_file open(const std::filesystem::path& file);

    safetensors_file(safetensors_file&&) noexcept = default;
    safetensors_file& operator=(safetensors_file&&) noexcept = default;
    safetensors_file(const safetensors_file&) = delete;
    safetensors_file& operator=(const safetensors_file&) = delete;
    ~safetensors_file() = default;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

    /// All tensors, in file order (sorted by data offset).
    [[nodiscard]] const std::vector<tensor_view>& tensors() const noexcept { return tensors_; }

    /// The tensor called `name`, or nullptr.
    [[nodiscard]] const tensor_view* find(std::string_view name) const;

    /// The "__metadata__" entries (empty if the file has none).
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

    /// Length of the JSON header; the data buffer starts at file offset 8 + header_size().
    [[nodiscard]] std::uint64_t header_size() const noexcept { return header_size_; }

private:
    safetensors_file() = default;

    std::filesystem::path path_;
    detail::safetensors::mapping map_;
    std::uint64_t header_size_ = 0;
    std::unique_ptr<char[]> names_;  // all tensor names back to back; heap, so views survive moves
    std::vector<tensor_view> tensors_;
    std::unordered_map<std::string_view, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto safetensors_file::find(std::string_view name) const -> const tensor_view* {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}
#endif  // TYPEFORMER_DEFINITIONS

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE safetensors_file safetensors_file::open(const std::filesystem::path& file) {
    namespace d = detail::safetensors;
    using nlohmann::json;

    safetensors_file f;
    f.path_ = file;
    f.map_ = d::map_file(file);
    const std::byte* base = f.map_.data();
    const std::uint64_t file_size = f.map_.size();

    // -- the 8-byte length and the header ------------------------------------
    const std::uint64_t n = d::read_u64_le(base);
    if (n > file_size - 8)
        d::fail("safetensors.header", file,
                "header length " + std::to_string(n) + " exceeds file size " + std::to_string(file_size));
    if (n > d::max_header_size)
        d::fail("safetensors.header", file,
                "header length " + std::to_string(n) + " exceeds the limit of " +
                    std::to_string(d::max_header_size) + " bytes");
    f.header_size_ = n;
    const std::uint64_t data_size = file_size - 8 - n;
    const std::byte* data = base + 8 + n;

    // nlohmann keeps the last of duplicate keys silently: record the top-level
    // keys (depth 1 of the root object) as the parser sees them.
    std::unordered_set<std::string> seen;
    std::optional<std::string> duplicate;
    const auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::key && depth == 1 && !duplicate) {
            auto key = parsed.get<std::string>();
            if (!seen.insert(key).second) duplicate = std::move(key);
        }
        return true;
    };
    const auto* text = reinterpret_cast<const char*>(base + 8);
    json header;
    try {
        header = json::parse(text, text + n, on_event);
    } catch (const json::exception& e) {
        d::fail("safetensors.header", file, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object())
        d::fail("safetensors.header", file,
                std::string("header is a JSON ") + header.type_name() + ", expected an object");
    if (duplicate) d::fail("safetensors.duplicate", file, *duplicate, "name appears more than once in the header");

    // -- metadata ------------------------------------------------------------
    if (const auto it = header.find("__metadata__"); it != header.end()) {
        if (!it->is_object()) d::fail("safetensors.metadata", file, "\"__metadata__\" is not an object");
        for (const auto& [key, value] : it->items()) {
            if (!value.is_string())
                d::fail("safetensors.metadata", file,
                        "\"__metadata__\" entry \"" + key + "\" is a " + value.type_name() + ", expected a string");
            f.metadata_.emplace(key, value.get<std::string>());
        }
    }

    // -- entries -------------------------------------------------------------
    struct entry {
        std::string name;
        dtype type;
        std::vector<std::int64_t> shape;
        std::uint64_t begin, end;
    };
    std::vector<entry> entries;
    entries.reserve(header.size());
    std::size_t names_size = 0;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") continue;
        if (!value.is_object())
            d::fail("safetensors.entry", file, name, std::string("entry is a ") + value.type_name() + ", expected an object");

        // dtype
        const auto dt = value.find("dtype");
        if (dt == value.end()) d::fail("safetensors.entry", file, name, "missing \"dtype\"");
        if (!dt->is_string()) d::fail("safetensors.entry", file, name, "\"dtype\" is not a string");
        const auto& dt_name = dt->get_ref<const std::string&>();
        const auto type = dtype_from_safetensors(dt_name);
        if (!type) d::fail("safetensors.dtype", file, name, "unknown dtype \"" + dt_name + "\"");

        // shape
        const auto sh = value.find("shape");
        if (sh == value.end()) d::fail("safetensors.entry", file, name, "missing \"shape\"");
        if (!sh->is_array()) d::fail("safetensors.entry", file, name, "\"shape\" is not an array");
        std::vector<std::int64_t> shape;
        shape.reserve(sh->size());
        for (const auto& dim : *sh) {
            const auto v = d::as_index(dim);
            if (!v)
                d::fail("safetensors.entry", file, name,
                        "\"shape\" entry " + dim.dump() + " is not a non-negative 64-bit integer");
            shape.push_back(static_cast<std::int64_t>(*v));
        }

        // data_offsets
        const auto off = value.find("data_offsets");
        if (off == value.end()) d::fail("safetensors.entry", file, name, "missing \"data_offsets\"");
        if (!off->is_array() || off->size() != 2)
            d::fail("safetensors.entry", file, name, "\"data_offsets\" is not an array of two integers");
        const auto begin = d::as_index((*off)[0]);
        const auto end = d::as_index((*off)[1]);
        if (!begin || !end)
            d::fail("safetensors.entry", file, name,
                    "\"data_offsets\" " + off->dump() + " are not two non-negative 64-bit integers");
        if (*begin > *end)
            d::fail("safetensors.entry", file, name,
                    "\"data_offsets\" " + off->dump() + ": begin is past end");

        // numel x size, with no overflow (the same rule as the reference: any
        // partial product that overflows is refused, even if a later dim is 0)
        std::uint64_t numel = 1;
        constexpr auto max_numel = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        for (const auto dim : shape) {
            const auto u = static_cast<std::uint64_t>(dim);
            if (u != 0 && numel > max_numel / u)
                d::fail("safetensors.overflow", file, name,
                        "shape " + shape_string(shape) + " has more elements than fit in 64 bits");
            numel *= u;
        }
        const std::uint64_t elem = size_of(*type);
        if (numel > std::numeric_limits<std::uint64_t>::max() / elem)
            d::fail("safetensors.overflow", file, name,
                    "shape " + shape_string(shape) + " with dtype " + dt_name + " needs more bytes than fit in 64 bits");
        const std::uint64_t nbytes = numel * elem;

        if (*end > data_size)
            d::fail("safetensors.offsets", file, name,
                    "data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                        "] exceed the data buffer of " + std::to_string(data_size) + " bytes");
        if (*end - *begin != nbytes)
            d::fail("safetensors.size", file, name,
                    "data_offsets span " + std::to_string(*end - *begin) + " bytes but shape " +
                        shape_string(shape) + " of " + dt_name + " needs " + std::to_string(nbytes));

        names_size += name.size();
        entries.push_back({name, *type, std::move(shape), *begin, *end});
    }

    // -- file order and overlaps ---------------------------------------------
    std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const entry* reach = nullptr;  // the non-empty tensor reaching furthest so far
    for (const auto& e : entries) {
        if (e.begin == e.end) continue;  // an empty range overlaps nothing
        if (reach != nullptr && reach->end > e.begin)
            d::fail("safetensors.overlap", file,
                    "tensors \"" + reach->name + "\" [" + std::to_string(reach->begin) + ", " +
                        std::to_string(reach->end) + ") and \"" + e.name + "\" [" + std::to_string(e.begin) +
                        ", " + std::to_string(e.end) + ") overlap");
        if (reach == nullptr || e.end > reach->end) reach = &e;
    }

    // -- views -----------------------------------------------------------------
    f.names_ = std::make_unique<char[]>(names_size + 1);
    char* out = f.names_.get();
    f.tensors_.reserve(entries.size());
    f.index_.reserve(entries.size());
    for (auto& e : entries) {
        std::memcpy(out, e.name.data(), e.name.size());
        const std::string_view name(out, e.name.size());
        out += e.name.size();
        f.index_.emplace(name, f.tensors_.size());
        f.tensors_.push_back(tensor_view{
            name, e.type, std::move(e.shape),
            std::span<const std::byte>(data + e.begin, static_cast<std::size_t>(e.end - e.begin))});
    }
    return f;
}
#endif

// -- conversions --------------------------------------------------------------

namespace detail::safetensors {

void check_out_size(const tensor_view& t, std::size_t out_size);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void check_out_size(const tensor_view& t, std::size_t out_size) {
    const auto n = static_cast<std::uint64_t>(t.numel());
    if (out_size != n)
        throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\": output has " +
                                               std::to_string(out_size) + " elements, the tensor has " +
                                               std::to_string(n));
    if (t.bytes.size() != n * size_of(t.type))
        throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\": " +
                                               std::to_string(t.bytes.size()) + " bytes for " + std::to_string(n) +
                                               " elements of " + std::string(safetensors_name(t.type)));
}
#endif

/// Loads element i of type T from possibly unaligned bytes.
template <class T>
T load(const std::byte* p, std::size_t i) noexcept {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    return v;
}

template <class From, class To, class F>
void convert(const tensor_view& t, std::span<To> out, F f, std::size_t first = 0) {
    const std::byte* p = t.bytes.data() + first * sizeof(From);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = f(load<From>(p, i));
}

}  // namespace detail::safetensors

/// Converts elements [first, first + out.size()) of a floating tensor (F32,
/// F16, BF16, F64, F8_E4M3, F8_E5M2) to float into `out`. Works on unaligned data.
void read_range_as_f32(const tensor_view& t, std::size_t first, std::span<float> out);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void read_range_as_f32(const tensor_view& t, std::size_t first, std::span<float> out) {
    namespace d = detail::safetensors;
    if (first + out.size() > static_cast<std::uint64_t>(t.numel()))
        throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\": range past its end");
    switch (t.type) {
        case dtype::f32:
            if (!out.empty()) std::memcpy(out.data(), t.bytes.data() + first * 4, out.size() * 4);
            return;
        case dtype::f16: d::convert<std::uint16_t>(t, out, half_to_float, first); return;
        case dtype::bf16: d::convert<std::uint16_t>(t, out, bf16_to_float, first); return;
        case dtype::f64: d::convert<double>(t, out, [](double v) { return static_cast<float>(v); }, first); return;
        case dtype::f8_e4m3: d::convert<std::uint8_t>(t, out, f8_e4m3_to_float, first); return;
        case dtype::f8_e5m2: d::convert<std::uint8_t>(t, out, f8_e5m2_to_float, first); return;
        default:
            throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\" has dtype " +
                                                   std::string(safetensors_name(t.type)) +
                                                   ", expected F32, F16, BF16, F64, F8_E4M3 or F8_E5M2");
    }
}
#endif

/// Converts a floating tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2) to float into `out`, which
/// must have numel() elements. Works on unaligned data.
void read_as_f32(const tensor_view& t, std::span<float> out);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void read_as_f32(const tensor_view& t, std::span<float> out) {
    namespace d = detail::safetensors;
    d::check_out_size(t, out.size());
    switch (t.type) {
        case dtype::f32: case dtype::f16: case dtype::bf16: case dtype::f64: case dtype::f8_e4m3:
        case dtype::f8_e5m2:
            read_range_as_f32(t, 0, out);
            return;
        default:
            throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\" has dtype " +
                                                   std::string(safetensors_name(t.type)) +
                                                   ", expected F32, F16, BF16, F64, F8_E4M3 or F8_E5M2");
    }
}
#endif

/// Converts an integer or boolean tensor (I64, I32, I16, I8, U8, BOOL) to
/// int64 into `out`, which must have numel() elements. BOOL reads as 0 or 1.
void read_as_i64(const tensor_view& t, std::span<std::int64_t> out);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void read_as_i64(const tensor_view& t, std::span<std::int64_t> out) {
    namespace d = detail::safetensors;
    d::check_out_size(t, out.size());
    const auto widen = [](auto v) { return static_cast<std::int64_t>(v); };
    switch (t.type) {
        case dtype::i64:
            if (!out.empty()) std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
            return;
        case dtype::i32: d::convert<std::int32_t>(t, out, widen); return;
        case dtype::i16: d::convert<std::int16_t>(t, out, widen); return;
        case dtype::i8: d::convert<std::int8_t>(t, out, widen); return;
        case dtype::u8: d::convert<std::uint8_t>(t, out, widen); return;
        case dtype::boolean:
            d::convert<std::uint8_t>(t, out, [](std::uint8_t v) { return std::int64_t{v != 0}; });
            return;
        default:
            throw error("safetensors.convert", "tensor \"" + std::string(t.name) + "\" has dtype " +
                                                   std::string(safetensors_name(t.type)) +
                                                   ", expected I64, I32, I16, I8, U8 or BOOL");
    }
}
#endif

/// Convenience: a floating tensor as a new vector<float>.
[[nodiscard]] std::vector<float> to_f32(const tensor_view& t);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<float> to_f32(const tensor_view& t) {
    std::vector<float> v(static_cast<std::size_t>(t.numel()));
    read_as_f32(t, v);
    return v;
}
#endif

/// Convenience: an integer tensor as a new vector<int64_t>.
[[nodiscard]] std::vector<std::int64_t> to_i64(const tensor_view& t);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE std::vector<std::int64_t> to_i64(const tensor_view& t) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(t.numel()));
    read_as_i64(t, v);
    return v;
}
#endif

// -- writer -------------------------------------------------------------------

/// One tensor for write_safetensors; `bytes` is little-endian data of
/// numel(shape) x size_of(type) bytes, borrowed, not copied.
struct tensor_to_write {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> bytes;
};

/// Writes a safetensors file: data in the order given, header padded with
/// spaces to a multiple of 8 bytes. Streams each span (no second copy);
/// writes `file` + ".tmp" and renames it over `file` when complete.
void write_safetensors(const std::filesystem::path& file, std::span<const tensor_to_write> tensors,
                       const std::map<std::string, std::string>& metadata = {});
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE void write_safetensors(const std::filesystem::path& file, std::span<const tensor_to_write> tensors, const std::map<std::string, std::string>& metadata) {
    namespace d = detail::safetensors;
    // one JSON string, escaped; throws on invalid UTF-8
    const auto quote = [&](const std::string& s) {
        try {
            return nlohmann::json(s).dump();
        } catch (const nlohmann::json::exception& e) {
            d::fail("safetensors.write", file, std::string("cannot write name or metadata: ") + e.what());
        }
    };

    // -- the header, in the order given (metadata first, as the reference does)
    std::string text = "{";
    if (!metadata.empty()) {
        text += "\"__metadata__\":{";
        for (bool first = true; const auto& [k, v] : metadata) {
            if (!std::exchange(first, false)) text += ',';
            text += quote(k) + ':' + quote(v);
        }
        text += "},";
    }
    std::unordered_set<std::string_view> names;
    std::uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (t.name == "__metadata__") d::fail("safetensors.write", file, t.name, "reserved name");
        if (!names.insert(t.name).second) d::fail("safetensors.write", file, t.name, "name given twice");
        std::uint64_t numel = 1;
        for (const auto dim : t.shape) {
            if (dim < 0) d::fail("safetensors.write", file, t.name, "negative dimension in " + shape_string(t.shape));
            const auto u = static_cast<std::uint64_t>(dim);
            if (u != 0 && numel > std::numeric_limits<std::uint64_t>::max() / u)
                d::fail("safetensors.write", file, t.name, "shape " + shape_string(t.shape) + " overflows");
            numel *= u;
        }
        if (numel > std::numeric_limits<std::uint64_t>::max() / size_of(t.type) ||
            numel * size_of(t.type) != t.bytes.size())
            d::fail("safetensors.write", file, t.name,
                    std::to_string(t.bytes.size()) + " bytes given for shape " + shape_string(t.shape) + " of " +
                        std::string(safetensors_name(t.type)));
        text += quote(t.name) + ":{\"dtype\":\"" + std::string(safetensors_name(t.type)) + "\",\"shape\":" +
                shape_string(t.shape) + ",\"data_offsets\":[" + std::to_string(offset) + ',' +
                std::to_string(offset + t.bytes.size()) + "]},";
        offset += t.bytes.size();
    }
    if (text.back() == ',') text.pop_back();
    text += '}';
    text.append((8 - text.size() % 8) % 8, ' ');

    // -- stream it out -----------------------------------------------------------
    auto tmp = file;
    tmp += ".tmp";
    std::FILE* out = std::fopen(tmp.c_str(), "wb");
    if (out == nullptr) d::fail("safetensors.io", tmp, "cannot create: " + d::errno_text(errno));
    const auto put = [&](const void* p, std::size_t size) {
        if (size != 0 && std::fwrite(p, 1, size, out) != size) {
            const int err = errno;
            std::fclose(out);
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            d::fail("safetensors.io", tmp, "write failed: " + d::errno_text(err));
        }
    };
    const std::uint64_t n = text.size();  // little-endian host (static_assert above)
    put(&n, 8);
    put(text.data(), text.size());
    for (const auto& t : tensors) put(t.bytes.data(), t.bytes.size());
    if (std::fclose(out) != 0) {
        const int err = errno;
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        d::fail("safetensors.io", tmp, "close failed: " + d::errno_text(err));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        d::fail("safetensors.io", file, "cannot rename " + tmp.string() + ": " + ec.message());
    }
}
#endif

}  // namespace typeformer::inline v0
