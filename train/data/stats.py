"""Corpus statistics (stats.json) and the markdown table (stats.md).

Token lengths are an approximation without a tokenizer: every run of ASCII letters/digits counts as
one token and every other non-space character (CJK characters, punctuation) as one token, over the
user and assistant messages together.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
TOKEN_METHOD = ("approximate: one token per ASCII letter/digit run and per other non-space character "
                "(CJK, punctuation), user + assistant messages")


def approx_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def percentiles(values: Sequence[int], qs: Sequence[int] = (50, 90, 95, 99, 100)) -> dict[str, int]:
    if not values:
        return {f"p{q}": 0 for q in qs}
    s = sorted(values)
    return {("max" if q == 100 else f"p{q}"): s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] for q in qs}


def summarize(instances: Sequence[dict], lengths: Sequence[int]) -> dict[str, Any]:
    return {
        "n_instances": len(instances),
        "n_tasks": len({i["task"] for i in instances}),
        "n_datasets": len({i["dataset"] for i in instances}),
        "per_task": dict(sorted(Counter(i["task"] for i in instances).items())),
        "per_dataset": dict(sorted(Counter(i["dataset"] for i in instances).items())),
        "per_lang": dict(sorted(Counter(i["lang"] for i in instances).items())),
        "per_atomic": {"atomic": sum(i["atomic"] for i in instances),
                       "downstream": sum(not i["atomic"] for i in instances)},
        "token_length": {**percentiles(lengths), "mean": round(sum(lengths) / len(lengths), 1) if lengths else 0},
    }


def markdown(stats: dict[str, Any]) -> str:
    tr, va = stats["train"], stats["val"]
    lines = [
        "| | train | val |", "|---|---:|---:|",
        f"| instances | {tr['n_instances']:,} | {va['n_instances']:,} |",
        f"| tasks | {tr['n_tasks']} | {va['n_tasks']} |",
        f"| datasets | {tr['n_datasets']} | {va['n_datasets']} |",
    ]
    for k, v in tr["per_lang"].items():
        lines.append(f"| lang {k} | {v:,} | {va['per_lang'].get(k, 0):,} |")
    for k, v in tr["per_atomic"].items():
        lines.append(f"| {k} | {v:,} | {va['per_atomic'].get(k, 0):,} |")
    tl = tr["token_length"]
    lines.append(f"| tokens p50 / p90 / p99 / max (approx.) | {tl['p50']} / {tl['p90']} / {tl['p99']} / {tl['max']} "
                 f"| {va['token_length']['p50']} / {va['token_length']['p90']} / {va['token_length']['p99']} / "
                 f"{va['token_length']['max']} |")
    lines += ["", f"Held-out overlap dropped (contamination guard): {stats['heldout_overlap_dropped']:,}; "
              f"duplicates dropped: {stats['duplicates_dropped']:,}; invalid drafts: {stats['invalid_dropped']:,}; "
              f"malformed source records: {sum(stats['malformed'].values()):,}.", "",
              "| task | train | val |", "|---|---:|---:|"]
    for k, v in tr["per_task"].items():
        lines.append(f"| {k} | {v:,} | {va['per_task'].get(k, 0):,} |")
    lines += ["", "| dataset | lang | train | val |", "|---|---|---:|---:|"]
    for k, v in tr["per_dataset"].items():
        lines.append(f"| {k} | {stats['dataset_lang'].get(k, '')} | {v:,} | {va['per_dataset'].get(k, 0):,} |")
    return "\n".join(lines) + "\n"
