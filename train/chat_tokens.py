"""Corpus lines -> token ids and next-token targets, with the loss on assistant tokens only.

Each JSONL line carries ``messages`` (user/assistant turns produced by the task catalog). They are
rendered with the tokenizer's own chat template, so training sees exactly the prompt that inference
builds. Targets are shifted inside each example (``targets[t]`` is the token after ``t``, or -100),
so packing examples together never asks a model to predict across an example boundary.
An assistant span is the assistant's content plus the end-of-turn token (the model learns to stop).
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ecomlm.runtime.errors import InvalidInputError
# a conversation's tokens live in ecomlm.source.corpus (export reads them too); re-exported here
from ecomlm.source.corpus import IGNORE, TokenizedExample, assistant_spans, tokenize_messages  # noqa: F401
from ecomlm.train.corpus_file import read_corpus as read_jsonl  # re-export: the one JSONL reader


@dataclass
class TokenizedSet:
    examples: List[TokenizedExample]
    dropped_too_long: int = 0
    dropped_no_answer: int = 0
    per_task: Dict[str, int] = field(default_factory=dict)   # examples kept per task, repeats included

    @property
    def n_tokens(self) -> int:
        return sum(len(e) for e in self.examples)


def repeats(weight: float, rng: random.Random) -> int:
    """How many times an example of weight ``weight`` enters the set: the integer part, plus one
    more with the probability of the fractional part (so 1.5 gives each example 1 or 2 copies)."""
    whole = int(weight)
    return whole + (1 if rng.random() < weight - whole else 0)


def _catalog_task_names() -> set[str]:
    from ecomlm.runtime.catalog import list_tasks

    return {t.name for t in list_tasks()}


def check_task_weights(weights: Mapping[str, float]) -> None:
    """Raise on a weight that is not a number >= 0 or a task the catalog does not know."""
    known = _catalog_task_names()
    for task, w in weights.items():
        if task not in known:
            raise InvalidInputError(f"task_weights: unknown task {task!r}; known: {sorted(known)}")
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            raise InvalidInputError(f"task_weights: {task}: the weight must be a number >= 0, got {w!r}")


def check_tasks(tasks: Sequence[str]) -> None:
    """Raise on a task name (recipe key ``tasks``) the catalog does not know."""
    known = _catalog_task_names()
    unknown = sorted(set(tasks) - known)
    if unknown:
        raise InvalidInputError(f"tasks: unknown task(s) {unknown}; known: {sorted(known)}")


def check_language_weights(weights: Mapping[str, float], key: str = "language_weights") -> None:
    """Raise on a weight that is not a number >= 0 (languages are corpus ``lang`` codes: en, zh;
    the same check serves ``dataset_weights``, keyed by corpus ``dataset`` names)."""
    for name, w in weights.items():
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            raise InvalidInputError(f"{key}: {name}: the weight must be a number >= 0, got {w!r}")


def tokenize_corpus(tokenizer: Any, records: Iterable[dict], max_len: int, *,
                    limit: Optional[int] = None, progress: bool = True,
                    task_weights: Optional[Mapping[str, float]] = None, seed: int = 0,
                    language_weights: Optional[Mapping[str, float]] = None,
                    dataset_weights: Optional[Mapping[str, float]] = None,
                    tasks: Optional[Sequence[str]] = None) -> TokenizedSet:
    """Tokenize corpus records; drop (and count) those longer than ``max_len`` or without an answer.

    ``limit`` keeps the first N usable records. ``task_weights`` ({task: weight}, default 1) repeats
    or thins out the usable examples of a task (see ``repeats``), deterministically for a ``seed``,
    so a resumed run rebuilds the same set. ``language_weights`` ({lang: weight}, default 1)
    multiplies in by the record's ``lang``, ``dataset_weights`` ({dataset: weight}, default 1) by its
    ``dataset`` (e.g. more of the laptop-domain sources for every task they feed). ``tasks``: only
    records of these tasks are read (empty or ``None``: all), as a task specialist is trained.
    """
    from tqdm.auto import tqdm

    weights = dict(task_weights or {})
    check_task_weights(weights)
    lang_weights = dict(language_weights or {})
    check_language_weights(lang_weights)
    data_weights = dict(dataset_weights or {})
    check_language_weights(data_weights, "dataset_weights")
    only = set(tasks or ())
    check_tasks(sorted(only))
    rng = random.Random(seed)
    out = TokenizedSet([])
    usable = 0
    for record in tqdm(records, desc="tokenizing", unit="ex", disable=not progress, mininterval=2):
        if limit is not None and usable >= limit:
            break
        if only and str(record.get("task", "?")) not in only:
            continue
        example = tokenize_messages(tokenizer, record["messages"])
        if len(example) > max_len:
            out.dropped_too_long += 1
        elif example.n_targets == 0:
            out.dropped_no_answer += 1
        else:
            usable += 1
            task, lang = str(record.get("task", "?")), str(record.get("lang", "?"))
            dataset = str(record.get("dataset", "?"))
            weighted = task in weights or lang in lang_weights or dataset in data_weights
            w = weights.get(task, 1.0) * lang_weights.get(lang, 1.0) * data_weights.get(dataset, 1.0)
            n = repeats(w, rng) if weighted else 1
            out.examples.extend([example] * n)
            out.per_task[task] = out.per_task.get(task, 0) + n
    return out


def load_corpus(tokenizer: Any, path: str | os.PathLike[str], max_len: int, *,
                limit: Optional[int] = None, progress: bool = True,
                task_weights: Optional[Mapping[str, float]] = None, seed: int = 0,
                language_weights: Optional[Mapping[str, float]] = None,
                dataset_weights: Optional[Mapping[str, float]] = None,
                tasks: Optional[Sequence[str]] = None) -> TokenizedSet:
    """``tokenize_corpus`` over a JSONL file; raise when nothing usable is left."""
    if not Path(path).exists():
        raise InvalidInputError(f"corpus file {str(path)!r} does not exist; build one with "
                                f"`ecomlm data build --out DIR`")
    result = tokenize_corpus(tokenizer, read_jsonl(path), max_len, limit=limit, progress=progress,
                             task_weights=task_weights, seed=seed, language_weights=language_weights,
                             dataset_weights=dataset_weights, tasks=tasks)
    if not result.examples:
        raise InvalidInputError(f"{path}: no usable example (dropped {result.dropped_too_long} longer than "
                                f"max_seq_len={max_len}, {result.dropped_no_answer} without an answer)")
    return result
