"""Corpus lines -> token ids and next-token targets, with the loss on assistant tokens only.

Each JSONL line carries ``messages`` (user/assistant turns produced by the task catalog). They are
rendered with the tokenizer's own chat template, so training sees exactly the prompt that inference
builds. Targets are shifted inside each example (``targets[t]`` is the token after ``t``, or -100),
so packing examples together never asks a model to predict across an example boundary.
An assistant span is the assistant's content plus the end-of-turn token (the model learns to stop).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple

from ecomlm.runtime.errors import InvalidInputError

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


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The records of a JSONL corpus file, with the line number in errors."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as e:
                raise InvalidInputError(f"{path}:{number}: not a JSON line ({e})") from e
            if not isinstance(record.get("messages"), list) or not record["messages"]:
                raise InvalidInputError(f"{path}:{number}: no 'messages' list; corpus lines come from "
                                        f"`ecomlm data build`")
            yield record


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

    @property
    def n_tokens(self) -> int:
        return sum(len(e) for e in self.examples)


def tokenize_corpus(tokenizer: Any, records: Iterable[dict], max_len: int, *,
                    limit: Optional[int] = None, progress: bool = True) -> TokenizedSet:
    """Tokenize corpus records; drop (and count) those longer than ``max_len`` or without an answer."""
    from tqdm.auto import tqdm

    out = TokenizedSet([])
    for record in tqdm(records, desc="tokenizing", unit="ex", disable=not progress, mininterval=2):
        if limit is not None and len(out.examples) >= limit:
            break
        example = tokenize_messages(tokenizer, record["messages"])
        if len(example) > max_len:
            out.dropped_too_long += 1
        elif example.n_targets == 0:
            out.dropped_no_answer += 1
        else:
            out.examples.append(example)
    return out


def load_corpus(tokenizer: Any, path: str | os.PathLike[str], max_len: int, *,
                limit: Optional[int] = None, progress: bool = True) -> TokenizedSet:
    """``tokenize_corpus`` over a JSONL file; raise when nothing usable is left."""
    if not Path(path).exists():
        raise InvalidInputError(f"corpus file {str(path)!r} does not exist; build one with "
                                f"`ecomlm data build --out DIR`")
    result = tokenize_corpus(tokenizer, read_jsonl(path), max_len, limit=limit, progress=progress)
    if not result.examples:
        raise InvalidInputError(f"{path}: no usable example (dropped {result.dropped_too_long} longer than "
                                f"max_seq_len={max_len}, {result.dropped_no_answer} without an answer)")
    return result
