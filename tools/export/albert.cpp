// The exporter's ALBERT translation unit.
#include "typeformer/models/albert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry albert_entry() { return make_entry<typeformer::albert_family>(); }
}  // namespace typeformer_cli
