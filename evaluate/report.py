"""Writing an evaluation's outputs: results.json, predictions.jsonl, results.md and results.png.

The paper's reference points are the ones quoted in ``../shared/ecomgpt_heldout/README.md``
(EcomGPT, arXiv 2308.06966, Table 4: zero-shot on the unseen datasets).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from ecomlm.runtime.atomic_io import atomic_write

from .mapping import MAPPINGS, METRIC_NAMES

# Paper, Table 4 (as quoted in the held-out README): pooled "unseen dataset" scores and review topic.
PAPER_MODELS = ("EcomGPT-560m", "ChatGPT", "EcomGPT-7b1")
PAPER_POOLED: dict[str, dict[str, float]] = {
    "BLOOMZ-7b1": {"micro_f1": 26.75, "macro_f1": 27.07, "rouge_l": 25.21},
    "ChatGPT": {"micro_f1": 37.30, "macro_f1": 40.71, "rouge_l": 43.92},
    "EcomGPT-560m": {"micro_f1": 41.28, "macro_f1": 38.21, "rouge_l": 48.88},
    "EcomGPT-7b1": {"micro_f1": 52.89, "macro_f1": 50.17, "rouge_l": 62.83},
}
PAPER_TASKS: dict[str, dict[str, float]] = {
    "EN-ABSA-CLS-review_topic_category": {"EcomGPT-560m": 42.39, "ChatGPT": 51.22, "EcomGPT-7b1": 59.03},
}
METRIC_LABELS = {"micro_f1": "micro-F1", "macro_f1": "macro-F1", "rouge_l": "Rouge-L"}


def headline_metric(task: str) -> str:
    """The metric the README names for a task: Rouge-L where it applies, else micro-F1."""
    m = MAPPINGS.get(task)
    return "rouge_l" if m is not None and "rouge_l" in m.metrics else "micro_f1"


def _fmt(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.2f}"


def render_markdown(results: dict[str, Any], title: str = "Held-out evaluation (EcomGPT unseen tasks)",
                    command: Optional[str] = None, machine: Optional[str] = None) -> str:
    """A markdown report: headline table beside the paper and the majority baseline, then all metrics."""
    models = list(results["models"])
    base = results.get("baselines", {}).get("majority", {}).get("tasks", {})
    tasks = list(next(iter(results["models"].values()))["tasks"]) if models else []
    lines = [f"# {title}", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    if machine:
        lines += [f"Machine: {machine}.", ""]
    head = ["task", "metric", "n", *models, "majority", *PAPER_MODELS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task in tasks:
        metric = headline_metric(task)
        first = results["models"][models[0]]["tasks"][task]
        row = [task, METRIC_LABELS[metric], str(first["n"])]
        row += [_fmt(results["models"][m]["tasks"][task][metric]) for m in models]
        row.append(_fmt(base.get(task, {}).get(metric)))
        row += [_fmt(PAPER_TASKS.get(task, {}).get(p)) for p in PAPER_MODELS]
        lines.append("| " + " | ".join(row) + " |")
    for metric in METRIC_NAMES:
        row = ["**pooled**", METRIC_LABELS[metric], str(results["models"][models[0]]["pooled"]["n"])
               if models else "0"]
        row += [_fmt(results["models"][m]["pooled"][metric]) for m in models]
        row.append("")
        row += [_fmt(PAPER_POOLED[p][metric]) for p in PAPER_MODELS]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Pooled = unweighted mean over the tasks where the metric applies. The paper pools its "
              "own task list and prompts, so its pooled figures are reference points, not a like-for-like "
              "comparison. \"majority\" answers every example with the most frequent gold label.", ""]
    lines += ["## All metrics", "", "| task | catalog task | model | n | micro-F1 | macro-F1 | Rouge-L |",
              "|---|---|---|---|---|---|---|"]
    mapping = results.get("meta", {}).get("mapping", {})
    for task in tasks:
        for m in models:
            s = results["models"][m]["tasks"][task]
            lines.append(f"| {task} | {mapping.get(task, '')} | {m} | {s['n']} | {_fmt(s['micro_f1'])} | "
                         f"{_fmt(s['macro_f1'])} | {_fmt(s['rouge_l'])} |")
        if task in base:
            s = base[task]
            lines.append(f"| {task} | | majority | {s['n']} | {_fmt(s['micro_f1'])} | "
                         f"{_fmt(s['macro_f1'])} | – |")
    runs = results.get("meta", {}).get("runs", {})
    if runs:
        lines += ["", "| model | backend | load s | run s | failed items |", "|---|---|---|---|---|"]
        for ref, r in runs.items():
            run_s = f"{r['run_s']} (and {r['resumed']} items from the stopped run it resumed)" if r.get("resumed") else r["run_s"]
            lines.append(f"| {ref} | {r['backend']} | {r['load_s']} | {run_s} | {r['errors']} |")
    return "\n".join(lines) + "\n"


def write_bar_chart(results: dict[str, Any], path: Path) -> bool:
    """Grouped bars of each task's headline metric per model (and the majority baseline). Returns
    False, with a note on stderr, when matplotlib is not installed (pip install 'ecomlm[eval]')."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("ecomlm eval: matplotlib is not installed, no bar chart (pip install 'ecomlm[eval]')",
              file=sys.stderr)
        return False
    models = list(results["models"])
    base = results.get("baselines", {}).get("majority", {}).get("tasks", {})
    tasks = list(results["models"][models[0]]["tasks"])
    series = [(m, [results["models"][m]["tasks"][t][headline_metric(t)] or 0.0 for t in tasks])
              for m in models]
    if base:
        series.append(("majority baseline", [(base.get(t) or {}).get(headline_metric(t)) or 0.0
                                             for t in tasks]))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(tasks) + 3), 5))
    for k, (name, values) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(tasks))]
        ax.bar(xs, values, width, label=name, color="0.75" if name == "majority baseline" else None)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([f"{t.split('-', 2)[-1]}\n({'R-L' if headline_metric(t) == 'rouge_l' else 'F1'})"
                        for t in tasks], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("score (0-100)")
    ax.set_ylim(0, 100)
    ax.set_title("EcomGPT held-out tasks: headline metric per task")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return True


def write_all(results: dict[str, Any], runs: Sequence[Any], out: Path, command: Optional[str] = None,
              machine: Optional[str] = None) -> dict[str, Path]:
    """Write results.json, predictions.jsonl, results.md and results.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "predictions": out / "predictions.jsonl",
             "markdown": out / "results.md", "chart": out / "results.png"}
    with atomic_write(paths["json"]) as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with atomic_write(paths["predictions"]) as f:
        for run in runs:
            for examples in run.examples.values():
                for e in examples:
                    f.write(json.dumps(e.to_json(run.ref), ensure_ascii=False) + "\n")
    with atomic_write(paths["markdown"]) as f:
        f.write(render_markdown(results, command=command, machine=machine))
    if not write_bar_chart(results, paths["chart"]):
        del paths["chart"]
    return paths


__all__ = ["PAPER_POOLED", "PAPER_TASKS", "headline_metric", "render_markdown", "write_bar_chart",
           "write_all"]
