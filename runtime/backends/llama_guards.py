"""Guards around llama-cpp-python that keep bad input from crashing or pinning the process.

- ``checked_grammar``: llama-cpp-python hands a GBNF string to libllama unchecked, and a grammar
  that does not parse (a NUL byte cuts the C string short) gives a NULL sampler that crashes the
  process. Here the grammar is parsed once by libllama first; one that fails raises. An option that
  spells a control token (``<|im_end|>``) is refused too: the model can only produce that text as
  the control token itself, which ends its turn, so the answer would be empty.
- ``deadline_llama_class``: a ``Llama`` whose ``eval`` checks the calling thread's deadline
  (``runtime.deadline``) before each chunk of ``DEADLINE_CHUNK`` prompt tokens and before each
  generated token, so a timed-out call stops and frees the model instead of running on. Without a
  deadline, evaluation is llama.cpp's own, batch for batch.
- ``control_token_texts``: the text of every control token of the vocabulary (for templates whose
  message contents cannot be told apart, see ``chat_segments.py``).
"""
from __future__ import annotations

from typing import Any

from .. import deadline
from ..errors import InvalidInputError
from .prompt_cache import prompt_passes

_CLASSES: dict[type, type] = {}
#: prompt tokens evaluated between two deadline checks when a deadline is set (a 512-token batch
#: took over 3 s on a busy 2-core machine; 64 keeps a timed-out call's overrun to a fraction of that)
DEADLINE_CHUNK = 64


def checked_grammar(llm: Any, grammar_cls: Any, gbnf: str) -> Any:
    """``grammar_cls.from_string(gbnf)`` once libllama has parsed ``gbnf`` without error."""
    import llama_cpp

    if "\x00" in gbnf:
        raise InvalidInputError("an option holds a NUL character, which cannot be part of a decoding "
                                "grammar; remove it")
    for token in control_token_texts(llm):
        if token in gbnf:  # the model would end its turn (or worse) instead of writing it
            raise InvalidInputError(f"an option holds {token!r}, one of the model's control tokens, "
                                    f"which it cannot write as an answer; rename that option")
    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode("utf-8"), b"root")
    if not sampler:
        raise InvalidInputError("the options could not be turned into a decoding grammar (llama.cpp "
                                "rejected it); use plain-text labels")
    llama_cpp.llama_sampler_free(sampler)
    return grammar_cls.from_string(gbnf, verbose=False)


def deadline_llama_class(llama_cls: type) -> type:
    """A subclass of ``llama_cls`` (llama_cpp.Llama) whose evaluation stops at the thread's deadline."""
    cls = _CLASSES.get(llama_cls)
    if cls is None:
        class DeadlineLlama(llama_cls):  # type: ignore[misc, valid-type]
            def eval(self, tokens: Any) -> None:
                if deadline.current() is None:  # no limit: llama.cpp's own batching, unchanged
                    super().eval(tokens)
                    return
                # passes of several rows (prompt_cache.py): the same logits as without a deadline
                for a, b in prompt_passes(0, len(tokens), min(int(self.n_batch), DEADLINE_CHUNK)):
                    deadline.check()
                    super().eval(tokens[a:b])

        cls = _CLASSES[llama_cls] = DeadlineLlama
    return cls


def control_token_texts(llm: Any) -> list[str]:
    """The texts of the vocabulary's control tokens (cached on ``llm``)."""
    cached = getattr(llm, "_ecomlm_control_texts", None)
    if cached is not None:
        return cached
    import llama_cpp

    vocab = llm._model.vocab
    texts = []
    for i in range(llm.n_vocab()):
        if llama_cpp.llama_vocab_get_attr(vocab, i) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
            text = llm.detokenize([i], special=True).decode("utf-8", errors="replace")
            if text:
                texts.append(text)
    llm._ecomlm_control_texts = texts
    return texts


__all__ = ["checked_grammar", "control_token_texts", "deadline_llama_class"]
