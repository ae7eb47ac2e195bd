// typeformer/io/pytorch.hpp: PyTorch checkpoints (pytorch_model.bin), read
// without Python and without executing the pickle.
//
// Two layouts, both written by torch.save:
//
//  - zip (PyTorch >= 1.6, the default): an uncompressed zip archive holding
//    `<name>/data.pkl` (the state dict, a pickle whose tensors refer to their
//    storages by persistent id) and one `<name>/data/<key>` entry per storage.
//  - legacy (_use_new_zipfile_serialization=False, PyTorch < 1.6): five
//    pickles back to back (magic number, protocol version 1001, system info,
//    the state dict, the list of storage keys), then each storage in that
//    order as an int64 element count followed by its raw bytes.
//
// The pickle is read by the restricted reader of pickle.hpp, which refuses any
// global or opcode a state dict does not need. The file is memory-mapped; a
// tensor is a view into the mapping (storages are little-endian, like
// safetensors), except a non-contiguous one, which is gathered into a copy.
// Tensors sharing a storage (tied weights) share bytes.
//
// Errors: pytorch.io (open, mmap), pytorch.format (not one of the layouts,
// missing entries, a storage too small for its tensors, an unexpected value),
// pytorch.duplicate (a name given twice), and those of zip.hpp and pickle.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "typeformer/core/dtype.hpp"
#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/io/pickle.hpp"
#include "typeformer/io/safetensors.hpp"
#include "typeformer/io/zip.hpp"

namespace typeformer::inline v0 {

class pytorch_file {
public:
    /// Map and read a torch.save file (either layout); throws typeformer::error.
    [[nodiscard]] static pytorch_file open(const std::filesystem::path& file);

    /// Read a torch.save image held in memory, which must outlive the result (tests, fuzzing).
    [[nodiscard]] static pytorch_file read(std::span<const std::byte> bytes, std::filesystem::path name);

    pytorch_file(pytorch_file&&) noexcept = default;
    pytorch_file& operator=(pytorch_file&&) noexcept = default;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// Every tensor of the state dict, in the pickle's order.
    [[nodiscard]] const std::vector<tensor_view>& tensors() const noexcept { return tensors_; }
    /// "zip" or "legacy".
    [[nodiscard]] std::string_view layout() const noexcept { return layout_; }

private:
    pytorch_file() = default;

    [[noreturn]] void fail(std::string_view id, const std::string& msg) const;

    void parse(std::span<const std::byte> bytes);

    void parse_zip(std::span<const std::byte> bytes);

    void parse_legacy(std::span<const std::byte> bytes);

    static void collect_storages(const pickle_node& root, std::map<std::string, dtype, std::less<>>& types);

    /// The state dict's tensors as views; `storage_bytes(node)` finds a storage's bytes.
    template <class Find>
    void collect(const pickle_node& root, Find&& storage_bytes) {
        using K = pickle_node::kind;
        if (!root.is(K::dict))
            fail("pytorch.format", "the pickle holds a " + std::string(kind_name(root.type)) +
                                       ", expected a state dict (a dict of tensors)");
        std::unordered_set<std::string_view> seen;
        const auto& it = root.items;
        tensors_.reserve(it.size() / 2);
        for (std::size_t k = 0; k + 1 < it.size(); k += 2) {
            const auto& key = *it[k];
            const auto& value = *it[k + 1];
            if (!key.is(K::string))
                fail("pytorch.format", "state dict key is a " + std::string(kind_name(key.type)) + ", expected a str");
            if (!value.is(K::tensor))
                fail("pytorch.format", "state dict entry \"" + key.text + "\" is a " +
                                           std::string(kind_name(value.type)) + ", expected a tensor");
            const auto& name = names_.emplace_back(key.text);
            if (!seen.insert(name).second)
                fail("pytorch.duplicate", "tensor \"" + name + "\" appears more than once in the state dict");
            tensors_.push_back(make_view(name, value, storage_bytes(*value.items[0])));
        }
    }

    tensor_view make_view(std::string_view name, const pickle_node& t, std::span<const std::byte> storage);

    std::filesystem::path path_;
    detail::safetensors::mapping map_;
    std::string_view layout_;
    std::deque<std::string> names_;               // stable: views point into them
    std::deque<std::vector<std::byte>> owned_;    // gathered non-contiguous tensors
    std::vector<tensor_view> tensors_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto pytorch_file::open(const std::filesystem::path& file) -> pytorch_file {
    pytorch_file f;
    f.path_ = file;
    f.map_ = detail::zip::map_any(file, "pytorch.io");
    f.parse(std::span<const std::byte>(f.map_.data(), f.map_.size()));
    return f;
}

TYPEFORMER_INLINE auto pytorch_file::read(std::span<const std::byte> bytes, std::filesystem::path name) -> pytorch_file {
    pytorch_file f;
    f.path_ = std::move(name);
    f.parse(bytes);
    return f;
}

TYPEFORMER_INLINE auto pytorch_file::fail(std::string_view id, const std::string& msg) const -> void {
    throw error(id, path_.string() + ": " + msg);
}

TYPEFORMER_INLINE auto pytorch_file::parse(std::span<const std::byte> bytes) -> void {
    if (looks_like_zip(bytes)) return parse_zip(bytes);
    if (bytes.size() >= 2 && bytes[0] == std::byte{0x80}) return parse_legacy(bytes);
    fail("pytorch.format", "neither a zip archive nor a legacy torch.save file");
}

TYPEFORMER_INLINE auto pytorch_file::parse_zip(std::span<const std::byte> bytes) -> void {
    layout_ = "zip";
    const auto zip = zip_index::read(bytes, path_.string());
    const zip_index::entry* pkl = nullptr;
    for (const auto& e : zip.entries()) {
        const auto slash = e.name.find('/');
        if (slash != std::string::npos && e.name.compare(slash + 1, std::string::npos, "data.pkl") == 0) {
            if (pkl) fail("pytorch.format", "more than one data.pkl in the archive");
            pkl = &e;
        }
    }
    if (!pkl) fail("pytorch.format", "zip archive without <name>/data.pkl: not written by torch.save");
    const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string_view("data.pkl").size());
    const auto data = pickle_data::read(pkl->data, path_.string() + ":" + pkl->name);
    collect(data.root(), [&](const pickle_node& storage) {
        const auto* e = zip.find(prefix + "data/" + storage.text);
        if (!e) fail("pytorch.format", "storage " + storage.text + " has no entry " + prefix + "data/" + storage.text);
        return e->data;
    });
}

TYPEFORMER_INLINE auto pytorch_file::parse_legacy(std::span<const std::byte> bytes) -> void {
    layout_ = "legacy";
    using K = pickle_node::kind;
    static constexpr unsigned char magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    std::size_t at = 0;
    auto next = [&](std::string_view what) {
        auto p = pickle_data::read(bytes.subspan(at), path_.string() + " (" + std::string(what) + ")");
        at += p.size();
        return p;
    };
    {
        const auto m = next("magic number");
        if (!m.root().is(K::big_integer) || m.root().text.size() != sizeof magic ||
            std::memcmp(m.root().text.data(), magic, sizeof magic) != 0)
            fail("pytorch.format", "not a torch.save file (wrong magic number)");
    }
    {
        const auto v = next("protocol version");
        if (!v.root().is(K::integer) || v.root().integer != 1001)
            fail("pytorch.format", "legacy torch.save protocol version is not 1001");
    }
    {
        const auto info = next("system info");
        if (!info.root().is(K::dict)) fail("pytorch.format", "legacy system info is not a dict");
        const auto& it = info.root().items;
        for (std::size_t k = 0; k + 1 < it.size(); k += 2)
            if (it[k]->is(K::string) && it[k]->text == "little_endian" &&
                !(it[k + 1]->is(K::boolean) && it[k + 1]->integer == 1))
                fail("pytorch.format", "written on a big-endian machine; not supported");
    }
    const auto data = next("state dict");
    const auto keys = next("storage keys");
    if (!keys.root().is(K::list)) fail("pytorch.format", "legacy storage key list is not a list");
    // the storages' element types, from the state dict's persistent ids
    std::map<std::string, dtype, std::less<>> types;
    collect_storages(data.root(), types);
    std::map<std::string, std::span<const std::byte>, std::less<>> storages;
    for (const auto* key : keys.root().items) {
        if (!key->is(K::string)) fail("pytorch.format", "legacy storage key is not a string");
        const auto type = types.find(key->text);
        if (type == types.end()) fail("pytorch.format", "storage " + key->text + " is not used by the state dict");
        if (bytes.size() - at < 8) fail("pytorch.format", "truncated before storage " + key->text);
        std::uint64_t numel;
        std::memcpy(&numel, bytes.data() + at, 8);
        at += 8;
        const std::uint64_t elem = size_of(type->second);
        if (numel > (bytes.size() - at) / elem)
            fail("pytorch.format", "storage " + key->text + " of " + std::to_string(numel) +
                                       " elements is truncated (" + std::to_string(bytes.size() - at) + " bytes left)");
        storages[key->text] = bytes.subspan(at, static_cast<std::size_t>(numel * elem));
        at += static_cast<std::size_t>(numel * elem);
    }
    collect(data.root(), [&](const pickle_node& storage) {
        const auto it = storages.find(storage.text);
        if (it == storages.end()) fail("pytorch.format", "storage " + storage.text + " is missing from the file");
        return it->second;
    });
}

TYPEFORMER_INLINE auto pytorch_file::collect_storages(const pickle_node& root, std::map<std::string, dtype, std::less<>>& types) -> void {
    if (!root.is(pickle_node::kind::dict)) return;
    for (std::size_t k = 1; k < root.items.size(); k += 2)
        if (const auto* t = root.items[k]; t->is(pickle_node::kind::tensor))
            types.emplace(t->items[0]->text, t->items[0]->element);
}

TYPEFORMER_INLINE auto pytorch_file::make_view(std::string_view name, const pickle_node& t, std::span<const std::byte> storage) -> tensor_view {
    const auto& st = *t.items[0];
    const std::uint64_t elem = size_of(t.element);
    const auto where = [&] { return "tensor \"" + std::string(name) + "\": "; };
    if (storage.size() / elem < static_cast<std::uint64_t>(st.integer))
        fail("pytorch.format", where() + "storage " + st.text + " holds " + std::to_string(storage.size()) +
                                   " bytes, less than its " + std::to_string(st.integer) + " elements of " +
                                   std::string(safetensors_name(t.element)));
    // numel and the furthest element, without overflow
    constexpr std::uint64_t limit = std::uint64_t{1} << 62;
    std::uint64_t numel = 1, last = static_cast<std::uint64_t>(t.integer);
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
        const auto n = static_cast<std::uint64_t>(t.shape[d]), s = static_cast<std::uint64_t>(t.stride[d]);
        if (n != 0 && numel > limit / n) fail("pytorch.format", where() + "shape too large");
        numel *= n;
        if (n > 0 && s > 0 && (n - 1) > (limit - last) / s) fail("pytorch.format", where() + "strides too large");
        if (n > 0) last += (n - 1) * s;
    }
    tensor_view v{name, t.element, t.shape, {}};
    if (numel == 0) return v;
    if (last >= static_cast<std::uint64_t>(st.integer))
        fail("pytorch.format", where() + "shape " + shape_string(t.shape) + ", stride " + shape_string(t.stride) +
                                   " at offset " + std::to_string(t.integer) + " reach past its storage of " +
                                   std::to_string(st.integer) + " elements");
    // contiguous (row-major, ignoring dimensions of size 1): a view in place
    bool contiguous = true;
    std::uint64_t expected = 1;
    for (std::size_t d = t.shape.size(); d-- > 0;) {
        if (t.shape[d] != 1 && static_cast<std::uint64_t>(t.stride[d]) != expected) contiguous = false;
        expected *= static_cast<std::uint64_t>(t.shape[d]);
    }
    const std::byte* base = storage.data();
    if (!contiguous && numel > static_cast<std::uint64_t>(st.integer))
        fail("pytorch.format", where() + "shape " + shape_string(t.shape) + ", stride " + shape_string(t.stride) +
                                   " has more elements than its storage (expanded views are not state dicts)");
    if (contiguous) {
        v.bytes = storage.subspan(static_cast<std::size_t>(t.integer * elem), static_cast<std::size_t>(numel * elem));
        return v;
    }
    auto& copy = owned_.emplace_back(static_cast<std::size_t>(numel * elem));
    std::vector<std::uint64_t> index(t.shape.size(), 0);
    for (std::uint64_t k = 0; k < numel; ++k) {
        std::uint64_t src = static_cast<std::uint64_t>(t.integer);
        for (std::size_t d = 0; d < index.size(); ++d) src += index[d] * static_cast<std::uint64_t>(t.stride[d]);
        std::memcpy(copy.data() + k * elem, base + src * elem, elem);
        for (std::size_t d = index.size(); d-- > 0;) {
            if (++index[d] < static_cast<std::uint64_t>(t.shape[d])) break;
            index[d] = 0;
        }
    }
    v.bytes = std::span<const std::byte>(copy.data(), copy.size());
    v.mapped = false;
    return v;
}
#endif  // TYPEFORMER_DEFINITIONS

}  // namespace typeformer::inline v0
