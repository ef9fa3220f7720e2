"""The task catalog: the one place that defines every e-commerce task.

Training data (``ecomlm.train.data``), inference (``ecomlm.runtime.model``) and evaluation
(``ecomlm.evaluate``) all go through this module, so the prompt a model is trained on is the prompt it
is asked at run time, and the answer format it learns is the one the parser reads.

A task has
- a task description and several phrasings of the task command (EcomGPT: instruction = description +
  command + input); ``commands[0]`` is the fixed phrasing used at inference, training samples all;
- its input fields (required and optional), rendered in a fixed order with fixed captions;
- an output kind, which fixes the answer format (``format_answer``), the parser (``parse_answer``),
  the decoding constraint (``constraint_for``) and the metric used to score it (``Task.metric``).

The task description is the system turn; the user message puts everything that is the same across
calls of a task (command, options such as the label set, answer format) before the per-item input,
so backends can reuse the KV cache of that shared prefix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from .constraints import (NONE_ANSWER, Choice, ChoiceLines, Constraint, CopyLines, FreeLine, FreeLines,
                          PrefixedLines)
from . import validation
from .errors import InvalidInputError, UnknownTaskError
from .results import (AnswerResult, LabelResult, MatchResult, Result, SpansResult,
                      TextResult)
from .spans import find_span, locate_all

# Output kinds -------------------------------------------------------------------------------------
TYPED_SPANS = "typed_spans"  # "type: span" lines, types from an options field, spans from the source
SPANS = "spans"              # span lines from the source
LABEL = "label"              # exactly one option
LABELS = "labels"            # one or more options, one a line, or "None"
YES_NO = "yes_no"            # "Yes" or "No"
ANSWER_SPAN = "answer_span"  # one span of the source, or "None"
CHOICE = "choice"            # exactly one of the candidates, copied
TEXT = "text"                # free text

YES, NO = "Yes", "No"

FORMAT_HINTS: dict[str, str] = {
    TYPED_SPANS: 'One "type: text" per line, the text copied from the input; "None" if there is none.',
    SPANS: 'One item per line, copied from the input; "None" if there is none.',
    LABEL: "Answer with one of the candidates.",
    LABELS: 'Every candidate that applies, one per line; "None" if none applies.',
    YES_NO: 'Answer "Yes" or "No".',
    ANSWER_SPAN: 'Answer with a span copied from the context; "None" if it has no answer.',
    CHOICE: "Answer with one of the candidates, copied exactly.",
    TEXT: "",
}

# Input fields: caption shown in the prompt, and whether the field is a list/dict of strings. -------
FIELD_CAPTIONS: dict[str, str] = {
    "types": "Entity types",
    "labels": "Candidate labels",
    "attributes": "Attributes",
    "candidates": "Candidates",
    "type": "Entity type",
    "attribute": "Attribute",
    "aspect": "Aspect",
    "span": "Entity",
    "value": "Value",
    "query": "Query",
    "product": "Product",
    "product_a": "Product A",
    "product_b": "Product B",
    "specs": "Product attributes",
    "question": "Question",
    "context": "Context",
    "reviews": "Reviews",
    "text": "Text",
}
LIST_FIELDS = {"types", "labels", "attributes", "candidates", "reviews"}
DICT_FIELDS = {"specs"}
# Fields rendered before the answer-format line (shared across items: the "options").
OPTION_FIELDS = ("types", "labels", "attributes", "candidates")
# Per-item fields, in rendering order; the source text comes last so the options form a shared prefix.
ITEM_FIELDS = ("type", "attribute", "aspect", "span", "value", "query", "product", "product_a",
               "product_b", "specs", "question", "reviews", "context", "text")


@dataclass(frozen=True)
class Task:
    """One e-commerce task. See the module docstring for what each part is used for."""

    name: str
    family: str
    summary: str
    description: str
    commands: tuple[str, ...]
    required: tuple[str, ...]
    output: str
    metric: str
    optional: tuple[str, ...] = ()
    options_field: Optional[str] = None   # field holding the closed set (labels, types, ...)
    source_field: Optional[str] = None    # field that extracted spans must come from
    max_new_tokens: int = 64
    single_line: bool = False             # free-text answer of one line (titles)
    fixed_options: tuple[str, ...] = ()   # closed set fixed by the task itself (e.g. A/B)
    # contextual label calibration by default (EcomModel.run); on where it measured better than
    # greedy: review_topic (held-out review topic), product_category (validation split); see
    # evaluate/finetuned/ablation-en-250.md
    calibrate: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


def _task(name: str, family: str, summary: str, description: str, commands: Sequence[str],
          required: Sequence[str], output: str, **kw: Any) -> Task:
    metric = kw.pop("metric", "rouge_l" if output == TEXT or output == ANSWER_SPAN else "micro_f1")
    return Task(name=name, family=family, summary=summary, description=description,
                commands=tuple(commands), required=tuple(required), output=output, metric=metric,
                optional=tuple(kw.pop("optional", ())), **kw)


_TASKS: list[Task] = [
    # --- entities ---------------------------------------------------------------------------------
    _task("ner", "entities", "Named entities of the given types in a product text.",
          "Named entity recognition in e-commerce text: find product names, brands, components and attributes.",
          ["Extract all named entities of the given types from the text.",
           "Find every entity in the text that belongs to one of the entity types, with its type.",
           "List the entities mentioned in the text and label each with one of the given types.",
           "Which entities of the listed types does the text contain? Give each with its type."],
          ["text", "types"], TYPED_SPANS, options_field="types", source_field="text", max_new_tokens=128),
    _task("span_detection", "entities", "Entity spans (without types) in a product text.",
          "Entity span detection: find the spans of the text that name entities of the given types.",
          ["Detect all entity spans of the given types in the text.",
           "Find every span in the text that is an entity of one of the given types; do not give the types.",
           "Copy out each entity mentioned in the text that is of one of the listed types."],
          ["text", "types"], SPANS, source_field="text", max_new_tokens=128),
    _task("extract_type", "entities", "All entities of one given type.",
          "Entity extraction of a single type from e-commerce text.",
          ["Extract every entity of the given type from the text.",
           "Which spans of the text are of the given entity type?",
           "List all mentions of the given entity type in the text."],
          ["text", "type"], SPANS, source_field="text", max_new_tokens=96),
    _task("entity_typing", "entities", "The type of a given entity in its text.",
          "Entity typing: decide the type of an entity mentioned in the text.",
          ["What is the type of the given entity in the text?",
           "Classify the entity into one of the entity types.",
           "Choose the entity type that fits the given entity."],
          ["text", "span", "types"], LABEL, options_field="types"),
    _task("entity_type_presence", "entities", "Which of the given entity types occur in a text.",
          "Entity type detection: decide which entity types are mentioned in the text.",
          ["Which of the entity types occur in the text?",
           "Select every entity type that has at least one mention in the text.",
           "List the entity types found in the text."],
          ["text", "types"], LABELS, options_field="types"),
    # --- attributes -------------------------------------------------------------------------------
    _task("attribute_extraction", "attributes", "Values of the given attributes in a product text.",
          "Attribute value extraction: find the values of product attributes in a product title or description.",
          ["Extract the value of each given attribute from the product text.",
           "For each listed attribute, find its value in the text, with the attribute name.",
           "Which attribute values does the product text mention? Give attribute and value.",
           "Fill in the attributes from the product text; skip attributes it does not mention."],
          ["text", "attributes"], TYPED_SPANS, options_field="attributes", source_field="text",
          max_new_tokens=128),
    _task("attribute_value", "attributes", "The value of one given attribute in a product text.",
          "Single attribute value extraction from a product text.",
          ["What is the value of the given attribute in the product text?",
           "Find the given attribute's value in the text.",
           "Copy the value of the attribute from the product text."],
          ["text", "attribute"], SPANS, source_field="text", max_new_tokens=48),
    _task("attribute_name", "attributes", "Which attribute a given value belongs to.",
          "Attribute naming: decide which product attribute a value in the text expresses.",
          ["Which attribute does the given value describe?",
           "Choose the attribute name for the value in the product text.",
           "The text mentions the value; what attribute is it?"],
          ["text", "value", "attributes"], LABEL, options_field="attributes"),
    _task("attribute_match", "attributes", "Whether a product's attributes agree with its title.",
          "Title-attribute consistency: decide whether the attribute values fit the product title.",
          ["Do the product attributes match the product title?",
           "Is every attribute value consistent with the title?",
           "Decide whether title and attributes describe the same product."],
          ["product", "specs"], YES_NO),
    # --- reviews and aspects ------------------------------------------------------------------------
    _task("aspect_extraction", "reviews", "Aspect terms (product features) a review talks about.",
          "Aspect term extraction: find the product features or parts that a review sentence talks about.",
          ["Extract the aspect terms from the review.",
           "Which product aspects does the review mention? Copy each term.",
           "List the product features the reviewer comments on."],
          ["text"], SPANS, source_field="text", max_new_tokens=96),
    _task("aspect_sentiment", "reviews", "Sentiment towards one aspect of a product in a review.",
          "Aspect-based sentiment analysis: decide the sentiment the review expresses about the given aspect.",
          ["What is the sentiment towards the given aspect?",
           "How does the reviewer feel about the aspect?",
           "Classify the polarity of the opinion on the aspect."],
          ["text", "aspect", "labels"], LABEL, options_field="labels"),
    _task("aspect_polarity_pairs", "reviews", "Aspect terms with their sentiment.",
          "Aspect sentiment pair extraction: find each aspect term and the sentiment expressed about it.",
          ["Extract each aspect term with its sentiment, written as sentiment: aspect.",
           "List the aspects the review mentions, each with its polarity.",
           "For every product feature in the review, give the sentiment and the feature."],
          ["text", "labels"], TYPED_SPANS, options_field="labels", source_field="text", max_new_tokens=128),
    _task("aspect_category", "reviews", "Which aspect categories a review addresses.",
          "Aspect category detection: decide which categories of product aspects a review sentence addresses.",
          ["Which aspect categories does the review address?",
           "Select the categories the review talks about.",
           "Classify the review into the aspect categories it covers."],
          ["text", "labels"], LABELS, options_field="labels"),
    _task("opinion_extraction", "reviews", "Aspect and opinion words of a review.",
          "Opinion extraction: find aspect terms and the opinion words about them.",
          ["Extract aspect terms and opinion words, as Aspect: term and Opinion: word.",
           "Find what the review talks about (Aspect) and the words that judge it (Opinion).",
           "List the aspects and the opinion expressions in the review."],
          ["text", "types"], TYPED_SPANS, options_field="types", source_field="text", max_new_tokens=128),
    # --- classification -------------------------------------------------------------------------------
    _task("classify", "classification", "One label from a given set for a text.",
          "Text classification of e-commerce text into one of the given labels.",
          ["Classify the text into one of the candidate labels.",
           "Which candidate label fits the text best?",
           "Pick the label that describes the text."],
          ["text", "labels"], LABEL, options_field="labels"),
    _task("multi_classify", "classification", "Every label from a given set that applies to a text.",
          "Multi-label classification of e-commerce text.",
          ["Select all candidate labels that apply to the text.",
           "Which of the labels describe the text? There can be several.",
           "Tag the text with every fitting label."],
          ["text", "labels"], LABELS, options_field="labels"),
    _task("sentiment", "classification", "Sentiment of a product review.",
          "Review sentiment classification: decide the overall sentiment of a product review.",
          ["What is the sentiment of the review?",
           "Classify the review's sentiment.",
           "Is the review positive or negative? Choose from the candidates."],
          ["text", "labels"], LABEL, options_field="labels"),
    _task("review_topic", "classification", "The topic a review sentence is about.",
          "Review topic classification: decide which topic a review sentence is about.",
          ["Select the topic of the review from the candidates.",
           "Which topic does this review sentence discuss?",
           "Classify the review by topic."],
          ["text", "labels"], LABEL, options_field="labels", calibrate=True),
    _task("product_category", "classification", "The category of a product.",
          "Product categorization: assign a product to its category.",
          ["Which category does the product belong to?",
           "Categorize the product into one of the candidates.",
           "Choose the product's category."],
          ["text", "labels"], LABEL, options_field="labels", calibrate=True),
    _task("subjectivity", "classification", "Whether a review text is subjective or objective.",
          "Subjectivity classification of review text.",
          ["Is the text subjective or objective?",
           "Classify the text as subjective or objective."],
          ["text", "labels"], LABEL, options_field="labels"),
    # --- matching -------------------------------------------------------------------------------------
    _task("query_match", "matching", "Whether a product matches a search query.",
          "Query-product matching: decide whether the product is what the search query asks for.",
          ["Does the product match the query?",
           "Is this product a relevant result for the search query?",
           "Decide whether query and product match."],
          ["query", "product"], YES_NO),
    _task("same_product", "matching", "Whether two offers are the same product.",
          "Product matching: decide whether two product offers refer to the same product.",
          ["Do product A and product B refer to the same product?",
           "Are these two offers for the same product?",
           "Decide whether the two listings describe one and the same product."],
          ["product_a", "product_b"], YES_NO),
    _task("which_of_two", "matching", "Which of two products is the same as a given one.",
          "Product matching: pick which of two offers is the same product as the query offer.",
          ["Which of product A and product B is the same product as the query? Answer A or B.",
           "The query is one product; is it product A or product B? Answer A or B."],
          ["query", "product_a", "product_b"], CHOICE, fixed_options=("A", "B"), max_new_tokens=4),
    _task("select_product", "matching", "The candidate product that best matches a query.",
          "Product selection: choose the candidate product that best matches the query.",
          ["Select the candidate that best matches the query.",
           "Which candidate product is the query looking for?",
           "Copy the candidate that fits the query best."],
          ["query", "candidates"], CHOICE, options_field="candidates", max_new_tokens=128),
    # --- question answering -------------------------------------------------------------------------------
    _task("qa", "qa", "Extractive answer to a question from a product text or reviews.",
          "Extractive product question answering: answer the question with a span of the context.",
          ["Extract the span of the context that answers the question.",
           "Answer the question by copying the relevant part of the context.",
           "Find the answer to the question in the context."],
          ["question", "context"], ANSWER_SPAN, source_field="context", max_new_tokens=96),
    _task("answerability", "qa", "Whether the context answers a question.",
          "Answerability: decide whether the context contains the answer to the question.",
          ["Does the context answer the question?",
           "Can the question be answered from the context?"],
          ["question", "context"], YES_NO),
    _task("evidence_relevance", "qa", "Whether a piece of evidence is relevant to a question.",
          "Evidence relevance: decide whether a product fact or review helps answer a question.",
          ["Is the context relevant to the question?",
           "Does this evidence help answer the question?"],
          ["question", "context"], YES_NO),
    _task("answer_question", "qa", "Free answer to a product question, grounded in the context.",
          "Product question answering: answer a shopper's question from the product information.",
          ["Answer the question using the product information.",
           "Write a short answer to the shopper's question."],
          ["question", "context"], TEXT, max_new_tokens=96),
    # --- generation ---------------------------------------------------------------------------------------
    _task("title_generation", "generation", "A product title written from its attributes.",
          "Product title generation: write a product title from its attributes.",
          ["Write a product title from the attributes.",
           "Generate a concise listing title that includes the key attributes.",
           "Compose the product's title from its attribute values."],
          ["specs"], TEXT, max_new_tokens=64, single_line=True),
    _task("ad_copy", "generation", "Advertising copy written from product attributes.",
          "Ad copy generation: write an attractive product description from its attributes.",
          ["Write advertising copy for the product from its attributes.",
           "Generate a product description for a shop page from the attributes."],
          ["specs"], TEXT, max_new_tokens=160),
    _task("summarize", "generation", "A summary of several product reviews.",
          "Review summarization: summarize what several reviews say about a product.",
          ["Summarize the reviews.",
           "Write a short summary of the opinions in the reviews.",
           "What do the reviewers say overall? Summarize."],
          ["reviews"], TEXT, max_new_tokens=128),
]

TASKS: dict[str, Task] = {t.name: t for t in _TASKS}


def get_task(name: str) -> Task:
    """Look a task up by name; the error lists the known names."""
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownTaskError(
            f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))} (see `ecomlm tasks`)"
        ) from None


def list_tasks() -> list[Task]:
    return list(_TASKS)


# Input validation ------------------------------------------------------------------------------
def normalize_fields(task: Task, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the inputs of ``task``; raise ``InvalidInputError`` naming the fix.

    Strings are stripped; list fields must be non-empty and free of duplicates; unknown fields are
    rejected so that a typo does not silently go unused. Types, control characters, surrogates and
    size limits are checked by ``validation.py``.
    """
    unknown = set(fields) - set(task.fields)
    if unknown:
        raise InvalidInputError(
            f"task {task.name!r} does not take {sorted(unknown)}; it takes {list(task.fields)}")
    out: dict[str, Any] = {}
    for name in task.fields:
        value = fields.get(name)
        if value is None:
            if name in task.required:
                raise InvalidInputError(f"task {task.name!r} needs the input {name!r}")
            continue
        if name in LIST_FIELDS:
            out[name] = validation.clean_options(name, value, allow_duplicates=name == "reviews")
        elif name in DICT_FIELDS:
            out[name] = validation.clean_mapping(name, value)
        else:
            text = validation.clean_text(name, value)
            if not text:
                raise InvalidInputError(f"the input {name!r} of task {task.name!r} is empty")
            out[name] = text
    return out


def parse_specs(text: str) -> dict[str, str]:
    """Product attributes typed by a person: ``attribute: value`` lines, ``key=value;key=value``
    pairs, or a JSON object (used by the CLI's --specs and the demo's attribute boxes)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"the attributes are not valid JSON: {e.msg}") from None
        if not isinstance(value, dict):
            raise InvalidInputError("the attributes must be a JSON object of attribute -> value")
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in text.replace(";", "\n").splitlines():
        if not part.strip():
            continue
        sep = ":" if ":" in part else "=" if "=" in part else None
        if sep is None:
            raise InvalidInputError(f"attribute line {part.strip()!r} is not 'attribute: value'")
        key, _, value = part.partition(sep)
        out[key.strip()] = value.strip()
    return out


def options_of(task: Task, fields: Mapping[str, Any]) -> list[str]:
    """The closed answer set of a task (labels, types, attributes, candidates or fixed options)."""
    if task.fixed_options:
        return list(task.fixed_options)
    if task.output == YES_NO:
        return [YES, NO]
    if task.options_field:
        return list(fields[task.options_field])
    return []


# Prompt rendering ----------------------------------------------------------------------------------------
def _render_value(name: str, value: Any) -> str:
    if name in DICT_FIELDS:
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if name in ("reviews", "candidates"):  # items may contain commas: one a line
        return "".join(f"\n- {r}" for r in value)
    if name in LIST_FIELDS:
        return ", ".join(value)
    return str(value)


def render_user(task: Task, fields: Mapping[str, Any], command_index: int = 0) -> str:
    """The user message: command, options, answer format, then the item's inputs.

    ``fields`` must already be normalised (``normalize_fields``). ``command_index`` picks the
    phrasing (training samples several; inference always uses 0). The task description goes in the
    system turn (``build_messages``).
    """
    lines = [task.commands[command_index % len(task.commands)]]
    for name in OPTION_FIELDS:
        if name in fields:
            lines.append(f"{FIELD_CAPTIONS[name]}: {_render_value(name, fields[name])}")
    if FORMAT_HINTS[task.output]:
        lines.append(FORMAT_HINTS[task.output])
    for name in ITEM_FIELDS:
        if name in fields:
            lines.append(f"{FIELD_CAPTIONS[name]}: {_render_value(name, fields[name])}")
    return "\n".join(lines)


def build_messages(task: Task, fields: Mapping[str, Any], command_index: int = 0,
                   answer: Optional[str] = None) -> list[dict[str, str]]:
    """Chat messages for ``task``: the task description as the system turn, the user turn, and the
    assistant turn when ``answer`` is given.

    The system turn replaces the chat template's default system prompt (SmolLM2 injects a 20-token
    one when a conversation has none), so every training and inference prompt spends its tokens on
    the task.
    """
    messages = [{"role": "system", "content": task.description},
                {"role": "user", "content": render_user(task, fields, command_index)}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


# Answer formatting (training targets) -------------------------------------------------------------------
def format_answer(task: Task, answer: Any) -> str:
    """Render a gold answer in the task's output format (the training target the parser reads back).

    typed_spans: list of (type, text); spans / labels: list of str; label / choice: str;
    yes_no: bool; answer_span: str or None; text: str.
    """
    if task.output == TYPED_SPANS:
        lines = [f"{t}: {s}" for t, s in answer]
        return "\n".join(lines) if lines else NONE_ANSWER
    if task.output in (SPANS, LABELS):
        return "\n".join(answer) if answer else NONE_ANSWER
    if task.output in (LABEL, CHOICE):
        return str(answer)
    if task.output == YES_NO:
        return YES if answer else NO
    if task.output == ANSWER_SPAN:
        return str(answer) if answer else NONE_ANSWER
    return str(answer)


# Decoding constraints ------------------------------------------------------------------------------------
def constraint_for(task: Task, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
    """The decoding constraint that makes every answer well-formed (``None`` for free text).

    Spans (entities, attribute values, answer spans) are copied from the source field by
    construction (``CopyLines``); ``copy_spans=False`` decodes them as before copy decoding existed
    (free lines, checked only afterwards; ``allow_none`` then has no effect): kept to measure what
    copying buys.
    ``allow_none=False`` forbids the "None" answer of the span tasks (an answer is then required:
    e.g. extractive QA whose context is known to hold the answer); a multi-label answer keeps its
    "None".
    """
    none = NONE_ANSWER if allow_none else None
    if task.output in (LABEL, CHOICE, YES_NO):
        return Choice(tuple(options_of(task, fields)))
    if task.output == LABELS:
        return ChoiceLines(tuple(options_of(task, fields)))
    if task.output in (TYPED_SPANS, SPANS, ANSWER_SPAN) and not copy_spans:  # the earlier decoding
        return (PrefixedLines(tuple(options_of(task, fields))) if task.output == TYPED_SPANS
                else FreeLines() if task.output == SPANS else None)
    if task.output in (TYPED_SPANS, SPANS, ANSWER_SPAN):
        prefixes = tuple(options_of(task, fields)) if task.output == TYPED_SPANS else ()
        return CopyLines(fields[task.source_field], prefixes=prefixes, none=none,
                         max_lines=1 if task.output == ANSWER_SPAN else 32)
    if task.single_line:
        return FreeLine()
    return None


# Parsing and validation -----------------------------------------------------------------------------------
def _lines(raw: str) -> list[str]:
    return [ln.strip().lstrip("-*").strip() for ln in raw.strip().splitlines() if ln.strip()]


def _exact_option(text: str, options: Sequence[str]) -> Optional[str]:
    """The option equal to ``text`` (ignoring surrounding space and case), or ``None``."""
    text = text.strip()
    if text in options:
        return text
    return next((o for o in options if o.lower() == text.lower()), None)


def _match_option(text: str, options: Sequence[str]) -> Optional[str]:
    """Map model text onto an option: exact, then case-insensitive, then the longest option it contains."""
    text = text.strip().strip(".").strip()
    if text in options:
        return text
    low = {o.lower(): o for o in options}
    if text.lower() in low:
        return low[text.lower()]
    contained = [o for o in options if o.lower() in text.lower()]
    return max(contained, key=len) if contained else None


def parse_answer(task: Task, raw: str, fields: Mapping[str, Any]) -> Result:
    """Parse raw model output into the task's typed result, validated against the input.

    Labels are always members of the option set; spans always occur in the source field (with
    offsets); anything else the model wrote is dropped and counted, never returned.
    """
    options = options_of(task, fields)
    if task.output in (TYPED_SPANS, SPANS):
        source = fields[task.source_field]
        single_type = fields.get("type") or fields.get("attribute")
        items: list[tuple[Optional[str], str]] = []
        bad = 0
        for ln in _lines(raw):
            if ln == NONE_ANSWER:
                continue
            if task.output == TYPED_SPANS:
                head, sep, value = ln.partition(":")
                type_ = _exact_option(head, options) if sep else None
                if type_ is None:
                    bad += 1
                    continue
                items.append((type_, value.strip()))
            else:
                items.append((single_type, ln))
        spans, dropped = locate_all(source, items)
        return SpansResult(task=task.name, raw=raw, spans=spans, dropped=dropped + bad)
    if task.output in (LABEL, CHOICE):
        label = _match_option(raw, options)
        return LabelResult(task=task.name, raw=raw, labels=[label] if label else [], candidates=options)
    if task.output == LABELS:
        labels: list[str] = []
        for ln in _lines(raw):
            lab = _match_option(ln, options)
            if lab and lab not in labels:
                labels.append(lab)
        return LabelResult(task=task.name, raw=raw, labels=labels, candidates=options)
    if task.output == YES_NO:
        return MatchResult(task=task.name, raw=raw, match=_match_option(raw, options) == YES)
    if task.output == ANSWER_SPAN:
        text = raw.strip()
        if not text or text == NONE_ANSWER:
            return AnswerResult(task=task.name, raw=raw, span=None)
        span = find_span(fields[task.source_field], text)
        return AnswerResult(task=task.name, raw=raw, span=span, dropped=0 if span else 1)
    return TextResult(task=task.name, raw=raw, text=raw.strip())


def gold_result(task: Task, answer: Any, fields: Mapping[str, Any]) -> Result:
    """Parse a gold answer through the same path as model output (used by evaluation and tests)."""
    return parse_answer(task, format_answer(task, answer), fields)

