"""The realistic set's items and how answers are scored: loading (``load_items``), the gold check,
answers in scoring form (``comparable``), the per-item and per-task scores, the trivial baselines.

What an answer is, how it parses, reads back and is compared is its output kind's (``runtime/kinds``:
``scored``, ``reads_back``, ``text_sep``, ``baseline``); this module only applies it to the set.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError, InvalidInputError
from ecomlm.runtime.fields import FIELDS, MappingField
from ecomlm.runtime.jsonl import iter_jsonl
from ecomlm.runtime.models import input_language

from . import metrics

REALISTIC_DIR = Path(__file__).resolve().parent / "realistic"

Items = frozenset  # of (class or None, value) pairs


@dataclass(frozen=True)
class Item:
    """One hand-labelled example: the catalog task, its (normalised) inputs and the gold answer."""

    id: str
    task: str
    fields: dict[str, Any]
    answer: Any

    @property
    def lang(self) -> str:
        """``zh`` or ``en``, as the runtime tells an input's language (``models.input_language``)."""
        return input_language(self.fields)


@dataclass(frozen=True)
class Comparable:
    """An answer in scoring form: ``items`` for micro-F1, ``text`` for Rouge-L and for reading."""

    items: Items
    text: str


@dataclass
class Scored:
    """What one model (or the baseline) answered on one item, and that answer's own score."""

    item: Item
    pred: Comparable
    gold: Comparable
    score: float
    raw: Optional[str] = None
    error: Optional[str] = None
    seconds: float = 0.0

    def to_json(self, model: str) -> dict[str, Any]:
        return {"model": model, "id": self.item.id, "task": self.item.task, "pred": self.pred.text,
                "gold": self.gold.text, "score": round(self.score, 4), "raw": self.raw,
                "error": self.error, "seconds": round(self.seconds, 4)}

    def to_record(self, model: str) -> dict[str, Any]:
        """``to_json`` with the answer's scoring items, so that ``from_record`` gives it back whole
        (the journal of a stopped ``ecomlm eval-realistic``)."""
        return {**self.to_json(model), "pred_items": sorted(([c, v] for c, v in self.pred.items), key=repr)}

    @classmethod
    def from_record(cls, rec: dict[str, Any], item: Item) -> "Scored":
        """The ``Scored`` a ``to_record`` line holds for ``item``, scored again."""
        pred = Comparable(frozenset((c, v) for c, v in rec["pred_items"]), rec["pred"])
        gold = gold_of(item)
        return cls(item, pred, gold, item_score(catalog.get_task(item.task).metric, pred, gold, item.lang),
                   raw=rec.get("raw"), error=rec.get("error"), seconds=rec.get("seconds", 0.0))


# Loading ------------------------------------------------------------------------------------------
def _item(row: Any) -> Item:
    task = catalog.get_task(row["task"])
    return Item(id=str(row["id"]), task=task.name, fields=catalog.normalize_fields(task, row["fields"]),
                answer=row["answer"])


def load_items(folder: Path = REALISTIC_DIR, tasks: Optional[Sequence[str]] = None,
               limit: Optional[int] = None) -> list[Item]:
    """Every item of ``folder/*.jsonl`` (files in name order, lines in file order), checked: a known
    task, inputs the catalog accepts, and a gold answer that reads back whole through the task's own
    parser (labels in the set, spans found in the input). ``tasks`` keeps only those catalog tasks;
    ``limit`` keeps the first N items of each task."""
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise InvalidInputError(f"no *.jsonl files in {folder}")
    wanted = set(tasks) if tasks else None
    if wanted:
        for name in wanted:
            catalog.get_task(name)
    items: list[Item] = []
    per_task: Counter[str] = Counter()
    for path in files:
        for lineno, row in iter_jsonl(path):
            where = f"{path.name}:{lineno}"
            try:
                if isinstance(row, InvalidInputError):
                    raise row
                item = _item(row)
            except (KeyError, TypeError, EcomError) as e:
                raise InvalidInputError(f"{where}: not a realistic-set item ({e})") from None
            check_gold(item, where)
            if wanted is not None and item.task not in wanted:
                continue
            if limit is not None and per_task[item.task] >= limit:
                continue
            per_task[item.task] += 1
            items.append(item)
    return items


def check_gold(item: Item, where: str = "") -> None:
    """Raise ``InvalidInputError`` unless the gold answer reads back whole through the task's parser."""
    task = catalog.get_task(item.task)
    result = catalog.gold_result(task, item.answer, item.fields)
    if not task.kind.reads_back(task, item.answer, result):
        raise InvalidInputError(f"{where or item.id}: gold answer {item.answer!r} does not read back "
                                f"(got {sorted(comparable(result).items, key=str)})")


# Answers in scoring form ---------------------------------------------------------------------------
def comparable(result: Any) -> Comparable:
    """A task result (``runtime.results``) as its kind scores it (``OutputKind.scored``): labels as
    (label, label), a yes/no as ("Yes", "Yes") or ("No", "No"), spans as (type, text), the items
    joined by the kind's ``text_sep``; no result (the runtime refused the item): the empty answer."""
    if result is None:
        return Comparable(frozenset(), "")
    kind = catalog.get_task(result.task).kind
    items, text = kind.scored(result, kind.text_sep, (catalog.YES, catalog.NO))
    return Comparable(frozenset(items), text)


def gold_of(item: Item) -> Comparable:
    task = catalog.get_task(item.task)
    return comparable(catalog.gold_result(task, item.answer, item.fields))


def item_score(metric: str, pred: Comparable, gold: Comparable, lang: str = "en") -> float:
    """One item's own score (0-1): the F1 of its item sets (both empty: 1) or its Rouge-L (over
    characters for a Chinese item, ``lang="zh"``: ``Item.lang``)."""
    if metric == "rouge_l":
        return metrics.rouge_l(pred.text, gold.text, lang)
    tp, fp, fn = metrics.set_counts(pred.items, gold.items)
    return 1.0 if not (tp or fp or fn) else 2 * tp / (2 * tp + fp + fn)


def task_score(metric: str, scored: Sequence[Scored]) -> float:
    """The task's metric over its items (0-100), as ``ecomlm eval`` computes it (Rouge-L: the mean of
    the items' own scores, ``item_score`` in each item's language)."""
    if metric == "rouge_l":
        return 100 * sum(s.score for s in scored) / len(scored) if scored else 0.0
    return metrics.micro_f1([s.pred.items for s in scored], [s.gold.items for s in scored])


def task_order(items: Iterable[Item]) -> list[str]:
    """The tasks of ``items`` in the order they first appear."""
    return list(dict.fromkeys(i.task for i in items))


# Trivial baselines ---------------------------------------------------------------------------------
Baseline = Callable[[catalog.Task, Sequence[Item]], tuple[str, list[Comparable]]]


def _majority(task: catalog.Task, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    golds = [gold_of(i) for i in items]
    counts = Counter(g.items for g in golds)
    best = counts.most_common(1)[0][0] if counts else frozenset()
    text = next(g.text for g in golds if g.items == best) if golds else ""
    return f"majority: {text}", [Comparable(best, text) for _ in items]


def _whole_source(task: catalog.Task, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    return "whole context", [Comparable(frozenset(), str(i.fields[task.source_field])) for i in items]


def _empty(task: catalog.Task, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    return "empty answer", [Comparable(frozenset(), "") for _ in items]


def _inputs_joined(task: catalog.Task, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    mapping = next((n for n in task.required if isinstance(FIELDS[n], MappingField)), None)
    if mapping is None:
        return _empty(task, items)
    texts = [", ".join(str(v) for v in i.fields[mapping].values()) for i in items]
    return "attribute values joined", [Comparable(frozenset(), t) for t in texts]


#: ``OutputKind.baseline`` -> how its answers are made
BASELINES: dict[str, Baseline] = {"majority": _majority, "source": _whole_source, "empty": _empty,
                                  "inputs": _inputs_joined}


def baseline_answers(task_name: str, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    """The trivial baseline of one task (its kind's ``baseline``): (its description, one answer per item).

    - closed set (labels, yes/no, a candidate): the most frequent gold answer of the set (ties: the
      one met first);
    - span lists (entities, attribute values): the empty answer ("None");
    - extractive QA: the whole context;
    - text written from attributes (titles): the attribute values joined in their order.
    """
    task = catalog.get_task(task_name)
    return BASELINES[task.kind.baseline](task, items)


__all__ = ["BASELINES", "Comparable", "Item", "REALISTIC_DIR", "Scored", "baseline_answers", "check_gold",
           "comparable", "gold_of", "item_score", "load_items", "task_order", "task_score"]
