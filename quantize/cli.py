"""``ecomlm export gguf|onnx|ollama|report|score|fetch-converter``: the export commands (heavy imports inside)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ecomlm.runtime.errors import InvalidInputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model to GGUF or ONNX files, each checked against PyTorch")
    esub = p.add_subparsers(dest="export_command", metavar="FORMAT")

    def common(q: argparse.ArgumentParser, default_quant: str, choices: str) -> None:
        q.add_argument("model", help="Hugging Face model folder, 'base', 'default' or a .gguf file")
        q.add_argument("--out", required=True, help="output folder (written atomically)")
        q.add_argument("--quant", default=default_quant, help=f"comma-separated: {choices} "
                                                             f"(default: %(default)s)")
        q.add_argument("--force", action="store_true", help="replace --out if it exists")
        q.add_argument("--no-parity", action="store_true", help="skip the comparison with PyTorch")
        q.add_argument("--report", action="store_true",
                       help="also measure tokens/s and print the markdown table of the artifacts")
        q.add_argument("--threads", type=int, default=2, help="CPU threads (default: %(default)s)")
        q.add_argument("--quiet", action="store_true", help="no progress lines")

    from .gguf_export import GGUF_TYPES
    from .onnx_export import ONNX_QUANTS

    q = esub.add_parser("gguf", help="GGUF files for llama.cpp / Ollama / LM Studio")
    common(q, "f16,q8_0,q4_k_m,q4_0", ", ".join(GGUF_TYPES))
    q.add_argument("--imatrix", type=Path, default=None, metavar="FILE",
                   help="weight llama.cpp's rounding by an importance matrix: a corpus JSONL (`ecomlm data "
                        "build` output) to collect one on with PyTorch (saved as OUT/imatrix.gguf), or an "
                        "imatrix .gguf (this command's or llama-imatrix's); see quantize/EXPORT.md")
    q.add_argument("--imatrix-records", type=int, default=256, metavar="N",
                   help="corpus records the matrix is collected on (default: %(default)s)")
    q.set_defaults(func=cmd_export, export_format="gguf")
    q = esub.add_parser("onnx", help="ONNX folders for onnxruntime (one per quantization)")
    common(q, "fp32,int8,int4", ", ".join(ONNX_QUANTS))
    q.set_defaults(func=cmd_export, export_format="onnx")

    q = esub.add_parser("ollama", help="a folder for `ollama create`: the GGUF (+ adapter) and a Modelfile",
                        description="Copy a GGUF model (and the LoRA adapter of 'default') into --out with "
                                    "a Modelfile whose template renders the prompts ecomlm sends (checked "
                                    "before writing). Then: ollama create ecomlm -f OUT/Modelfile")
    q.add_argument("model", help="'default', 'base' or a .gguf file")
    q.add_argument("--out", required=True, help="output folder (written atomically)")
    q.add_argument("--force", action="store_true", help="replace --out if it exists")
    q.set_defaults(func=cmd_ollama)

    q = esub.add_parser("report", help="markdown table of exported folders (from their manifest.json)")
    q.add_argument("folders", nargs="+", help="export folders")
    q.add_argument("--out", help="write the table to this file instead of printing it")
    q.add_argument("--title", default="", help="text put above the table")
    q.set_defaults(func=cmd_report)

    q = esub.add_parser("score", help="task-score delta of exported artifacts vs PyTorch (held-out slice)",
                        description="Run the held-out evaluation on a small slice for the PyTorch source "
                                    "model and every artifact, and write task_score and task_score_delta "
                                    "(artifact minus PyTorch, in points) into the manifests.")
    q.add_argument("folders", nargs="+", help="export folders (written by `ecomlm export gguf|onnx`)")
    q.add_argument("--heldout", required=True, help="held-out tasks folder, e.g. ../shared/ecomgpt_heldout")
    q.add_argument("--limit", type=int, default=25, help="instances per task (default: %(default)s)")
    q.add_argument("--task", action="append", dest="tasks", metavar="NAME",
                   help="held-out task folder name (repeat; default: every EN-* task)")
    q.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=cmd_score)

    q = esub.add_parser("fetch-converter",
                        help="download llama.cpp's converter (llama-cpp-python sdist) into the cache")
    q.set_defaults(func=cmd_fetch)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def cmd_export(args: argparse.Namespace) -> int:
    from .export import ExportOptions, export_gguf, export_onnx
    from .report import parity_warnings, render

    try:
        if args.export_format == "gguf":
            from .gguf_export import parse_quants
        else:
            from .onnx_export import parse_quants
        quants = parse_quants(args.quant)
    except ValueError as e:
        raise InvalidInputError(str(e)) from None
    imatrix = getattr(args, "imatrix", None)
    if imatrix is not None and args.imatrix_records < 1:
        raise InvalidInputError(f"--imatrix-records must be at least 1, got {args.imatrix_records}")
    opts = ExportOptions(parity=not args.no_parity, speed=args.report, force=args.force,
                         threads=args.threads, progress=not args.quiet, imatrix=imatrix,
                         imatrix_records=getattr(args, "imatrix_records", 256))
    t0 = time.perf_counter()
    fn = export_gguf if args.export_format == "gguf" else export_onnx
    data = fn(args.model, args.out, quants, opts)
    print(f"wrote {len(data['artifacts'])} artifact(s) and manifest.json to {args.out} "
          f"in {time.perf_counter() - t0:.0f} s")
    for line in parity_warnings(data):
        print(line, file=sys.stderr)
    if args.report:
        print(render([data]))
    return 0


def cmd_ollama(args: argparse.Namespace) -> int:
    from .ollama import export_ollama

    out = export_ollama(args.model, args.out, force=args.force)
    print(f"wrote {out}/Modelfile and the GGUF file(s); next: ollama create ecomlm -f {out}/Modelfile")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ecomlm.runtime.atomic_io import atomic_write

    from .report import render_folders

    text = (args.title + "\n\n" if args.title else "") + render_folders(Path(f) for f in args.folders)
    if args.out:
        with atomic_write(args.out) as f:
            f.write(text)
    else:
        print(text)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .report import render
    from .task_score import ScoreOptions, score_exports

    opts = ScoreOptions(limit=args.limit, tasks=args.tasks, n_threads=args.threads, progress=not args.quiet)
    print(render(score_exports(args.folders, args.heldout, opts)))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from ecomlm.source.converter import ensure_converter

    conv = ensure_converter()
    print(f"llama.cpp converter (llama-cpp-python {conv.version}) in {conv.root}")
    return 0
