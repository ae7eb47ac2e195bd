// Must not compile: a decoder config says which layers share keys and
// values, but it never opted into the kv_sharing hook, so the stack would
// give every layer its own keys and values and a cache entry.
// Expected: "decoder hook kv_sharing"
#include "typeformer/models/gpt2.hpp"

struct sharing_config : typeformer::gpt2_config {
    [[nodiscard]] constexpr std::int64_t kv_source(std::int64_t layer) const { return layer > 0 ? 0 : -1; }
};

static_assert(typeformer::DecoderConfig<sharing_config>);

int main() {}
