"""Does keeping what several answers agree on help a task? Its metric per answer count.

    python -m ecomlm.evaluate.consensus_check --data corpus/val.jsonl --task title_generation \\
        [--model multilingual] [--counts 1,4,8] [--lang zh] [--limit 200] [--threads 1] [--no-specialists]
        [--save written.jsonl] [--commands 4]
    python -m ecomlm.evaluate.consensus_check --load written.jsonl [other.jsonl] --task ner --counts 1,8

Reads the validation split as ``repeat_check`` does and, per instance, writes the greedy answer and
``max(counts) - 1`` sampled ones once (``EcomModel.run(consensus_of=)``); for each count ``n`` the
answer kept is the one agreed among the first ``n`` written (``n = 1`` is the greedy answer), scored
against the instance's target. Free text and answer spans keep the answer that agrees most with the
others, scored by Rouge-L with the mean answer length; span lists keep the spans that at least
``k`` of the ``n`` answers hold, for every ``k`` from 1 to ``n`` (the task's own ``k`` marked), scored
by micro-F1 over (type, text) pairs with the mean spans per answer; typed spans also by the other
rule, votes counted per text whatever its type, the type the most answers give it
(``voted_answer(by_text=)``), and by the spans that maximize each answer's expected F1 under their
shares (``consensus.voted_for_f1``). A long source that the run
reads in pieces votes piece by piece; here its pieces' answers are joined and voted whole, which
differs only where one span recurs in several pieces. ``--save`` writes every instance's written
answers and target (JSONL); ``--load`` scores such files again without a model, and several of them
as one ensemble (each instance's answers interleaved file by file: ``--counts 2,16`` over two files
is one, then eight, answers of each model). ``--commands C`` writes the answers under C of the
task's command phrasings (``EcomModel(command=)``), ``max(counts) / C`` under each, interleaved
phrasing by phrasing: the first C are each phrasing's greedy answer, then each one's first sample,
and so on (a vote over prompts as well as samples).
"""
from __future__ import annotations

import argparse
import json
import time
from itertools import islice
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.consensus import consensus_order

from .metrics import micro_f1, rouge_l
from .overlap_vote import voted_by_overlap
from .repeat_check import instances
from .split_reading import by_language, split_check_model, split_check_parser


def _counts(text: str) -> list[int]:
    try:
        counts = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--counts takes comma-separated integers, not {text!r}") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("--counts needs one or more counts >= 1 (1: greedy only)")
    return counts


def kept(written: Sequence[str], n: int) -> str:
    """The answer kept among the first ``n`` written."""
    first = list(written[:n])
    return first[consensus_order(first)[0]]


def _span_rows(task: catalog.Task, written: list[tuple[dict, list[str], str]], counts: Sequence[int]
               ) -> Iterator[tuple[str, float, float]]:
    """(rule, micro-F1, mean spans) of a span-list task for each count and vote threshold."""
    kind = task.kind
    pairs = lambda fields, raw: [(s.type, s.text) for s in kind.parse(task, raw, fields).spans]  # noqa: E731
    golds = [pairs(fields, target) for fields, _, target in written]
    rules = [(False, "spans"), (True, "texts, most given type")] if kind.typed else [(False, "spans")]
    located = lambda fields, raw: [(s.type, s.start, s.end, s.text)  # noqa: E731
                                   for s in kind.parse(task, raw, fields).spans]
    for n in counts:
        for by_text, held in rules if n > 1 else rules[:1]:
            for k in range(1, n + 1):
                preds = [pairs(fields, kind.voted_answer(task, texts[:n], fields, k, by_text=by_text))
                         for fields, texts, _ in written]
                mark = (" (the task's)" if n > 1 and k == kind.votes_needed(n) and by_text == kind.vote_by_text
                        and task.vote == "share" else "")
                yield (f"{n}, {held} held by >= {k}{mark}", micro_f1(preds, golds),
                       sum(map(len, preds)) / max(1, len(preds)))
        if n == 1:
            continue
        preds = [pairs(fields, kind.voted_answer(task, texts[:n], fields, 0)) for fields, texts, _ in written]
        mark = " (the task's)" if task.vote == "expected_f1" else ""
        yield (f"{n}, spans kept for the best expected F1 per answer{mark}", micro_f1(preds, golds),
               sum(map(len, preds)) / max(1, len(preds)))
        # measured, not shipped: overlapping spans counted as one (overlap_vote.py)
        answers = [[located(fields, t) for t in texts[:n]] for fields, texts, _ in written]
        for same_type in (True, False) if kind.typed else (True,):
            held = "overlapping spans" + (" of its type" if same_type and kind.typed else
                                          ", any type," if kind.typed else "")
            for k in range(2, n + 1):
                preds = [voted_by_overlap(a, k, same_type=same_type) for a in answers]
                yield (f"{n}, {held} held by >= {k}", micro_f1(preds, golds),
                       sum(map(len, preds)) / max(1, len(preds)))


def _save(path: Path, task: str, lang: str, written: list[tuple[dict, list[str], str]]) -> None:
    """Append one task's written answers to ``path`` (JSONL, a line per instance)."""
    with path.open("a", encoding="utf-8") as f:
        for fields, texts, target in written:
            f.write(json.dumps({"task": task, "lang": lang, "fields": fields, "written": texts,
                                "target": target}, ensure_ascii=False) + "\n")


def _written_under(phrasings: Sequence, task: str, n: int, fields: dict) -> list[str]:
    """``n`` answers to one instance, ``n / len(phrasings)`` by each model variant (one command
    phrasing each), interleaved variant by variant (each one's greedy answer first)."""
    per = n // len(phrasings)
    answers = []
    for model in phrasings:
        result = model.run(task, consensus_of=per, **fields)
        answers.append(result.written or [result.raw])
    return [text for row in zip(*answers) for text in row]


def _decoded(args: argparse.Namespace, tasks: Sequence[catalog.Task]
             ) -> Iterator[tuple[catalog.Task, str, list[tuple[dict, list[str], str]], Optional[float]]]:
    """Per task and language: each instance's fields, written answers and target, and s/item."""
    from ecomlm.train.corpus_file import read_corpus
    from tqdm import tqdm

    if args.save:  # a new run's answers, not appended to an older run's
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text("", encoding="utf-8")
    model = split_check_model(args)
    phrasings = [model.variant(command=i) for i in range(args.commands)]
    try:
        for task in tasks:
            for lang, items in by_language(islice(instances(read_corpus(args.data), task, args.lang), args.limit)):
                written: list[tuple[dict, list[str], str]] = []
                t0 = time.perf_counter()
                for fields, target in tqdm(items, desc=f"{task.name} {lang}", unit="item"):
                    written.append((fields, _written_under(phrasings, task.name, args.counts[-1], fields), target))
                seconds = (time.perf_counter() - t0) / max(1, len(items))
                if args.save:
                    _save(args.save, task.name, lang, written)
                yield task, lang, written, seconds
    finally:
        model.close()


def _loaded(paths: Sequence[Path], tasks: Sequence[catalog.Task], only_lang: Optional[str]
            ) -> Iterator[tuple[catalog.Task, str, list[tuple[dict, list[str], str]], Optional[float]]]:
    """The same from ``--save`` files; with several, an instance's answers are interleaved file by file
    (the first file's greedy answer first), so the first ``n * len(paths)`` hold ``n`` of each."""
    files = []
    for path in paths:
        groups: dict[tuple[str, str], list[dict]] = {}
        with path.open(encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                groups.setdefault((rec["task"], rec["lang"]), []).append(rec)
        files.append(groups)
    for task in tasks:
        for lang in sorted({lang for groups in files for name, lang in groups
                            if name == task.name and only_lang in (None, lang)}):
            parts = [groups.get((task.name, lang), []) for groups in files]
            if any(len(p) != len(parts[0]) or [r["fields"] for r in p] != [r["fields"] for r in parts[0]]
                   for p in parts):
                raise SystemExit(f"{task.name} {lang}: the --load files hold different instances")
            written = [(recs[0]["fields"], [t for answers in zip(*(r["written"] for r in recs)) for t in answers],
                        recs[0]["target"]) for recs in zip(*parts)]
            yield task, lang, written, None


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = split_check_parser("python -m ecomlm.evaluate.consensus_check", __doc__.split("\n\n")[0],
                           "a task with consensus: title_generation, ad_copy, summarize, ner, qa, ... (repeat)",
                           limit=100, data_required=False)
    p.add_argument("--counts", type=_counts, default=[1, 4, 8],
                   help="answer counts to compare (1: the greedy answer only)")
    p.add_argument("--save", type=Path, default=None,
                   help="write each instance's fields, written answers (greedy first) and target here (JSONL)")
    p.add_argument("--load", type=Path, nargs="+", default=None,
                   help="score the answers of earlier --save files instead of decoding (no model runs); "
                        "several: their answers interleaved per instance, an ensemble of the models that wrote them")
    p.add_argument("--commands", type=int, default=1,
                   help="write the answers under this many of the task's command phrasings (default 1: "
                        "the first, as the runtime does); the largest count must be a multiple of it")
    args = p.parse_args(argv)
    if args.commands < 1 or args.counts[-1] % args.commands:
        p.error(f"--commands {args.commands}: the largest of --counts ({args.counts[-1]}) must be a positive "
                f"multiple of it")
    if (args.data is None) == (args.load is None):
        p.error("give --data (decode the split) or --load (score saved answers), one of the two")
    tasks = [catalog.get_task(name) for name in args.tasks]
    for task in tasks:
        if not task.kind.consensus:
            raise SystemExit(f"{task.name}: its output kind ({task.output}) keeps no consensus")
    print("| task | lang | items | answers (rule) | metric | score | mean answer size | s/item (all written) |\n"
          "|---|---|---:|---|---|---:|---:|---:|")
    batches = _loaded(args.load, tasks, args.lang) if args.load else _decoded(args, tasks)
    for task, lang, written, seconds in batches:
        if hasattr(task.kind, "voted_answer"):
            rows = [(rule, "micro-F1", score, f"{size:.2f} spans")
                    for rule, score, size in _span_rows(task, written, args.counts)]
        else:
            rows = []
            for n in args.counts:
                answers = [(kept(texts, n), target) for _, texts, target in written]
                m = max(1, len(answers))
                score = 100 * sum(rouge_l(a, t, lang) for a, t in answers) / m
                rows.append((str(n), "Rouge-L", score, f"{sum(len(a) for a, _ in answers) / m:.0f} chars"))
        took = "–" if seconds is None else f"{seconds:.2f}"
        for rule, metric, score, size in rows:
            print(f"| {task.name} | {lang} | {len(written)} | {rule} | {metric} | {score:.2f} | {size} | {took} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
