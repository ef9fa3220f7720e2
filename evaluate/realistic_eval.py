"""``ecomlm eval-realistic``: score models on the hand-labelled realistic set (``evaluate/realistic/``).

The set is a few hundred lines of JSONL written for this project: product titles, reviews, shopper
questions and attribute lists of the kind a merchant has, 20+ per task, with gold answers labelled by
hand (``evaluate/realistic/README.md``). Each line is ``{"id", "task", "fields", "answer"}``: the
catalog task, its inputs, and the gold answer in the form ``catalog.format_answer`` takes.

Every model is asked through ``EcomModel.run`` with the item's inputs and each task's default
decoding (label calibration where the task has it on, spans copied from the input), and scored with the task's own metric (``Task.metric``: micro-F1 over labels / (type, span) pairs, or
Rouge-L for answer spans and written text; ``metrics.py``). Beside the models, a trivial baseline per
task: the most frequent gold label for closed-set tasks, the empty answer for span lists, the whole
context for extractive QA, and the attribute values joined in order for titles.

Modules: ``realistic_items.py`` (the items, the gold check, scoring forms and baselines, through the
output kinds), ``realistic_report.py`` (summaries, results.md), this one (running, the command).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError

from .realistic_items import (REALISTIC_DIR, Comparable, Item, Scored, baseline_answers, check_gold, comparable,
                              gold_of, item_score, load_items, task_order, task_score)
from .realistic_report import METRIC_LABELS, examples, render_markdown, summarize


# Running -----------------------------------------------------------------------------------------
def run_model(model: Any, items: Sequence[Item], on_item: Optional[Callable[[], None]] = None) -> list[Scored]:
    """Ask ``model`` (an ``EcomModel``) every item with the task's defaults; an item the runtime
    refuses is recorded with its error and an empty answer (it scores 0)."""
    out: list[Scored] = []
    for item in items:
        task = catalog.get_task(item.task)
        result, error = None, None
        t0 = time.perf_counter()
        try:
            result = model.run(item.task, **item.fields)
        except EcomError as e:
            error = str(e)
        dt = time.perf_counter() - t0
        pred, gold = comparable(result), gold_of(item)
        out.append(Scored(item, pred, gold, item_score(task.metric, pred, gold, item.lang),
                          raw=getattr(result, "raw", None), error=error, seconds=dt))
        if on_item is not None:
            on_item()
    return out


def score_baseline(items: Sequence[Item]) -> dict[str, tuple[str, list[Scored]]]:
    """The baseline's answers and per-item scores, per task."""
    out: dict[str, tuple[str, list[Scored]]] = {}
    for name in task_order(items):
        task_items = [i for i in items if i.task == name]
        what, answers = baseline_answers(name, task_items)
        metric = catalog.get_task(name).metric
        out[name] = (what, [Scored(i, a, gold_of(i), item_score(metric, a, gold_of(i), i.lang))
                            for i, a in zip(task_items, answers)])
    return out


@dataclass
class RealisticConfig:
    """What ``ecomlm eval-realistic`` runs."""

    models: list[str]
    out: Path
    folder: Path = REALISTIC_DIR
    backend: Optional[str] = None
    tasks: Optional[list[str]] = None
    limit: Optional[int] = None
    n_ctx: int = 4096
    n_threads: Optional[int] = None
    progress: bool = True


def run_realistic(config: RealisticConfig, command: Optional[str] = None,
                  machine: Optional[str] = None) -> dict[str, Any]:
    """Run every model of ``config`` on the set, write results.json, predictions.jsonl and
    results.md to ``config.out``, and return the results object."""
    from ecomlm.runtime import EcomModel
    from ecomlm.runtime.atomic_io import atomic_write
    from ecomlm.runtime.model_ref import resolve_all

    items = load_items(config.folder, config.tasks, config.limit)
    for ref in config.models:
        resolve_all(ref)  # a bad reference fails before any model runs
    options: dict[str, Any] = {"n_ctx": config.n_ctx}
    if config.n_threads:
        options["n_threads"] = config.n_threads
    scored: dict[str, list[Scored]] = {}
    runs: dict[str, Any] = {}
    for ref in config.models:
        t0 = time.perf_counter()
        model = EcomModel.load(ref, backend=config.backend, **options)
        load_s = time.perf_counter() - t0
        bar = None
        if config.progress:
            from tqdm import tqdm
            bar = tqdm(total=len(items), desc=f"realistic {ref}", unit="item")
        t1 = time.perf_counter()
        try:
            scored[ref] = run_model(model, items, on_item=bar.update if bar is not None else None)
        finally:
            if bar is not None:
                bar.close()
            model.close()
        runs[ref] = {"backend": model.backend.name, "load_s": round(load_s, 3),
                     "run_s": round(time.perf_counter() - t1, 1)}
    base = score_baseline(items)
    baseline = {name: {"what": what, "n": len(rows), "metric": catalog.get_task(name).metric,
                       "score": round(task_score(catalog.get_task(name).metric, rows), 2)}
                for name, (what, rows) in base.items()}
    summary = {ref: summarize(rows) for ref, rows in scored.items()}
    results = {"models": summary, "baseline": baseline,
               "meta": {"set": "bundled (evaluate/realistic)" if Path(config.folder) == REALISTIC_DIR
                        else str(config.folder), "items": len(items), "runs": runs,
                        "n_ctx": config.n_ctx, "n_threads": config.n_threads,
                        "command": command, "machine": machine}}
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "results.json") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
    with atomic_write(out / "predictions.jsonl") as f:
        for ref, rows in scored.items():
            for s in rows:
                f.write(json.dumps(s.to_json(ref), ensure_ascii=False) + "\n")
        for name, (_, rows) in base.items():
            for s in rows:
                f.write(json.dumps(s.to_json("baseline"), ensure_ascii=False) + "\n")
    with atomic_write(out / "results.md") as f:
        f.write(render_markdown(summary, baseline, scored, command=command, machine=machine))
    return results


# Command ------------------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    from ecomlm.runtime.cli import add_models_options

    from .cli import add_run_options

    p = sub.add_parser("eval-realistic", help="score models on the hand-labelled realistic set",
                       description="Run each model on the hand-labelled realistic set (product titles, "
                                   "reviews, questions; 20+ items per task), score each task with its "
                                   "own metric beside a trivial baseline, and write results.json, "
                                   "predictions.jsonl and results.md.")
    p.add_argument("--set", dest="folder", type=Path, default=REALISTIC_DIR,
                   help=f"folder of *.jsonl items (default: the bundled set, {REALISTIC_DIR})")
    add_models_options(p, "model to evaluate")
    p.add_argument("--task", action="append", dest="tasks", metavar="NAME",
                   help="only this catalog task (repeat for several)")
    add_run_options(p)
    p.set_defaults(func=cmd_eval_realistic)


def cmd_eval_realistic(args: argparse.Namespace) -> int:
    from .cli import check_run_options

    check_run_options(args)
    config = RealisticConfig(models=args.models or ["default"], out=args.out, folder=args.folder,
                             backend=args.backend, tasks=args.tasks, limit=args.limit, n_ctx=args.n_ctx,
                             n_threads=args.threads, progress=not args.no_progress)
    command = ("ecomlm " + " ".join(shlex.quote(a) for a in sys.argv[1:])
               if sys.argv[1:2] == ["eval-realistic"] else None)
    results = run_realistic(config, command=command, machine=args.machine)
    base = results["baseline"]
    for task in base:
        scores = " ".join(f"{ref}={r[task]['score']:.1f}" for ref, r in results["models"].items())
        print(f"{task} ({METRIC_LABELS[base[task]['metric']]}, n={base[task]['n']}): {scores} "
              f"baseline={base[task]['score']:.1f} ({base[task]['what']})")
    print(f"wrote {args.out}/results.json, predictions.jsonl, results.md")
    return 0


__all__ = ["REALISTIC_DIR", "Item", "Comparable", "Scored", "load_items", "check_gold", "comparable",
           "gold_of", "item_score", "task_score", "baseline_answers", "run_model", "score_baseline",
           "summarize", "examples", "render_markdown", "RealisticConfig", "run_realistic"]
