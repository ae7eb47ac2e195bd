// The exporter's GPT-2 translation unit.
#include "typeformer/models/gpt2.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry gpt2_entry() { return make_entry<typeformer::gpt2_family>(); }
}  // namespace typeformer_cli
