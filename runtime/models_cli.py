"""``ecomlm models``: the shipped and installed models, one line each (like ``ollama list``)."""
from __future__ import annotations

import argparse
import json


def _size(model) -> str:
    from .gemma_base import installed as gemma_installed

    parts = []
    try:
        if model.base.name != "gemma3-270m" or gemma_installed():
            base = model.base.locate()
            parts.append(f"{base.stat().st_size / 1e6:.0f} MB")
    except Exception:  # not installed: shown in the status column
        return "-"
    if model.adapter is not None:
        parts.append(f"+ {model.adapter.stat().st_size / 1e6:.0f} MB adapter")
    if model.specialists:
        n = len(model.specialists)
        mb = sum(s.adapter.stat().st_size for s in model.specialists) / 1e6
        parts.append(f"+ {mb:.0f} MB in {n} specialists" if n > 1 else f"+ {mb:.0f} MB specialist")
    return " ".join(parts) or "-"


def _status(model) -> str:
    from .errors import EcomError

    try:
        model.resolve()
    except EcomError:
        if model.adapter_dir is not None and model.adapter is None and not model.fallback_to_base:
            return "adapter not shipped"
        return f"not installed: {model.base.install}"
    if model.adapter_dir is not None and model.adapter is None:
        return "installed (no adapter shipped: runs the base)"
    return "installed"


def rows() -> list[dict]:
    """One dict per registered model: name, base, languages, size, licence, status, description,
    held-out summary, its specialists (their task, and the input languages of those that answer some
    languages only: "attribute_extraction (zh input)") and the tasks it answers by a beam search by
    default (task -> width)."""
    from .models import list_models

    return [{"name": m.name, "base": m.base.title, "languages": ",".join(m.languages), "size": _size(m),
             "licence": m.base.licence, "status": _status(m), "description": m.description,
             "heldout": m.heldout_summary(), "specialists": [s.label for s in m.specialists],
             "beams": dict(m.task_beams) if m.adapter is not None else {}}
            for m in list_models()]


def handle(args: argparse.Namespace) -> int:
    table = rows()
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=2))
        return 0
    cols = ["name", "base", "languages", "size", "licence", "status"]
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in cols}
    print("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for r in table:
        print("  ".join(r[c].ljust(widths[c]) for c in cols))
        named = r["specialists"]
        specialists = (f"; task specialist{'s' if len(named) > 1 else ''}: {', '.join(named)}"
                       if named else "")
        beams = "".join(f"; {task} answered by a beam search of {width}" for task, width in r["beams"].items())
        print(f"    {r['description']}{specialists}{beams}" + (f"; held-out: {r['heldout']}" if r["heldout"] else ""))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list the shipped models (name, base, languages, size, licence)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=handle)
