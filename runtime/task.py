"""``Task``: one e-commerce task of the catalog (the table of tasks is ``task_table.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .fields import FIELDS, ListField, MappingField, TextField
from .kinds import KINDS, SPANS, TYPED_SPANS, OutputKind


@dataclass(frozen=True)
class Retyping:
    """How a typed-span task re-decides each span's type after decoding (``EcomModel.run(retype=)``,
    ``retyping.py``): ``task`` is the single-label task that types one span in its text (entity
    typing, attribute naming); it gets the span in ``span_field`` and the typed-span task's source
    and options fields (text; types or attributes) as they are."""

    task: str
    span_field: str


#: how a span list's vote decides (``Task.vote``)
VOTE_RULES = ("share", "expected_f1")


@dataclass(frozen=True)
class Task:
    """One e-commerce task.

    - ``description`` (the system turn) and ``commands`` (phrasings of the task command;
      ``commands[0]`` is the fixed phrasing used at inference, training samples all);
    - ``required`` and ``optional`` input fields (``fields.FIELDS`` says how each is captioned,
      checked and rendered);
    - ``output``: the name of its output kind (``kinds.KINDS``), which fixes the answer format,
      parser, decoding constraint, result class and metric (``kind``, ``metric``).
    """

    name: str
    family: str
    summary: str
    description: str
    commands: tuple[str, ...]
    required: tuple[str, ...]
    output: str
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
    # typed spans: the task that can re-decide each decoded span's type (``Retyping``), and whether
    # that is on by default (``EcomModel.run(retype=)``). Off everywhere: on held-out Lenovo NER it
    # cost the shipped adapter 6 points (evaluate/finetuned/retype/)
    retype_with: Optional[Retyping] = None
    retype: bool = False
    # span lists: a source of more words than this is read in sentence-aligned pieces of at most this
    # many words, and the spans merged (``EcomModel.run(chunk=)``, ``chunking.py``). Set for NER and
    # span detection (40 words: about the 90th percentile of the corpus's NER inputs, fixed before
    # measuring), where it measured better on held-out Lenovo NER and span detection
    # (evaluate/finetuned/chunking/); None: read whole unless asked per call
    chunk_words: Optional[int] = None
    # kinds with ``consensus`` (free text, spans): answers written per call, the answer kept agreed
    # among them (``EcomModel.run(consensus_of=)``, ``OutputKind.agreed``); 1: the greedy answer only
    consensus_of: int = 1
    # the first (greedy) answer found by a beam search of this many partial answers instead
    # (``EcomModel.run(beams=)``, ``backends/beam.py``); 1: greedy decoding
    beams: int = 1
    # span lists: how a vote over several answers decides (``OutputKind.agreed``): "share", the spans
    # that ``vote_share`` of the answers hold (``consensus.voted``); "expected_f1", per call the
    # spans that maximize the answer's expected F1 under their shares (``consensus.voted_for_f1``)
    vote: str = "share"

    def __post_init__(self) -> None:
        if self.output not in KINDS:
            raise ValueError(f"task {self.name!r}: unknown output kind {self.output!r}; known: {sorted(KINDS)}")
        if self.retype_with is not None and not (self.output == TYPED_SPANS and self.options_field and self.source_field):
            raise ValueError(f"task {self.name!r}: retype_with needs typed spans with an options field "
                             f"and a source field")
        if self.chunk_words is not None and not (self.chunkable and self.chunk_words > 0):
            raise ValueError(f"task {self.name!r}: chunk_words needs a span list with a source field and "
                             f"a positive number of words")
        if self.consensus_of != 1 and not (self.kind.consensus and self.consensus_of > 1):
            raise ValueError(f"task {self.name!r}: consensus_of > 1 needs an output kind with consensus "
                             f"(free text, spans), and never below 1")
        if self.vote not in VOTE_RULES:
            raise ValueError(f"task {self.name!r}: vote must be one of {VOTE_RULES}, not {self.vote!r}")
        if self.beams < 1:
            raise ValueError(f"task {self.name!r}: beams must be 1 (greedy) or more, not {self.beams}")

    @property
    def chunkable(self) -> bool:
        """A span list copied from a source field: a long source can be read in pieces (``chunk_words``)."""
        return self.output in (TYPED_SPANS, SPANS) and bool(self.source_field)

    @property
    def kind(self) -> OutputKind:
        """The output kind object (``kinds.KINDS[self.output]``)."""
        return KINDS[self.output]

    @property
    def metric(self) -> str:
        """The metric a task is scored by: its kind's first (the one source of truth)."""
        return self.kind.metrics[0]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def content_fields(self) -> tuple[str, ...]:
        """The item's own text inputs (not options): what contextual calibration replaces with
        content-free values (``text``; ``query`` and ``product``; ``product_a`` and ``product_b``), not
        lists or attribute tables."""
        return tuple(f for f in self.required if isinstance(FIELDS.get(f), TextField)
                     and not isinstance(FIELDS[f], (ListField, MappingField)) and not FIELDS[f].option)


__all__ = ["Retyping", "Task"]
