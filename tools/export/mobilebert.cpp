// The exporter's MobileBERT translation unit.
#include "typeformer/models/mobilebert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry mobilebert_entry() { return make_entry<typeformer::mobilebert_family>(); }
}  // namespace typeformer_cli
