"""How closely GGUF files follow their PyTorch model on a corpus split, token by token.

    python -m ecomlm.quantize.corpus_parity --model default --data corpus/val.jsonl --limit 300 \
        OUT/ecomlm-smollm2-135m-Q4_K_M.gguf OUT/ecomlm-smollm2-135m-Q8_0.gguf ...

The export's own parity (``parity.py``) uses 8 fixed prompts, about 190 answer tokens: enough to catch
a broken artifact, too few to rank two good ones. This check feeds ``--limit`` records of a corpus
JSONL (a seeded sample; ``--lang`` to keep one language), rendered with the chat template as in
training, through the PyTorch model and through each file, teacher-forced, and compares them at every
answer token: the share whose top token agrees with PyTorch's, the mean KL(PyTorch || file), and the
share whose top token is the corpus answer's (PyTorch's own share in the first row). Use a split
nobody trained on (``corpus/val.jsonl``), and not one an importance matrix was collected on.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ecomlm.runtime.errors import EcomError, InvalidInputError


@dataclass
class Row:
    """One model's agreement with the reference over the answer tokens of the sample."""

    name: str
    megabytes: Optional[float]
    positions: int
    top1_vs_reference: float
    mean_kl: float
    answer_token_accuracy: float


def answer_positions(tokenizer, records: Sequence[dict]) -> list[tuple[list[int], list[int], list[int]]]:
    """Per record: token ids, the positions that predict an answer token, and those answer tokens."""
    from ecomlm.source.corpus import IGNORE, tokenize_messages

    out = []
    for r in records:
        ex = tokenize_messages(tokenizer, r["messages"])
        pos = [i for i, t in enumerate(ex.targets) if t != IGNORE]
        out.append((ex.input_ids, pos, [ex.targets[i] for i in pos]))
    return out


def compare_files(hf_dir: Path, files: Sequence[Path], records: Sequence[dict], threads: int = 2,
                  progress: bool = True) -> list[Row]:
    """The PyTorch model of ``hf_dir`` (first row) and each GGUF file, over ``records``."""
    from ecomlm.runtime.backends.torch_backend import TorchBackend
    from tqdm import tqdm
    from transformers import AutoTokenizer

    from .parity import GGUFScorer, row_divergence

    items = answer_positions(AutoTokenizer.from_pretrained(str(hf_dir)), records)
    torch_model = TorchBackend(hf_dir, n_threads=threads)
    reference = [torch_model.logits(ids)[pos] for ids, pos, _ in
                 tqdm(items, desc="PyTorch", unit="record", disable=not progress)]
    torch_model.close()
    n = sum(len(pos) for _, pos, _ in items)
    if n == 0:
        raise InvalidInputError("the sampled records hold no answer tokens")
    gold_hits = sum(int((r.argmax(-1) == np.array(gold)).sum()) for r, (_, _, gold) in zip(reference, items))
    rows = [Row("PyTorch (reference)", None, n, 1.0, 0.0, gold_hits / n)]
    for path in files:
        scorer = GGUFScorer(path, threads, n_ctx=max(2048, max(len(ids) for ids, _, _ in items) + 8))
        top1 = hits = 0
        kls: list[float] = []
        try:
            for ref, (ids, pos, gold) in tqdm(list(zip(reference, items)), desc=path.name, unit="record",
                                              disable=not progress):
                d = row_divergence(ref, scorer.logits(ids)[pos])
                top1 += int(d.top1_agrees.sum())
                hits += int((d.artifact_top == np.array(gold)).sum())
                kls.extend(d.kl.tolist())
        finally:
            scorer.llm.close()
        rows.append(Row(f"{path.parent.name}/{path.name}", round(path.stat().st_size / 1e6, 1), n,
                        top1 / n, float(np.mean(kls)), hits / n))
    return rows


def render(rows: Sequence[Row]) -> str:
    lines = ["| model | MB | answer tokens | top-1 = PyTorch | mean KL | top-1 = corpus answer |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        mb = "–" if r.megabytes is None else f"{r.megabytes:.1f}"
        lines.append(f"| {r.name} | {mb} | {r.positions} | {r.top1_vs_reference:.4f} | {r.mean_kl:.4f} "
                     f"| {r.answer_token_accuracy:.4f} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ecomlm.quantize.corpus_parity", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path, help="GGUF files exported from --model")
    p.add_argument("--model", required=True, help="the PyTorch reference: 'default', 'base' or a Hugging Face folder")
    p.add_argument("--data", required=True, type=Path, help="corpus JSONL, e.g. corpus/val.jsonl")
    p.add_argument("--limit", type=int, default=300, help="records (default: %(default)s)")
    p.add_argument("--lang", default=None, help="keep records of this language only (en, zh)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default: %(default)s)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    for f in args.files:
        if not f.is_file():
            p.error(f"{f}: no such file")
    if args.limit < 1:
        p.error("--limit must be at least 1")
    from ecomlm.source.corpus import sample_corpus

    from .source import resolve_source

    try:
        hf_dir = resolve_source(args.model).path
        rows = compare_files(hf_dir, args.files, sample_corpus(args.data, args.limit, args.lang), args.threads,
                             progress=not args.quiet)
    except EcomError as e:
        p.exit(1, f"{p.prog}: error: {e}\n")
    print(f"{args.limit} records of {args.data}" + (f" ({args.lang})" if args.lang else "") + ", teacher-forced:")
    print(render(rows))
    if args.json:
        from ecomlm.runtime.atomic_io import atomic_write
        with atomic_write(args.json) as f:
            f.write(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
