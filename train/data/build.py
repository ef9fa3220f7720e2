"""Build the EcomInstruct-style corpus: read, generate, balance, deduplicate, guard, split, write.

``build_corpus(BuildConfig(...))`` is the one entry point (the CLI, tests and scripts call it).

- Cap: at most ``cap`` instances per (task, dataset) pair (the paper's 800 is per dataset-task);
  within a pair, classes are balanced round-robin over gold labels, and at most ``NONE_SHARE`` of
  the extraction / multi-label items have the answer "None".
- Deduplication: one instance per (task, item input) across all datasets (label-set order and
  distractors are ignored; free-text tasks also key on the target).
- Split: by source record; the key is the record's normalised text, so a sentence that appears in
  two overlapping datasets lands on one side.
- Contamination guard: see ``guard.py``; dropped instances are replaced by others of the same pair.
- Determinism: every random choice comes from an RNG seeded by (seed, dataset, record id) or
  (seed, task, dataset); the same config gives byte-identical files.
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.atomic_io import atomic_write
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.fields import ITEM_FIELDS, OPTION_FIELDS

from . import atomic, downstream
from .guard import Guard
from .pools import Pools
from .readers import DATASETS, ReadLog, read_all
from .records import Draft, Record, norm
from .stats import TOKEN_METHOD, approx_tokens, markdown, summarize

NONE_SHARE = 0.15          # most "None" answers per (task, dataset) pair, as a share of the cap
RECORDS_PER_CAP = 20       # a dataset with more than cap * this records is subsampled first
GATE_POOL = 20             # candidates per gate instance kept of what a pair's cap left out


@dataclass
class BuildConfig:
    source: Path
    out: Path
    heldout: Optional[Path] = None
    cap: int = 800
    seed: int = 0
    atomic: bool = True
    val_fraction: float = 0.05
    datasets: Optional[Sequence[str]] = None   # only these dataset folders (default: all known)
    progress: bool = True
    #: ask a share of the English entity tasks on several annotated texts joined into one long input
    #: (``sampling.joined_entities``); off by default: round 9 measured lower Lenovo NER with it
    long_entities: bool = False
    #: up to this many short-answer questions of one context (attribute questions over an offer,
    #: opinion questions over a review), each an instance: the same context with other questions and
    #: other answers, so the answer depends on the question (1: one question a context)
    questions_per_context: int = 1
    #: the prompt layout: task name -> item fields its user turn restates after the inputs
    #: (``catalog.render_user``), e.g. {"qa": ("question",)}; an adapter trained on such a corpus is
    #: asked in the same layout (its ``layout.json``, written by ``ecomlm ship``)
    restate: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: also write ``gate.jsonl``: up to this many instances per (task, dataset) pair that the cap left
    #: out, from records no train or val instance holds (``gate_instances``); 0: none, and the train
    #: and val splits are the same either way
    gate: int = 0

    def __post_init__(self) -> None:
        self.source, self.out = Path(self.source), Path(self.out)
        self.heldout = Path(self.heldout) if self.heldout is not None else None
        if self.cap < 1:
            raise InvalidInputError(f"--cap must be at least 1, got {self.cap}")
        if self.questions_per_context < 1:
            raise InvalidInputError(f"--questions-per-context must be at least 1, got {self.questions_per_context}")
        for name in self.restate:
            catalog.restate_layout(catalog.get_task(name), self.restate)
        if self.gate < 0:
            raise InvalidInputError(f"--gate must be 0 (none) or more, got {self.gate}")
        if not 0 <= self.val_fraction < 1:
            raise InvalidInputError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")


@dataclass
class Candidate:
    draft: Draft
    record: Record
    atomic: bool


def _progress(items: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency; a bare environment still builds
        return items
    return tqdm(items, total=total, desc=desc, unit="", file=sys.stderr, dynamic_ncols=True)


def _rng(*parts: Any) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _fraction(seed: int, key: str) -> float:
    h = hashlib.md5(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64


def base_task(name: str) -> str:
    return name.split("@")[0]


def candidates(records: list[Record], config: BuildConfig) -> Iterator[Candidate]:
    """All drafts of one dataset's records, each flagged atomic unless it is a native task."""
    pools = Pools.build(records, join_entities=config.long_entities,
                        questions_per_context=config.questions_per_context)
    for r in records:
        rng = _rng(config.seed, r.dataset, r.rid)
        for module in (downstream, atomic):
            for draft in module.generate(r, pools, rng):
                is_atomic = draft.task not in r.native
                if is_atomic and not config.atomic:
                    continue
                yield Candidate(draft, r, is_atomic)


def ordered(cands: list[Candidate], task: catalog.Task, cap: int, rng: random.Random,
            siblings_together: bool = False) -> list[Candidate]:
    """Shuffled, then interleaved round-robin over balance keys (a draft's own ``bucket`` where it
    names one); "None" answers limited. ``siblings_together``: the drafts of one record follow one
    another (where the first of them fell), so the cap takes a record's questions together."""
    rng.shuffle(cands)
    if siblings_together:
        first: dict[int, int] = {}
        for i, c in enumerate(cands):
            first.setdefault(id(c.record), i)
        cands.sort(key=lambda c: first[id(c.record)])
    buckets: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        buckets[c.draft.bucket or task.kind.balance_key(task, c.draft.gold)].append(c)
    if "none" in buckets:
        buckets["none"] = buckets["none"][: max(1, int(NONE_SHARE * cap))]
        if "some" in buckets:   # keep "None" answers spread thinly through the list
            some, none = buckets.pop("some"), buckets.pop("none")
            step = max(1, len(some) // max(1, len(none)))
            merged: list[Candidate] = []
            for i, c in enumerate(some):
                merged.append(c)
                if i % step == step - 1 and none:
                    merged.append(none.pop())
            buckets = {"all": merged + none}
    out: list[Candidate] = []
    lists = [buckets[k] for k in sorted(buckets)]
    for i in range(max((len(b) for b in lists), default=0)):
        out.extend(b[i] for b in lists if i < len(b))
    return out


def dedup_key(task: catalog.Task, fields: dict[str, Any], gold: Any) -> str:
    item = {k: v for k, v in fields.items() if k not in OPTION_FIELDS}
    if task.kind.free_text:
        item["__gold"] = gold
    return task.name + "\x00" + norm(json.dumps(item, ensure_ascii=False, sort_keys=True))


def render(c: Candidate, task: catalog.Task, rng: random.Random,
           restate: Sequence[str] = ()) -> tuple[dict[str, Any], str]:
    """The instance (its chat messages, the user turn restating the ``restate`` fields after the
    inputs) and the key that places it in its split: the instance as laid out without restated
    fields, so a layout moves no instance and changes nothing else (one draw of ``rng`` either way)."""
    fields = catalog.normalize_fields(task, c.draft.fields)
    command_index = rng.randrange(len(task.commands))
    answer = catalog.format_answer(task, c.draft.gold)
    inst = {"task": task.name, "dataset": c.record.dataset, "lang": c.record.lang, "atomic": c.atomic,
            "messages": catalog.build_messages(task, fields, command_index=command_index, answer=answer)}
    key = json.dumps(inst, ensure_ascii=False)
    if restate:
        inst["messages"] = catalog.build_messages(task, fields, command_index=command_index, answer=answer,
                                                  restate=restate)
    return inst, key


def item_texts(fields: Mapping[str, Any]) -> set[str]:
    """The item inputs of a draft (a text, a context, a product...; not its options), normalized."""
    return {norm(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))
            for k, v in fields.items() if k in ITEM_FIELDS}


def gate_instances(spare: list[tuple[catalog.Task, str, list[Candidate]]], used_groups: set[str],
                   used_texts: set[str], seen: set[str], guard: Guard,
                   config: BuildConfig) -> list[tuple[dict, str]]:
    """Fresh items for deciding what ships (``--gate N``): per (task, dataset) pair, up to
    ``config.gate`` of the candidates its cap left out, in their order, from records whose group no
    train or val instance holds and with no input that one of them has (a product drawn from another
    record as a negative counts), so no model trained on the corpus has seen the inputs and no check
    of the val split has looked at them; deduplicated and guarded like the splits. Their own draws
    pick the command phrasings, so the splits do not move. (instance, order key) pairs."""
    out: list[tuple[dict, str]] = []
    for task, dataset, cands in spare:
        rng = _rng(config.seed, "gate", task.name, dataset)
        restate = catalog.restate_layout(task, config.restate)
        taken = 0
        for c in cands:
            if taken >= config.gate:
                break
            if c.record.group in used_groups or item_texts(c.draft.fields) & used_texts:
                continue
            try:
                inst, order_key = render(c, task, rng, restate)
            except InvalidInputError:
                continue
            key = dedup_key(task, c.draft.fields, c.draft.gold)
            if key in seen or (guard.hashes and any(guard.overlaps(m["content"]) for m in inst["messages"])):
                continue
            seen.add(key)
            out.append((inst, order_key))
            taken += 1
    return out


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write atomically (``atomic_write``: a temporary file in the same folder, then rename)."""
    with atomic_write(path) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as fh:
        fh.write(text)


def dataset_records(config: BuildConfig, name: str, log: ReadLog) -> list[Record]:
    """One dataset's records as the build reads them: all of them, or a seeded sample of
    ``cap * RECORDS_PER_CAP`` (in record order) for a larger dataset."""
    records = list(read_all(config.source, log, only=[name]))
    limit = config.cap * RECORDS_PER_CAP
    if len(records) > limit:
        records = _rng(config.seed, "records", name).sample(records, limit)
        records.sort(key=lambda r: r.rid)
    return records


def build_corpus(config: BuildConfig) -> dict[str, Any]:
    """Build ``train.jsonl``, ``val.jsonl`` (and ``gate.jsonl`` with ``config.gate``), ``stats.json``
    and ``stats.md`` under ``config.out``;
    return the stats."""
    t0 = time.time()
    if not config.source.is_dir():
        raise InvalidInputError(f"--source {config.source} is not a folder; pass the folder that holds "
                                "the staged datasets (see train/data/CORPUS.md, 'Getting the datasets')")
    if config.out.exists() and not config.out.is_dir():
        raise InvalidInputError(f"--out {config.out} exists and is not a folder")
    log = ReadLog()
    if config.heldout is None:
        log.warn("no held-out folder given: the contamination guard is OFF")
        guard = Guard()
    else:
        guard = Guard.from_folder(config.heldout)
    config.out.mkdir(parents=True, exist_ok=True)

    # 1. read and generate, dataset by dataset
    by_pair: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    dataset_lang = {}
    known = [d.folder for d in DATASETS if config.datasets is None or d.folder in config.datasets]
    for name in _progress(known, len(known), "read+generate", config.progress):
        records = dataset_records(config, name, log)
        if not records:
            continue
        dataset_lang[name] = records[0].lang
        for c in candidates(records, config):
            by_pair[(c.draft.task, name)].append(c)

    # 2. per (task, dataset): balance, render, dedup, guard, cap
    seen: set[str] = set()
    dropped = {"heldout": 0, "duplicate": 0, "invalid": 0}
    selected: list[tuple[dict, str, Record]] = []
    spare: list[tuple[catalog.Task, str, list[Candidate]]] = []
    used_texts: set[str] = set()  # with --gate: every input text of the splits
    pairs = sorted(by_pair)
    for task_name, dataset in _progress(pairs, len(pairs), "select", config.progress):
        task = catalog.get_task(task_name)
        restate = catalog.restate_layout(task, config.restate)
        rng = _rng(config.seed, task_name, dataset)
        taken = 0
        together = task_name == "qa" and config.questions_per_context > 1
        queue = ordered(by_pair[(task_name, dataset)], task, config.cap, rng, siblings_together=together)
        consumed = 0
        for c in queue:
            if taken >= config.cap:
                break
            consumed += 1
            try:
                inst, order_key = render(c, task, rng, restate)
            except InvalidInputError:
                dropped["invalid"] += 1
                continue
            key = dedup_key(task, c.draft.fields, c.draft.gold)
            if key in seen:
                dropped["duplicate"] += 1
                continue
            if guard.hashes and any(guard.overlaps(m["content"]) for m in inst["messages"]):
                dropped["heldout"] += 1
                continue
            seen.add(key)
            selected.append((inst, order_key, c.record))
            if config.gate:
                used_texts |= item_texts(c.draft.fields)
            taken += 1
        if config.gate and consumed < len(queue):  # what the cap left out, a bounded pool of it
            spare.append((task, dataset, queue[consumed:consumed + GATE_POOL * config.gate]))
        del by_pair[(task_name, dataset)]

    # 3. split by source record group, write
    train_keyed: list[tuple[dict, str]] = []
    val_keyed: list[tuple[dict, str]] = []
    for inst, order_key, rec in selected:
        split = val_keyed if _fraction(config.seed, rec.group) < config.val_fraction else train_keyed
        split.append((inst, order_key))
    order = lambda rows: [inst for inst, key in sorted(rows, key=lambda r: _fraction(config.seed, r[1]))]
    train, val = order(train_keyed), order(val_keyed)
    _write_jsonl(config.out / "train.jsonl", train)
    _write_jsonl(config.out / "val.jsonl", val)
    gate: list[dict] = []
    if config.gate:
        gate = order(gate_instances(spare, {rec.group for _, _, rec in selected}, used_texts, seen, guard,
                                    config))
        _write_jsonl(config.out / "gate.jsonl", gate)
    length = lambda rows: [approx_tokens(" ".join(m["content"] for m in r["messages"])) for r in rows]
    stats: dict[str, Any] = {
        **summarize(train + val, length(train + val)),
        "train": summarize(train, length(train)),
        "val": summarize(val, length(val)),
        **({"gate": summarize(gate, length(gate))} if config.gate else {}),
        "heldout_overlap_dropped": dropped["heldout"],
        "duplicates_dropped": dropped["duplicate"],
        "invalid_dropped": dropped["invalid"],
        "malformed": dict(sorted(log.malformed.items())),
        "records_read": dict(sorted(log.read.items())),
        "warnings": log.warnings,
        "dataset_lang": dataset_lang,
        "token_length_method": TOKEN_METHOD,
        "heldout_inputs": guard.n_inputs,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "build_seconds": round(time.time() - t0, 1),
    }
    _write_text(config.out / "stats.json", json.dumps(stats, ensure_ascii=False, indent=2) + "\n")
    _write_text(config.out / "stats.md", markdown(stats))
    return stats
