# The families typeformer can export, and the function that compiles them.
#
# TYPEFORMER_FAMILY_LIST is the one list of families: each entry is
# HEADER/TYPE, the header under typeformer/models/ and the family type in
# namespace typeformer. A family's name is its type without the suffix
# "_family" or "_families" (bert, xlm_roberta, deberta). The order is the
# order of --list-models and of registered_families().
#
#   typeformer_add_families(TARGET [FAMILIES name...])
#
# makes TARGET, a static library with one translation unit per family header
# (the only place those families' forward passes are instantiated),
# typeformer::registered_families() listing them, and one unit with the
# library's non-template functions (the backends' ops, the checkpoint and
# config readers): TARGET and everything that links it are compiled with
# TYPEFORMER_SEPARATE_COMPILATION (see typeformer/core/linkage.hpp).
# FAMILIES picks some (default: every family of the list). Link TARGET,
# include <typeformer/export/pretrained.hpp> and call
# typeformer::export_pretrained.

set(TYPEFORMER_FAMILY_LIST
  bert/bert_family
  distilbert/distilbert_family
  roberta/roberta_family
  roberta/camembert_family
  roberta/xlm_roberta_family
  roberta/data2vec_text_family
  roberta/ibert_family
  roberta/xlm_roberta_xl_family
  electra/electra_family
  ernie/ernie_family
  xlm/xlm_family
  flaubert/flaubert_family
  layoutlm/layoutlm_family
  albert/albert_family
  mobilebert/mobilebert_family
  squeezebert/squeezebert_family
  roformer/roformer_family
  convbert/convbert_family
  deberta/deberta_families
  deberta_v2/deberta_v2_families
  big_bird/big_bird_family
  longformer/longformer_family
  gpt2/gpt2_family
  gptj/gptj_family
  codegen/codegen_family
  gpt_neo/gpt_neo_family
  bloom/bloom_family
  llama/llama_family
  llama/mistral_family
  llama/qwen2_family
  phi3/phi3_family
  gemma/gemma_family
  qwen3/qwen3_family
  olmo2/olmo2_family
  granite/granite_family
  smollm3/smollm3_family
  gemma2/gemma2_family
  mixtral/mixtral_family
  qwen3_moe/qwen3_moe_family
  phi/phi_family
  gpt_neox/gpt_neox_family
  stablelm/stablelm_family
  opt/opt_family
  gpt_bigcode/gpt_bigcode_family
  gemma3_text/gemma3_text_family
  falcon/falcon_families
  bart/bart_family
  bart/mbart_family
  bart/plbart_family
  bart/blenderbot_family
  bart/blenderbot_small_family
  bart/marian_family
  bart/m2m_100_family
  bart/pegasus_family
  bigbird_pegasus/bigbird_pegasus_family
  t5/t5_family
  t5/mt5_family
  longt5/longt5_family
  vit/vit_family
  deit/deit_family
  beit/beit_family
  beit/data2vec_vision_family
  swin/swin_family
  resnet/resnet_family
  convnext/convnext_family
  convnext/convnextv2_family
  yolos/yolos_family
  levit/levit_family
  segformer/segformer_family
  mobilevit/mobilevit_family
  detr/detr_family
  detr/table_transformer_family
  conditional_detr/conditional_detr_family
  olmo3/olmo3_family
  seed_oss/seed_oss_family
  ernie4_5/ernie4_5_family
  qwen3_5_text/qwen3_5_text_family
  qwen3_next/qwen3_next_family
  gpt_oss/gpt_oss_family
  deepseek_v3/deepseek_v3_family
  mistral4/mistral4_family
  llama4_text/llama4_text_family
  glm4/glm4_family
  exaone4/exaone4_family
  granite_swa/granite_swa_family
  gemma4_text/gemma4_text_family
)

# The name of a family list entry: its type less "_family" / "_families".
function(typeformer_family_name entry out)
  string(REGEX REPLACE "^.*/" "" type "${entry}")
  string(REGEX REPLACE "_famil(y|ies)$" "" name "${type}")
  set(${out} ${name} PARENT_SCOPE)
endfunction()

function(typeformer_add_families target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "FAMILIES")
  set(all_names)
  foreach(entry IN LISTS TYPEFORMER_FAMILY_LIST)
    typeformer_family_name(${entry} name)
    list(APPEND all_names ${name})
  endforeach()
  foreach(name IN LISTS arg_FAMILIES)
    if(NOT name IN_LIST all_names)
      message(FATAL_ERROR "typeformer_add_families(${target}): no family named ${name} (families: ${all_names})")
    endif()
  endforeach()

  # One unit per header: the families a header declares (RoBERTa's six, the
  # Llama family's three) share their layers' code, compiled once for all.
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${target}_families)
  set(sources)
  set(declarations)
  set(pointers)
  set(headers)
  foreach(entry IN LISTS TYPEFORMER_FAMILY_LIST)
    typeformer_family_name(${entry} name)
    if(arg_FAMILIES AND NOT name IN_LIST arg_FAMILIES)
      continue()
    endif()
    string(REGEX REPLACE "/.*$" "" header "${entry}")
    string(REGEX REPLACE "^.*/" "" type "${entry}")
    if(NOT header IN_LIST headers)
      list(APPEND headers ${header})
      set(unit_${header} "")
    endif()
    string(APPEND unit_${header} "const family_handle& ${name}() { return handle_of<${type}>(); }\n")
    string(APPEND declarations "const family_handle& ${name}();\n")
    string(APPEND pointers "        &families::${name}(),\n")
  endforeach()
  file(GLOB stale ${dir}/*.cpp)  # units of an earlier selection
  foreach(header IN LISTS headers)
    list(REMOVE_ITEM stale ${dir}/${header}.cpp)
  endforeach()
  list(REMOVE_ITEM stale ${dir}/registry.cpp ${dir}/implementation.cpp)
  if(stale)
    file(REMOVE ${stale})
  endif()
  foreach(header IN LISTS headers)
    file(CONFIGURE OUTPUT ${dir}/${header}.cpp CONTENT
"// Generated by typeformer_add_families: the families of typeformer/models/${header}.hpp, compiled once.
#include <typeformer/models/${header}.hpp>
#include <typeformer/export/make_handle.hpp>

namespace typeformer::inline v0::families {
${unit_${header}}}  // namespace typeformer::inline v0::families
")
    list(APPEND sources ${dir}/${header}.cpp)
  endforeach()
  file(CONFIGURE OUTPUT ${dir}/registry.cpp CONTENT
"// Generated by typeformer_add_families: the registered families, in order.
#include <typeformer/export/registry.hpp>

namespace typeformer::inline v0 {
namespace families {
${declarations}}  // namespace families

std::span<const family_handle* const> registered_families() {
    static const family_handle* const all[] = {
${pointers}    };
    return all;
}
}  // namespace typeformer::inline v0
")
  # The backends' ops and the other TYPEFORMER_INLINE functions, compiled
  # once for the families and for everything that links TARGET.
  file(CONFIGURE OUTPUT ${dir}/implementation.cpp CONTENT
"// Generated by typeformer_add_families: typeformer's non-template functions, compiled once.
#include <typeformer/implementation.hpp>
")
  set_source_files_properties(${dir}/implementation.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  if(NOT sources)
    message(FATAL_ERROR "typeformer_add_families(${target}): no family selected")
  endif()
  add_library(${target} STATIC ${dir}/registry.cpp ${dir}/implementation.cpp ${sources})
  target_link_libraries(${target} PUBLIC typeformer::typeformer onnxruntime::onnxruntime)
  # Every unit of TARGET and of what links it declares those functions only.
  target_compile_definitions(${target} PUBLIC TYPEFORMER_SEPARATE_COMPILATION)
  # What every family's unit parses (xtensor, ONNX, ONNX Runtime, JSON and the
  # backends), parsed once: worth its cost (a unit's worth) from three units on.
  list(LENGTH sources units)
  if(units GREATER 2)
    target_precompile_headers(${target} PRIVATE <typeformer/export/make_handle.hpp>)
  endif()
endfunction()
