// The exporter's GPT-J translation unit.
#include "typeformer/models/gptj.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry gptj_entry() { return make_entry<typeformer::gptj_family>(); }
}  // namespace typeformer_cli
