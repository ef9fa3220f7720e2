"""The interface every inference backend (llama.cpp, ONNX Runtime, PyTorch) implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Optional, Sequence

from ..constraints import Constraint
from .sampling import GREEDY, Picker


class Backend(ABC):
    """A loaded model that renders chat prompts, counts tokens and decodes greedily.

    ``generate`` must honour ``constraint`` exactly: the text it returns is accepted by the
    constraint (see ``constraints.py``), whatever the prompt says.
    """

    #: short name shown to users: "llama.cpp", "onnxruntime", "torch"
    name: str = ""
    #: context window in tokens (prompt + answer)
    n_ctx: int = 0
    #: where the weights came from (a path), for reports
    source: str = ""

    @abstractmethod
    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """Render ``messages`` with the model's own chat template, ending with the assistant header."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` as the model tokenizes a prompt."""

    @abstractmethod
    def generate(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                 no_repeat_ngram: int = 0, pick: Picker = GREEDY) -> str:
        """Greedy continuation of ``prompt`` (at most ``max_tokens`` tokens, stops at end of turn);
        ``no_repeat_ngram`` > 0: no answer token completes an ``n``-gram of that size the answer
        already holds (``automaton.repeat_bans``); ``pick``: another way to choose each token, e.g.
        a seeded ``sampling.EpsilonSampler``."""

    def generate_many(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                      picks: Sequence[Picker], no_repeat_ngram: int = 0) -> list[str]:
        """One ``generate`` answer per picker in ``picks`` (the samples of a vote or consensus), in
        that order. Backends that can decode them side by side override this."""
        return [self.generate(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram, pick=p)
                for p in picks]

    def generate_beam(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                      width: int, length_normalized: bool = False, no_repeat_ngram: int = 0) -> str:
        """The answer of a ``width``-wide beam search under ``constraint`` (``beam.py``: the complete
        answer of the highest summed log-probability, or mean per token with ``length_normalized``).
        Backends that can search override this; the others answer greedily."""
        return self.generate(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram)

    def option_logprobs(self, prompt: str, options: Sequence[str]) -> list[float]:
        """Log-probability of each option's tokens followed by end of turn, as the answer to
        ``prompt`` (label scoring for calibration). Backends that cannot score say so."""
        raise NotImplementedError(f"the {self.name} backend cannot score options")

    def close(self) -> None:
        """Free the model's memory (optional)."""
