"""Which prompt tokens a backend evaluates, and in which passes, when the previous prompt is cached.

Consecutive calls share the task's instruction, so a backend keeps the previous prompt's cache and
evaluates only what follows the common prefix (``reusable_prefix``). But a row's logits depend on
its pass: on llama.cpp a one-row pass takes other kernels than a several-row one (batched float16
products go through llamafile's sgemm; bench/BENCH.md, "Decoding several tokens per pass"), and on
PyTorch a row's values depend on how many rows its pass has (about 5e-5 on a model as wide as
SmolLM2-135M). Which rows share a pass with the last token depends on what was cached, so the same
prompt could get other logits on its first call than when asked again, and a near-tie could flip the
answer (some NER answers of the shipped model did; the Lenovo title of ``tests/test_repeatable_calls.py``
is one).

So every prompt is evaluated the same way whatever came before:
- llama.cpp (``llama_prompt_passes``): its last token in a pass of its own and the
  tokens before it in passes of several rows; there a several-row pass gives each row the same
  values whatever else it holds;
- ONNX Runtime and PyTorch (``block_passes``): in passes aligned to fixed blocks of positions, so
  that each pass holds the same rows whatever was cached (up to a block's worth of cached tokens is
  evaluated again).
``tests/test_repeatable_calls.py`` checks the logits for equality.
"""
from __future__ import annotations

from typing import Sequence


def reusable_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens of ``tokens`` a cache holding ``cached`` can keep: their common prefix,
    but never the last token, which is evaluated again for its logits."""
    keep = 0
    limit = min(len(cached), len(tokens) - 1)
    while keep < limit and cached[keep] == tokens[keep]:
        keep += 1
    return keep


def prompt_passes(start: int, end: int, step: int) -> list[tuple[int, int]]:
    """Positions ``[start, end)`` as passes of at most ``step`` tokens (3 at least), none of a
    single token unless the whole range is one token."""
    step = max(3, step)  # so that the pass before a one-token remainder can give it a token
    bounds = list(range(start, end, step)) + [end]
    passes = list(zip(bounds, bounds[1:]))
    if len(passes) > 1 and passes[-1][1] - passes[-1][0] == 1:
        passes[-2:] = [(passes[-2][0], end - 2), (end - 2, end)]
    return passes


def prompt_start(cached: Sequence[int], tokens: Sequence[int]) -> int:
    """Where evaluating ``tokens`` starts after a cache holding ``cached`` (``reusable_prefix``),
    moved back one token where only one new token would come before the last: the tokens before the
    last are then always evaluated in passes of several rows, and the last one alone, so a prompt
    gets the same logits on its first call as when asked again, whatever was asked before it."""
    keep = reusable_prefix(cached, tokens)
    return keep - 1 if keep > 0 and len(tokens) - 1 - keep == 1 else keep


def llama_prompt_passes(cached: Sequence[int], tokens: Sequence[int], step: int) -> list[tuple[int, int]]:
    """The passes that evaluate ``tokens`` on llama.cpp after a cache holding ``cached``: from
    ``prompt_start``, the tokens before the last in passes of several rows of at most ``step``
    (``prompt_passes``), then the last token alone; the first pass starts where the cache is cut."""
    keep, last = prompt_start(cached, tokens), len(tokens) - 1
    return prompt_passes(keep, last, step) + [(last, last + 1)]


def block_passes(cached: Sequence[int], tokens: Sequence[int], block: int) -> list[tuple[int, int]]:
    """The passes that evaluate ``tokens`` after a cache holding ``cached``: from the start of the
    block where the reusable prefix ends, one block of positions ``[k * block, (k + 1) * block)``
    at a time (the last one ends with the prompt)."""
    keep = reusable_prefix(cached, tokens)
    bounds = list(range(keep - keep % block, len(tokens), block)) + [len(tokens)]
    return list(zip(bounds, bounds[1:]))
