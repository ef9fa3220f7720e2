"""Running models on the held-out tasks and scoring them: the function behind ``ecomlm eval``."""
from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError

from . import metrics
from .heldout import HeldoutTask, load_heldout
from .journal import EvalJournal, file_identity, items_digest, shipped_beams
from .mapping import METRIC_NAMES, Answer, TaskMapping, gold, mapping_for, prediction


@dataclass
class EvalConfig:
    """What ``ecomlm eval`` runs: held-out folder, models, backend, slice, output folder."""

    heldout: Path
    models: list[str]
    out: Path
    backend: Optional[str] = None
    limit: Optional[int] = None
    tasks: Optional[list[str]] = None
    n_ctx: int = 4096
    n_threads: Optional[int] = None
    progress: bool = True
    calibrate: Optional[bool] = None  # label calibration: None = each task's default
    retype: Optional[bool] = None     # span retyping: None = each task's default
    chunk: Optional[bool] = None      # long span-task inputs read in pieces: None = each task's default
    no_repeat_ngram: Optional[int] = None  # free text never repeats an n-gram of this size: None = the kind's
    consensus_of: Optional[int] = None  # free text, spans: agreed among this many answers: None = each task's default
    beams: Optional[int] = None  # the first answer found by a beam search this wide: None = the model's setting for each task
    specialists: bool = True          # False: every task answered by the model's one adapter (ablation)
    copy_spans: bool = True           # False: spans decoded as free lines (ablation)
    parallel_samples: bool = True     # False: a vote's samples decoded one after another (llama.cpp)
    force_allow_none: bool = False    # True: "None" allowed even where the mapping requires an answer
    resume: bool = False              # True: continue the stopped run whose journal is in ``out``
    fresh: bool = False               # True: discard the stopped run's journal in ``out``, start over


@dataclass
class Example:
    """One scored example: what the model answered and what the gold answer is."""

    task: str
    index: int
    catalog_task: str
    pred: Answer
    gold: Answer
    raw: Optional[str] = None
    #: every answer written for the item where it kept a consensus of several (greedy first)
    written: Optional[list[str]] = None
    dropped: int = 0
    error: Optional[str] = None
    seconds: float = 0.0

    def to_json(self, model: str) -> dict[str, Any]:
        return {"model": model, "task": self.task, "index": self.index, "catalog_task": self.catalog_task,
                "pred": self.pred.to_json(), "gold": self.gold.to_json(), "raw": self.raw,
                "dropped": self.dropped, "error": self.error, "seconds": round(self.seconds, 4),
                **({"written": self.written} if self.written else {})}


@dataclass
class ModelRun:
    """All examples of one model, with load and run times."""

    ref: str
    backend: str
    load_s: float
    examples: dict[str, list[Example]] = field(default_factory=dict)
    run_s: float = 0.0
    #: items read back from an earlier, stopped part of the run (``journal.py``) instead of answered
    resumed: int = 0


def score_examples(examples: Sequence[Example], task: HeldoutTask,
                   mapping: TaskMapping) -> dict[str, Optional[float]]:
    """``{"n", "micro_f1", "macro_f1", "rouge_l"}`` of one task; metrics that do not apply are None."""
    out: dict[str, Any] = {"n": len(examples), **{m: None for m in METRIC_NAMES}}
    if not examples:
        return out
    preds = [e.pred for e in examples]
    golds = [e.gold for e in examples]
    if "micro_f1" in mapping.metrics:
        out["micro_f1"] = metrics.micro_f1([p.items for p in preds], [g.items for g in golds])
    if "macro_f1" in mapping.metrics:
        out["macro_f1"] = metrics.macro_f1([p.items for p in preds], [g.items for g in golds])
    if "rouge_l" in mapping.metrics:
        out["rouge_l"] = metrics.mean_rouge_l([p.text for p in preds], [g.text for g in golds], task.lang)
    return out


def majority_baseline(examples: Sequence[Example], task: HeldoutTask,
                      mapping: TaskMapping) -> Optional[dict[str, Optional[float]]]:
    """Scores of answering every example with the task's most frequent gold label (classification
    tasks only, ``None`` otherwise): the floor a classification score must beat."""
    if not mapping.kind.classification or not examples:
        return None
    counts = Counter(c for e in examples for c, _ in e.gold.items)
    if not counts:
        return None
    label = counts.most_common(1)[0][0]
    assert label is not None
    const = Answer(((label, label),), label)
    fake = [Example(e.task, e.index, e.catalog_task, const, e.gold) for e in examples]
    return score_examples(fake, task, mapping)


def pooled(task_scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Unweighted mean over tasks of each metric (tasks where it is null are left out); n summed."""
    out: dict[str, Any] = {"n": sum(s["n"] for s in task_scores.values())}
    for m in METRIC_NAMES:
        vals = [s[m] for s in task_scores.values() if s.get(m) is not None]
        out[m] = sum(vals) / len(vals) if vals else None
    return out


def run_task(model: Any, task: HeldoutTask, *, on_item: Optional[Callable[[], None]] = None,
             force_allow_none: bool = False, done: Optional[Mapping[int, Example]] = None,
             on_example: Optional[Callable[[Example], None]] = None) -> list[Example]:
    """Run ``model`` (an ``EcomModel``) over every instance of ``task``; an item that fails (input
    the catalog refuses, a context that cannot fit) is recorded with its error and an empty answer.
    ``force_allow_none`` allows the "None" answer even where the mapping requires an answer.
    ``done``: items answered before (by index), kept as they are; ``on_example`` is called with each
    newly answered one, ``on_item`` after it."""
    m = mapping_for(task)
    ctask = catalog.get_task(m.catalog_task)
    examples: list[Example] = []
    for i, inst in enumerate(task.instances):
        if done is not None and i in done:
            examples.append(done[i])
            continue
        fields = m.build_fields(task, inst)
        result, error = None, None
        t0 = time.perf_counter()
        try:
            fields = catalog.normalize_fields(ctask, fields)
            result = model.run(m.catalog_task, truncate=m.truncate,
                               allow_none=m.allow_none or force_allow_none, **fields)
        except EcomError as e:
            error = str(e)
        dt = time.perf_counter() - t0
        example = Example(task=task.name, index=i, catalog_task=m.catalog_task,
                          pred=prediction(m, task, result), gold=gold(m, task, inst, fields),
                          raw=getattr(result, "raw", None), written=getattr(result, "written", None),
                          dropped=int(getattr(result, "dropped", 0) or 0), error=error, seconds=dt)
        examples.append(example)
        if on_example is not None:
            on_example(example)
        if on_item is not None:
            on_item()
    return examples


def evaluate_model(ref: str, tasks: Sequence[HeldoutTask], *, backend: Optional[str] = None,
                   n_ctx: int = 4096, n_threads: Optional[int] = None,
                   progress: bool = True, calibrate: Optional[bool] = None, copy_spans: bool = True,
                   force_allow_none: bool = False, retype: Optional[bool] = None,
                   chunk: Optional[bool] = None, no_repeat_ngram: Optional[int] = None,
                   consensus_of: Optional[int] = None, beams: Optional[int] = None, specialists: bool = True,
                   parallel_samples: bool = True, journal: Optional[EvalJournal] = None) -> ModelRun:
    """Load ``ref`` and run it over ``tasks`` with a progress bar. With a ``journal``, the items it
    holds for ``ref`` are kept, each new one is recorded in it, and a model with nothing left to
    answer is not loaded."""
    total = sum(len(t.instances) for t in tasks)
    done = {t.name: journal.done(ref, t.name) for t in tasks} if journal is not None else {}
    resumed = sum(len(d) for d in done.values())
    earlier = journal.loaded(ref) if journal is not None else None
    if earlier is not None and resumed == total:  # every item answered before the stop
        run = ModelRun(ref=ref, backend=earlier["backend"], load_s=earlier["load_s"], resumed=resumed)
        for task in tasks:
            run.examples[task.name] = [done[task.name][i] for i in range(len(task.instances))]
        return run

    from ecomlm.runtime import EcomModel

    options: dict[str, Any] = {"n_ctx": n_ctx, "parallel_samples": parallel_samples}
    if n_threads:
        options["n_threads"] = n_threads
    t0 = time.perf_counter()
    model = EcomModel.load(ref, backend=backend, calibrate=calibrate, copy_spans=copy_spans, retype=retype,
                           chunk=chunk, no_repeat_ngram=no_repeat_ngram, consensus_of=consensus_of,
                           beams=beams, specialists=specialists,
                           **options)
    run = ModelRun(ref=ref, backend=model.backend.name, load_s=time.perf_counter() - t0, resumed=resumed)
    record = None
    if journal is not None:
        journal.record_load(ref, run.backend, run.load_s)
        record = lambda example: journal.record(ref, example)  # noqa: E731
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=resumed, desc=f"eval {ref}", unit="item")
    t1 = time.perf_counter()
    try:
        for task in tasks:
            if bar is not None:
                bar.set_postfix_str(task.name[:40])
            run.examples[task.name] = run_task(model, task, force_allow_none=force_allow_none,
                                               on_item=bar.update if bar is not None else None,
                                               done=done.get(task.name), on_example=record)
    finally:
        if bar is not None:
            bar.close()
        model.close()
    run.run_s = time.perf_counter() - t1
    return run


def run_setup(config: EvalConfig, tasks: Sequence[HeldoutTask]) -> dict[str, Any]:
    """What decides ``config``'s answers, for its journal: the items, the models' files and every
    setting but the thread count and the output's looks. Resolves every model (a bad reference
    fails here, before any model loads)."""
    from ecomlm.runtime.model_ref import resolve_all

    settings = {k: getattr(config, k) for k in ("backend", "n_ctx", "calibrate", "retype", "chunk",
                                                "no_repeat_ngram", "consensus_of", "beams", "specialists",
                                                "copy_spans", "force_allow_none", "parallel_samples")}
    resolved = {ref: resolve_all(ref) for ref in config.models}
    # a shipped model's own decoding defaults (``default`` answers qa by a beam of 4) decide answers too
    settings["shipped_beams"] = shipped_beams(resolved)
    return {"items": {t.name: items_digest(t.instances) for t in tasks},
            "models": {ref: [file_identity(r.files()) for r in members] for ref, members in resolved.items()},
            "settings": settings}


def build_results(runs: Sequence[ModelRun], tasks: Sequence[HeldoutTask],
                  config: Optional[EvalConfig] = None) -> dict[str, Any]:
    """The results.json object: ``{"models": {REF: {"tasks": {...}, "pooled": {...}}}, ...}`` plus
    ``baselines`` (constant majority label per classification task) and ``meta`` (how it was run)."""
    by_name = {t.name: t for t in tasks}
    models: dict[str, Any] = {}
    baselines: dict[str, Any] = {}
    for run in runs:
        scores = {}
        for name, examples in run.examples.items():
            task, m = by_name[name], mapping_for(by_name[name])
            scores[name] = score_examples(examples, task, m)
            if name not in baselines:
                base = majority_baseline(examples, task, m)
                if base is not None:
                    baselines[name] = base
        models[run.ref] = {"tasks": scores, "pooled": pooled(scores)}
    meta: dict[str, Any] = {
        "runs": {r.ref: {"backend": r.backend, "load_s": round(r.load_s, 3), "run_s": round(r.run_s, 1),
                         "errors": sum(e.error is not None for ex in r.examples.values() for e in ex),
                         "resumed": r.resumed}
                 for r in runs},
        "mapping": {t.name: mapping_for(t).catalog_task for t in tasks},
    }
    if config is not None:
        meta.update({"heldout": str(config.heldout), "limit": config.limit, "n_ctx": config.n_ctx,
                     "n_threads": config.n_threads})
    return {"models": models, "baselines": {"majority": {"tasks": baselines}}, "meta": meta}


def run_eval(config: EvalConfig, command: Optional[str] = None,
             machine: Optional[str] = None) -> dict[str, Any]:
    """Evaluate every model of ``config`` and write results.json, predictions.jsonl, results.md and
    results.png to ``config.out``; return the results object. Each answered item goes to the
    journal in ``config.out`` (``journal.py``) as it comes; ``config.resume`` continues a stopped
    run of the same setup from it, ``config.fresh`` discards it."""
    from . import report

    tasks = load_heldout(config.heldout, config.tasks, config.limit)
    for t in tasks:
        mapping_for(t)  # an unknown task fails before any model runs
    # run_setup resolves every model reference: a bad one fails here too, before any model loads
    journal = EvalJournal.open(Path(config.out), run_setup(config, tasks), resume=config.resume,
                               fresh=config.fresh)
    if journal.note:
        print(f"ecomlm eval: {journal.note}", file=sys.stderr)
    try:
        runs = [evaluate_model(ref, tasks, backend=config.backend, n_ctx=config.n_ctx,
                               n_threads=config.n_threads, progress=config.progress,
                               calibrate=config.calibrate, copy_spans=config.copy_spans,
                               force_allow_none=config.force_allow_none, retype=config.retype,
                               chunk=config.chunk, no_repeat_ngram=config.no_repeat_ngram,
                               consensus_of=config.consensus_of, beams=config.beams,
                               specialists=config.specialists,
                               parallel_samples=config.parallel_samples, journal=journal)
                for ref in config.models]
    except BaseException:
        journal.stopped("ecomlm eval")
        raise
    results = build_results(runs, tasks, config)
    report.write_all(results, runs, Path(config.out), command=command, machine=machine)
    journal.finish()
    return results


__all__ = ["EvalConfig", "Example", "ModelRun", "score_examples", "majority_baseline", "pooled",
           "run_task", "evaluate_model", "run_setup", "build_results", "run_eval"]
