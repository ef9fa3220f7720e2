"""Copy constraints on llama.cpp: the byte automata of ``automaton.py`` run as a logits processor.

A GBNF grammar cannot say "a substring of this input" in reasonable size, so ``CopyLines`` answers
(entities, attribute values, answer spans) are decoded on llama.cpp with the same automaton the
ONNX/PyTorch backends use: at each step every token that would leave the language gets -inf.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .automaton import ConstrainedDecoder, DecoderCache


class LlamaVocabulary:
    """A llama.cpp model's token bytes (``None`` for control tokens) and end-of-turn ids, as
    ``DecoderCache`` reads them from a tokenizer."""

    def __init__(self, llm: Any, eos_ids: Sequence[int]) -> None:
        self.llm = llm
        self.eos_ids = sorted({int(i) for i in eos_ids})

    def token_bytes(self) -> list[Optional[bytes]]:
        import ctypes

        import llama_cpp

        vocab = self.llm._model.vocab
        buf = ctypes.create_string_buffer(256)
        out: list[Optional[bytes]] = []
        for i in range(self.llm.n_vocab()):
            # the piece's real length (llama-cpp-python's own token_to_piece returns the whole buffer)
            n = llama_cpp.llama_token_to_piece(vocab, i, buf, len(buf), 0, False)
            out.append(buf.raw[:n] if n > 0 else None)
        return out


class AutomatonProcessor:
    """A llama-cpp-python logits processor that keeps a greedy answer inside ``decoder``'s language.

    It follows the tokens generated after the first ``n_prompt`` ones and masks every token that
    would leave the language (end of turn only once the answer is complete)."""

    def __init__(self, decoder: ConstrainedDecoder, n_prompt: int) -> None:
        self.decoder = decoder
        self.n_prompt = n_prompt
        self.seen = n_prompt
        self.state: Any = decoder.automaton.start()
        self.eos = np.asarray(decoder.eos_ids, dtype=np.int64)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        auto, vocab = self.decoder.automaton, self.decoder.vocab
        for token in input_ids[self.seen:]:
            if self.state is not None:
                self.state = auto.walk(self.state, vocab.bytes_of[int(token)] or b"")
        self.seen = len(input_ids)
        ids = self.decoder.allowed_or_end(self.state) if self.state is not None else self.eos
        if len(ids) == 0:
            ids = self.eos
        out = np.full_like(scores, -np.inf)
        out[ids] = scores[ids]
        return out

    def finish(self, text: str) -> str:
        """The answer made acceptable when the token budget cut it off (see ``Automaton.finish``)."""
        return self.decoder.automaton.finish(text.encode("utf-8")).decode("utf-8", errors="replace")


def copy_decoders(llm: Any, eos_ids: Sequence[int]) -> DecoderCache:
    """A decoder cache over ``llm``'s vocabulary (built on first use: one pass over the vocabulary)."""
    return DecoderCache(LlamaVocabulary(llm, eos_ids), size=4)
