"""Byte-level automata for the decoding constraints, the vocabulary trie, and greedy decoding under them.

Every constraint of ``constraints.py`` is a byte-level automaton here; the allowed tokens of a state
are those whose bytes keep the answer inside the language (end of turn only once it is complete).
The ONNX Runtime and PyTorch backends decode with ``ConstrainedDecoder``; llama.cpp uses GBNF
grammars for the closed sets and runs these automata as a logits processor for ``CopyLines``.

States:
- ``("L", n, p)``: inside the fixed part of line ``n`` (``p``: its bytes so far);
- ``("V0", n)`` / ``("V", n)``: at the start of / inside a free value (``V`` is *free*: every byte
  but a newline stays in it);
- ``("C", n, positions, q, empty)``: inside a value copied from the source. ``positions`` (int32
  bytes, or ``ALL`` at the start of a value) are the source offsets right after each occurrence of
  the value so far; ``q`` is how much of the ``none`` word the line has matched (-1: not possible);
  ``empty``: nothing copied yet.

The allowed token set of a state is found by walking the vocabulary sorted by bytes (a trie held as a
sorted array: a prefix is a contiguous range found by bisection), and cached per state.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Optional, Sequence

import numpy as np

from ..constraints import Choice, ChoiceLines, Constraint, CopyLines, FreeLine, FreeLines, PrefixedLines
from .sampling import GREEDY, Picker

NL = 0x0A
SPACE = 0x20
MAX_LINES = 32  # as to_gbnf's default
ALL = b"*"      # copy state: every source offset (start of a value)


class _Words:
    """A sorted set of byte strings with prefix queries."""

    def __init__(self, words: Iterable[bytes]) -> None:
        self.words = sorted(set(words))
        self.set = set(self.words)

    def is_prefix(self, p: bytes) -> bool:
        i = bisect_left(self.words, p)
        return i < len(self.words) and self.words[i].startswith(p)

    def next_bytes(self, p: bytes) -> set[int]:
        i = bisect_left(self.words, p)
        out: set[int] = set()
        while i < len(self.words) and self.words[i].startswith(p):
            if len(self.words[i]) > len(p):
                out.add(self.words[i][len(p)])
            i += 1
        return out

    def shortest_completion(self, p: bytes) -> Optional[bytes]:
        i = bisect_left(self.words, p)
        best = None
        while i < len(self.words) and self.words[i].startswith(p):
            if best is None or len(self.words[i]) < len(best):
                best = self.words[i]
            i += 1
        return best


State = Hashable
_ALL_BYTES = tuple(range(256))
_VALUE_FIRST = tuple(b for b in range(256) if b not in (NL, SPACE))


class _Source:
    """The source text of a copy constraint as bytes, with the offsets after each byte value."""

    def __init__(self, text: str) -> None:
        self.data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        self.n = len(self.data)
        after = np.arange(1, self.n + 1, dtype=np.int32)
        self.after_byte = {int(b): after[self.data == b] for b in np.unique(self.data)}

    def positions(self, key: bytes) -> np.ndarray:
        return np.arange(self.n, dtype=np.int32) if key == ALL else np.frombuffer(key, dtype=np.int32)

    def advance(self, key: bytes, b: int) -> np.ndarray:
        """The offsets after ``b`` where the value so far (ending at ``key``'s offsets) continues with ``b``."""
        if key == ALL:
            return self.after_byte.get(b, np.zeros(0, dtype=np.int32))
        pos = self.positions(key)
        pos = pos[pos < self.n]
        return pos[self.data[pos] == b] + 1

    def next_bytes(self, key: bytes) -> set[int]:
        if key == ALL:
            return set(self.after_byte)
        pos = self.positions(key)
        pos = pos[pos < self.n]
        return {int(b) for b in np.unique(self.data[pos])}


class Automaton:
    """A byte-level automaton accepting exactly a constraint's answers (as to_gbnf's grammar, and
    for ``CopyLines`` only values that occur in the source)."""

    def __init__(self, constraint: Constraint, max_lines: int = MAX_LINES) -> None:
        self.c = constraint
        self.max_lines = max_lines
        self.source: Optional[_Source] = None
        none = getattr(constraint, "none", None)
        if isinstance(constraint, Choice):
            self.items = _Words(o.encode("utf-8") for o in constraint.options)
            self.first = self.items
        elif isinstance(constraint, ChoiceLines):
            self.items = _Words(o.encode("utf-8") for o in constraint.options)
            self.first = _Words(self.items.words + [constraint.none.encode("utf-8")])
        elif isinstance(constraint, PrefixedLines) or (isinstance(constraint, CopyLines) and constraint.prefixes):
            self.items = _Words((p + constraint.sep).encode("utf-8") for p in constraint.prefixes)
            self.first = _Words(self.items.words + ([none.encode("utf-8")] if none is not None else []))
        elif isinstance(constraint, (FreeLines, CopyLines, FreeLine)):
            self.items = self.first = _Words([])
            if isinstance(constraint, FreeLine):  # one line of free text, no "None" word
                self.max_lines = 1
        else:
            raise TypeError(f"unknown constraint {constraint!r}")
        if isinstance(constraint, CopyLines):
            self.source = _Source(constraint.source)
            self.max_lines = constraint.max_lines
        self.prefixed = bool(self.items.words) and isinstance(constraint, (PrefixedLines, CopyLines))
        self.none = none
        self.none_b = none.encode("utf-8") if none is not None else None

    # -- line starts -------------------------------------------------------------------------------
    def _value_start(self, n: int) -> State:
        if self.source is None:
            return ("V0", n)
        q = 0 if (n == 0 and self.none_b is not None and not self.prefixed) else -1
        return ("C", n, ALL, q, True)

    def _line_start(self, n: int) -> State:
        return ("L", n, b"") if self.prefixed or not isinstance(self.c, (FreeLines, CopyLines, FreeLine)) \
            else self._value_start(n)

    def start(self) -> State:
        return self._line_start(0)

    def _words(self, n: int) -> _Words:
        return self.first if n == 0 else self.items

    # -- transitions -------------------------------------------------------------------------------
    def _step_copy(self, s: State, b: int) -> Optional[State]:
        _, n, key, q, empty = s
        assert self.source is not None
        if b == NL:
            if empty or n + 1 >= self.max_lines or (key != ALL and not len(self.source.positions(key))):
                return None  # an empty line, too many lines, or a line that is only "None"
            return self._line_start(n + 1)
        pos = self.source.advance(key, b) if not (empty and b == SPACE) else np.zeros(0, dtype=np.int32)
        q2 = q + 1 if 0 <= q < len(self.none_b or b"") and self.none_b[q] == b else -1  # type: ignore[index]
        if not len(pos) and q2 < 0:
            return None
        return ("C", n, pos.astype(np.int32).tobytes(), q2, False)

    def step(self, s: State, b: int) -> Optional[State]:
        kind = s[0]
        if kind == "C":
            return self._step_copy(s, b)
        if kind == "V":
            if b != NL:
                return s
            if s[1] + 1 >= self.max_lines:
                return None
            return self._line_start(s[1] + 1)
        if kind == "V0":
            return ("V", s[1]) if b not in (NL, SPACE) else None
        n, p = s[1], s[2]
        if self.prefixed:
            p2 = p + bytes([b])
            if p2 in self.items.set:
                return self._value_start(n)
            return ("L", n, p2) if self._words(n).is_prefix(p2) else None
        # Choice / ChoiceLines: p is the current line
        if b == NL and isinstance(self.c, ChoiceLines) and p in self.items.set and n + 1 < self.max_lines:
            return ("L", n + 1, b"")
        p2 = p + bytes([b])
        return ("L", n, p2) if self._words(n).is_prefix(p2) else None

    def final(self, s: State) -> bool:
        kind = s[0]
        if kind == "C":
            _, _, key, q, empty = s
            return not empty and (len(key) > 0 or (self.none_b is not None and q == len(self.none_b)))
        if kind == "V":
            return True
        if kind == "V0":
            return False
        n, p = s[1], s[2]
        if n == 0 and self.none_b is not None and p == self.none_b:
            return True
        return not self.prefixed and p in self.items.set

    def free(self, s: State) -> bool:
        return s[0] == "V"

    def next_bytes(self, s: State) -> Iterable[int]:
        kind = s[0]
        if kind == "C":
            assert self.source is not None
            _, n, key, q, empty = s
            out = self.source.next_bytes(key) if (key == ALL or len(key)) else set()
            out.discard(NL)
            if empty:
                out.discard(SPACE)
            if 0 <= q < len(self.none_b or b""):
                out.add(self.none_b[q])  # type: ignore[index]
            if not empty and n + 1 < self.max_lines and len(key):
                out.add(NL)
            return sorted(out)
        if kind == "V":
            return _ALL_BYTES
        if kind == "V0":
            return _VALUE_FIRST
        n, p = s[1], s[2]
        out = self._words(n).next_bytes(p)
        if isinstance(self.c, ChoiceLines) and p in self.items.set:
            out.add(NL)
        return sorted(out)

    def walk(self, s: Optional[State], data: bytes) -> Optional[State]:
        for b in data:
            if s is None:
                return None
            s = self.step(s, b)
        return s

    def finish(self, text: bytes) -> bytes:
        """Make a cut-off answer (token budget spent) acceptable: complete or drop its last line."""
        s = self.walk(self.start(), text)
        if s is not None and self.final(s):
            return text
        head, _, last = text.rpartition(b"\n")
        n = text.count(b"\n")
        if not isinstance(self.c, (PrefixedLines, FreeLines, CopyLines, FreeLine)):
            done = self._words(n).shortest_completion(last)
            if done is not None and (n == 0 or done in self.items.set):
                return (head + b"\n" if n else b"") + done
        if n:
            return self.finish(head)
        if self.none_b is not None:
            return self.none_b
        return self.items.words[0] if self.items.words and not self.prefixed else b""


# -- the vocabulary as a sorted byte trie --------------------------------------------------------------
class Vocabulary:
    """Token byte strings sorted, for allowed-set queries by prefix range."""

    def __init__(self, token_bytes: Sequence[Optional[bytes]]) -> None:
        pairs = sorted((b, i) for i, b in enumerate(token_bytes) if b)
        self.keys = [b for b, _ in pairs]
        self.ids = np.array([i for _, i in pairs], dtype=np.int64)
        self.lengths = np.array([len(b) for b in self.keys], dtype=np.int64)
        self.last_nl = np.array([b.rfind(b"\n") for b in self.keys], dtype=np.int64)
        self.bytes_of = list(token_bytes)

    def allowed(self, auto: Automaton, s: State) -> np.ndarray:
        """Token ids whose bytes, fed to ``auto`` from state ``s``, never leave the language."""
        out: list[np.ndarray] = []
        self._collect(auto, s, b"", 0, len(self.keys), out)
        return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def _collect(self, auto: Automaton, s: State, p: bytes, lo: int, hi: int, out: list) -> None:
        i = lo
        while i < hi and len(self.keys[i]) == len(p):  # tokens that are exactly p
            if p:
                out.append(self.ids[i:i + 1])
            i += 1
        if i >= hi:
            return
        if auto.free(s):
            ok = self.last_nl[i:hi] < len(p)
            out.append(self.ids[i:hi][ok])
            for j in np.nonzero(~ok)[0] + i:
                if auto.walk(s, self.keys[j][len(p):]) is not None:
                    out.append(self.ids[j:j + 1])
            return
        for b in auto.next_bytes(s):
            s2 = auto.step(s, b)
            if s2 is None:
                continue
            p2 = p + bytes([b])
            lo2 = bisect_left(self.keys, p2, i, hi)
            hi2 = hi if b == 255 else bisect_left(self.keys, p + bytes([b + 1]), lo2, hi)
            if lo2 < hi2:
                self._collect(auto, s2, p2, lo2, hi2, out)


# -- the decoding loop --------------------------------------------------------------------------------
def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits (float64), for option scoring on every backend."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max()
    return x - np.log(np.exp(x).sum())



#: step(new_token_ids) -> logits (1-D numpy array) for the position after them; the model keeps its cache
StepFn = Callable[[Sequence[int]], np.ndarray]


@dataclass
class ConstrainedDecoder:
    """Greedy decoding under one constraint (reusable across prompts: allowed sets are cached)."""

    vocab: Vocabulary
    automaton: Automaton
    eos_ids: Sequence[int]

    def __post_init__(self) -> None:
        self._cache: dict[State, np.ndarray] = {}

    def allowed(self, s: State) -> np.ndarray:
        got = self._cache.get(s)
        if got is None:
            got = self._cache[s] = self.vocab.allowed(self.automaton, s)
        return got

    def allowed_or_end(self, s: State) -> np.ndarray:
        """The allowed token ids of ``s``, with the end-of-turn ids once the answer is complete."""
        ids = self.allowed(s)
        if self.automaton.final(s):
            ids = np.concatenate([ids, np.asarray(self.eos_ids, dtype=np.int64)])
        return ids

    def run(self, first_logits: np.ndarray, step: StepFn, max_tokens: int,
            no_repeat_ngram: int = 0, pick: Picker = GREEDY) -> bytes:
        """The greedy answer under the automaton (``pick``: another way to choose each token,
        ``sampling.py``); ``no_repeat_ngram``: never repeat an answer ``n``-gram of that size
        (``repeat_bans``; end of turn stays allowed where it was)."""
        auto = self.automaton
        s = auto.start()
        logits = first_logits
        text = b""
        answer: list[int] = []
        for k in range(max_tokens):
            ids = self.allowed_or_end(s)
            if no_repeat_ngram:
                ids = without_repeats(ids, answer, no_repeat_ngram)
            if len(ids) == 0:  # cannot happen with a byte-complete vocabulary
                break
            choice = pick(logits, ids)
            if choice in self.eos_ids:
                return text
            piece = self.vocab.bytes_of[choice] or b""
            s = auto.walk(s, piece)
            assert s is not None, "allowed token left the language"
            text += piece
            answer.append(choice)
            if k + 1 < max_tokens:
                logits = step([choice])
        return auto.finish(text)


def repeat_bans(answer: Sequence[int], n: int) -> list[int]:
    """The tokens that would make the last ``n`` tokens of ``answer`` an ``n``-gram the answer
    already holds (``no_repeat_ngram_size`` of Hugging Face's ``generate``); ``n < 1``: none.

    A small model's greedy free text tends to loop ("护眼霜，护眼霜，护眼霜，..."); banning a
    repeated ``n``-gram ends the loop at its first repeat without changing anything before it.
    """
    if n < 1 or len(answer) < n - 1:
        return []
    tail = list(answer[len(answer) - n + 1:]) if n > 1 else []
    return sorted({int(answer[i + n - 1]) for i in range(len(answer) - n + 1)
                   if list(answer[i:i + n - 1]) == tail})


def without_repeats(ids: np.ndarray, answer: Sequence[int], n: int) -> np.ndarray:
    """``ids`` less the tokens ``repeat_bans`` names (order kept); ``ids`` itself when that would
    leave nothing, so that a constraint's language is never left empty."""
    banned = repeat_bans(answer, n)
    kept = ids[~np.isin(ids, np.asarray(banned, dtype=ids.dtype))] if banned else ids
    return kept if len(kept) else ids


def greedy_free(first_logits: np.ndarray, step: StepFn, max_tokens: int,
                eos_ids: Sequence[int], no_repeat_ngram: int = 0, pick: Picker = GREEDY) -> list[int]:
    """Plain greedy decoding (``pick``: another way to choose each token): token ids up to (not
    including) end of turn; ``no_repeat_ngram``: never repeat an answer ``n``-gram of that size
    (``repeat_bans``)."""
    out: list[int] = []
    logits = first_logits
    for k in range(max_tokens):
        banned = repeat_bans(out, no_repeat_ngram)
        if banned:
            logits = logits.copy()
            logits[banned] = -np.inf
        choice = pick(logits, None)
        if choice in eos_ids:
            break
        out.append(choice)
        if k + 1 < max_tokens:
            logits = step([choice])
    return out


class DecoderCache:
    """The last few ``ConstrainedDecoder``s by constraint (run_many repeats one constraint).

    ``tokenizer`` gives ``token_bytes()`` (each token id's bytes, ``None`` for control tokens) and
    ``eos_ids`` (the end-of-turn ids)."""

    def __init__(self, tokenizer: Any, size: int = 32) -> None:
        self.tokenizer = tokenizer
        self.size = size
        self._vocab: Optional[Vocabulary] = None
        self._decoders: dict[Constraint, ConstrainedDecoder] = {}

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            self._vocab = Vocabulary(self.tokenizer.token_bytes())
        return self._vocab

    def get(self, constraint: Constraint) -> ConstrainedDecoder:
        dec = self._decoders.pop(constraint, None)
        if dec is None:
            dec = ConstrainedDecoder(self.vocab, Automaton(constraint), self.tokenizer.eos_ids)
        self._decoders[constraint] = dec
        # copy constraints hold their source: keep fewer of them
        size = self.size if not isinstance(constraint, CopyLines) else min(self.size, 4)
        while len(self._decoders) > size:
            self._decoders.pop(next(iter(self._decoders)))
        return dec
