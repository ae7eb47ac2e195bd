// Must not compile: DistilBERT has no pooler, so nothing writes `pooled_output`
// before BERT's classifier head reads it.
// Expected: layer_reads_a_slot_nothing_writes_before_it<...{"pooled_output"}...
#include "typeformer/models/distilbert.hpp"

namespace tf = typeformer;
using task = tf::task::sequence_classification;
using broken = tf::model<tf::distilbert_config, tf::task::text_inputs<task, "input_ids", "attention_mask">,
                         tf::concat<tf::distilbert_family::trunk, tf::type_list<tf::pooled_classifier<"classifier">>>,
                         task::outputs>;

int main() { return sizeof(broken); }
