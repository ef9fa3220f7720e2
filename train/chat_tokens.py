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
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ecomlm.runtime.errors import InvalidInputError
from ecomlm.train.corpus_file import read_corpus as read_jsonl  # re-export: the one JSONL reader

IGNORE = -100


@dataclass
class TokenizedExample:
    """One conversation: ``input_ids`` and shifted ``targets`` (IGNORE where no loss), same length."""

    input_ids: List[int]
    targets: List[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_targets(self) -> int:
        return sum(1 for t in self.targets if t != IGNORE)


def assistant_spans(tokenizer: Any, messages: Sequence[dict]) -> Tuple[str, List[Tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns (with end-of-turn)."""
    text = tokenizer.apply_chat_template(list(messages), tokenize=False)
    eos = tokenizer.eos_token
    spans = []
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        prefix = tokenizer.apply_chat_template(list(messages[:i]), tokenize=False, add_generation_prompt=True)
        upto = tokenizer.apply_chat_template(list(messages[: i + 1]), tokenize=False)
        if not text.startswith(prefix) or not text.startswith(upto) or not upto.startswith(prefix):
            raise InvalidInputError("the chat template does not render conversations incrementally; "
                                    "cannot tell which tokens are the assistant's")
        end = upto.find(eos, len(prefix) + len(message["content"]))
        end = len(upto) if end < 0 else end + len(eos)
        spans.append((len(prefix), end))
    return text, spans


def tokenize_messages(tokenizer: Any, messages: Sequence[dict]) -> TokenizedExample:
    """Render ``messages`` with the chat template; targets are the assistant tokens (shifted by one)."""
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    in_answer = [any(s <= start and end <= e for s, e in spans) and end > start for start, end in offsets]
    targets = [ids[t + 1] if in_answer[t + 1] else IGNORE for t in range(len(ids) - 1)] + [IGNORE]
    return TokenizedExample(list(ids), targets)


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
