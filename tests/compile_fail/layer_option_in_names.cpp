// Must not compile: an embeddings option written into the names policy,
// where no layer reads it, instead of into embedding_options.
// Expected: "embeddings: positions, token_type_input, task_type and project are embedding_options"
#include "typeformer/models/bert.hpp"

struct names_with_option : typeformer::bert_names::embeddings {
    static constexpr bool token_type_input = false;
};

using wrong = typeformer::embeddings<names_with_option>;

int main() { return wrong::token_types_read ? 0 : 1; }
