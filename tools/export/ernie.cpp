// The exporter's ERNIE translation unit.
#include "typeformer/models/ernie.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry ernie_entry() { return make_entry<typeformer::ernie_family>(); }
}  // namespace typeformer_cli
