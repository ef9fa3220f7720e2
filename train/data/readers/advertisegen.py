"""AdvertiseGen JSONL: ``instruction`` = ``key#value*key#value ...``, ``output`` = the ad copy.

Values of a repeated key are joined with "、". Used for ad_copy_advertisegen_zh.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, jsonl, safe

NATIVE = ("ad_copy",)


def parse(obj: dict) -> dict:
    specs: dict[str, list[str]] = {}
    for item in str(obj.get("instruction") or obj.get("content") or "").split("*"):
        key, sep, value = item.partition("#")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"bad attribute {item!r}")
        specs.setdefault(key.strip(), [])
        if value.strip() not in specs[key.strip()]:
            specs[key.strip()].append(value.strip())
    copy = str(obj.get("output") or obj.get("summary") or "").strip()
    if not copy:
        raise ValueError("no ad copy")
    return {"specs": {k: "、".join(v) for k, v in specs.items()}, "values": specs, "copy": copy}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "zh") -> Iterator[Record]:
    for path in files(folder, "*.jsonl", log, dataset):
        for i, obj in jsonl(path, log, dataset):
            data = safe(log, dataset, lambda: parse(obj))
            if data:
                yield Record(dataset, f"{path.name}:{i}", lang, "specs", data, native=NATIVE,
                             group=norm(data["copy"]))
