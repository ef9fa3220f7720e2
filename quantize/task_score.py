"""Task-score delta of exported artifacts: the held-out evaluation on a small slice, artifact vs PyTorch.

``score_exports([folder, ...], heldout)`` runs ``ecomlm.evaluate`` on the same slice of the held-out
tasks for the PyTorch source model of each export (once per source) and for every artifact, then
writes into each ``manifest.json`` (atomically; ONNX per-quantization manifests too):

- ``task_score``: ``{"slice": {...}, "reference": pooled scores of the PyTorch model}`` at the top,
- per artifact ``task_score`` (its pooled scores) and ``task_score_delta`` (artifact minus PyTorch,
  in points, for each pooled metric: ``micro_f1``, ``macro_f1``, ``rouge_l``).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ecomlm.runtime.errors import EcomError

from . import manifest as mf

#: the held-out tasks scored by default: the English ones (the shipped model is trained in English)
DEFAULT_TASK_PREFIX = "EN-"


@dataclass
class ScoreOptions:
    """The evaluation slice: first ``limit`` instances of each task in ``tasks`` (default: English)."""

    limit: int = 25
    tasks: Optional[list[str]] = None
    n_threads: Optional[int] = None
    progress: bool = True


def artifact_refs(folder: Path, data: dict[str, Any]) -> list[str]:
    """The model reference ``EcomModel.load`` takes for each artifact of an export folder."""
    if data["format"] == "gguf":
        return [str(folder / art["files"][0]["path"]) for art in data["artifacts"]]
    if len(data["artifacts"]) == 1 and (folder / "model.onnx").exists():  # a per-quantization folder
        return [str(folder)]
    return [str(folder / art["path"]) for art in data["artifacts"]]


def _slice_tasks(heldout: Path, opts: ScoreOptions) -> list[str]:
    from ecomlm.evaluate.heldout import find_task_dirs

    if opts.tasks:
        return list(opts.tasks)
    names = [d.name for d in find_task_dirs(heldout) if d.name.startswith(DEFAULT_TASK_PREFIX)]
    if not names:
        raise EcomError(f"{heldout} holds no {DEFAULT_TASK_PREFIX}* held-out task; name tasks with --task")
    return names


def _pooled(refs: Sequence[str], heldout: Path, tasks: list[str], opts: ScoreOptions,
            backend: Optional[str] = None) -> dict[str, dict[str, Any]]:
    from ecomlm.evaluate.runner import EvalConfig, run_eval

    with tempfile.TemporaryDirectory(prefix="ecomlm-score-") as out:
        config = EvalConfig(heldout=heldout, models=list(refs), out=Path(out), backend=backend,
                            limit=opts.limit, tasks=tasks, n_threads=opts.n_threads, progress=opts.progress)
        results = run_eval(config)
    return {ref: results["models"][ref]["pooled"] for ref in refs}


def delta(score: dict[str, Any], reference: dict[str, Any]) -> dict[str, Optional[float]]:
    """``score - reference`` for each pooled metric (``None`` where either is missing), in points."""
    return {k: (round(score[k] - reference[k], 2) if score.get(k) is not None and reference.get(k) is not None
                else None) for k in reference if k != "n"}


def score_exports(folders: Sequence[str | Path], heldout: str | Path,
                  opts: Optional[ScoreOptions] = None) -> list[dict[str, Any]]:
    """Fill ``task_score``/``task_score_delta`` in the manifests of ``folders``; return the manifests."""
    opts = opts or ScoreOptions()
    heldout = Path(heldout)
    if opts.limit < 1:
        raise EcomError("the score slice needs --limit of at least 1")
    tasks = _slice_tasks(heldout, opts)
    loaded = [(Path(f), mf.read_manifest(Path(f))) for f in folders]
    references: dict[str, dict[str, Any]] = {}
    out = []
    for folder, data in loaded:
        src = data["source"]
        if not Path(src["path"]).is_dir():
            raise EcomError(f"{folder}: the source model {src['path']} is gone; the delta is measured "
                            f"against it (export again, or restore it)")
        if src["sha256"] not in references:
            references[src["sha256"]] = _pooled([src["path"]], heldout, tasks, opts, backend="torch")[src["path"]]
        reference = references[src["sha256"]]
        refs = artifact_refs(folder, data)
        scores = _pooled(refs, heldout, tasks, opts)
        data["task_score"] = {"slice": {"heldout": str(heldout), "tasks": tasks, "limit": opts.limit},
                              "reference": reference}
        for art, ref in zip(data["artifacts"], refs):
            art["task_score"] = scores[ref]
            art["task_score_delta"] = delta(scores[ref], reference)
        _write(folder, data)
        out.append(data)
    return out


def _write(folder: Path, data: dict[str, Any]) -> None:
    mf.write_manifest(folder, data)
    if data["format"] != "onnx" or (folder / "model.onnx").exists():
        return
    for art in data["artifacts"]:  # keep each per-quantization manifest in step with the top one
        sub = folder / art["path"]
        if (sub / mf.MANIFEST).exists():
            own = mf.read_manifest(sub)
            own["task_score"] = data["task_score"]
            own["artifacts"][0].update(task_score=art["task_score"], task_score_delta=art["task_score_delta"])
            mf.write_manifest(sub, own)
