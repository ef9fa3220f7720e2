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

from .journal import EvalJournal, JournalCodec, file_identity, items_digest, shipped_beams
from .realistic_items import (REALISTIC_DIR, Comparable, Item, Scored, baseline_answers, check_gold, comparable,
                              gold_of, item_score, load_items, task_order, task_score)
from .realistic_report import METRIC_LABELS, examples, render_markdown, summarize


# Running -----------------------------------------------------------------------------------------
def run_model(model: Any, items: Sequence[Item], on_item: Optional[Callable[[], None]] = None,
              done: Optional[dict[tuple[str, str], Scored]] = None,
              on_scored: Optional[Callable[[Scored], None]] = None) -> list[Scored]:
    """Ask ``model`` (an ``EcomModel``) every item with the task's defaults; an item the runtime
    refuses is recorded with its error and an empty answer (it scores 0). An item in ``done`` (by
    task and id: a stopped run's answers) is kept, not asked again; ``on_scored`` gets each new one."""
    out: list[Scored] = []
    for item in items:
        if done and (item.task, item.id) in done:
            out.append(done[(item.task, item.id)])
            continue
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
        if on_scored is not None:
            on_scored(out[-1])
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
    resume: bool = False              # True: continue the stopped run whose journal is in ``out``
    fresh: bool = False               # True: discard the stopped run's journal in ``out``, start over


def realistic_codec(items: Sequence[Item]) -> JournalCodec:
    """The journal lines of ``items``' answers: ``Scored.to_record``, told apart by item id."""
    by_key = {(i.task, i.id): i for i in items}
    return JournalCodec(key="id", encode=lambda ref, s: s.to_record(ref),
                        decode=lambda rec: Scored.from_record(rec, by_key[(rec["task"], rec["id"])]))


def realistic_setup(config: RealisticConfig, items: Sequence[Item]) -> dict[str, Any]:
    """What decides ``config``'s answers, for its journal: the items, the models' files and the
    settings (not the thread count). Resolves every model (a bad reference fails here)."""
    from ecomlm.runtime.model_ref import resolve_all

    rows = [{"id": i.id, "task": i.task, "fields": i.fields, "answer": i.answer} for i in items]
    resolved = {ref: resolve_all(ref) for ref in config.models}
    return {"items": items_digest(rows),
            "models": {ref: [file_identity(r.files()) for r in members] for ref, members in resolved.items()},
            "settings": {"backend": config.backend, "n_ctx": config.n_ctx,
                         "shipped_beams": shipped_beams(resolved)}}


def _run_one(ref: str, items: Sequence[Item], config: RealisticConfig, options: dict[str, Any],
             journal: EvalJournal) -> tuple[list[Scored], dict[str, Any]]:
    """Model ``ref``'s answers to ``items`` (those in the journal kept) and how it ran."""
    from ecomlm.runtime import EcomModel

    done = {(task, i): s for task in task_order(items) for i, s in journal.done(ref, task).items()}
    earlier = journal.loaded(ref)
    if earlier is not None and len(done) == len(items):  # every item answered before the stop
        return [done[(i.task, i.id)] for i in items], {"backend": earlier["backend"], "load_s": earlier["load_s"],
                                                       "run_s": 0.0, "resumed": len(done)}
    t0 = time.perf_counter()
    model = EcomModel.load(ref, backend=config.backend, **options)
    load_s = time.perf_counter() - t0
    journal.record_load(ref, model.backend.name, load_s)
    bar = None
    if config.progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), initial=len(done), desc=f"realistic {ref}", unit="item")
    t1 = time.perf_counter()
    try:
        scored = run_model(model, items, on_item=bar.update if bar is not None else None, done=done,
                           on_scored=lambda s: journal.record(ref, s))
    finally:
        if bar is not None:
            bar.close()
        model.close()
    return scored, {"backend": model.backend.name, "load_s": round(load_s, 3),
                    "run_s": round(time.perf_counter() - t1, 1), "resumed": len(done)}


def run_realistic(config: RealisticConfig, command: Optional[str] = None,
                  machine: Optional[str] = None) -> dict[str, Any]:
    """Run every model of ``config`` on the set, write results.json, predictions.jsonl and
    results.md to ``config.out``, and return the results object. Each answered item goes to the
    journal in ``config.out`` (``journal.py``, as ``ecomlm eval`` keeps it) as it comes;
    ``config.resume`` continues a stopped run of the same setup from it, ``config.fresh`` discards it."""
    from ecomlm.runtime.atomic_io import atomic_write

    items = load_items(config.folder, config.tasks, config.limit)
    # realistic_setup resolves every model: a bad reference fails before any model runs
    journal = EvalJournal.open(Path(config.out), realistic_setup(config, items), resume=config.resume,
                               fresh=config.fresh, codec=realistic_codec(items))
    if journal.note:
        print(f"ecomlm eval-realistic: {journal.note}", file=sys.stderr)
    options: dict[str, Any] = {"n_ctx": config.n_ctx}
    if config.n_threads:
        options["n_threads"] = config.n_threads
    scored: dict[str, list[Scored]] = {}
    runs: dict[str, Any] = {}
    try:
        for ref in config.models:
            scored[ref], runs[ref] = _run_one(ref, items, config, options, journal)
    except BaseException:
        journal.stopped("ecomlm eval-realistic")
        raise
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
    journal.finish()
    return results


# Command ------------------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    from ecomlm.runtime.cli import add_models_options

    from .cli import add_resume_options, add_run_options

    p = sub.add_parser("eval-realistic", help="score models on the hand-labelled realistic set",
                       description="Run each model on the hand-labelled realistic set (product titles, "
                                   "reviews, questions; 20+ items per task), score each task with its "
                                   "own metric beside a trivial baseline, and write results.json, "
                                   "predictions.jsonl and results.md. Each answered item is kept in "
                                   "OUT/eval-journal.jsonl until the results are written: a stopped run "
                                   "continues with the same command and --resume.")
    p.add_argument("--set", dest="folder", type=Path, default=REALISTIC_DIR,
                   help=f"folder of *.jsonl items (default: the bundled set, {REALISTIC_DIR})")
    add_models_options(p, "model to evaluate")
    p.add_argument("--task", action="append", dest="tasks", metavar="NAME",
                   help="only this catalog task (repeat for several)")
    add_run_options(p)
    add_resume_options(p)
    p.set_defaults(func=cmd_eval_realistic)


def cmd_eval_realistic(args: argparse.Namespace) -> int:
    from .cli import check_run_options

    check_run_options(args)
    config = RealisticConfig(models=args.models or ["default"], out=args.out, folder=args.folder,
                             backend=args.backend, tasks=args.tasks, limit=args.limit, n_ctx=args.n_ctx,
                             n_threads=args.threads, progress=not args.no_progress,
                             resume=args.resume, fresh=args.fresh)
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
           "summarize", "examples", "render_markdown", "RealisticConfig", "realistic_codec", "realistic_setup",
           "run_realistic"]
