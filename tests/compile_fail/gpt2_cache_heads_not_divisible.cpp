// Must not compile: a decoder whose width does not split into its heads.
// Expected: "n_embd must be divisible by n_head"
#include "typeformer/models/gpt2.hpp"

struct bad_gpt2 final : typeformer::gpt2<typeformer::gpt2_config{.n_embd = 100, .n_head = 8},
                                         typeformer::task::causal_lm_with_past> {};

int main() { return static_cast<int>(bad_gpt2::config.n_embd); }
