// Must not compile: a compile-time config breaks a one-field rule of its
// table; the error names the field and the rule.
// Expected: "max_position_embeddings must be positive"
#include "typeformer/models/distilbert.hpp"

struct bad final : typeformer::distilbert<typeformer::distilbert_config{.max_position_embeddings = 0}> {};

int main() { return static_cast<int>(bad::config.dim); }
