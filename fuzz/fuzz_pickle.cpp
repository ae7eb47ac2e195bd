// libFuzzer target: the restricted pickle reader (io/pickle.hpp) and the
// torch.save reader around it (io/zip.hpp, io/pytorch.hpp). Any input must
// end in a value or a typeformer::error: no crash, no leak, no hang, and
// never a call of anything the pickle names.
// Seed corpus: fuzz/corpus/pickle/ (state-dict pickles from
// tests/fixtures_layouts, a whole torch.save zip, malicious and malformed ones).
#include <cstddef>
#include <cstdint>
#include <span>

#include "typeformer/io/pickle.hpp"
#include "typeformer/io/pytorch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = std::as_bytes(std::span(data, size));
    try {
        const auto p = typeformer::pickle_data::read(bytes, "fuzz");
        (void)p.root();
    } catch (const typeformer::error&) {
    }
    try {
        // as a whole file: zip (data.pkl + storages) or the legacy layout
        const auto f = typeformer::pytorch_file::read(bytes, "fuzz.bin");
        std::size_t n = 0;
        for (const auto& t : f.tensors()) n += t.bytes.size();
        (void)n;
    } catch (const typeformer::error&) {
    }
    return 0;
}
