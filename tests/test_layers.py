"""The top-level folders (the sub-packages ``ecomlm.<folder>``) import each other without a cycle.

Every import statement counts, the lazy ones inside functions too. ``cli/main.py`` loads the
subcommand modules by name (``COMMAND_MODULES``), not by import statements: the command sits on top.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests")


def folder_imports() -> dict[str, dict[str, set[str]]]:
    """``{folder: {imported folder: {"file:line", ...}}}`` over the ``ecomlm.<folder>`` imports."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = ([f"ecomlm.{a.name}" for a in node.names] if node.module == "ecomlm"
                             else [node.module])
                else:
                    continue
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "ecomlm" and len(parts) > 1 and parts[1] in FOLDERS and parts[1] != folder:
                        edges[folder][parts[1]].add(f"{path.relative_to(ROOT)}:{node.lineno}")
    return edges


def find_cycle(edges: dict[str, dict[str, set[str]]]) -> list[str]:
    """One cycle of folders (``[a, b, ..., a]``), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_import_cycle_between_top_level_folders():
    edges = folder_imports()
    cycle = find_cycle(edges)
    where = [f"{a} -> {b}: {', '.join(sorted(edges[a][b])[:3])}" for a, b in zip(cycle, cycle[1:])]
    assert not cycle, "import cycle between folders:\n" + "\n".join(where)


def test_training_and_export_share_the_model_source_layer_only():
    edges = folder_imports()
    assert "quantize" not in edges["train"] and "train" not in edges["quantize"]
    assert set(edges["source"]) == {"runtime"}
    assert "source" in edges["train"] and "source" in edges["quantize"]


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b": set()}, "b": {"c": set()}, "c": {"a": set()}}) in (
        ["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"])
    assert find_cycle({"a": {"b": set()}, "b": {}}) == []


def test_the_moved_functions_stay_importable_from_train():
    from ecomlm.source import base, merge
    from ecomlm.train.base_model import load_base_model, materialize_base
    from ecomlm.train.merge import adapter_to_gguf, merge_run

    assert (materialize_base, load_base_model) == (base.materialize_base, base.load_base_model)
    assert (merge_run, adapter_to_gguf) == (merge.merge_run, merge.adapter_to_gguf)
