// Must not compile: a decoder config opts into rotary positions but its
// member is misspelt, so nothing would apply them.
// Expected: "decoder hook rotary"
#include "typeformer/models/gpt2.hpp"

struct misspelt_config : typeformer::gpt2_config {
    static constexpr typeformer::decoder_hooks hooks{.rotary = true, .masks = true};
    [[nodiscard]] typeformer::rotary_spec rotery() const { return {}; }
};

static_assert(typeformer::DecoderConfig<misspelt_config>);

int main() {}
