// The exporter's Data2VecText translation unit.
#include "typeformer/models/roberta.hpp"

#include "run.hpp"

namespace typeformer_cli {
family_entry data2vec_text_entry() { return make_entry<typeformer::data2vec_text_family>(); }
}  // namespace typeformer_cli
