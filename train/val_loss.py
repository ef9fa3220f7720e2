"""Mean assistant-token loss of a model (optionally with a run's adapter) on a corpus file.

``ecomlm val-loss --base base --val corpus/val.jsonl [--run runs/NAME]`` gives the number a run's
``val_loss`` log lines are compared with: both come from ``validate.validate`` (the same examples,
packing and loss). ``python -m ecomlm.train.val_loss`` is the same command.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Optional


def val_loss(base: str, val: str | os.PathLike[str], *, run: str | os.PathLike[str] | None = None,
             max_seq_len: int = 2048, max_examples: int = 512, rows: int = 8, chunk: int = 2048) -> float:
    """Loss (nats per assistant token) of ``base`` (+ ``run``'s adapter) on the first ``max_examples``."""
    from ecomlm.source.base import load_base_model
    from .chat_tokens import load_corpus
    from .loss import PackedCausalLMLoss
    from .validate import validate

    model, tokenizer = load_base_model(base, "float32")
    if run is not None:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, Path(run) / "adapter")
    model.eval()
    data = load_corpus(tokenizer, val, max_seq_len, limit=max_examples, progress=False)
    return validate(PackedCausalLMLoss(model, chunk), data.examples, tokenizer.pad_token_id,
                    max_seq_len=max_seq_len, rows_per_device=rows)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm val-loss`` (and ``python -m ecomlm.train.val_loss``)."""
    p.add_argument("--base", default="base", help="'base' (bundled GGUF), a .gguf file or an HF model folder")
    p.add_argument("--val", required=True, help="a corpus file (val.jsonl from `ecomlm data build`)")
    p.add_argument("--run", help="run folder whose adapter/ to apply")
    p.add_argument("--max-seq-len", type=int, default=2048, help="longer examples are left out")
    p.add_argument("--max-examples", type=int, default=512, help="use the first N usable examples")
    p.add_argument("--rows", type=int, default=8, help="packed rows per forward pass")


def cmd_val_loss(args: argparse.Namespace) -> int:
    loss = val_loss(args.base, args.val, run=args.run, max_seq_len=args.max_seq_len,
                    max_examples=args.max_examples, rows=args.rows)
    print(f"val loss {loss:.5f} ({'base + ' + args.run if args.run else args.base})")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m ecomlm.train.val_loss``: the same as ``ecomlm val-loss``."""
    p = argparse.ArgumentParser(prog="python -m ecomlm.train.val_loss", description=__doc__.splitlines()[0])
    add_arguments(p)
    return cmd_val_loss(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
