// Must not compile: an embeddings option with a misspelt name. Options are
// set by name in embedding_options, so the typo is an error, not a default.
// Expected: "has no non-static data member named ...token_type_inputs"
#include "typeformer/models/bert.hpp"

using misspelt = typeformer::embeddings<typeformer::bert_names::embeddings,
                                        typeformer::embedding_options{.token_type_inputs = false}>;

int main() { return misspelt::token_types_read ? 0 : 1; }
