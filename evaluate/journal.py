"""What a running evaluation has answered so far, so that a stopped run resumes where it stopped.

A held-out evaluation runs for tens of minutes on a CPU (250 items of NER with its vote of 8 answers
take about 35 minutes on one core), and a laptop lid, a Ctrl-C or a session limit stops it. Every
answered item is appended to ``OUT/eval-journal.jsonl`` as it is scored (one JSON line, flushed);
the same command with ``--resume`` reads the journal back and answers only the items it lacks
(``--fresh`` discards it; with neither, a journal in OUT is an error that names both, as
``ecomlm run --resume`` / ``--force`` treat a batch output). The journal's first line is the run's
*setup*: the held-out items, the models' files and every setting that changes an answer (not
``--threads``); ``--resume`` refuses a journal of another setup and says what differs. The code is
not part of the setup: resume with the code that began the run. Once results.json and the rest are
written, the journal is deleted.

Lines: ``{"setup": {...}}`` first, then ``{"loaded": REF, "backend": ..., "load_s": ...}`` as each
model loads and ``{"example": {...}}`` per item (``Example.to_json``). A last line cut short by a
crash is ignored.

``ecomlm eval-realistic`` keeps the same journal for its items (``realistic_eval.py``): what an item
line holds and how it reads back is a ``JournalCodec`` (``HELDOUT`` for ``ecomlm eval``).
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, TextIO

from ecomlm.runtime.atomic_io import atomic_write
from ecomlm.runtime.errors import InvalidInputError

from .mapping import Answer

#: the journal's file name inside ``ecomlm eval``'s output folder
JOURNAL_NAME = "eval-journal.jsonl"


def file_identity(files: Iterable[Path]) -> list[list[Any]]:
    """(path, bytes, mtime_ns) of each file: a model file replaced in place (a new adapter) gives
    another identity."""
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def shipped_beams(resolved: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, int]]:
    """Each model's own decoding defaults that decide its answers (``ShippedModel.task_beams``: task ->
    beam width; ``default`` answers qa by a beam of 4), for a journal's settings; ``resolved``: each
    model reference's ``resolve_all`` (resolved once by the caller, which also records their files)."""
    return {ref: {task: width for r in members for task, width in r.task_beams} for ref, members in resolved.items()}


def items_digest(instances: Iterable[Any]) -> str:
    """A short digest of a task's items (its test.json lines, as loaded)."""
    h = hashlib.sha256()
    for inst in instances:
        h.update(json.dumps(inst, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]


def example_from_json(rec: dict[str, Any]) -> Any:
    """The ``Example`` a ``to_json`` line holds."""
    from .runner import Example

    answer = lambda a: Answer(items=tuple((i[0], i[1]) for i in a["items"]), text=a["text"])  # noqa: E731
    return Example(task=rec["task"], index=rec["index"], catalog_task=rec["catalog_task"],
                   pred=answer(rec["pred"]), gold=answer(rec["gold"]), raw=rec.get("raw"),
                   written=rec.get("written"), dropped=rec.get("dropped", 0), error=rec.get("error"),
                   seconds=rec.get("seconds", 0.0))


@dataclass(frozen=True)
class JournalCodec:
    """How one answered item is written to a journal line and read back."""

    #: the field of an item line that tells it from the other items of its model and task
    key: str
    #: the item line of an answered item, by the model that answered it: ``encode(ref, item)``
    encode: Callable[[str, Any], dict[str, Any]]
    #: the answered item an item line holds; it must hold "model", "task" and ``key``
    decode: Callable[[dict[str, Any]], Any]


#: ``ecomlm eval``'s items: ``runner.Example``, told apart by their index in the task
HELDOUT = JournalCodec(key="index", encode=lambda ref, example: example.to_json(ref),
                       decode=lambda rec: example_from_json(rec))


@dataclass
class EvalJournal:
    """The items one evaluation setup has answered; ``open`` it, then ``record`` each new one."""

    path: Path
    _file: TextIO
    _examples: dict[tuple[str, str, Any], Any]
    _loaded: dict[str, dict[str, Any]]
    #: what ``open`` did with an earlier journal, for the user (``None``: there was none)
    note: Optional[str] = None
    codec: JournalCodec = HELDOUT

    @classmethod
    def open(cls, out: Path, setup: dict[str, Any], *, resume: bool = False,
             fresh: bool = False, codec: JournalCodec = HELDOUT) -> "EvalJournal":
        """The journal of ``setup`` in folder ``out``. A stopped run's journal there is read back with
        ``resume`` (its setup must be ``setup``) and discarded with ``fresh``; with neither, it is an
        error that names both, so that no answered item is lost or mixed in unasked."""
        if resume and fresh:
            raise InvalidInputError("--resume continues a stopped run and --fresh discards it; give one")
        path = Path(out) / JOURNAL_NAME
        setup = json.loads(json.dumps(setup))  # as it reads back: tuples become lists
        records: list[dict[str, Any]] = []  # the earlier journal's lines after its setup, when resumed
        note = None
        if path.exists() and fresh:
            note = f"--fresh: the stopped run's answers in {path} discarded, starting over"
        elif path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            head = _parsed(lines[0]) if lines else None
            records = [rec for rec in map(_parsed, lines[1:]) if rec is not None]  # a line a crash cut short: dropped
            answered = sum("example" in rec for rec in records)
            if not resume:
                raise InvalidInputError(f"{out} holds a stopped run ({answered} items answered, {path}): add "
                                        f"--resume to continue it, or --fresh to start over")
            before = head.get("setup") if head is not None else None
            if before != setup:
                raise InvalidInputError(f"--resume: the stopped run in {out} had other "
                                        f"{_differences(before, setup)}; run it as it was, or use --fresh "
                                        f"or another --out")
            note = f"--resume: {answered} items already answered, read from {path}"
        elif resume:
            note = f"--resume: no stopped run in {out} (no {JOURNAL_NAME}), starting"
        loaded = {rec["loaded"]: rec for rec in records if "loaded" in rec}
        examples = {(e["model"], e["task"], e[codec.key]): codec.decode(e)
                    for e in (rec["example"] for rec in records if "example" in rec)}
        path.parent.mkdir(parents=True, exist_ok=True)
        # written again through a temp file (without a line a crash cut short), then appended to
        with atomic_write(path) as f:
            for rec in ({"setup": setup}, *records):
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return cls(path, path.open("a", encoding="utf-8"), examples, loaded, note, codec)

    def done(self, ref: str, task: str) -> dict[Any, Any]:
        """The examples of ``task`` that model ``ref`` has answered, by their key (``ecomlm eval``:
        the item's index in the task)."""
        return {i: e for (r, t, i), e in self._examples.items() if r == ref and t == task}

    @property
    def answered(self) -> int:
        """How many items the journal holds, of every model."""
        return len(self._examples)

    def loaded(self, ref: str) -> Optional[dict[str, Any]]:
        """``{"backend", "load_s"}`` of model ``ref`` as an earlier part of this run loaded it."""
        return self._loaded.get(ref)

    def record_load(self, ref: str, backend: str, load_s: float) -> None:
        rec = {"loaded": ref, "backend": backend, "load_s": round(load_s, 3)}
        self._loaded[ref] = rec
        self._write(rec)

    def record(self, ref: str, example: Any) -> None:
        """Append one answered item (flushed: a crash after this keeps it)."""
        line = self.codec.encode(ref, example)
        self._examples[(ref, line["task"], line[self.codec.key])] = example
        self._write({"example": line})

    def _write(self, rec: dict[str, Any]) -> None:
        self._file.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def stopped(self, command: str) -> None:
        """The run stopped before its results (an error, Ctrl-C): close the journal, kept for the next
        run of the same setup, and tell the user on stderr how to continue."""
        self.close()
        if self.answered:
            print(f"{command}: stopped; the {self.answered} items answered are kept in {self.path}: "
                  f"the same command with --resume continues the run", file=sys.stderr)

    def finish(self) -> None:
        """The run's results are written: the journal is no longer needed."""
        self.close()
        self.path.unlink(missing_ok=True)


def _differences(before: Optional[dict[str, Any]], now: dict[str, Any]) -> str:
    """What differs between two setups, in words (\"settings (consensus_of)\", \"items\", ...)."""
    if not isinstance(before, dict):
        return "contents (its journal has no setup line)"
    parts = []
    for key in ("models", "items"):
        if before.get(key) != now.get(key):
            parts.append(key if key == "items" else "models or model files")
    old, new = before.get("settings") or {}, now.get("settings") or {}
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        parts.append(f"settings ({', '.join(changed)})")
    return " and ".join(parts) or "contents"


def _parsed(line: str) -> Optional[dict[str, Any]]:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


__all__ = ["JOURNAL_NAME", "HELDOUT", "EvalJournal", "JournalCodec", "example_from_json", "file_identity",
           "items_digest", "shipped_beams"]
