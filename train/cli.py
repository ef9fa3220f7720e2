"""``ecomlm train``, ``merge``, ``val-loss``, ``ship`` and ``soup`` (heavy imports stay inside the handlers)."""
from __future__ import annotations

import argparse
import json

from .val_loss import add_arguments as add_val_loss_arguments
from .val_loss import cmd_val_loss


def _train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .trainer import train

    config = None if args.resume else load_config(args.config, max_steps=args.max_steps)
    if args.resume and (args.config or args.max_steps):
        print("ecomlm train: --resume continues with the run's saved config.yaml; --config/--max-steps ignored")
    result = train(args.base, args.data, args.out, val=args.val, config=config, resume=args.resume,
                   stop_after=args.stop_after, time_limit_s=args.time_limit * 60 if args.time_limit else None,
                   limit_examples=args.limit)
    if result.already_finished:
        return 0
    if not result.finished:
        print(f"stopped at step {result.step}/{result.total_steps} with a checkpoint in {result.run_dir}; "
              f"continue with: ecomlm train --base {args.base} --data {args.data} "
              f"{'--val ' + args.val + ' ' if args.val else ''}--out {args.out} --resume")
        return 0
    loss = f"{result.last_loss:.4f}" if result.last_loss is not None else "n/a"
    print(f"done: {result.step} steps, train loss {loss}"
          + (f", val loss {result.val_loss:.4f}" if result.val_loss is not None else "")
          + f"; adapter in {result.run_dir / 'adapter'}")
    report = json.loads((result.run_dir / "report.json").read_text())
    print(f"throughput: {report['tokens_per_s']} tokens/s on {report['device']} x{report['processes']}, "
          f"peak memory {report['peak_memory_gb']} GB, MFU {report['mfu']}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from ecomlm.source.merge import merge_run

    report = merge_run(args.run, args.out, dtype=args.dtype, tol=args.tol)
    print(f"merged into {args.out}: max |logit diff| merged vs adapter "
          f"{report['max_abs_logit_diff_merged_vs_adapter']:.2e} (tolerance {args.tol})")
    return 0


def _ship(args: argparse.Namespace) -> int:
    from .ship import ship_run

    out = ship_run(args.run, args.dest)
    sizes = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()}
    print(json.dumps({"shipped": str(out), "bytes": sizes}, indent=2))
    return 0


def _soup(args: argparse.Namespace) -> int:
    from .soup import soup_runs

    out = soup_runs(args.runs, args.out, weights=args.weights)
    info = json.loads((out / "run.json").read_text())["soup"]
    print(f"soup of {len(args.runs)} runs (weights {info['weights']}, rank {info['r']}) in {out}; "
          f"ship it with: ecomlm ship {out}")
    return 0


def add_ship_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm ship`` (and ``python -m ecomlm.train.ship``)."""
    from ecomlm.runtime.model_ref import DEFAULT_ADAPTER

    p.add_argument("run", help="a finished run folder (ecomlm train --out)")
    p.add_argument("--dest", default=str(DEFAULT_ADAPTER.parent), help="shipped folder (default: %(default)s)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="LoRA fine-tuning on a corpus (CPU, one GPU, or under "
                                            "accelerate launch / torchrun for several)")
    p.add_argument("--base", default="base", help="'base' (bundled SmolLM2 GGUF), 'gemma3-270m' (the multilingual base), a .gguf file or an HF model folder")
    p.add_argument("--data", required=True, help="train.jsonl from `ecomlm data build`")
    p.add_argument("--val", help="val.jsonl (validation loss every eval_every steps)")
    p.add_argument("--out", required=True, help="run folder (runs/NAME)")
    p.add_argument("--config", help="YAML recipe (default: train/recipes/smollm2-135m-lora.yaml)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--max-steps", type=int, help="train this many optimizer steps (overrides epochs)")
    p.add_argument("--stop-after", type=int, help="stop with a checkpoint after this step (resume later)")
    p.add_argument("--time-limit", type=float, help="minutes; stop with a checkpoint when exceeded")
    p.add_argument("--limit", type=int, help="use only the first N usable examples of --data")
    p.set_defaults(func=_train)

    m = subparsers.add_parser("merge", help="merge a run's LoRA adapter into its base (HF folder, parity-checked)")
    m.add_argument("run", help="run folder written by `ecomlm train`")
    m.add_argument("--out", required=True, help="output model folder (models/NAME)")
    m.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    m.add_argument("--tol", type=float, default=1e-3, help="max |logit diff| merged vs adapter (float32)")
    m.set_defaults(func=_merge)

    v = subparsers.add_parser("val-loss", help="a model's (+ a run's adapter's) loss on a corpus file, "
                                               "as the run's val_loss lines compute it")
    add_val_loss_arguments(v)
    v.set_defaults(func=cmd_val_loss)

    sp = subparsers.add_parser("ship", help="package a finished run as the shipped default model "
                                           "(adapter.gguf + float16 peft adapter + run records)")
    add_ship_arguments(sp)
    sp.set_defaults(func=_ship)

    so = subparsers.add_parser("soup", help="one adapter whose update is the weighted sum of finished runs' "
                                           "updates (same base; exact, ranks concatenated)")
    so.add_argument("runs", nargs="+", help="finished run folders or shipped adapter folders (two or more)")
    so.add_argument("--weights", type=float, nargs="+", help="one weight per run (default: equal, summing to 1)")
    so.add_argument("--out", required=True, help="the soup's run folder (runs/NAME); must not exist")
    so.set_defaults(func=_soup)
