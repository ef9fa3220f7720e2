"""One markdown table of held-out scores from several `ecomlm eval` runs (their results.json), one
column per model, the majority baseline beside them (on the items of the first column that has the
task: 100 or 250), each task's headline metric, and pooled rows
per language. Runs of one model over different task subsets are merged. ``LABEL=RUN`` names the
column ``LABEL`` instead of the model name (two adapters of one model name side by side).

    python scripts/heldout_table.py [LABEL=]RUN_DIR_OR_RESULTS_JSON [...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ecomlm.evaluate.report import headline_metric  # Rouge-L where it applies, else micro-F1 (results.md)

NAMES = {"micro_f1": "micro-F1", "rouge_l": "Rouge-L", "macro_f1": "macro-F1"}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    models: dict[str, dict[str, dict]] = {}
    majority: dict[str, dict[str, dict]] = {}  # label -> task -> majority scores, from the same files
    for run in argv:
        label, _, where = run.rpartition("=") if "=" in run and not Path(run).exists() else ("", "", run)
        path = Path(where)
        data = json.loads((path / "results.json" if path.is_dir() else path).read_text())
        baseline = {t: s for t, s in data["baselines"].get("majority", {}).get("tasks", {}).items() if s}
        for model, res in data["models"].items():
            models.setdefault(label or model, {}).update(res["tasks"])
            # on the items of the file that gave this column its figure (100 or 250 items)
            majority.setdefault(label or model, {}).update({t: baseline[t] for t in res["tasks"] if t in baseline})
    tasks = sorted({t for res in models.values() for t in res}, key=lambda t: (not t.startswith("EN"), t))
    names = list(models)
    print("| task | metric | " + " | ".join(f"{m} (n)" for m in names) + " | majority |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for t in tasks:
        metric = headline_metric(t)
        cells = [f"{models[m][t][metric]:.2f} ({models[m][t]['n']})" if t in models[m] else "–" for m in names]
        # the majority label on the items of the first column that has the task
        maj = next((majority[m][t] for m in names if t in models[m] and t in majority.get(m, {})), {}).get(metric)
        print(f"| {t} | {NAMES[metric]} | " + " | ".join(cells) + f" | {'–' if maj is None else f'{maj:.2f}'} |")
    for lang in ("EN", "ZH"):
        for metric in ("micro_f1", "macro_f1", "rouge_l"):
            cells = []
            for m in names:
                vals = [s[metric] for t, s in models[m].items() if t.startswith(lang) and s.get(metric) is not None]
                cells.append(f"{sum(vals) / len(vals):.2f} ({len(vals)} tasks)" if vals else "–")
            if any(c != "–" for c in cells):
                print(f"| **pooled {lang}** | {NAMES[metric]} | " + " | ".join(cells) + " | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
