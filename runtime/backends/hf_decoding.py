"""Constraint-guided greedy decoding over token ids, shared by the ONNX Runtime and PyTorch backends.

llama.cpp enforces a task's constraint with a GBNF grammar; here the same languages (see
``constraints.py``) are byte-level automata, and each decoding step picks the most likely token
among those that keep the answer a valid prefix of the language (end of turn only once the answer is
complete). So the answer is always in the constraint's language, whatever the prompt says; any
spelling of an option in tokens is allowed, as with a grammar.

The allowed token set of an automaton state is found by walking the vocabulary sorted by bytes (a
trie held as a sorted array: a prefix is a contiguous range found by bisection), and cached per
state. Free text inside a line (``[^\\n ][^\\n]*``) is handled in bulk with numpy.

This module needs only numpy, ``tokenizers`` and jinja2 (via llama-cpp-python's chat formatter); it
never imports torch.
"""
from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterable, Optional, Sequence

import numpy as np

from .. import deadline
from ..constraints import Choice, ChoiceLines, Constraint, FreeLines, PrefixedLines
from ..errors import ModelLoadError
from .chat_segments import render_segmented, tokenize_segments

NL = 0x0A
SPACE = 0x20
MAX_LINES = 32  # as to_gbnf's default


# -- tokenizer ---------------------------------------------------------------------------------------
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte <-> printable-character table used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise ModelLoadError(f"{path} is not valid JSON: {e}") from e


class HFTokenizer:
    """A Hugging Face tokenizer folder (``tokenizer.json`` + config) read with ``tokenizers`` alone.

    Gives the chat prompt (the folder's own chat template), token ids, each token's bytes and the
    end-of-turn ids.
    """

    def __init__(self, folder: str | Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        if not (folder / "tokenizer.json").exists():
            raise ModelLoadError(f"{folder} has no tokenizer.json; export the model with "
                                 f"`ecomlm export`, which copies the tokenizer")
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = _read_json(folder / "tokenizer_config.json")
        template = config.get("chat_template")
        if (folder / "chat_template.jinja").exists():
            template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
        if isinstance(template, list):  # named templates: take the default
            template = next((t["template"] for t in template if t.get("name") == "default"), None)
        if not template:
            raise ModelLoadError(f"{folder} has no chat template (tokenizer_config.json chat_template); "
                                 f"export it with `ecomlm export`, which keeps the template")
        self.chat_template = template

        def token_text(value: object) -> str:
            if isinstance(value, dict):
                return str(value.get("content", ""))
            return str(value or "")

        self.bos_token = token_text(config.get("bos_token"))
        self.eos_token = token_text(config.get("eos_token"))
        eos_ids: list[int] = []
        for cfg_name in ("generation_config.json", "config.json"):
            value = _read_json(folder / cfg_name).get("eos_token_id")
            if value is not None:
                eos_ids += value if isinstance(value, list) else [value]
                break
        if self.eos_token and self.tok.token_to_id(self.eos_token) is not None:
            eos_ids.append(self.tok.token_to_id(self.eos_token))
        if not eos_ids:
            raise ModelLoadError(f"{folder} names no EOS token (generation_config.json eos_token_id)")
        self.eos_ids = sorted(set(int(i) for i in eos_ids))
        if not self.eos_token:
            self.eos_token = self.tok.id_to_token(self.eos_ids[0]) or ""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=self.eos_token,
                                              bos_token=self.bos_token, add_generation_prompt=True)
        self.special_ids = {i for i, t in self.tok.get_added_tokens_decoder().items() if t.special}
        end_of_turn = self._end_of_turn_id()
        if end_of_turn is not None and end_of_turn not in self.eos_ids:
            self.eos_ids.append(end_of_turn)
        self.byte_level = '"ByteLevel"' in json.dumps(_read_json(folder / "tokenizer.json").get("decoder"))
        self.vocab_size = self.tok.get_vocab_size(with_added_tokens=True)
        self._bytes: Optional[list[Optional[bytes]]] = None

    def _end_of_turn_id(self) -> Optional[int]:
        """The special token the chat template closes an assistant turn with (``<|im_end|>``)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        probe = Jinja2ChatFormatter(template=self.chat_template, eos_token=self.eos_token,
                                    bos_token=self.bos_token, add_generation_prompt=False)
        try:
            text = probe(messages=[{"role": "user", "content": "x"},
                                   {"role": "assistant", "content": "PROBE"}]).prompt
        except Exception:  # a template that rejects the probe: rely on the configured EOS
            return None
        tail = text.split("PROBE", 1)[1] if "PROBE" in text else ""
        return next((i for i in self.encode(tail) if i in self.special_ids), None)

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        return render_segmented(lambda m: self._formatter(messages=m).prompt, messages)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` as a prompt, no BOS added: special-token text is parsed in template
        text only; the message contents of a ``chat_prompt`` are plain text, never control tokens."""
        return tokenize_segments(text, self._encode_part,
                                 lambda: [self.tok.id_to_token(i) or "" for i in self.special_ids])

    def _encode_part(self, text: str, special: bool) -> list[int]:
        if special:
            return self.tok.encode(text, add_special_tokens=False).ids
        if getattr(self, "_plain", None) is None:  # a copy that spells special-token text as text
            from tokenizers import Tokenizer
            self._plain = Tokenizer.from_str(self.tok.to_str())
            self._plain.encode_special_tokens = True
        return self._plain.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)

    def token_bytes(self) -> list[Optional[bytes]]:
        """Each token id's bytes (``None`` for special tokens, which constrained answers never use)."""
        if self._bytes is None:
            vocab = self.tok.get_vocab(with_added_tokens=True)
            table: list[Optional[bytes]] = [None] * max(self.vocab_size, max(vocab.values()) + 1)
            byte_level = self.byte_level
            inverse = {c: b for b, c in _bytes_to_unicode().items()}
            added = {i: t.content for i, t in self.tok.get_added_tokens_decoder().items()}
            for piece, i in vocab.items():
                if i in self.special_ids:
                    continue
                if i in added:
                    table[i] = added[i].encode("utf-8")
                elif byte_level:
                    try:
                        table[i] = bytes(inverse[c] for c in piece)
                    except KeyError:
                        table[i] = piece.encode("utf-8")
                elif len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
                    table[i] = bytes([int(piece[3:5], 16)])  # SentencePiece byte fallback
                else:
                    table[i] = piece.replace("\u2581", " ").encode("utf-8")
            self._bytes = table
        return self._bytes


# -- constraint automata -----------------------------------------------------------------------------
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


class Automaton:
    """A byte-level automaton accepting exactly a constraint's answers (as to_gbnf's grammar).

    States: ``("L", n, p)`` inside the fixed part of line ``n`` (``p``: its bytes so far);
    ``("V0", n)`` at the start of a free value; ``("V", n)`` inside a free value (a *free* state: every
    byte but a newline stays in it).
    """

    def __init__(self, constraint: Constraint, max_lines: int = MAX_LINES) -> None:
        self.c = constraint
        self.max_lines = max_lines
        if isinstance(constraint, Choice):
            self.items = _Words(o.encode("utf-8") for o in constraint.options)
            self.first = self.items
        elif isinstance(constraint, ChoiceLines):
            self.items = _Words(o.encode("utf-8") for o in constraint.options)
            self.first = _Words(self.items.words + [constraint.none.encode("utf-8")])
        elif isinstance(constraint, PrefixedLines):
            self.items = _Words((p + constraint.sep).encode("utf-8") for p in constraint.prefixes)
            self.first = _Words(self.items.words + [constraint.none.encode("utf-8")])
        elif isinstance(constraint, FreeLines):
            self.items = self.first = _Words([])
        else:
            raise TypeError(f"unknown constraint {constraint!r}")
        self.none = getattr(constraint, "none", None)
        self.none_b = self.none.encode("utf-8") if self.none is not None else None

    def start(self) -> State:
        return ("V0", 0) if isinstance(self.c, FreeLines) else ("L", 0, b"")

    def _words(self, n: int) -> _Words:
        return self.first if n == 0 else self.items

    def step(self, s: State, b: int) -> Optional[State]:
        kind = s[0]
        if kind == "V":
            if b != NL:
                return s
            if s[1] + 1 >= self.max_lines:
                return None
            return ("V0", s[1] + 1) if isinstance(self.c, FreeLines) else ("L", s[1] + 1, b"")
        if kind == "V0":
            return ("V", s[1]) if b not in (NL, SPACE) else None
        n, p = s[1], s[2]
        if isinstance(self.c, PrefixedLines):
            p2 = p + bytes([b])
            if p2 in self.items.set:
                return ("V0", n)
            return ("L", n, p2) if self._words(n).is_prefix(p2) else None
        # Choice / ChoiceLines: p is the current line
        if b == NL and isinstance(self.c, ChoiceLines) and p in self.items.set and n + 1 < self.max_lines:
            return ("L", n + 1, b"")
        p2 = p + bytes([b])
        return ("L", n, p2) if self._words(n).is_prefix(p2) else None

    def final(self, s: State) -> bool:
        kind = s[0]
        if kind == "V":
            return True
        if kind == "V0":
            return False
        n, p = s[1], s[2]
        if n == 0 and self.none_b is not None and p == self.none_b:
            return True
        return not isinstance(self.c, PrefixedLines) and p in self.items.set

    def free(self, s: State) -> bool:
        return s[0] == "V"

    def next_bytes(self, s: State) -> Iterable[int]:
        kind = s[0]
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
        if not isinstance(self.c, (PrefixedLines, FreeLines)):
            done = self._words(n).shortest_completion(last)
            if done is not None and (n == 0 or done in self.items.set):
                return (head + b"\n" if n else b"") + done
        if n:
            return self.finish(head)
        if self.none_b is not None:
            return self.none_b
        return self.items.words[0] if self.items.words else b""


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

    def run(self, first_logits: np.ndarray, step: StepFn, max_tokens: int) -> bytes:
        auto = self.automaton
        s = auto.start()
        logits = first_logits
        text = b""
        for k in range(max_tokens):
            ids = self.allowed(s)
            if auto.final(s):
                ids = np.concatenate([ids, np.asarray(self.eos_ids, dtype=np.int64)])
            if len(ids) == 0:  # cannot happen with a byte-complete vocabulary
                break
            choice = int(ids[int(np.argmax(logits[ids]))])
            if choice in self.eos_ids:
                return text
            piece = self.vocab.bytes_of[choice] or b""
            s = auto.walk(s, piece)
            assert s is not None, "allowed token left the language"
            text += piece
            if k + 1 < max_tokens:
                logits = step([choice])
        return auto.finish(text)


def greedy_free(first_logits: np.ndarray, step: StepFn, max_tokens: int,
                eos_ids: Sequence[int]) -> list[int]:
    """Plain greedy decoding: token ids up to (not including) end of turn."""
    out: list[int] = []
    logits = first_logits
    for k in range(max_tokens):
        choice = int(np.argmax(logits))
        if choice in eos_ids:
            break
        out.append(choice)
        if k + 1 < max_tokens:
            logits = step([choice])
    return out


class DecoderCache:
    """The last few ``ConstrainedDecoder``s by constraint (run_many repeats one constraint)."""

    def __init__(self, tokenizer: HFTokenizer, size: int = 32) -> None:
        self.tokenizer = tokenizer
        self.size = size
        self._vocab: Optional[Vocabulary] = None
        self._decoders: dict[Constraint, ConstrainedDecoder] = {}

    def get(self, constraint: Constraint) -> ConstrainedDecoder:
        dec = self._decoders.pop(constraint, None)
        if dec is None:
            if self._vocab is None:
                self._vocab = Vocabulary(self.tokenizer.token_bytes())
            dec = ConstrainedDecoder(self._vocab, Automaton(constraint), self.tokenizer.eos_ids)
        self._decoders[constraint] = dec
        while len(self._decoders) > self.size:
            self._decoders.pop(next(iter(self._decoders)))
        return dec


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# -- the shared backend logic ---------------------------------------------------------------------------
class TokenLevelBackend:
    """Backend logic over a model that is fed token ids and keeps a KV cache (mixed into a Backend).

    Subclasses set ``self.tokenizer`` (``HFTokenizer``) and ``self.n_ctx`` and implement ``_feed``
    (run new ids after the cached ones; return the last position's logits) and ``_crop`` (keep the
    first ``n`` cached positions). Consecutive prompts that share a prefix reuse its cache.
    """

    tokenizer: HFTokenizer
    n_ctx: int

    def _setup_decoding(self) -> None:
        self._cached: list[int] = []
        self._decoders = DecoderCache(self.tokenizer)

    def _feed(self, ids: Sequence[int]) -> np.ndarray:
        raise NotImplementedError

    def _crop(self, n: int) -> None:
        raise NotImplementedError

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        return self.tokenizer.chat_prompt(messages)

    def tokenize(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def _step(self, ids: Sequence[int]) -> np.ndarray:
        deadline.check()  # before every forward pass: a timed-out call stops with the cache intact
        self._cached.extend(int(i) for i in ids)
        return self._feed(ids)

    def _prefill(self, ids: Sequence[int]) -> np.ndarray:
        from ..errors import ContextOverflowError
        if not ids:
            raise ValueError("empty prompt")
        if len(ids) >= self.n_ctx:
            raise ContextOverflowError(f"the prompt has {len(ids)} tokens but the context holds {self.n_ctx}")
        keep = min(common_prefix(self._cached, ids), len(ids) - 1)
        if keep < len(self._cached):
            self._crop(keep)
            del self._cached[keep:]
        return self._step(ids[keep:])

    def _budget(self, n_prompt: int, max_tokens: int) -> int:
        return max(0, min(max_tokens, self.n_ctx - n_prompt))

    def greedy_ids(self, prompt_ids: Sequence[int], max_tokens: int) -> list[int]:
        """Unconstrained greedy continuation of ``prompt_ids`` (token ids, end of turn excluded)."""
        logits = self._prefill(list(prompt_ids))
        return greedy_free(logits, self._step, self._budget(len(prompt_ids), max_tokens),
                           self.tokenizer.eos_ids)

    def generate(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None) -> str:
        ids = self.tokenizer.encode(prompt)
        if constraint is None:
            return self.tokenizer.decode(self.greedy_ids(ids, max_tokens))
        logits = self._prefill(ids)
        decoder = self._decoders.get(constraint)
        out = decoder.run(logits, self._step, self._budget(len(ids), max_tokens))
        return out.decode("utf-8", errors="replace")
