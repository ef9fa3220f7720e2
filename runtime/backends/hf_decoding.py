"""Constraint-guided greedy decoding over token ids, shared by the ONNX Runtime and PyTorch backends.

Each decoding step picks the most likely token among those that keep the answer a valid prefix of
the constraint's language (``automaton.py``; end of turn only once the answer is complete). So the
answer is always in the constraint's language, whatever the prompt says; any spelling of an option
in tokens is allowed, as with a grammar. This module holds the tokenizer (``tokenizers`` alone) and
the backend logic over a token-fed model with a KV cache.

This module needs only numpy, ``tokenizers`` and jinja2 (via llama-cpp-python's chat formatter); it
never imports torch.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .. import deadline
from ..constraints import Constraint
from ..errors import ModelLoadError
from .automaton import DecoderCache, greedy_free, log_softmax
from .beam import beam_search
from .chat_segments import render_segmented, tokenize_segments
from .prompt_cache import block_passes
from .sampling import GREEDY, Picker


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
        try:
            self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # tokenizers raises its own exception type for a damaged file
            raise ModelLoadError(f"{folder / 'tokenizer.json'} is not a tokenizer the `tokenizers` "
                                 f"library can read ({str(e)[:200]}); export the model again with "
                                 f"`ecomlm export`, which copies the tokenizer") from None
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

    def encode_text(self, text: str) -> list[int]:
        """Token ids of user text (an option, a label): special-token text stays plain text."""
        return self._encode_part(text, False)

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


#: positions per prompt pass (``prompt_cache.block_passes``): a call evaluates again at most this many
#: cached tokens, so that its answer does not depend on what was asked before
PROMPT_BLOCK = 16


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

    def _crop(self, n: int) -> Optional[bool]:
        """Keep the first ``n`` cached positions; ``False`` when the cache cannot be cut there
        (a sliding-window layer past its window) and was dropped instead."""
        raise NotImplementedError

    def _truncate(self, n: int) -> bool:
        """Cut the cache to ``n`` positions; ``False`` when it had to be dropped entirely."""
        if n < len(self._cached):
            if self._crop(n) is False:
                self._cached.clear()
                return False
            del self._cached[n:]
        return True

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
        passes = block_passes(self._cached, ids, PROMPT_BLOCK)  # the same passes whatever is cached
        if not self._truncate(passes[0][0]):
            passes = block_passes([], ids, PROMPT_BLOCK)
        for a, b in passes:
            logits = self._step(ids[a:b])
        return logits

    def _budget(self, n_prompt: int, max_tokens: int) -> int:
        return max(0, min(max_tokens, self.n_ctx - n_prompt))

    def greedy_ids(self, prompt_ids: Sequence[int], max_tokens: int, no_repeat_ngram: int = 0,
                   pick: Picker = GREEDY) -> list[int]:
        """Unconstrained greedy continuation of ``prompt_ids`` (token ids, end of turn excluded)."""
        logits = self._prefill(list(prompt_ids))
        return greedy_free(logits, self._step, self._budget(len(prompt_ids), max_tokens),
                           self.tokenizer.eos_ids, no_repeat_ngram, pick)

    def option_logprobs(self, prompt: str, options: Sequence[str]) -> list[float]:
        """Each option's tokens + end of turn, scored after ``prompt`` (the prompt's cache is reused)."""
        ids = self.tokenizer.encode(prompt)
        first = log_softmax(self._prefill(ids))
        eos = self.tokenizer.eos_ids[0]
        out = []
        for option in options:
            seq = self.tokenizer.encode_text(option) + [eos]
            total = float(first[seq[0]])
            for k in range(1, len(seq)):
                total += float(log_softmax(self._step([seq[k - 1]]))[seq[k]])
            if not self._truncate(len(ids)):
                self._prefill(ids)
            out.append(total)
        return out

    def generate(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                 no_repeat_ngram: int = 0, pick: Picker = GREEDY) -> str:
        ids = self.tokenizer.encode(prompt)
        if constraint is None:
            return self.tokenizer.decode(self.greedy_ids(ids, max_tokens, no_repeat_ngram, pick))
        logits = self._prefill(ids)
        decoder = self._decoders.get(constraint)
        out = decoder.run(logits, self._step, self._budget(len(ids), max_tokens), no_repeat_ngram, pick)
        return out.decode("utf-8", errors="replace")

    def generate_beam(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                      width: int, length_normalized: bool = False, no_repeat_ngram: int = 0) -> str:
        """The answer of a ``width``-wide beam search (``beam.py``) over this backend's one KV cache:
        each partial answer is fed again after the prefix it shares with the cache (``_ReplayBeams``)."""
        if width < 2:
            return self.generate(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram)
        ids = self.tokenizer.encode(prompt)
        first = self._prefill(ids)
        decoder = self._decoders.get(constraint) if constraint is not None else None
        token_bytes = self.tokenizer.token_bytes()
        # a padded embedding table has more logits than tokens: the padding is never a candidate
        out = beam_search(first, _ReplayBeams(self, ids), decoder, width=width,
                          budget=self._budget(len(ids), max_tokens), eos=self.tokenizer.eos_ids,
                          token_bytes=token_bytes, n_vocab=min(len(first), len(token_bytes)),
                          length_normalized=length_normalized, no_repeat_ngram=no_repeat_ngram)
        return out.decode("utf-8", errors="replace")


class _ReplayBeams:
    """``beam.BeamDriver`` over a ``TokenLevelBackend``'s single KV cache. A partial answer is its
    token tuple; a child is evaluated by cutting the cache to the longest prefix it shares with what
    is cached and feeding the rest one token a pass, as greedy decoding feeds its answer, so its
    logits are those greedy decoding would get. Children are taken in token order, so that siblings
    share their prefix: a step costs the width's answers' divergent tokens, not the prompt."""

    root: tuple[int, ...] = ()

    def __init__(self, backend: TokenLevelBackend, prompt: Sequence[int]) -> None:
        self.b = backend
        self.prompt = list(prompt)

    def extend(self, children: Sequence[tuple[tuple[int, ...], int, int]]) -> list[tuple[tuple[int, ...], np.ndarray]]:
        out: list = [None] * len(children)
        for i in sorted(range(len(children)), key=lambda i: (*children[i][0], children[i][1])):
            parent, token, _ = children[i]
            seq = self.prompt + list(parent) + [token]
            cached = self.b._cached
            k = next((j for j, (a, c) in enumerate(zip(cached, seq)) if a != c), min(len(cached), len(seq)))
            k = min(k, len(seq) - 1)  # the last token is always fed: its logits are wanted
            if k < len(self.prompt) or not self.b._truncate(k):
                self.b._prefill(self.prompt)  # the cache could not be cut inside the answer
                k = len(self.prompt)
            for t in seq[k:]:
                logits = self.b._step([t])
            out[i] = (parent + (token,), logits)
        return out

