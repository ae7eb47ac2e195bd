// The exporter's GPT-Neo translation unit.
#include "typeformer/models/gpt_neo.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry gpt_neo_entry() { return make_entry<typeformer::gpt_neo_family>(); }
}  // namespace typeformer_cli
