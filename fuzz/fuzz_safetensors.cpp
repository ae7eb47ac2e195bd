// libFuzzer target: the safetensors reader (io/safetensors.hpp). Any input
// must end in an open file whose every tensor converts, or in a
// typeformer::error: no crash, no leak, no out-of-bounds read, no UB.
// Seed corpus: fuzz/corpus/safetensors/ (small valid files of each dtype,
// with metadata, empty, misaligned, and broken ones).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "typeformer/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // the reader maps a path: an in-memory file, reached through /proc
    static const int fd = ::memfd_create("fuzz.safetensors", 0);
    if (fd < 0) __builtin_trap();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const auto f = typeformer::safetensors_file::open(path);
        for (const auto& t : f.tensors()) {
            if (f.find(t.name) != &t) __builtin_trap();
            if (t.numel() > (1 << 20)) continue;
            const auto k = t.type;
            if (k == typeformer::dtype::f32 || k == typeformer::dtype::f16 || k == typeformer::dtype::bf16 ||
                k == typeformer::dtype::f64) {
                std::vector<float> out(static_cast<std::size_t>(t.numel()));
                typeformer::read_as_f32(t, out);
            }
        }
    } catch (const typeformer::error&) {
    }
    return 0;
}
