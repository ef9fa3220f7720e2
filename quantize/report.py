"""Markdown tables of export manifests: size, speed and parity per artifact."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from .manifest import read_manifest


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "–"
    return format(value, spec) if spec else str(value)


def _delta(d: Optional[dict[str, Any]]) -> str:
    """``micro-F1 / Rouge-L`` delta in points (``+0.00 / -1.20``), ``–`` before ``export score`` ran."""
    if not d:
        return "–"
    return " / ".join("–" if d.get(k) is None else f"{d[k]:+.2f}" for k in ("micro_f1", "rouge_l"))


def artifact_rows(data: dict[str, Any]) -> list[str]:
    rows = []
    for art in data["artifacts"]:
        p, s = art.get("parity") or {}, art.get("speed") or {}
        rows.append(
            f"| {data['format']} {art['name']} | {art['bytes'] / 1e6:.1f} | {_fmt(art.get('bits_per_weight'), '.2f')} "
            f"| {_fmt(s.get('prompt_tokens_per_s'))} | {_fmt(s.get('generation_tokens_per_s'))} "
            f"| {_fmt(p.get('greedy_exact'), '.3f')} | {_fmt(p.get('greedy_token_agreement'), '.3f')} "
            f"| {_fmt(p.get('teacher_forced_top1'), '.3f')} | {_fmt(p.get('mean_kl'), '.4f')} "
            f"| {_fmt(p.get('tokenizer_match'), '.2f')} | {_delta(art.get('task_score_delta'))} |")
    return rows


HEADER = ("| artifact | MB | bits/weight | prompt tok/s | gen tok/s | greedy exact | greedy tokens "
          "| teacher-forced top-1 | mean KL | tokenizer match | task-score delta (F1 / RL) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def render(manifests: Iterable[dict[str, Any]]) -> str:
    manifests = list(manifests)
    lines = [HEADER]
    reference = next((m["reference_speed"] for m in manifests if m.get("reference_speed")), None)
    if reference:
        lines.append(f"| PyTorch fp32 (reference) | – | 32 | {reference['prompt_tokens_per_s']} | "
                     f"{reference['generation_tokens_per_s']} | 1 | 1 | 1 | 0 | 1 | 0 / 0 |")
    for m in manifests:
        lines += artifact_rows(m)
    notes = []
    scored = next((m["task_score"] for m in manifests if m.get("task_score")), None)
    if scored:
        ref, sl = scored["reference"], scored["slice"]
        notes.append(f"- task-score delta: artifact minus PyTorch fp32 in points of pooled micro-F1 / Rouge-L "
                     f"on the first {sl['limit']} instances of {', '.join(sl['tasks'])} (PyTorch: "
                     f"micro-F1 {_fmt(ref.get('micro_f1'), '.2f')}, Rouge-L {_fmt(ref.get('rouge_l'), '.2f')}, "
                     f"n={ref['n']}); `ecomlm export score`")
    for m in manifests:
        timings = ", ".join(f"{k} {v:.0f} s" for k, v in m.get("timings_s", {}).items())
        notes.append(f"- {m['format']}: source `{m['source']['ref']}` (sha256 {m['source']['sha256'][:12]}), "
                     f"machine: {m.get('machine', '?')}; steps: {timings}")
        if m["format"] == "gguf":
            for art in m["artifacts"]:
                types = ", ".join(f"{k} {v}" for k, v in sorted(art["quantization"]["tensor_types"].items()))
                notes.append(f"  - {art['name']} tensor types: {types}")
    return "\n".join(lines + [""] + notes) + "\n"


#: below this share of next tokens agreeing with PyTorch, an artifact does not reproduce the model
#: (collapsed quantizations measured here: Q4_1 0.70; the usable ones 0.89 and above)
MIN_TEACHER_FORCED_TOP1 = 0.8


def parity_warnings(data: dict[str, Any]) -> list[str]:
    """One line per artifact of a manifest whose parity says it does not reproduce the model."""
    out = []
    for art in data.get("artifacts", []):
        parity = art.get("parity") or {}
        top1 = parity.get("teacher_forced_top1")
        if top1 is not None and top1 < MIN_TEACHER_FORCED_TOP1:
            out.append(f"warning: {art['name']} agrees with the PyTorch model on {100 * top1:.0f} % of next "
                       f"tokens (mean KL {parity.get('mean_kl', float('nan')):.3f}): it does not reproduce "
                       f"the model; do not ship it (quantize/EXPORT.md, \"What to use\")")
    return out


def render_folders(folders: Iterable[Path]) -> str:
    return render(read_manifest(Path(f)) for f in folders)
