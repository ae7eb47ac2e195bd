// Must not compile: the question-answering outputs are declared, but the
// layers end with the token classifier, which writes `logits`.
// Expected: model_output_is_never_written<...{"start_logits"}...
#include "typeformer/models/bert.hpp"

namespace tf = typeformer;
using task = tf::task::question_answering;
using broken = tf::model<tf::bert_config, tf::task::text_inputs<task, "input_ids", "attention_mask", "token_type_ids">,
                         tf::concat<tf::bert_family::trunk, tf::type_list<tf::token_classifier<"classifier">>>,
                         task::outputs>;

int main() { return sizeof(broken); }
