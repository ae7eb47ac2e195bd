// typeformer/layers/heads.hpp: task heads shared by the encoder families.
//
// A head is a layer like any other: it reads slots the trunk wrote and
// writes the task's output slots. Module names come in as template
// arguments, so one head serves every family that spells it differently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "typeformer/core/fixed_string.hpp"
#include "typeformer/core/slots.hpp"
#include "typeformer/layers/encoder.hpp"
#include "typeformer/tasks/tasks.hpp"

namespace typeformer::inline v0 {

/// The encoder's output as `last_hidden_state`.
struct expose_hidden_states {
    using reads = slots<"hidden_states">;
    using writes = slots<"last_hidden_state">;

    template <Backend B, class C>
    static void forward(B&, io<expose_hidden_states, typename B::value> s, const C&) {
        s.set(sl::last_hidden_state, s[sl::hidden_states]);
    }
};

/// Multiple choice: [batch, choice, sequence] inputs are folded to
/// [batch·choice, sequence]; `choice_shape` keeps (batch, choice) for the head.
template <fixed_string... Inputs>
struct fold_choices {
    using reads = slots<Inputs...>;
    using writes = concat<slots<Inputs...>, slots<"choice_shape">>;

    template <Backend B, class C>
    static void forward(B& b, io<fold_choices, typename B::value> s, const C&) {
        auto guard = b.scope("fold_choices");
        s.set(sl::choice_shape, b.shape(s[slot<first_name<Inputs...>()>{}], 0, 2));
        (s.set(slot<Inputs>{}, b.flatten(s[slot<Inputs>{}], 2)), ...);
    }

private:
    template <fixed_string F, fixed_string...>
    static constexpr auto first_name() { return F; }
};

/// The activation encoder_shape::act names (the config's hidden_act).
struct shape_activation {};

namespace detail {
/// An activation given as a value (`activation::tanh`), as a pointer to the
/// config member that names it (`&electra_config::hidden_act`) or as
/// shape_activation (the config's shape().act).
template <auto Act, class C>
constexpr activation resolve_activation(const C& c) {
    if constexpr (std::is_member_object_pointer_v<decltype(Act)>) return c.*Act;
    else if constexpr (std::is_same_v<std::remove_cvref_t<decltype(Act)>, shape_activation>) return c.shape().act;
    else return Act;
}
}  // namespace detail

/// Which token a token_pooler keeps: the first (BERT's pooler). A picker
/// names the slots it reads besides hidden_states (`reads`) and gives
/// `pick(b, s, hidden_states, c)` -> [batch, hidden].
struct first_token {
    using reads = slots<>;
    template <Backend B, class Io, class C>
    static typename B::value pick(B& b, Io&, const typename B::value& h, const C&) {
        return b.select(h, 1, 0);
    }
};

/// One token's hidden state (`Pick`: first_token, or a family's picker)
/// through `Scope` (a Linear) and an activation: BERT's pooler (tanh),
/// DistilBERT's pre_classifier (ReLU), BART's classification_head.dense
/// (tanh, at the last eos). `Act` is an `activation` or a pointer to the
/// config member naming one.
template <fixed_string Scope, auto Act, class Pick = first_token>
struct token_pooler {
    using reads = concat<slots<"hidden_states">, typename Pick::reads>;
    using writes = slots<"pooled_output">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<token_pooler, typename B::value> s, const C& c) {
        const auto hsz = c.shape().hidden_size;
        auto token = Pick::pick(b, s, s[sl::hidden_states], c);
        s.set(sl::pooled_output,
              activate(b, detail::resolve_activation<Act>(c), dense(b, Scope.view(), token, hsz, hsz)));
    }
};

/// The first token's hidden state through `Scope` and `Act` (token_pooler).
template <fixed_string Scope, auto Act>
using first_token_pooler = token_pooler<Scope, Act, first_token>;

/// A Linear classifier over the pooled output: `logits` [batch, num_labels],
/// or, for multiple choice, one score per choice folded back to [batch, choice].
template <fixed_string Scope, bool Choices = false>
struct pooled_classifier {
    using reads = std::conditional_t<Choices, slots<"pooled_output", "choice_shape">, slots<"pooled_output">>;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<pooled_classifier, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        auto logits = dense(b, Scope.view(), s[sl::pooled_output], sh.hidden_size, Choices ? 1 : sh.num_labels);
        if constexpr (Choices) {
            auto guard = b.scope("unfold_choices");
            logits = b.reshape(logits, s[sl::choice_shape]);
        }
        s.set(sl::logits, logits);
    }
};

/// DETR's MLP prediction head (YOLOS copies it): `depth` Linears at
/// `<scope>.layers.<i>`, in -> hidden -> ... -> hidden -> out, a ReLU after
/// each but the last.
template <Backend B>
typename B::value mlp_prediction_head(B& b, std::string_view scope, typename B::value x, std::int64_t in,
                                      std::int64_t hidden, std::int64_t out, std::int64_t depth) {
    auto guard = b.scope(scope);
    for (std::int64_t i = 0; i < depth; ++i) {
        const bool last = i + 1 == depth;
        x = dense(b, "layers." + std::to_string(i), x, i == 0 ? in : hidden, last ? out : hidden);
        if (!last) x = b.relu(x);
    }
    return x;
}

/// A Linear classifier on every token: `logits` [batch, sequence, num_labels].
template <fixed_string Scope>
struct token_classifier {
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<token_classifier, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        s.set(sl::logits, dense(b, Scope.view(), s[sl::hidden_states], sh.hidden_size, sh.num_labels));
    }
};

/// Extractive question answering: a Linear to 2 scores per token, split into
/// `start_logits` and `end_logits` [batch, sequence].
template <fixed_string Scope>
struct span_classifier {
    using reads = slots<"hidden_states">;
    using writes = slots<"start_logits", "end_logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<span_classifier, typename B::value> s, const C& c) {
        auto logits = dense(b, Scope.view(), s[sl::hidden_states], c.shape().hidden_size, 2);
        auto guard = b.scope(Scope.view());
        s.set(sl::start_logits, b.select(logits, -1, 0));
        s.set(sl::end_logits, b.select(logits, -1, 1));
    }
};

/// A language-model head: Linear, activation, LayerNorm, then the decoder to
/// the vocabulary, whose weight is tied to the word embeddings when the
/// config says so. The transform maps hidden_size to the embedding width
/// (encoder_shape::embedding_width(): ALBERT and ELECTRA predict from a
/// narrower embedding space). Names: `transform`, `norm`, `decoder`,
/// `tied_weight`, `tied_bias` (empty: the decoder's bias is its own). `Act`:
/// the transform's activation, shape_activation (the config's hidden_act, as
/// encoder_shape::act has it), an activation (RoBERTa's head calls gelu()
/// whatever hidden_act says) or a pointer to the config member that names it.
template <class Names, auto Act = shape_activation{}>
struct lm_head {
    static_assert(!requires { Names::act; },
                  "lm_head: the activation is its Act argument, not a member of the Names policy");
    using reads = slots<"hidden_states">;
    using writes = slots<"logits">;

    template <Backend B, EncoderConfig C>
    static void forward(B& b, io<lm_head, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const auto width = sh.embedding_width();
        auto h = activate(b, detail::resolve_activation<Act>(c),
                          dense(b, Names::transform, s[sl::hidden_states], sh.hidden_size, width));
        h = layer_norm(b, Names::norm, h, width, sh.eps);
        s.set(sl::logits, dense(b, Names::decoder, h, width, sh.vocab_size,
                                c.tie_word_embeddings ? Names::tied_weight : std::string_view{}, Names::tied_bias));
    }
};

/// Which hidden state SequenceSummary keeps (config `summary_type`). Without a
/// `cls_index` input (the exported graphs have none), "cls_index" takes the
/// last token, as Transformers does.
enum class summary_kind { last, first, mean, cls_index };

[[nodiscard]] constexpr std::optional<summary_kind> summary_kind_from_name(std::string_view s) noexcept {
    if (s == "last") return summary_kind::last;
    if (s == "first") return summary_kind::first;
    if (s == "mean") return summary_kind::mean;
    if (s == "cls_index") return summary_kind::cls_index;
    return std::nullopt;  // "attn" is not implemented in Transformers either
}

/// Transformers' SequenceSummary settings, as the config fields name them.
struct summary_spec {
    summary_kind type = summary_kind::last;  // summary_type
    bool use_proj = false;                   // summary_use_proj: a Linear after the pick
    bool proj_to_labels = false;             // summary_proj_to_labels: that Linear maps to num_labels
    bool activate = false;                   // summary_activation is set (and not "linear")
    activation act = activation::tanh;       // ... and names this function
    // summary_first_dropout / summary_last_dropout: no-ops at inference

    /// Width of the summary: num_labels when projected to labels, else hidden_size.
    [[nodiscard]] constexpr std::int64_t width(const encoder_shape& sh) const {
        return use_proj && proj_to_labels && sh.num_labels > 0 ? sh.num_labels : sh.hidden_size;
    }
};

/// A config whose `summary()` gives the SequenceSummary settings (besides its shape()).
template <class C>
concept SummaryConfig = EncoderConfig<C> && requires(const C& c) {
    { c.summary() } -> std::same_as<summary_spec>;
};

/// Read the summary_* fields of config.json over the family's defaults.
/// `Reader` is a config_reader (io/config_json.hpp).
template <class Reader>
void read_summary(const Reader& r, summary_spec& s) {
    if (r.has("summary_type")) {
        std::string t;
        r.get("summary_type", t);
        const auto k = summary_kind_from_name(t);
        if (!k)
            throw error("config.unsupported", r.where() + ": /summary_type: \"" + t +
                                                  "\" is not supported (first, last, mean or cls_index)");
        s.type = *k;
    }
    r.get("summary_use_proj", s.use_proj);
    r.get("summary_proj_to_labels", s.proj_to_labels);
    if (r.has("summary_activation")) {
        std::string a;
        r.get("summary_activation", a);
        // Transformers: a falsy name is no activation; "linear" is the identity
        s.activate = !a.empty() && a != "linear";
        if (s.activate) r.get("summary_activation", s.act);
    } else if (r.is_null("summary_activation")) {
        s.activate = false;  // None
    }
}

/// Transformers' SequenceSummary at `Scope` (its projection is `<Scope>.summary`)
/// as a classification head: pick a token (first, last, cls_index) or the mean
/// over the sequence, then the optional projection and activation, as the
/// config's summary() says at run time. The summary is `logits` itself
/// (XLM's sequence classification), or goes through the Linear `Classifier`
/// to num_labels, or with `Choices` to one score per choice folded back to
/// [batch, choice] (XLM's `logits_proj`, ELECTRA's and ConvBERT's `classifier`).
template <fixed_string Scope, fixed_string Classifier = "", bool Choices = false>
struct sequence_summary {
    static_assert(!Choices || !Classifier.view().empty(),
                  "multiple choice needs a Classifier Linear from the summary to one score per choice");
    using reads = std::conditional_t<Choices, slots<"hidden_states", "choice_shape">, slots<"hidden_states">>;
    using writes = slots<"logits">;

    template <Backend B, SummaryConfig C>
    static void forward(B& b, io<sequence_summary, typename B::value> s, const C& c) {
        const auto sh = c.shape();
        const summary_spec sp = c.summary();
        typename B::value x;
        {
            auto guard = b.scope(Scope.view());
            const auto& h = s[sl::hidden_states];
            switch (sp.type) {
                case summary_kind::first: x = b.select(h, 1, 0); break;
                case summary_kind::last:
                case summary_kind::cls_index: x = b.select(h, 1, -1); break;
                case summary_kind::mean: x = b.reduce_mean(h, 1); break;
            }
            if (sp.use_proj) x = dense(b, "summary", x, sh.hidden_size, sp.width(sh));
            if (sp.activate) x = activate(b, sp.act, x);
        }
        if constexpr (!Classifier.view().empty())
            x = dense(b, Classifier.view(), x, sp.width(sh), Choices ? 1 : sh.num_labels);
        if constexpr (Choices) {
            auto guard = b.scope("unfold_choices");
            x = b.reshape(x, s[sl::choice_shape]);
        }
        s.set(sl::logits, x);
    }
};

/// A slot's value under another name too (the encoder's output as the
/// encoder graph's last_hidden_state; DETR's kept for its mask head).
template <fixed_string From, fixed_string To>
struct rename_slot {
    using reads = slots<From>;
    using writes = slots<To>;

    template <Backend B, class C>
    static void forward(B&, io<rename_slot, typename B::value> s, const C&) {
        s.set(slot<To>{}, s[slot<From>{}]);
    }
};

/// The pooled output as `pooler_output` (Longformer's default outputs).
struct expose_pooler_output {
    using reads = slots<"pooled_output">;
    using writes = slots<"pooler_output">;

    template <Backend B, class C>
    static void forward(B&, io<expose_pooler_output, typename B::value> s, const C&) {
        s.set(slot<"pooler_output">{}, s[sl::pooled_output]);
    }
};

/// The usual head of each encoder task, for `encoder_layers`: the trunk's
/// output (default), `Lm` (masked-lm and causal-lm), `Pooler` then a
/// pooled Linear `Classifier` (sequence classification; multiple choice with
/// one logit a choice), a Linear per token (token classification) and a
/// span head `Qa` (question answering). A family whose head differs for a
/// task derives and adds its own overload:
///   struct my_heads : encoder_heads<lm, pooler> {
///       using encoder_heads::of;
///       static auto of(task::sequence_classification) -> type_list<my_classifier>;
///   };
template <class Lm, class Pooler, fixed_string Classifier = "classifier", fixed_string Qa = "qa_outputs">
struct encoder_heads {
    static auto of(task::default_) -> type_list<expose_hidden_states>;
    static auto of(task::masked_lm) -> type_list<Lm>;
    static auto of(task::causal_lm) -> type_list<Lm>;
    static auto of(task::sequence_classification) -> type_list<Pooler, pooled_classifier<Classifier>>;
    static auto of(task::multiple_choice) -> type_list<Pooler, pooled_classifier<Classifier, true>>;
    static auto of(task::token_classification) -> type_list<token_classifier<Classifier>>;
    static auto of(task::question_answering) -> type_list<span_classifier<Qa>>;
};

/// The heads of ELECTRA and the models that copy its classification head
/// (ConvBERT, RoFormer): no pooler; sequence classification through
/// XClassificationHead (the first token, `classifier.dense`, `Act`,
/// `classifier.out_proj`); multiple choice through a SequenceSummary (the
/// config's summary settings) then `classifier`, one score per choice.
/// `Act` is an activation or a pointer to the config member that names it.
template <class Lm, auto Act>
struct classification_head_heads : encoder_heads<Lm, void> {
    using encoder_heads<Lm, void>::of;
    static auto of(task::sequence_classification)
        -> type_list<first_token_pooler<"classifier.dense", Act>, pooled_classifier<"classifier.out_proj">>;
    static auto of(task::multiple_choice) -> type_list<sequence_summary<"sequence_summary", "classifier", true>>;
};

/// An encoder family's layers for one task, declared for all its tasks at once:
///   template <class Task>
///   static auto layers(Task) -> encoder_layers<Task, trunk, encoder_heads<lm, pooler>, fold>;
/// `Trunk` then `Heads::of(Task)`; for multiple choice, `Fold` (a type_list,
/// usually of fold_choices over the family's text inputs) comes first.
template <class Task, class Trunk, class Heads, class Fold = type_list<>>
using encoder_layers = concat<std::conditional_t<std::is_same_v<Task, task::multiple_choice>, Fold, type_list<>>,
                              Trunk, decltype(Heads::of(Task{}))>;

namespace detail {
template <class Task, class Self>
struct after_task {  // Self, looked into only once a task is named (Self is incomplete before)
    using type = Self;
};
}  // namespace detail

/// What a text encoder whose inputs are `Inputs` (ids, mask, token types...)
/// declares the same way as BERT, for a family `Self` that declares `trunk`
/// and `heads`: `inputs(Task)` (task::text_inputs), `fold` (multiple choice
/// folds every input) and `layers(Task)` (encoder_layers):
///   struct bert_family : family_base<...>,
///                        text_encoder<bert_family, "input_ids", "attention_mask", "token_type_ids"> { ... };
template <class Self, fixed_string... Inputs>
struct text_encoder {
    template <class Task>
    static auto inputs(Task) -> task::text_inputs<Task, Inputs...>;
    using fold = type_list<fold_choices<Inputs...>>;
    template <class Task>
    static auto layers(Task) -> encoder_layers<Task, typename detail::after_task<Task, Self>::type::trunk,
                                               typename detail::after_task<Task, Self>::type::heads, fold>;
};

}  // namespace typeformer::inline v0
