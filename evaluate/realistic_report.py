"""What ``eval-realistic`` reports: per-task summaries, the best and worst answers, and results.md."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ecomlm.runtime import catalog

from .realistic_items import Item, Scored, task_order, task_score

METRIC_LABELS = {"micro_f1": "micro-F1", "rouge_l": "Rouge-L"}


def summarize(scored: Sequence[Scored]) -> dict[str, Any]:
    """Per task: n, metric, score (0-100), failed items, mean seconds per item."""
    out: dict[str, Any] = {}
    for name in task_order(s.item for s in scored):
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
    for name in task_order(s.item for s in scored):
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
    if "query" in f and "product" in f:
        return f"{f['query']} / {f['product']}"
    if "product_a" in f and "query" not in f:
        return f"{f['product_a']} / {f['product_b']}"
    if "text" in f:
        return str(f["text"])
    task = catalog.get_task(item.task)  # any other task: its item inputs in prompt order
    return " / ".join(str(f[n]) if isinstance(f[n], str) else ", ".join(map(str, f[n]))
                      for n in task.required if n in f and n != task.options_field)


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


__all__ = ["METRIC_LABELS", "examples", "render_markdown", "summarize"]
