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
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import EcomError, InvalidInputError

from . import metrics

REALISTIC_DIR = Path(__file__).resolve().parent / "realistic"
METRIC_LABELS = {"micro_f1": "micro-F1", "rouge_l": "Rouge-L"}
LANG = "en"

Items = frozenset  # of (class or None, value) pairs
# Output kinds by name (``Task.output``), the same names in every version of the catalog.
TYPED_SPANS, SPANS, ANSWER_SPAN, TEXT = "typed_spans", "spans", "answer_span", "text"
CLOSED_SET = ("label", "labels", "choice", "yes_no")


@dataclass(frozen=True)
class Item:
    """One hand-labelled example: the catalog task, its (normalised) inputs and the gold answer."""

    id: str
    task: str
    fields: dict[str, Any]
    answer: Any


@dataclass(frozen=True)
class Comparable:
    """An answer in scoring form: ``items`` for micro-F1, ``text`` for Rouge-L and for reading."""

    items: Items
    text: str


@dataclass
class Scored:
    """What one model (or the baseline) answered on one item, and that answer's own score."""

    item: Item
    pred: Comparable
    gold: Comparable
    score: float
    raw: Optional[str] = None
    error: Optional[str] = None
    seconds: float = 0.0

    def to_json(self, model: str) -> dict[str, Any]:
        return {"model": model, "id": self.item.id, "task": self.item.task, "pred": self.pred.text,
                "gold": self.gold.text, "score": round(self.score, 4), "raw": self.raw,
                "error": self.error, "seconds": round(self.seconds, 4)}


# Loading ------------------------------------------------------------------------------------------
def load_items(folder: Path = REALISTIC_DIR, tasks: Optional[Sequence[str]] = None,
               limit: Optional[int] = None) -> list[Item]:
    """Every item of ``folder/*.jsonl`` (files in name order, lines in file order), checked: a known
    task, inputs the catalog accepts, and a gold answer that reads back whole through the task's own
    parser (labels in the set, spans found in the input). ``tasks`` keeps only those catalog tasks;
    ``limit`` keeps the first N items of each task."""
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise InvalidInputError(f"no *.jsonl files in {folder}")
    wanted = set(tasks) if tasks else None
    if wanted:
        for name in wanted:
            catalog.get_task(name)
    items: list[Item] = []
    per_task: Counter[str] = Counter()
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                row = json.loads(line)
                task = catalog.get_task(row["task"])
                fields = catalog.normalize_fields(task, row["fields"])
                item = Item(id=str(row["id"]), task=task.name, fields=fields, answer=row["answer"])
            except (KeyError, TypeError, json.JSONDecodeError, EcomError) as e:
                raise InvalidInputError(f"{where}: not a realistic-set item ({e})") from None
            check_gold(item, where)
            if wanted is not None and item.task not in wanted:
                continue
            if limit is not None and per_task[item.task] >= limit:
                continue
            per_task[item.task] += 1
            items.append(item)
    return items


def _gold_count(task: catalog.Task, answer: Any) -> int:
    if task.output in (TYPED_SPANS, SPANS, "labels"):
        return len(answer)
    if task.output == ANSWER_SPAN:
        return 1 if answer else 0
    return 1


def check_gold(item: Item, where: str = "") -> None:
    """Raise ``InvalidInputError`` unless the gold answer reads back whole through the task's parser."""
    task = catalog.get_task(item.task)
    result = catalog.gold_result(task, item.answer, item.fields)
    got = comparable(result)
    if task.output == TEXT:
        ok = got.text == str(item.answer).strip() != ""
    else:
        ok = len(got.items) == _gold_count(task, item.answer) and not getattr(result, "dropped", 0)
    if not ok:
        raise InvalidInputError(f"{where or item.id}: gold answer {item.answer!r} does not read back "
                                f"(got {sorted(got.items, key=str)})")


# Answers in scoring form ---------------------------------------------------------------------------
def comparable(result: Any) -> Comparable:
    """A task result (``runtime.results``) as items and text: labels as (label, label), a yes/no as
    ("Yes", "Yes") or ("No", "No"), spans as (type, text), an answer span as (None, text)."""
    from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult, TextResult

    if result is None:
        return Comparable(frozenset(), "")
    if isinstance(result, SpansResult):
        pairs = [(s.type, s.text) for s in result.spans]
        return Comparable(frozenset(pairs), "\n".join(f"{t}: {v}" if t else v for t, v in pairs))
    if isinstance(result, LabelResult):
        return Comparable(frozenset((lab, lab) for lab in result.labels), ", ".join(result.labels))
    if isinstance(result, MatchResult):
        answer = catalog.YES if result.match else catalog.NO
        return Comparable(frozenset({(answer, answer)}), answer)
    if isinstance(result, AnswerResult):
        text = result.span.text if result.span else ""
        return Comparable(frozenset({(None, text)}) if text else frozenset(), text)
    if isinstance(result, TextResult):
        return Comparable(frozenset(), result.text)
    raise TypeError(f"no scoring form for {type(result).__name__}")


def gold_of(item: Item) -> Comparable:
    task = catalog.get_task(item.task)
    return comparable(catalog.gold_result(task, item.answer, item.fields))


def item_score(metric: str, pred: Comparable, gold: Comparable) -> float:
    """One item's own score (0-1): the F1 of its item sets (both empty: 1) or its Rouge-L."""
    if metric == "rouge_l":
        return metrics.rouge_l(pred.text, gold.text, LANG)
    tp, fp, fn = metrics.set_counts(pred.items, gold.items)
    return 1.0 if not (tp or fp or fn) else 2 * tp / (2 * tp + fp + fn)


def task_score(metric: str, scored: Sequence[Scored]) -> float:
    """The task's metric over its items (0-100), as ``ecomlm eval`` computes it."""
    if metric == "rouge_l":
        return metrics.mean_rouge_l([s.pred.text for s in scored], [s.gold.text for s in scored], LANG)
    return metrics.micro_f1([s.pred.items for s in scored], [s.gold.items for s in scored])


# Trivial baselines ---------------------------------------------------------------------------------
def baseline_answers(task_name: str, items: Sequence[Item]) -> tuple[str, list[Comparable]]:
    """The trivial baseline of one task: (its description, one answer per item).

    - closed set (labels, yes/no, a candidate): the most frequent gold answer of the set (ties: the
      one met first);
    - span lists (entities, attribute values): the empty answer ("None");
    - extractive QA: the whole context;
    - text written from attributes (titles): the attribute values joined in their order.
    """
    task = catalog.get_task(task_name)
    golds = [gold_of(i) for i in items]
    if task.output in CLOSED_SET:
        counts = Counter(g.items for g in golds)
        best = counts.most_common(1)[0][0] if counts else frozenset()
        text = next(g.text for g in golds if g.items == best) if golds else ""
        return f"majority: {text}", [Comparable(best, text) for _ in items]
    if task.output == ANSWER_SPAN:
        ctx = [str(i.fields[task.source_field]) for i in items]
        return "whole context", [Comparable(frozenset({(None, c)}), c) for c in ctx]
    if task.output == TEXT and "specs" in task.required:
        texts = [", ".join(str(v) for v in i.fields["specs"].values()) for i in items]
        return "attribute values joined", [Comparable(frozenset(), t) for t in texts]
    return "empty answer", [Comparable(frozenset(), "") for _ in items]


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
        out.append(Scored(item, pred, gold, item_score(task.metric, pred, gold),
                          raw=getattr(result, "raw", None), error=error, seconds=dt))
        if on_item is not None:
            on_item()
    return out


def score_baseline(items: Sequence[Item]) -> dict[str, tuple[str, list[Scored]]]:
    """The baseline's answers and per-item scores, per task."""
    out: dict[str, tuple[str, list[Scored]]] = {}
    for name in _task_order(items):
        task_items = [i for i in items if i.task == name]
        what, answers = baseline_answers(name, task_items)
        metric = catalog.get_task(name).metric
        out[name] = (what, [Scored(i, a, gold_of(i), item_score(metric, a, gold_of(i)))
                            for i, a in zip(task_items, answers)])
    return out


def _task_order(items: Iterable[Item]) -> list[str]:
    return list(dict.fromkeys(i.task for i in items))


def summarize(scored: Sequence[Scored]) -> dict[str, Any]:
    """Per task: n, metric, score (0-100), failed items, mean seconds per item."""
    out: dict[str, Any] = {}
    for name in _task_order(s.item for s in scored):
        rows = [s for s in scored if s.item.task == name]
        metric = catalog.get_task(name).metric
        out[name] = {"n": len(rows), "metric": metric, "score": round(task_score(metric, rows), 2),
                     "errors": sum(s.error is not None for s in rows),
                     "s_per_item": round(sum(s.seconds for s in rows) / len(rows), 3)}
    return out


def examples(scored: Sequence[Scored], k: int = 2) -> dict[str, dict[str, list[Scored]]]:
    """Per task, up to ``k`` best answers (the highest item scores, above 0) and ``k`` worst ones (the
    lowest of the rest, below 1); set order among equal scores. An item is never both."""
    out: dict[str, dict[str, list[Scored]]] = {}
    for name in _task_order(s.item for s in scored):
        rows = [s for s in scored if s.item.task == name]
        best = [s for s in sorted(rows, key=lambda s: -s.score) if s.score > 0.0][:k]
        worst = [s for s in sorted(rows, key=lambda s: s.score) if s.score < 1.0 and s not in best][:k]
        out[name] = {"best": best, "worst": worst}
    return out


def _input_text(item: Item) -> str:
    f = item.fields
    if "specs" in f:
        return "; ".join(f"{k}: {v}" for k, v in f["specs"].items())
    if "question" in f:
        return f"{f['question']} (context: {f['context']})"
    if "query" in f:
        return f"{f['query']} / {f['product']}"
    if "product_a" in f:
        return f"{f['product_a']} / {f['product_b']}"
    return str(f.get("text", ""))


def _cell(text: str, width: int = 160) -> str:
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip()) or "None"
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("|", "\\|")


def render_markdown(summary: dict[str, Any], baseline: dict[str, Any], scored: dict[str, list[Scored]],
                    command: Optional[str] = None, machine: Optional[str] = None) -> str:
    """results.md: the per-task table (models beside the baseline), then the best and worst answers
    of the first model."""
    models = list(summary)
    tasks = list(next(iter(summary.values()))) if models else []
    lines = ["# Realistic set (hand-labelled)", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    if machine:
        lines += [f"Machine: {machine}.", ""]
    head = ["task", "metric", "n", *models, "baseline", "baseline is"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task in tasks:
        first = summary[models[0]][task]
        row = [task, METRIC_LABELS[first["metric"]], str(first["n"])]
        row += [f"{summary[m][task]['score']:.1f}" for m in models]
        row += [f"{baseline[task]['score']:.1f}", baseline[task]["what"]]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| model | failed items | mean s/item |", "|---|---|---|"]
    for m in models:
        rows = summary[m].values()
        n = sum(r["n"] for r in rows)
        lines.append(f"| {m} | {sum(r['errors'] for r in rows)} | "
                     f"{sum(r['s_per_item'] * r['n'] for r in rows) / max(n, 1):.2f} |")
    if models:
        m = models[0]
        lines += ["", f"## Typical answers of `{m}`", "",
                  "Per task, the two items it scored best on and the two it scored worst on (item score: "
                  "F1 of the item's labels or pairs, or its Rouge-L).", "",
                  "| task | | item score | input | answer | gold |", "|---|---|---|---|---|---|"]
        for task, ex in examples(scored[m]).items():
            for kind in ("best", "worst"):
                for s in ex[kind]:
                    lines.append(f"| {task} | {kind} | {s.score:.2f} | {_cell(_input_text(s.item))} | "
                                 f"{_cell(s.pred.text)} | {_cell(s.gold.text)} |")
    return "\n".join(lines) + "\n"


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
    from ecomlm.runtime.model_ref import resolve

    items = load_items(config.folder, config.tasks, config.limit)
    for ref in config.models:
        resolve(ref)  # a bad reference fails before any model runs
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
