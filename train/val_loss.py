"""Mean assistant-token loss of a model (optionally with a run's adapter) on a corpus file.

``python -m ecomlm.train.val_loss --base base --val corpus/val.jsonl [--run runs/NAME]`` gives the
number a run's ``val_loss`` log lines are compared with (the same examples, packing and loss).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Optional


def val_loss(base: str, val: str | os.PathLike[str], *, run: str | os.PathLike[str] | None = None,
             max_seq_len: int = 2048, max_examples: int = 512, rows: int = 8, chunk: int = 2048) -> float:
    """Loss (nats per assistant token) of ``base`` (+ ``run``'s adapter) on the first ``max_examples``."""
    import torch

    from .base_model import load_base_model
    from .chat_tokens import load_corpus
    from .loss import PackedCausalLMLoss
    from .packing import collate, plan_epoch

    model, tokenizer = load_base_model(base, "float32")
    if run is not None:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, Path(run) / "adapter")
    model.eval()
    data = load_corpus(tokenizer, val, max_seq_len, limit=max_examples, progress=False)
    plan = plan_epoch(data.examples, max_seq_len, seed=0, epoch=0, rows_per_device=rows, grad_accum=1,
                      world_size=1, drop_last=False)
    wrapper = PackedCausalLMLoss(model, chunk)
    total = n = 0.0
    with torch.no_grad():
        for step in plan:
            loss_sum, count = wrapper(**collate(data.examples, step.micro[0][0], tokenizer.pad_token_id))
            total, n = total + loss_sum.item(), n + count.item()
    return total / n


def main(argv: Optional[list[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="base")
    p.add_argument("--val", required=True)
    p.add_argument("--run", help="run folder whose adapter/ to apply")
    p.add_argument("--max-seq-len", type=int, default=2048)
    p.add_argument("--max-examples", type=int, default=512)
    p.add_argument("--rows", type=int, default=8)
    args = p.parse_args(argv)
    loss = val_loss(args.base, args.val, run=args.run, max_seq_len=args.max_seq_len,
                    max_examples=args.max_examples, rows=args.rows)
    print(f"val loss {loss:.5f} ({'base + ' + args.run if args.run else args.base})")


if __name__ == "__main__":
    main()
