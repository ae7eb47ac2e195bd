// A deliberate compile-time error (the README shows what it prints): a BERT
// whose hidden size does not split into its heads. Built only by the test
// suite, which requires it to fail with the rule's sentence.
#include <typeformer/models/bert.hpp>

struct my_bert final : typeformer::bert<typeformer::bert_config{.hidden_size = 100, .num_attention_heads = 8}> {};

int main() { return my_bert::config.num_attention_heads; }
