// The exporter's mistral translation unit (the Llama family, models/llama.hpp).
#include "typeformer/models/llama.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry mistral_entry() { return make_entry<typeformer::mistral_family>(); }
}  // namespace typeformer_cli
