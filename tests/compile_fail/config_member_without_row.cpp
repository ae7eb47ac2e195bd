// Must not compile: the config has a data member (`rotary_dim`) that its
// field table does not list, so config.json could never set it and no rule
// would check it.
// Expected: "every data member of a config has one row"
#include "typeformer/models/bert.hpp"

struct forgetful_config {
    std::int64_t hidden_size = 64;
    std::int64_t rotary_dim = 16;

    using self = forgetful_config;
    using fields = typeformer::field_table<typeformer::field<"hidden_size", &self::hidden_size, typeformer::rule::positive>>;
};

static_assert(typeformer::check(forgetful_config{}));

int main() { return 0; }
