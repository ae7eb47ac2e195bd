// The exporter's LayoutLM translation unit.
#include "typeformer/models/layoutlm.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry layoutlm_entry() { return make_entry<typeformer::layoutlm_family>(); }
}  // namespace typeformer_cli
