// Must not compile: 100 is not divisible by 8 heads.
// Expected: "hidden_size must be divisible by num_attention_heads"
#include "typeformer/models/bert.hpp"

struct bad_bert final : typeformer::bert<typeformer::bert_config{.hidden_size = 100, .num_attention_heads = 8}> {};

int main() { return static_cast<int>(bad_bert::config.hidden_size); }
