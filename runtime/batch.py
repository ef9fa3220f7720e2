"""Running one task over a JSONL or CSV file of inputs (``batch_input.py``): bad lines are reported
and skipped, never fatal, and a killed run continues where it stopped. The output is a JSONL file, or
standard output when the path is ``-`` (``STDOUT``).

- Every per-line failure (invalid JSON or UTF-8, a lone surrogate escape, a field of the wrong
  type, an input the catalog refuses, a prompt over the context, a time limit) becomes a reported,
  skipped line; the run goes on.
- Results are appended to the output as they come, one flushed line each
  (``{"line": n, "input": {...}, "result": {...}}``), so a killed run keeps every finished line;
  ``resume=True`` (``--resume``) skips the input lines already in the output and drops a torn last
  line left by the kill.
- The paths are checked before any work (``check_paths``): the output must not be the input nor a
  folder, and an existing output is only replaced with ``force=True`` (``--force``) or continued
  with ``resume=True``. The output is an ordinary file (the user's umask applies).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

from .batch_input import count_csv_items, is_csv, iter_csv_items
from .catalog import get_task
from .errors import EcomError, InvalidInputError
from .jsonl import iter_jsonl
from .model import EcomModel
from .task_defaults import with_defaults

#: the output path that means standard output
STDOUT = "-"


@dataclass
class BatchReport:
    """What a batch run did: ``errors`` holds (line number, message) for each skipped line;
    ``n_resumed`` counts the lines already answered in the output by an earlier run."""

    n_lines: int = 0
    n_ok: int = 0
    n_resumed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _count_lines(path: Path) -> int:
    if is_csv(path):
        return count_csv_items(path)
    with path.open("rb") as f:
        return sum(1 for raw in f if raw.strip())


def iter_items(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """(line number, object or error) of a CSV (``.csv``) or JSONL file."""
    return iter_csv_items(path) if is_csv(path) else iter_jsonl(path)


def check_paths(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                resume: bool = False, force: bool = False) -> None:
    """Refuse, before any work, an output that cannot or must not be written (``InvalidInputError``)."""
    src, out = Path(input_path), Path(output_path)
    if not src.is_file():
        raise InvalidInputError(f"input file {str(src)!r} does not exist")
    if str(output_path) == STDOUT:
        if resume:
            raise InvalidInputError("--resume continues an output file; it cannot continue standard "
                                    "output (give --output FILE)")
        return
    if str(output_path).endswith(("/", os.sep)) or out.is_dir():
        raise InvalidInputError(f"--output {str(output_path)!r} is a folder; give a file path such as "
                                f"{str(out / 'results.jsonl')!r}")
    if out.exists() and os.path.samefile(src, out) or out.resolve() == src.resolve():
        raise InvalidInputError(f"--output {str(out)!r} is the input file; write the results elsewhere")
    if resume and force:
        raise InvalidInputError("--resume continues an output and --force replaces it; give one")
    if out.exists() and not (resume or force):
        raise InvalidInputError(f"--output {str(out)!r} exists; pass --resume to continue it or --force "
                                f"to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InvalidInputError(f"{str(parent)!r} is not a folder, so {str(out)!r} cannot be written")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InvalidInputError(f"no permission to write {str(out)!r}")


def answered_lines(output_path: str | os.PathLike[str]) -> set[int]:
    """Input line numbers already answered in ``output_path``; a torn last line (a killed write) is
    cut off the file so that appending continues cleanly."""
    out = Path(output_path)
    done: set[int] = set()
    if not out.exists():
        return done
    good_end = 0
    with out.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # torn: the write of this line was cut short
            try:
                row = json.loads(raw.decode("utf-8"))
                done.add(int(row["line"]))
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                raise InvalidInputError(f"{str(out)!r} holds a line that is not a result of "
                                        f"`ecomlm run` ({type(e).__name__}); it cannot be resumed, "
                                        f"pass --force to replace it") from None
            good_end += len(raw)
    if good_end != out.stat().st_size:
        with out.open("r+b") as f:
            f.truncate(good_end)
    return done


def run_batch(model: EcomModel, task: str, input_path: str | os.PathLike[str],
              output_path: str | os.PathLike[str], defaults: Optional[Mapping[str, Any]] = None,
              *, truncate: bool = False, allow_none: bool = True, progress: bool = True,
              resume: bool = False, force: bool = True,
              on_item: Optional[Callable[[int, int], None]] = None) -> BatchReport:
    """Run ``task`` on every JSON object line of ``input_path``; append one result line per good
    input to ``output_path`` (see the module docstring for resume, force and the checks).

    ``defaults`` fill fields a line does not give (e.g. the label set for every line), then the
    task's own defaults (``task_defaults``: sentiment's labels). ``allow_none=False`` requires an
    answer from span tasks (see ``EcomModel.run``). ``force`` is on by default here (a
    program chose the path); the ``ecomlm run`` command passes ``--force``. ``output_path`` ``-``
    writes the result lines to standard output.
    """
    get_task(task)  # unknown task: fail before reading anything
    check_paths(input_path, output_path, resume=resume, force=force)
    done = answered_lines(output_path) if resume else set()
    total = _count_lines(Path(input_path))
    report = BatchReport(n_lines=total)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, desc=f"ecomlm {task}", unit="item")
    to_stdout = str(output_path) == STDOUT
    out_path = Path(output_path)
    if not to_stdout:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    with (_stdout() if to_stdout else out_path.open("ab" if resume else "wb")) as out:
        for i, (n, obj) in enumerate(iter_items(input_path)):
            if n in done:
                report.n_resumed += 1
            else:
                try:
                    if isinstance(obj, Exception):
                        raise obj
                    if not isinstance(obj, dict):
                        raise InvalidInputError("each line must be a JSON object of the task's inputs")
                    result = model.run(task, truncate=truncate, allow_none=allow_none,
                                       **with_defaults(task, {**(defaults or {}), **obj}))
                    line = json.dumps({"line": n, "input": obj, "result": result.to_dict()},
                                      ensure_ascii=False) + "\n"
                    out.write(line.encode("utf-8"))
                    out.flush()
                    report.n_ok += 1
                except (EcomError, ValueError, TypeError, UnicodeError, RecursionError) as e:
                    message = str(e) if isinstance(e, EcomError) else f"{type(e).__name__}: {e}"
                    report.errors.append((n, message))
            if bar is not None:
                bar.update(1)
            if on_item is not None:
                on_item(i + 1, total)
    if bar is not None:
        bar.close()
    return report


def _stdout() -> Any:
    """Standard output's bytes, in a ``with`` that leaves it open."""
    import contextlib
    import sys
    return contextlib.nullcontext(sys.stdout.buffer)


__all__ = ["BatchReport", "STDOUT", "answered_lines", "check_paths", "iter_items", "run_batch"]
