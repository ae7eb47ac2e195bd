// libFuzzer target: reading config.json (io/config_json.hpp) into the typed
// configs of the families the sanitizer subset builds (BERT, DistilBERT), as
// the exporter does: parse, model_type, the family's load and checks, the
// encoder shape. Any input must end in a config or a typeformer::error.
// Seed corpus: fuzz/corpus/config/ (the fixtures' config.json files and
// variants: wrong types, negative sizes, nulls, huge numbers).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "typeformer/io/config_json.hpp"
#include "typeformer/models/bert.hpp"
#include "typeformer/models/distilbert.hpp"

namespace {
template <class Family>
void load(const nlohmann::json& j) {
    const auto c = Family::load(typeformer::config_reader(j, "fuzz/config.json"));
    const auto s = c.shape();
    (void)s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const int fd = ::memfd_create("config.json", 0);
    if (fd < 0) __builtin_trap();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const auto j = typeformer::config_reader::load(path);
        std::string model_type;
        typeformer::config_reader(j, path).get("model_type", model_type);
        // every family reads every input: a config is not trusted to name its type
        try {
            load<typeformer::bert_family>(j);
        } catch (const typeformer::error&) {
        }
        load<typeformer::distilbert_family>(j);
    } catch (const typeformer::error&) {
    }
    return 0;
}
