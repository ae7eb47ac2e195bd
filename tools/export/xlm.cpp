// The exporter's XLM translation unit.
#include "typeformer/models/xlm.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry xlm_entry() { return make_entry<typeformer::xlm_family>(); }
}  // namespace typeformer_cli
