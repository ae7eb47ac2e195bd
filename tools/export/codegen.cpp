// The exporter's CodeGen translation unit.
#include "typeformer/models/codegen.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry codegen_entry() { return make_entry<typeformer::codegen_family>(); }
}  // namespace typeformer_cli
