"""A corpus file and how one of its conversations becomes token ids: what training and export
(``quantize/imatrix.py``, ``quantize/corpus_parity.py``) both read, so it sits in the layer they
share. A corpus file is written by ``ecomlm data build`` (``train.jsonl``, ``val.jsonl``): one record a
line, each with its chat ``messages``. A conversation is rendered with the tokenizer's own chat
template, so training sees exactly the prompt inference builds; targets are shifted inside each
example (``targets[t]`` is the token after ``t``, or ``IGNORE``), and an assistant span is the
assistant's content plus the end-of-turn token."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.jsonl import read_jsonl

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


def _corpus_problem(record: Any) -> Optional[str]:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list) or not record["messages"]:
        return "no 'messages' list; corpus lines come from `ecomlm data build`"
    return None


def read_corpus(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The records of a corpus file, in order; the first bad line is an ``InvalidInputError`` naming
    the file and line."""
    return read_jsonl(path, check=_corpus_problem)


def sample_corpus(path: str | os.PathLike[str], limit: int, lang: Optional[str] = None,
                  seed: int = 0) -> list[dict]:
    """``limit`` records of a corpus file (of language ``lang`` if given), a seeded sample, so that
    two commands given the same file, limit and seed read the same records."""
    records = [r for r in read_corpus(path) if lang in (None, r.get("lang"))]
    if not records:
        raise InvalidInputError(f"{str(path)!r} has no records" + (f" in language {lang!r}" if lang else ""))
    random.Random(seed).shuffle(records)
    return records[:limit]


__all__ = ["IGNORE", "TokenizedExample", "assistant_spans", "tokenize_messages", "read_corpus", "sample_corpus"]
