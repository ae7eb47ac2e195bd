// The exporter's Gemma translation unit.
#include "typeformer/models/gemma.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry gemma_entry() { return make_entry<typeformer::gemma_family>(); }
}  // namespace typeformer_cli
