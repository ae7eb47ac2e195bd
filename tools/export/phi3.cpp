// The exporter's Phi-3 translation unit.
#include "typeformer/models/phi3.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry phi3_entry() { return make_entry<typeformer::phi3_family>(); }
}  // namespace typeformer_cli
