"""``EcomModel``: the e-commerce task API over any backend.

    from ecomlm.runtime import EcomModel
    m = EcomModel.load()                       # the bundled model, on llama.cpp
    m.classify("The battery died after two days", labels=["positive", "negative", "neutral"]).label

Every call renders its prompt through the task catalog, decodes under the task's constraint and
parses the answer into a typed, validated result (``results.py``).
"""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from . import catalog
from .backends import Backend, load_backend
from .backends.sampling import EpsilonSampler
from .calibration import ContextualCalibrator, content_free_fields
from .catalog import Task
from .chunking import merge_chunks, source_chunks
from .constraints import Constraint
from .errors import ContextOverflowError, InvalidInputError
from .fields import LONG_FIELDS
from .layout import read_restate
from .model_ref import ENSEMBLE_SEP, ResolvedModel, ensemble_members, resolve, resolve_all
from .models import input_language
from .retyping import retype_spans
from .results import AnswerResult, LabelResult, MatchResult, Result, SpansResult, TextResult

DEFAULT_SENTIMENTS = ("positive", "negative", "neutral")
#: words a piece of a long source may hold when chunking is asked for a task without ``chunk_words``
DEFAULT_CHUNK_WORDS = 40


def _listed(value: str | Sequence[str]) -> str | list[str]:
    """A list input as given: a comma-separated string is split by the catalog (one rule for the
    Python API, the CLI and the HTTP API), so a string is never split into characters."""
    return value if isinstance(value, str) else list(value)


def _check_count(name: str, n: Optional[int], one: str) -> None:
    """Refuse a count setting (``consensus_of``, ``beams``) that is given and not a whole number >= 1;
    ``one`` says what 1 means."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise InvalidInputError(f"{name} must be a whole number >= 1 (1: {one}), not {n!r}")


def _check_consensus_of(n: Optional[int]) -> None:
    _check_count("consensus_of", n, "the greedy answer only")


def _check_beams(n: Optional[int]) -> None:
    _check_count("beams", n, "greedy decoding")


def _first_set(call: Optional[bool], model: Optional[bool], task_default: bool) -> bool:
    """A per-call switch wins over the model's setting, which wins over the task's default."""
    return next((c for c in (call, model) if c is not None), task_default)


class EcomModel:
    """A model that answers the catalog's e-commerce tasks with typed, validated results."""

    def __init__(self, backend: Backend, resolved: Optional[ResolvedModel] = None, *,
                 calibrate: Optional[bool] = None, copy_spans: bool = True,
                 retype: Optional[bool] = None, chunk: Optional[bool] = None,
                 no_repeat_ngram: Optional[int] = None, consensus_of: Optional[int] = None,
                 beams: Optional[int] = None, command: int = 0,
                 specialist_loader: Optional[Callable[[ResolvedModel], Backend]] = None,
                 partners: Sequence["EcomModel"] = ()) -> None:
        if no_repeat_ngram is not None and no_repeat_ngram < 0:
            raise InvalidInputError(f"no_repeat_ngram must be 0 (off) or a positive n-gram size, "
                                    f"not {no_repeat_ngram}")
        _check_consensus_of(consensus_of)
        _check_beams(beams)
        if not isinstance(command, int) or isinstance(command, bool) or command < 0:
            raise InvalidInputError(f"command picks one of a task's phrasings: 0 or more, not {command!r}")
        self.backend = backend
        self.resolved = resolved
        self.calibrate = calibrate
        self.copy_spans = copy_spans
        self.retype = retype
        self.chunk = chunk
        self.no_repeat_ngram = no_repeat_ngram
        self.consensus_of = consensus_of
        self.beams = beams
        #: which of each task's command phrasings the prompt uses (``Task.commands``, modulo their
        #: count); 0, the first, is what the models were measured with. Training samples them all.
        self.command = command
        self._calibrator = ContextualCalibrator()
        self._specialist_loader = specialist_loader
        self._specialists: dict[str, Backend] = {}
        self._layouts: dict[Optional[Path], dict[str, tuple[str, ...]]] = {}  # adapter -> its layout.json
        #: the other models of an ensemble (``load("a+b")``): where a call writes several answers,
        #: each partner writes as many on the same input, in a thread of its own, and the consensus
        #: is kept over all of them (``run``); every other call is answered by this model alone
        self.partners: tuple[EcomModel, ...] = tuple(partners)
        self._pool: Optional[ThreadPoolExecutor] = None

    @classmethod
    def load(cls, ref: str | os.PathLike[str] = "default", *, backend: Optional[str] = None,
             calibrate: Optional[bool] = None, copy_spans: bool = True, retype: Optional[bool] = None,
             chunk: Optional[bool] = None, no_repeat_ngram: Optional[int] = None,
             consensus_of: Optional[int] = None, beams: Optional[int] = None, specialists: bool = True,
             **options: Any) -> "EcomModel":
        """Load a model: ``default`` (fine-tuned, bundled), ``base``, a ``.gguf`` file, an ONNX folder
        or a Hugging Face folder. ``calibrate`` sets label calibration, ``retype`` span retyping and
        ``chunk`` the reading of long inputs in pieces for every call (``None``: each task's default,
        ``Task.calibrate`` / ``Task.retype`` / ``Task.chunk_words``; see ``run``).
        ``no_repeat_ngram``: free-text answers never repeat a token n-gram of this size (0: off;
        ``None``: the output kind's, 3 for free text, ``kinds.Text``). ``consensus_of``: free-text
        answers written per call, the consensus one kept (``None``: each task's ``Task.consensus_of``;
        see ``run``). ``beams``: the width of the beam search that finds each call's first answer
        (``None``: the shipped model's setting for the task, then ``Task.beams``; see ``run``).
        ``copy_spans=False`` decodes spans as free lines checked afterwards, as before copy decoding
        (only to measure what copying buys).
        ``specialists``: a shipped model's task specialists (e.g. ``multilingual``'s title writer:
        the same base with an adapter trained on that task alone) answer their tasks, each loaded on
        its task's first call; ``False`` answers every task with the model's one adapter.
        ``options`` go to the backend (e.g. ``n_ctx``, ``n_threads``; on llama.cpp also
        ``n_threads_decode``, by default 1 while threads sleep between work, and
        ``parallel_samples``: a vote's sampled answers decoded side by side, one pass a step for all,
        on by default; ``False`` decodes them one after another, as before 2026-12-06).
        An ensemble, ``"default+multilingual"``: each model is loaded with these settings; where a
        call writes several answers (``consensus_of`` > 1), every model writes that many, the others
        each in a thread of their own (with ``n_threads=1``, one core each), and the consensus of all
        of them is kept; any other call is answered by the first model (``partners``)."""
        _check_consensus_of(consensus_of)  # before the slow part
        _check_beams(beams)
        members = ensemble_members(ref)
        if len(members) > 1:
            resolve_all(ref)  # a bad member fails before any loads
            settings = dict(backend=backend, calibrate=calibrate, copy_spans=copy_spans, retype=retype,
                            chunk=chunk, no_repeat_ngram=no_repeat_ngram, consensus_of=consensus_of,
                            beams=beams, specialists=specialists, **options)
            loaded: list[EcomModel] = []
            try:
                for member in members:
                    loaded.append(cls.load(member, **settings))
            except BaseException:
                for model in loaded:
                    model.close()
                raise
            first = loaded[0]
            first.partners = tuple(loaded[1:])
            return first
        resolved = resolve(ref)
        loader = None
        if specialists and resolved.specialists:
            loader = lambda specialist: load_backend(specialist, backend, **options)  # noqa: E731
        elif not specialists:
            resolved = dataclasses.replace(resolved, specialists=())
        return cls(load_backend(resolved, backend, **options), resolved, calibrate=calibrate,
                   copy_spans=copy_spans, retype=retype, chunk=chunk, no_repeat_ngram=no_repeat_ngram,
                   consensus_of=consensus_of, beams=beams, specialist_loader=loader)

    def variant(self, **settings: Any) -> "EcomModel":
        """Another ``EcomModel`` over the same loaded backends (specialists included, each loaded
        once) with some constructor settings changed, e.g. ``model.variant(no_repeat_ngram=0)``.
        Close the original, not the variant."""
        current = {"calibrate": self.calibrate, "copy_spans": self.copy_spans, "retype": self.retype,
                   "chunk": self.chunk, "no_repeat_ngram": self.no_repeat_ngram,
                   "consensus_of": self.consensus_of, "beams": self.beams, "command": self.command}
        unknown = sorted(set(settings) - set(current))
        if unknown:
            raise InvalidInputError(f"variant: unknown setting(s) {unknown}; known: {sorted(current)}")
        other = EcomModel(self.backend, self.resolved, specialist_loader=self._specialist_loader,
                          partners=[partner.variant(**settings) for partner in self.partners],
                          **{**current, **settings})
        other._specialists = self._specialists
        other._layouts = self._layouts
        return other

    def _specialist_for(self, name: str, fields: Optional[Mapping[str, Any]]) -> Optional[ResolvedModel]:
        """The specialist that answers task ``name`` (for ``fields``, when it is scoped to some input
        languages), if the model has one: the same base with the specialist's adapter."""
        if not (self.resolved and self._specialist_loader and self.resolved.specialists):
            return None
        scoped = fields and self.resolved.is_scoped(name)  # read the input only then
        return self.resolved.specialist_for(name, input_language(fields) if scoped else None)

    def backend_for(self, task: str | Task, fields: Optional[Mapping[str, Any]] = None) -> Backend:
        """The backend that answers ``task``: its specialist's when the model has one (loaded on first
        use), else the model's own. A specialist of some input languages only (``multilingual``'s
        Chinese attribute extractor) answers when ``fields`` are in one of them (``input_language``);
        without ``fields`` the model's own backend is given (the same base: same prompt, same token
        counts)."""
        return self._backend_of(self._specialist_for(task if isinstance(task, str) else task.name, fields))

    def _backend_of(self, specialist: Optional[ResolvedModel]) -> Backend:
        """The loaded backend of ``specialist`` (loaded on first use), or the model's own for ``None``."""
        if specialist is None:
            return self.backend
        if specialist.ref not in self._specialists:
            self._specialists[specialist.ref] = self._specialist_loader(specialist)  # type: ignore[misc]
        return self._specialists[specialist.ref]

    def restated_fields(self, task: str | Task, fields: Optional[Mapping[str, Any]] = None) -> tuple[str, ...]:
        """The fields ``task``'s prompt writes again after the inputs: the layout the adapter that
        answers it was trained with (its ``layout.json``, ``runtime/layout.py``); none for the
        catalog's default layout."""
        t = catalog.get_task(task) if isinstance(task, str) else task
        return self._restated_by(t, self._specialist_for(t.name, fields))

    def _restated_by(self, task: Task, specialist: Optional[ResolvedModel]) -> tuple[str, ...]:
        """The fields ``task`` restates for ``specialist``'s adapter (``None``: the model's own)."""
        adapter = specialist.adapter if specialist else (self.resolved.adapter if self.resolved else None)
        if adapter not in self._layouts:
            self._layouts[adapter] = read_restate(adapter)
        return catalog.restate_layout(task, self._layouts[adapter])

    # -- the generic entry point -----------------------------------------------------------------
    def prompt_for(self, task: str | Task, fields: Mapping[str, Any]) -> str:
        """The exact prompt string the backend sees for ``task`` and (normalised) ``fields``."""
        t = catalog.get_task(task) if isinstance(task, str) else task
        specialist = self._specialist_for(t.name, fields)  # one lookup: the layout and the backend
        messages = catalog.build_messages(t, fields, self.command, restate=self._restated_by(t, specialist))
        return self._backend_of(specialist).chat_prompt(messages)

    def _max_tokens(self, task: Task, fields: Mapping[str, Any]) -> int:
        return task.kind.max_tokens(task, fields)

    def _fit(self, task: Task, fields: dict[str, Any], max_tokens: int, truncate: bool) -> str:
        backend = self.backend_for(task, fields)
        prompt = self.prompt_for(task, fields)
        n = backend.count_tokens(prompt)
        budget = backend.n_ctx - max_tokens
        if n <= budget:
            return prompt
        long_field = next((name for name in LONG_FIELDS if name in fields), None)
        if not truncate or long_field is None:
            raise ContextOverflowError(
                f"the prompt for task {task.name!r} has {n} tokens but the model's context holds "
                f"{backend.n_ctx} ({max_tokens} kept for the answer, so at most {budget} for the "
                f"prompt); shorten the input, or pass truncate=True (CLI: --truncate) to cut "
                f"{long_field or 'the longest input'} to fit")
        text = fields[long_field]
        while n > budget and text:
            text = text[: max(0, int(len(text) * budget / n) - 8)]
            fields[long_field] = text
            prompt = self.prompt_for(task, fields)
            n = backend.count_tokens(prompt)
        if not text.strip():
            raise ContextOverflowError(
                f"the prompt for task {task.name!r} does not fit the model's context of "
                f"{backend.n_ctx} tokens even with the {long_field} cut to nothing ({max_tokens} "
                f"kept for the answer): the options or other inputs alone are too long; give fewer or "
                f"shorter options, or load the model with a larger n_ctx")
        return prompt

    def _calibrated(self, task: Task, calibrate: Optional[bool]) -> bool:
        if not task.kind.calibrates or not task.content_fields:
            return False
        return _first_set(calibrate, self.calibrate, task.calibrate)

    def _retyped(self, task: Task, retype: Optional[bool]) -> bool:
        if task.retype_with is None:
            return False
        return _first_set(retype, self.retype, task.retype)

    def _no_repeat_ngram(self, task: Task) -> int:
        """The n-gram size decoding must not repeat (0: none): the model's setting for free-text
        kinds, else the kind's own."""
        if self.no_repeat_ngram is None or not task.kind.free_text:
            return task.kind.no_repeat_ngram
        return self.no_repeat_ngram

    def _consensus_of(self, task: Task, consensus_of: Optional[int]) -> int:
        """Answers a call writes before keeping the agreed one: the call's, the model's, else the
        task's ``consensus_of``; always 1 (greedy) for kinds without consensus (labels, yes/no)."""
        if not task.kind.consensus:
            return 1
        _check_consensus_of(consensus_of)
        return next((c for c in (consensus_of, self.consensus_of) if c is not None), task.consensus_of)

    def _beams(self, task: Task, beams: Optional[int]) -> int:
        """The beam width of a call's first answer: the call's, the model's setting, the shipped
        model's default for the task (``ShippedModel.task_beams``), else the task's."""
        _check_beams(beams)
        shipped = dict(self.resolved.task_beams).get(task.name) if self.resolved is not None else None
        return next((b for b in (beams, self.beams, shipped) if b is not None), task.beams)

    def _generate(self, task: Task, fields: dict[str, Any], prompt: str, max_tokens: int,
                  constraint: Optional[Constraint], n: int, beams: int = 1) -> list[str]:
        """The greedy answer (with ``beams`` > 1: the answer of a beam search that wide), then ``n - 1``
        sampled ones (``EpsilonSampler`` seeded 1, 2, ...), which the backend may decode side by side
        (``Backend.generate_many``)."""
        backend = self.backend_for(task, fields)
        ngram = self._no_repeat_ngram(task)
        if beams > 1:
            texts = [backend.generate_beam(prompt, max_tokens, constraint, width=beams, no_repeat_ngram=ngram)]
        else:
            texts = [backend.generate(prompt, max_tokens, constraint, no_repeat_ngram=ngram)]
        if n == 1:
            return texts
        return texts + backend.generate_many(prompt, max_tokens, constraint, no_repeat_ngram=ngram,
                                             picks=[EpsilonSampler(seed) for seed in range(1, n)])

    def _written(self, task: Task, fields: Mapping[str, Any], max_tokens: int, truncate: bool,
                 constraint: Optional[Constraint], n: int, beams: int = 1) -> list[str]:
        """This model's ``n`` answers to a call (as an ensemble's partner: its own prompt, the caller's
        constraint, which depends on the fields only)."""
        fields = dict(fields)
        return self._generate(task, fields, self._fit(task, fields, max_tokens, truncate), max_tokens,
                              constraint, n, beams)

    def _ensemble_written(self, task: Task, fields: dict[str, Any], prompt: str, max_tokens: int,
                          truncate: bool, constraint: Optional[Constraint], n: int, beams: int = 1) -> list[str]:
        """The ``n`` answers of this model and, where ``n`` > 1, ``n`` of each partner's, interleaved
        (this model's greedy answer first): the partners decode in threads while this model does."""
        if not self.partners or n == 1:
            return self._generate(task, fields, prompt, max_tokens, constraint, n, beams)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.partners), thread_name_prefix="ecomlm-partner")
        futures = [self._pool.submit(partner._written, task, fields, max_tokens, truncate, constraint, n, beams)
                   for partner in self.partners]
        own = self._generate(task, fields, prompt, max_tokens, constraint, n, beams)
        answers = [own] + [future.result() for future in futures]
        return [text for row in zip(*answers) for text in row]

    def _chunk_words(self, task: Task, chunk: Optional[bool]) -> Optional[int]:
        """Words a piece of a long source may hold, or None to read the source whole."""
        if not task.chunkable:
            return None
        if not _first_set(chunk, self.chunk, task.chunk_words is not None):
            return None
        return task.chunk_words or DEFAULT_CHUNK_WORDS

    def _calibrated_label(self, task: Task, fields: dict[str, Any], prompt: str) -> Result:
        options = catalog.options_of(task, fields)
        backend = self.backend_for(task, fields)
        score = lambda p: backend.option_logprobs(p, options)  # noqa: E731
        content = task.content_fields
        shared = tuple((k, str(v)) for k, v in fields.items() if k not in content)
        # a specialist has a prior of its own, under its ref (a task may have one per input language)
        route = next((f"[{ref}]" for ref, loaded in self._specialists.items() if loaded is backend), "")
        prior = self._calibrator.prior(
            f"{task.name}{route}{shared}", options, score,
            lambda text: self.prompt_for(task, content_free_fields(fields, content, text)))
        label, _ = self._calibrator.choose(options, score(prompt), prior)
        return catalog.parse_answer(task, label, fields)

    def run(self, task: str, *, truncate: bool = False, allow_none: bool = True,
            calibrate: Optional[bool] = None, retype: Optional[bool] = None, chunk: Optional[bool] = None,
            consensus_of: Optional[int] = None, beams: Optional[int] = None, **fields: Any) -> Result:
        """Run ``task`` (a catalog name) on ``fields``; see ``ecomlm tasks`` for each task's inputs.

        ``allow_none=False`` forbids the "None" answer of span tasks (entities, spans, attribute
        values, answer spans): the model must copy something from the input.
        ``calibrate`` (single-label and yes/no tasks): score every label and divide by the model's
        label prior measured on content-free inputs (contextual calibration, ``calibration.py``)
        instead of greedy decoding; ``None`` uses the model's setting, then the task's default.
        ``retype`` (typed spans: NER, attribute extraction): after decoding, score each span's type
        with the task's typing task and keep the most probable (``retyping.py``); the spans stay as
        decoded. ``None``: the model's setting, then the task's default.
        ``chunk`` (span lists: NER, span detection, ...): a source of more than the task's
        ``chunk_words`` words (``DEFAULT_CHUNK_WORDS`` where it has none) is answered piece by piece,
        whole sentences of at most that many words each, and the spans merged with their offsets in
        the whole source (``chunking.py``); not with ``allow_none=False``. ``None``: the model's
        setting, then the task's default (on for NER and span detection).
        ``consensus_of`` (free text, spans, answer spans): write the greedy answer and
        ``consensus_of - 1`` sampled ones, and keep what they agree on (``OutputKind.agreed``): free
        text and an answer span keep the answer that agrees most with the others (minimum Bayes risk
        decoding by Rouge-L, ``consensus.py``); a span list keeps each span that enough of the answers
        hold (a vote). The result's ``written`` lists the answers in the order written (greedy
        first); a long source read in pieces votes piece by piece. Sampling is seeded, so a call
        repeats its answer. ``None``: the model's setting, then the task's ``Task.consensus_of`` (8
        for title_generation, ner and attribute_extraction, 1 = greedy only elsewhere). An ensemble
        (``load("default+multilingual")``) writes that many answers with each of its models and
        keeps the consensus of all of them; ``consensus_of=1`` is the first model's greedy answer.
        ``beams``: the first answer is found by a beam search of this many partial answers (the
        complete answer the model finds most probable as a whole, under the same constraint) instead
        of greedily; about ``beams`` times the decoding work. ``None``: the model's setting, then the
        shipped model's default for the task (``default`` answers qa with 4), then the task's
        ``Task.beams`` (1 = greedy).

        Raises ``UnknownTaskError``, ``InvalidInputError`` (empty text, empty or duplicate labels,
        missing inputs) or ``ContextOverflowError`` (prompt longer than the context, unless
        ``truncate=True`` cuts the long input to fit).
        """
        t = catalog.get_task(task)
        normalized = catalog.normalize_fields(t, fields)
        words = self._chunk_words(t, chunk)
        if words is not None and allow_none:  # a piece may hold no span (_chunk_words: a source field)
            source = str(normalized[t.source_field])
            pieces = source_chunks(source, words)
            if len(pieces) > 1:
                return merge_chunks(t.name, (
                    (a, self.run(task, truncate=truncate, allow_none=True, calibrate=calibrate, retype=retype,
                                 chunk=False, consensus_of=consensus_of, beams=beams,
                                 **{**normalized, t.source_field: source[a:b]}))
                    for a, b in pieces))
        max_tokens = self._max_tokens(t, normalized)
        prompt = self._fit(t, normalized, max_tokens, truncate)
        if self._calibrated(t, calibrate):
            return self._calibrated_label(t, normalized, prompt)
        constraint = catalog.constraint_for(t, normalized, allow_none=allow_none, copy_spans=self.copy_spans)
        n_answers = self._consensus_of(t, consensus_of)
        texts = self._ensemble_written(t, normalized, prompt, max_tokens, truncate, constraint, n_answers,
                                       self._beams(t, beams))
        # Under copy decoding with "None" forbidden, a "None" answer is that word copied from the input.
        allow = allow_none or not self.copy_spans
        raw = texts[0] if len(texts) == 1 else t.kind.agreed(t, texts, normalized, allow_none=allow)
        result = catalog.parse_answer(t, raw, normalized, allow_none=allow)
        if len(texts) > 1:
            result.written = [text.strip() for text in texts]
        if isinstance(result, SpansResult) and result.spans and self._retyped(t, retype):
            result = retype_spans(self, t, result, normalized)
        return result

    def run_many(self, task: str, items: Iterable[Mapping[str, Any]], *, truncate: bool = False,
                 allow_none: bool = True, calibrate: Optional[bool] = None,
                 retype: Optional[bool] = None, chunk: Optional[bool] = None,
                 consensus_of: Optional[int] = None, beams: Optional[int] = None) -> Iterator[Result]:
        """Run ``task`` over many inputs, in order (consecutive items reuse the shared prompt prefix)."""
        for fields in items:
            yield self.run(task, truncate=truncate, allow_none=allow_none, calibrate=calibrate,
                           retype=retype, chunk=chunk, consensus_of=consensus_of, beams=beams, **fields)

    # -- convenience methods, one per task family ----------------------------------------------------
    def extract_entities(self, text: str, types: Sequence[str]) -> SpansResult:
        """Named entities of ``types`` in ``text``, each with its type and character offsets: the
        entities 3 of 8 answers hold (the task's default vote; ``run("ner", text=..., types=...,
        consensus_of=1)`` for the greedy answer, about 4x faster)."""
        return self.run("ner", text=text, types=_listed(types))  # type: ignore[return-value]

    def detect_spans(self, text: str, types: Sequence[str]) -> SpansResult:
        """Entity spans of ``types`` in ``text`` (without types)."""
        return self.run("span_detection", text=text, types=_listed(types))  # type: ignore[return-value]

    def extract_attributes(self, text: str, attributes: Sequence[str]) -> SpansResult:
        """Values of ``attributes`` in a product text; ``result.by_type()`` maps attribute -> values.
        Like ``extract_entities``, the values 3 of 8 answers hold (``consensus_of=1`` through ``run``
        for the greedy answer)."""
        return self.run("attribute_extraction", text=text,
                        attributes=_listed(attributes))  # type: ignore[return-value]

    def extract_aspects(self, text: str) -> SpansResult:
        """Aspect terms (product features) a review talks about."""
        return self.run("aspect_extraction", text=text)  # type: ignore[return-value]

    def classify(self, text: str, labels: Sequence[str], *, task: str = "classify",
                 calibrate: Optional[bool] = None) -> LabelResult:
        """One label of ``labels`` (a list, or a comma-separated string) for ``text`` (``task`` may
        be sentiment, review_topic, product_category, subjectivity, or multi_classify for several
        labels); ``calibrate``: see ``run``."""
        return self.run(task, text=text, labels=_listed(labels),
                        calibrate=calibrate)  # type: ignore[return-value]

    def aspect_sentiment(self, text: str, aspect: str,
                         labels: Sequence[str] = DEFAULT_SENTIMENTS) -> LabelResult:
        """Sentiment of ``text`` towards ``aspect``."""
        return self.run("aspect_sentiment", text=text, aspect=aspect,
                        labels=_listed(labels))  # type: ignore[return-value]

    def match(self, query: str, product: str) -> MatchResult:
        """Whether ``product`` matches the search ``query``."""
        return self.run("query_match", query=query, product=product)  # type: ignore[return-value]

    def same_product(self, product_a: str, product_b: str) -> MatchResult:
        """Whether two offers refer to the same product."""
        return self.run("same_product", product_a=product_a,
                        product_b=product_b)  # type: ignore[return-value]

    def select_product(self, query: str, candidates: Sequence[str]) -> LabelResult:
        """The candidate (copied exactly) that best matches ``query``."""
        return self.run("select_product", query=query,
                        candidates=_listed(candidates))  # type: ignore[return-value]

    def answer(self, question: str, context: str, *, truncate: bool = False,
               allow_none: bool = True) -> AnswerResult:
        """An extractive answer: a span of ``context`` with offsets, or no span if none answers (on
        ``default``, the span a beam search of 4 finds most probable; ``run("qa", ..., beams=1)``
        for the greedy one).

        ``allow_none=False`` requires an answer: use it when the context is known to hold one."""
        return self.run("qa", question=question, context=context, truncate=truncate,
                        allow_none=allow_none)  # type: ignore[return-value]

    def generate_title(self, specs: Mapping[str, str]) -> TextResult:
        """A product title written from attribute -> value pairs: the consensus of 8 answers (the
        task's default; ``run("title_generation", specs=..., consensus_of=1)`` for the greedy one)."""
        return self.run("title_generation", specs=dict(specs))  # type: ignore[return-value]

    def summarize(self, reviews: Sequence[str]) -> TextResult:
        """A summary of several reviews."""
        return self.run("summarize", reviews=_listed(reviews))  # type: ignore[return-value]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for partner in self.partners:
            partner.close()
        for backend in self._specialists.values():
            backend.close()
        self._specialists.clear()
        self.backend.close()

    def __enter__(self) -> "EcomModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        refs = [m.resolved.ref if m.resolved else m.backend.source for m in (self, *self.partners)]
        return f"EcomModel({ENSEMBLE_SEP.join(refs)!r}, backend={self.backend.name!r})"


__all__ = ["EcomModel"]
