// typeformer/io/zip.hpp: the index of a memory-mapped zip archive, enough to
// read the archives torch.save writes (PyTorch >= 1.6).
//
// torch.save stores every entry uncompressed ("stored", method 0) and aligns
// each tensor storage to 64 bytes, so an entry's bytes can be used in place.
// This reader parses the central directory (ZIP64 included), checks every
// range against the file, and refuses compressed, encrypted or split archives.
// It never writes and never allocates more than the directory's size.
//
// Errors (typeformer::error ids):
//   zip.io         open/stat/mmap failed
//   zip.format     not a zip archive, or a directory record out of bounds
//   zip.entry      an entry that is compressed, encrypted, or whose data lies
//                  outside the file
//   zip.duplicate  an entry name given twice
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "typeformer/core/error.hpp"
#include "typeformer/core/linkage.hpp"
#include "typeformer/io/safetensors.hpp"

namespace typeformer::inline v0 {

namespace detail::zip {

[[noreturn]] inline void fail(std::string_view id, std::string_view where, std::string_view message) {
    throw error(id, std::string(where) + ": " + std::string(message));
}

template <class T>
T load(std::span<const std::byte> bytes, std::uint64_t at) noexcept {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof(T));
    return v;  // little-endian host (safetensors.hpp asserts it)
}

/// A read-only mapping of a whole file (any size, empty included).
safetensors::mapping map_any(const std::filesystem::path& file, std::string_view id);
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE safetensors::mapping map_any(const std::filesystem::path& file, std::string_view id) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(id, file.string(), "cannot open: " + safetensors::errno_text(errno));
    safetensors::fd_guard guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(id, file.string(), "cannot stat: " + safetensors::errno_text(errno));
    if (!S_ISREG(st.st_mode)) fail(id, file.string(), "not a regular file");
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) return {};
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) fail(id, file.string(), "cannot mmap: " + safetensors::errno_text(errno));
    return safetensors::mapping(static_cast<const std::byte*>(p), size);
}
#endif

}  // namespace detail::zip

/// The entries of a zip archive held in memory (usually a mapping).
class zip_index {
public:
    struct entry {
        std::string name;
        std::span<const std::byte> data;
    };

    /// Index `bytes` (which must outlive the index); `where` names it in errors.
    static zip_index read(std::span<const std::byte> bytes, std::string_view where);

    [[nodiscard]] const std::vector<entry>& entries() const noexcept { return entries_; }

    /// The entry called `name`, or nullptr.
    [[nodiscard]] const entry* find(std::string_view name) const;

private:
    std::vector<entry> entries_;
    std::unordered_map<std::string, std::size_t> index_;
};

#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE auto zip_index::read(std::span<const std::byte> bytes, std::string_view where) -> zip_index {
    namespace d = detail::zip;
    using d::load;
    const std::uint64_t size = bytes.size();
    // -- end of central directory: 22 bytes + a comment of up to 65535
    if (size < 22) d::fail("zip.format", where, "not a zip archive (" + std::to_string(size) + " bytes)");
    std::uint64_t eocd = size;
    const std::uint64_t lowest = size >= 22 + 65535 ? size - 22 - 65535 : 0;
    for (std::uint64_t at = size - 22 + 1; at-- > lowest;)
        if (load<std::uint32_t>(bytes, at) == 0x06054b50u &&
            at + 22 + load<std::uint16_t>(bytes, at + 20) == size) {
            eocd = at;
            break;
        }
    if (eocd == size) d::fail("zip.format", where, "not a zip archive (no end of central directory record)");
    if (load<std::uint16_t>(bytes, eocd + 4) != 0 || load<std::uint16_t>(bytes, eocd + 6) != 0)
        d::fail("zip.format", where, "split (multi-disk) archives are not supported");
    std::uint64_t count = load<std::uint16_t>(bytes, eocd + 10);
    std::uint64_t dir_size = load<std::uint32_t>(bytes, eocd + 12);
    std::uint64_t dir_offset = load<std::uint32_t>(bytes, eocd + 16);
    // -- ZIP64: a locator just before the EOCD points at the ZIP64 EOCD
    if (eocd >= 20 && load<std::uint32_t>(bytes, eocd - 20) == 0x07064b50u) {
        const auto at = load<std::uint64_t>(bytes, eocd - 20 + 8);
        if (at > size || size - at < 56 || load<std::uint32_t>(bytes, at) != 0x06064b50u)
            d::fail("zip.format", where, "ZIP64 end of central directory record out of bounds");
        count = load<std::uint64_t>(bytes, at + 32);
        dir_size = load<std::uint64_t>(bytes, at + 40);
        dir_offset = load<std::uint64_t>(bytes, at + 48);
    }
    if (dir_offset > size || dir_size > size - dir_offset)
        d::fail("zip.format", where, "central directory out of bounds");
    if (count > dir_size / 46) d::fail("zip.format", where, "central directory too small for its entries");

    zip_index z;
    z.entries_.reserve(count);
    std::uint64_t at = dir_offset;
    const std::uint64_t dir_end = dir_offset + dir_size;
    for (std::uint64_t k = 0; k < count; ++k) {
        if (dir_end - at < 46 || load<std::uint32_t>(bytes, at) != 0x02014b50u)
            d::fail("zip.format", where, "central directory entry " + std::to_string(k) + " is malformed");
        const auto flags = load<std::uint16_t>(bytes, at + 8);
        const auto method = load<std::uint16_t>(bytes, at + 10);
        std::uint64_t csize = load<std::uint32_t>(bytes, at + 20);
        std::uint64_t usize = load<std::uint32_t>(bytes, at + 24);
        const auto name_len = load<std::uint16_t>(bytes, at + 28);
        const auto extra_len = load<std::uint16_t>(bytes, at + 30);
        const auto comment_len = load<std::uint16_t>(bytes, at + 32);
        std::uint64_t local = load<std::uint32_t>(bytes, at + 42);
        if (dir_end - at - 46 < std::uint64_t{name_len} + extra_len + comment_len)
            d::fail("zip.format", where, "central directory entry " + std::to_string(k) + " is truncated");
        std::string name(reinterpret_cast<const char*>(bytes.data() + at + 46), name_len);
        // ZIP64 extended information: the fields that are 0xffffffff, in order
        for (std::uint64_t e = at + 46 + name_len, end = e + extra_len; end - e >= 4;) {
            const auto id = load<std::uint16_t>(bytes, e);
            const auto len = load<std::uint16_t>(bytes, e + 2);
            if (end - e - 4 < len) break;
            if (id == 0x0001) {
                std::uint64_t p = e + 4;
                const auto take = [&](std::uint64_t& field) {
                    if (field != 0xffffffffu) return;
                    if (p + 8 > e + 4 + len) d::fail("zip.format", where, name + ": ZIP64 extra field too short");
                    field = load<std::uint64_t>(bytes, p);
                    p += 8;
                };
                take(usize);
                take(csize);
                take(local);
            }
            e += 4 + len;
        }
        at += 46 + std::uint64_t{name_len} + extra_len + comment_len;

        if (flags & 1u) d::fail("zip.entry", where, name + ": encrypted entries are not supported");
        if (method != 0 || csize != usize)
            d::fail("zip.entry", where,
                    name + ": compressed entry (method " + std::to_string(method) +
                        "); torch.save stores entries uncompressed");
        if (local > size || size - local < 30 || load<std::uint32_t>(bytes, local) != 0x04034b50u)
            d::fail("zip.entry", where, name + ": local header out of bounds or malformed");
        const std::uint64_t data = local + 30 + load<std::uint16_t>(bytes, local + 26) +
                                   load<std::uint16_t>(bytes, local + 28);
        if (data > size || size - data < csize)
            d::fail("zip.entry", where,
                    name + ": data [" + std::to_string(data) + ", +" + std::to_string(csize) +
                        ") lies outside the file of " + std::to_string(size) + " bytes");
        if (z.index_.contains(name)) d::fail("zip.duplicate", where, name + ": entry appears more than once");
        z.index_.emplace(name, z.entries_.size());
        z.entries_.push_back({std::move(name), bytes.subspan(static_cast<std::size_t>(data),
                                                              static_cast<std::size_t>(csize))});
    }
    return z;
}

TYPEFORMER_INLINE auto zip_index::find(std::string_view name) const -> const entry* {
    const auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &entries_[it->second];
}
#endif  // TYPEFORMER_DEFINITIONS

/// Whether `bytes` starts like a zip archive (a local file header).
[[nodiscard]] bool looks_like_zip(std::span<const std::byte> bytes) noexcept;
#if TYPEFORMER_DEFINITIONS
TYPEFORMER_INLINE bool looks_like_zip(std::span<const std::byte> bytes) noexcept {
    return bytes.size() >= 4 && detail::zip::load<std::uint32_t>(bytes, 0) == 0x04034b50u;
}
#endif

}  // namespace typeformer::inline v0
