// Must not compile: a decoder config declares alibi() without opting into
// the hook, which would otherwise be ignored without a word.
// Expected: "decoder hook alibi"
#include "typeformer/models/gpt2.hpp"

struct undeclared_config : typeformer::gpt2_config {
    [[nodiscard]] constexpr bool alibi() const { return true; }
};

static_assert(typeformer::DecoderConfig<undeclared_config>);

int main() {}
