// The exporter's SqueezeBERT translation unit.
#include "typeformer/models/squeezebert.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry squeezebert_entry() { return make_entry<typeformer::squeezebert_family>(); }
}  // namespace typeformer_cli
