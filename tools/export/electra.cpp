// The exporter's ELECTRA translation unit.
#include "typeformer/models/electra.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry electra_entry() { return make_entry<typeformer::electra_family>(); }
}  // namespace typeformer_cli
