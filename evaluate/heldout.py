"""Reading the EcomGPT held-out evaluation tasks (``../shared/ecomgpt_heldout``).

Layout (see the README in that folder): ``<Dataset>/tasks/<LANG>-<Dataset>-<TaskType>-<name>/`` with
``meta-info.json`` (``label_set`` by key, ``label_key``, ``label_sep``, the paper's ``test_prompt``)
and ``test.json`` (one JSON object per line: ``sentences`` and either ``labels`` or ``spans``,
optionally a per-line ``label_set``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ecomlm.runtime.errors import EcomError
from ecomlm.runtime.jsonl import read_jsonl


class HeldoutFormatError(EcomError, ValueError):
    """The held-out folder is missing or does not have the documented layout."""


@dataclass(frozen=True)
class HeldoutTask:
    """One held-out task: its folder name (e.g. ``EN-Lenovo-NER-NER``), metadata and instances."""

    name: str
    dataset: str
    lang: str          # "en" or "zh"
    task_type: str     # NER, CLS, Extract, Condition_Extract, Generate
    path: Path
    meta: dict[str, Any]
    instances: list[dict[str, Any]] = field(repr=False)

    @property
    def label_sep(self) -> str:
        return self.meta.get("label_sep", ", ")

    @property
    def label_set(self) -> Optional[list[str]]:
        """The task's label list (``label_set[label_key]``), or ``None`` when it has none."""
        sets, key = self.meta.get("label_set"), self.meta.get("label_key")
        if isinstance(sets, dict) and key in sets:
            return list(sets[key])
        return None

    def labels_for(self, instance: dict[str, Any]) -> Optional[list[str]]:
        """The label list that applies to ``instance``: its own non-empty ``label_set``, else the task's."""
        own = instance.get("label_set")
        if isinstance(own, list) and any(str(x).strip() for x in own):
            return [str(x) for x in own]
        return self.label_set

    def gold_labels(self, instance: dict[str, Any]) -> list[str]:
        """Gold labels of a classification instance (``labels[label_key]``)."""
        labels = instance.get("labels") or {}
        key = self.meta.get("label_key")
        if key not in labels:
            raise HeldoutFormatError(f"{self.name}: an instance has no labels[{key!r}]")
        return list(labels[key])


def parse_task_dir_name(name: str) -> tuple[str, str, str]:
    """``EN-Lenovo-NER-NER`` -> ("en", "Lenovo", "NER"); the last part is the task's own name."""
    parts = name.split("-")
    if len(parts) < 4 or parts[0] not in ("EN", "ZH"):
        raise HeldoutFormatError(f"task folder {name!r} is not named <EN|ZH>-<Dataset>-<TaskType>-<name>")
    return parts[0].lower(), parts[1], parts[2]


def find_task_dirs(root: str | os.PathLike[str]) -> list[Path]:
    """Every ``<Dataset>/tasks/<task>/`` folder under ``root`` that has a test.json, sorted by name."""
    base = Path(root)
    if not base.is_dir():
        raise HeldoutFormatError(f"held-out folder {str(base)!r} does not exist; pass the folder that "
                                 f"holds <Dataset>/tasks/<task>/test.json (e.g. ../shared/ecomgpt_heldout)")
    dirs = sorted((p.parent for p in base.glob("*/tasks/*/test.json")), key=lambda p: p.name)
    if not dirs:
        raise HeldoutFormatError(f"{str(base)!r} holds no <Dataset>/tasks/<task>/test.json files")
    return dirs


def load_task(task_dir: Path, limit: Optional[int] = None) -> HeldoutTask:
    lang, dataset, task_type = parse_task_dir_name(task_dir.name)
    meta_path = task_dir / "meta-info.json"
    if not meta_path.is_file():
        raise HeldoutFormatError(f"{task_dir} has no meta-info.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise HeldoutFormatError(f"{meta_path} is not valid JSON ({e.msg})") from None
    return HeldoutTask(name=task_dir.name, dataset=dataset, lang=lang, task_type=task_type,
                       path=task_dir, meta=meta,
                       instances=list(read_jsonl(task_dir / "test.json", limit=limit,
                                                 error=HeldoutFormatError)))


def load_heldout(root: str | os.PathLike[str], tasks: Optional[Sequence[str]] = None,
                 limit: Optional[int] = None) -> list[HeldoutTask]:
    """Load the held-out tasks under ``root`` (only those named in ``tasks``, if given), each cut to
    its first ``limit`` instances."""
    dirs = find_task_dirs(root)
    if tasks:
        known = {d.name: d for d in dirs}
        missing = [t for t in tasks if t not in known]
        if missing:
            raise HeldoutFormatError(f"unknown held-out task(s) {missing}; found: {sorted(known)}")
        dirs = [known[t] for t in tasks]
    return [load_task(d, limit) for d in dirs]


__all__ = ["HeldoutTask", "HeldoutFormatError", "load_heldout", "load_task", "find_task_dirs"]
