"""How closely an exported artifact follows the PyTorch model it came from.

A fixed set of real task prompts (rendered through the catalog and the model's chat template) is run
through the PyTorch model: its greedy continuation and next-token distributions are the reference.
Each artifact is then compared on the same token ids:

- ``greedy_exact``: share of prompts whose greedy continuation is identical token for token;
- ``greedy_token_agreement``: share of reference tokens reproduced before the first divergence;
- ``teacher_forced_top1``: share of positions (fed the reference tokens) whose top token agrees;
- ``mean_kl`` / ``max_kl``: KL(reference || artifact) of next-token distributions over those positions;
- ``max_abs_logit_diff``.

The task-score delta (held-out slice, artifact vs PyTorch) is ``task_score.py``'s, not this module's.
Speed (prompt and generation tokens/s) is measured on the same prompts when asked.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional, Protocol, Sequence

import numpy as np

from ecomlm.runtime import catalog

#: (task, fields): the fixed prompt set. Inputs are short and varied (classification, extraction,
#: matching, QA, generation) so the check takes seconds on a 135M model.
PARITY_PROMPTS: tuple[tuple[str, dict], ...] = (
    ("sentiment", {"text": "The battery died after two days and support never answered.",
                   "labels": ["positive", "negative", "neutral"]}),
    ("ner", {"text": "Apple iPhone 15 Pro Max 256GB in Natural Titanium, sold by Best Buy.",
             "types": ["brand", "product", "color", "capacity"]}),
    ("attribute_extraction", {"text": "Nike Air Zoom Pegasus 40 running shoes, men's size 10, black/white",
                              "attributes": ["Brand", "Size", "Color"]}),
    ("query_match", {"query": "wireless noise cancelling headphones",
                     "product": "Sony WH-1000XM5 Wireless Noise Canceling Over-Ear Headphones"}),
    ("aspect_extraction", {"text": "Great screen and keyboard, but the fan is loud and the price is high."}),
    ("qa", {"question": "How long does the battery last?",
            "context": "I bought this speaker last month. The battery lasts about 10 hours at medium "
                       "volume, and it charges over USB-C in two hours."}),
    ("title_generation", {"specs": {"brand": "Logitech", "type": "wireless mouse", "color": "graphite",
                                    "feature": "silent clicks"}}),
    ("review_topic", {"text": "The waiter forgot our order twice, but the pasta was excellent.",
                      "labels": ["Food", "Service", "Price", "Ambience"]}),
)

#: strings whose token ids must not drift between the Hugging Face tokenizer and an artifact
TRICKY_STRINGS: tuple[str, ...] = (
    "Hello world", "  leading spaces and\ttabs\n\nnewlines", "naïve café — “quotes” … ½ °C",
    "emoji 👍🏽🔋 and ✓", "中文商品标题：无线耳机", "Ünïcödé ẞ straße", "<|im_start|>user\nhi<|im_end|>\n",
    "SKU: AB-1234/x, $19.99 (-15%)", "1234567890 3.14159 1e-5",
)


class Scorer(Protocol):
    """What an artifact must offer to be compared (a backend with token-level access)."""

    def logits(self, ids: Sequence[int]) -> np.ndarray: ...

    def greedy_ids(self, prompt_ids: Sequence[int], max_tokens: int) -> list[int]: ...


@dataclass
class Reference:
    """The PyTorch model's answers on the prompt set."""

    prompts: list[list[int]]
    continuations: list[list[int]]
    logits: list[np.ndarray]  # per prompt: [len(continuation) + 1, vocab] at the answer positions
    tokenizer_ids: list[list[int]] = field(default_factory=list)  # TRICKY_STRINGS tokenized


@dataclass
class ParityReport:
    n_prompts: int
    n_reference_tokens: int
    greedy_exact: float
    greedy_token_agreement: float
    teacher_forced_top1: float
    mean_kl: float
    max_kl: float
    max_abs_logit_diff: float
    tokenizer_match: Optional[float] = None

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def prompt_ids(tokenizer, prompts: Sequence[tuple[str, dict]] = PARITY_PROMPTS) -> list[list[int]]:
    """Token ids of the fixed prompts, rendered with the model's chat template."""
    out = []
    for name, fields in prompts:
        task = catalog.get_task(name)
        messages = catalog.build_messages(task, catalog.normalize_fields(task, fields))
        out.append(tokenizer.encode(tokenizer.chat_prompt(messages)))
    return out


def build_reference(torch_backend, max_new_tokens: int = 24, n_prompts: Optional[int] = None) -> Reference:
    """Greedy continuations and answer-position logits of the PyTorch model (first ``n_prompts``)."""
    prompts = prompt_ids(torch_backend.tokenizer)[:n_prompts]
    conts, logits = [], []
    for ids in prompts:
        cont = torch_backend.greedy_ids(ids, max_new_tokens)
        conts.append(cont)
        logits.append(torch_backend.logits(ids + cont)[len(ids) - 1:])
    tok_ids = [torch_backend.tokenizer.encode(s) for s in TRICKY_STRINGS]
    return Reference(prompts, conts, logits, tok_ids)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class RowDivergence(NamedTuple):
    """How an artifact's next-token logits differ from the reference's, row by row (positions)."""

    top1_agrees: np.ndarray  # bool per row: the two top tokens are the same
    kl: np.ndarray           # KL(reference || artifact) per row
    artifact_top: np.ndarray  # the artifact's top token per row
    max_abs_diff: float      # the largest logit difference of all rows


def row_divergence(reference: np.ndarray, artifact: np.ndarray) -> RowDivergence:
    """``RowDivergence`` of two (rows, vocabulary) logit arrays, over the vocabulary they share (an
    artifact may pad its embedding table)."""
    vocab = min(artifact.shape[-1], reference.shape[-1])
    a, r = artifact[:, :vocab], reference[:, :vocab]
    lr, la = _log_softmax(r), _log_softmax(a)
    return RowDivergence(a.argmax(-1) == r.argmax(-1), (np.exp(lr) * (lr - la)).sum(-1), a.argmax(-1),
                         float(np.abs(a - r).max()))


def compare(ref: Reference, scorer: Scorer, tokenize=None) -> ParityReport:
    """Parity of ``scorer`` against ``ref`` (``tokenize``: the artifact's own tokenizer, if it has one)."""
    exact = agree = total = top1 = positions = 0
    kls: list[float] = []
    max_diff = 0.0
    for ids, cont, ref_logits in zip(ref.prompts, ref.continuations, ref.logits):
        got = scorer.greedy_ids(ids, len(cont) if cont else 1)
        exact += got == cont
        n = 0
        while n < min(len(got), len(cont)) and got[n] == cont[n]:
            n += 1
        agree += n
        total += len(cont)
        d = row_divergence(ref_logits, scorer.logits(ids + cont)[len(ids) - 1:])
        top1 += int(d.top1_agrees.sum())
        positions += len(ref_logits)
        kls.extend(d.kl.tolist())
        max_diff = max(max_diff, d.max_abs_diff)
    match = None
    if tokenize is not None:
        match = float(np.mean([tokenize(s) == want for s, want in zip(TRICKY_STRINGS, ref.tokenizer_ids)]))
    return ParityReport(
        n_prompts=len(ref.prompts), n_reference_tokens=total,
        greedy_exact=exact / len(ref.prompts), greedy_token_agreement=agree / max(total, 1),
        teacher_forced_top1=top1 / max(positions, 1), mean_kl=float(np.mean(kls)),
        max_kl=float(np.max(kls)), max_abs_logit_diff=max_diff, tokenizer_match=match)


def measure_speed(scorer, ref: Reference, n_gen: int = 32, prompt_tokens: int = 256, repeats: int = 3) -> dict:
    """Prompt tokens/s (prefill of a ~``prompt_tokens`` prompt) and generation tokens/s (one token a
    step, KV cache on), for a scorer with ``logits``/``step_timing`` support: the fastest of
    ``repeats`` timings each, so that a moment of load on a shared machine does not set the figure."""
    long_prompt = [t for ids in ref.prompts for t in ids][:prompt_tokens]
    scorer.logits(long_prompt[:16])  # warm up
    t_prompt = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        scorer.logits(long_prompt)
        t_prompt = min(t_prompt, time.perf_counter() - t0)
    feed = (ref.continuations[0] * (n_gen // max(len(ref.continuations[0]), 1) + 1))[:n_gen] or [0] * n_gen
    t_gen = min(scorer.time_steps(ref.prompts[0], feed) for _ in range(max(1, repeats)))
    return {"prompt_tokens": len(long_prompt), "prompt_tokens_per_s": round(len(long_prompt) / t_prompt, 1),
            "generated_tokens": len(feed), "generation_tokens_per_s": round(len(feed) / t_gen, 1),
            "timing": f"best of {max(1, repeats)}"}


# -- scorers for each artifact kind -------------------------------------------------------------------
class TokenBackendScorer:
    """A ``TokenLevelBackend`` (torch, onnxruntime) as a scorer."""

    def __init__(self, backend) -> None:
        self.backend = backend

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        return self.backend.logits(ids)

    def greedy_ids(self, prompt_ids: Sequence[int], max_tokens: int) -> list[int]:
        return self.backend.greedy_ids(prompt_ids, max_tokens)

    def tokenize(self, text: str) -> list[int]:
        return self.backend.tokenize(text)

    def time_steps(self, prompt: Sequence[int], feed: Sequence[int]) -> float:
        b = self.backend
        b._crop(0)
        b._cached = []
        b._prefill(list(prompt))
        t0 = time.perf_counter()
        for tok in feed:
            b._step([tok])
        return time.perf_counter() - t0


class GGUFScorer:
    """A GGUF file on llama.cpp, fed token ids directly."""

    def __init__(self, path: Path, n_threads: int = 2, n_ctx: int = 2048) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), logits_all=True, n_ctx=n_ctx, n_threads=n_threads,
                         n_threads_batch=n_threads, n_batch=512, verbose=False)

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[:len(ids)], dtype=np.float32)

    def greedy_ids(self, prompt_ids: Sequence[int], max_tokens: int) -> list[int]:
        import llama_cpp

        self.llm.reset()
        vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        out: list[int] = []
        for tok in self.llm.generate(list(prompt_ids), top_k=1, top_p=1.0, min_p=0.0, temp=0.0,
                                     repeat_penalty=1.0, reset=True):
            if llama_cpp.llama_vocab_is_eog(vocab, tok) or len(out) >= max_tokens:
                break
            out.append(int(tok))
        return out

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def time_steps(self, prompt: Sequence[int], feed: Sequence[int]) -> float:
        self.llm.reset()
        self.llm.eval(list(prompt))
        t0 = time.perf_counter()
        for tok in feed:
            self.llm.eval([tok])
        return time.perf_counter() - t0

    def close(self) -> None:
        self.llm.close()
