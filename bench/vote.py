"""NER's default call (a vote of 8 answers) with its samples decoded side by side vs one after another.

``EcomModel.run("ner", ...)`` writes the greedy answer and 7 seeded samples and keeps the spans 3 of
them hold. On llama.cpp the samples are decoded together, one ``llama_decode`` a step for all of them
(``runtime/backends/llama_parallel.py``); ``parallel_samples=False`` decodes them one after another.
Two copies of the model, one each way, take turns title by title (so a busy machine slows them
alike, and each copy sees the same prompts in the same order, so their caches match), and the
report gives items/s of each, their ratio, and how many titles got the same kept spans, the same
greedy answer and the same 8 answers (a batch's rounding differs from a single row's, so a sample can differ).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence


def compare_vote(load: Callable[..., Any], fields: Sequence[dict[str, Any]],
                 progress: Optional[Callable[[], None]] = None) -> Optional[dict[str, Any]]:
    """Run NER's default vote on ``fields`` (the first is a warm-up) with ``load(parallel_samples=...)``
    models; ``None`` when the backend has no parallel samples (not llama.cpp)."""
    parallel = load(parallel_samples=True)
    if not hasattr(parallel.backend, "parallel_samples"):
        parallel.close()
        return None
    models = {"parallel": parallel}
    seconds = {"parallel": 0.0, "sequential": 0.0}
    results: dict[str, list[Any]] = {"parallel": [], "sequential": []}
    try:
        models["sequential"] = load(parallel_samples=False)
        for model in models.values():
            model.run("ner", **fields[0])
        names = list(models)
        for i in range(1, len(fields)):
            for k in range(len(names)):
                name = names[(i + k) % len(names)]
                t0 = time.perf_counter()
                result = models[name].run("ner", **fields[i])
                seconds[name] += time.perf_counter() - t0
                results[name].append(result)
                if progress is not None:
                    progress()
    finally:
        for model in models.values():
            model.close()
    n = len(fields) - 1
    pairs = list(zip(results["parallel"], results["sequential"]))
    return {"items": n, "answers": len(results["parallel"][0].written or [None]) if n else 0,
            "parallel_items_s": n / seconds["parallel"], "sequential_items_s": n / seconds["sequential"],
            "gain": seconds["sequential"] / seconds["parallel"],
            "same_kept": sum(_kept(a) == _kept(b) for a, b in pairs),
            "same_greedy": sum((a.written or [a.raw])[0] == (b.written or [b.raw])[0] for a, b in pairs),
            "same_written": sum(a.written == b.written for a, b in pairs)}


def _kept(result: Any) -> Any:
    """What a vote kept: its spans as a set (their order is the order the answers first held them,
    which a changed sample can change), else its answer text."""
    spans = getattr(result, "spans", None)
    return sorted((s.type or "", s.start, s.end) for s in spans) if spans is not None else result.raw


__all__ = ["compare_vote"]
