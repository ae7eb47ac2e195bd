// The exporter's llama translation unit (the Llama family, models/llama.hpp).
#include "typeformer/models/llama.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry llama_entry() { return make_entry<typeformer::llama_family>(); }
}  // namespace typeformer_cli
