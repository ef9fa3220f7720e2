"""The ``ecomlm`` command: a thin layer mapping subcommands to plain functions.

Each concern registers its own subcommands (``register(subparsers)`` in its ``cli`` module) and
sets ``func(args) -> int``. Modules whose optional dependencies are missing still register; their
commands fail with a clear message only when run.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from ecomlm.runtime.errors import EcomError

from .extras import check_command, explain_missing_module

# (module, purpose). Each module defines register(subparsers) and imports heavy packages lazily.
COMMAND_MODULES = (
    "ecomlm.runtime.cli",        # tasks, run
    "ecomlm.runtime.models_cli",  # models
    "ecomlm.train.data.cli",     # data build
    "ecomlm.train.cli",          # train, merge
    "ecomlm.quantize.cli",       # export gguf|onnx|ollama
    "ecomlm.evaluate.cli",       # eval
    "ecomlm.evaluate.realistic_eval",  # eval-realistic
    "ecomlm.bench.cli",          # bench
    "ecomlm.demo.cli",           # demo, serve
    "ecomlm.runtime.prompt_cli",  # prompt
)


def version() -> str:
    """The installed ecomlm version (from the package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:
        return dist_version("ecomlm")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecomlm", description="Turn a small LLM into an e-commerce specialist that runs on a CPU: "
                                   "build the corpus, fine-tune, export, run, evaluate, serve.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # that concern is not part of this build
                continue
            raise
        module.register(sub)
    return parser


def _explained(error: ModuleNotFoundError) -> int:
    """A missing optional module (or sub-package) as one line naming the fix; others re-raised."""
    message = explain_missing_module(error)
    if message is None:
        raise error
    print(f"ecomlm: error: {message}", file=sys.stderr)
    return 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        parser = build_parser()
    except ModuleNotFoundError as e:  # e.g. an editable install older than a sub-package
        return _explained(e)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        check_command(args)  # a missing extra: one line, before any work
        return int(args.func(args) or 0)
    except EcomError as e:
        print(f"ecomlm: error: {e}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as e:
        return _explained(e)
    except KeyboardInterrupt:
        print("ecomlm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
