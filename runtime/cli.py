"""``ecomlm tasks`` and ``ecomlm run``: the runtime's commands."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Optional, Sequence

from . import catalog
from .errors import EcomError, InvalidInputError
from .fields import FIELDS
from .results import Result
from .task_defaults import with_defaults

#: a default / on / off option as the runtime takes it (None: each task's default); also ``ecomlm eval``'s
SWITCHES = {"default": None, "on": True, "off": False}


def bounded(kind: type, low: float, high: float = float("inf"), what: str = "a number") -> Any:
    """An argparse type: a ``kind`` value from ``low`` to ``high``, else a one-line usage error."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:  # also refuses nan
            bound = f"from {low:g} to {high:g}" if high != float("inf") else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {what} {bound}")
        return value
    return parse


N_CTX = bounded(int, 64, 1 << 20, "a context size in tokens")


MODEL_REFS = ("default (English, fine-tuned, bundled), multilingual (English + Chinese; `bash scripts/setup.sh "
              "multilingual`), base, gemma3-270m, a .gguf file, an ONNX folder or a Hugging Face folder; "
              "models joined by + are an ensemble (default+multilingual: both write the answers a vote or "
              "consensus is kept over)")


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """``--backend``, its choices the backend table (``runtime.backends.BACKENDS``)."""
    from .backends import BACKENDS

    parser.add_argument("--backend", default=None, choices=BACKENDS,
                        help="inference backend (default: the one that fits the model's format)")


def add_model_options(parser: argparse.ArgumentParser, *, n_ctx: bool = True) -> None:
    """``--model``, ``--backend`` and (unless ``n_ctx=False``) ``--n-ctx``: every command that loads
    one model."""
    parser.add_argument("--model", default="default", help=f"{MODEL_REFS} (default: %(default)s)")
    add_backend_option(parser)
    if n_ctx:
        parser.add_argument("--n-ctx", type=N_CTX, default=4096, help="context window in tokens")


def add_models_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--model REF`` (repeatable, into ``args.models``; ``default`` when none) and ``--backend``:
    the commands that compare models (eval, bench)."""
    parser.add_argument("--model", action="append", dest="models", metavar="REF",
                        help=f"{what} (repeat for several): {MODEL_REFS} (default: default)")
    add_backend_option(parser)


def script_main(prog: str, description: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                run: Callable[[argparse.Namespace], Any], argv: Optional[Sequence[str]] = None) -> int:
    """``python -m MODULE`` for a module that is also an ``ecomlm`` subcommand: the same options
    (``add_arguments``) and handler (``run``); an ``EcomError`` is one line on stderr, exit status 1."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(run(args) or 0)
    except EcomError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1


def add_field_options(parser: argparse.ArgumentParser) -> None:
    """One option per input field (``--text``, ``--labels``...; ``fields.FIELDS`` says how each is
    written), read back by ``fields_from_args``."""
    for name, spec in FIELDS.items():
        parser.add_argument(spec.flag, dest=f"field_{name}", default=None, metavar=name.upper(),
                            help=f"{spec.caption} ({spec.cli_format})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the e-commerce tasks")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("run", help="run one task on a text, or on a JSONL file of inputs")
    p.add_argument("task", help="task name (see `ecomlm tasks`)")
    add_field_options(p)
    add_model_options(p)
    p.add_argument("--input", help="batch mode: a JSONL file (one object of task inputs per line) or a "
                                   "CSV file (.csv: a header row naming the inputs, one item per row; "
                                   "list inputs comma-separated in one cell)")
    p.add_argument("--output", help="batch mode: JSONL file for the results, written line by line, or "
                                    "- for standard output")
    p.add_argument("--resume", action="store_true",
                   help="batch mode: continue an interrupted run, skipping the lines already in --output")
    p.add_argument("--force", action="store_true", help="batch mode: replace an existing --output")
    p.add_argument("--truncate", action="store_true",
                   help="cut an over-long text/context to fit the context instead of failing")
    p.add_argument("--require-answer", action="store_true",
                   help="span tasks (entities, spans, attribute values, QA): never answer 'None', "
                        "copy something from the input (use when the input is known to hold an answer)")
    p.add_argument("--retype", action="store_true",
                   help="NER, attribute extraction: re-decide each decoded span's type with the typing "
                        "task (one scoring prompt per span; off by default: it scored lower on held-out "
                        "NER, see runtime/retyping.py)")
    p.add_argument("--chunk", choices=tuple(SWITCHES), default="default",
                   help="span tasks: read a long text in sentence-aligned pieces and merge the spans "
                        "(default: each task's setting, on for NER and span detection over 40 words; "
                        "runtime/chunking.py)")
    p.add_argument("--no-repeat-ngram", type=int, default=None, metavar="N",
                   help="free-text tasks (titles, ad copy, summaries): never repeat a token n-gram of N "
                        "tokens; 0 turns the rule off (default: 3)")
    p.add_argument("--consensus-of", type=int, default=None, metavar="N",
                   help="free-text and span tasks: write the greedy answer and N-1 sampled ones and keep "
                        "what they agree on: the answer that agrees most with the others, or, for span "
                        "lists, the spans enough of them hold (default: each task's setting; 1: greedy "
                        "only; runtime/consensus.py)")
    p.add_argument("--beams", type=int, default=None, metavar="N",
                   help="find the answer by a beam search of N partial answers: the complete answer the "
                        "model finds most probable as a whole (default: the model's setting for the task, "
                        "4 for qa on default; 1: greedy; runtime/backends/beam.py)")
    p.add_argument("--no-specialists", action="store_true",
                   help="answer every task with the model's one adapter, not a task specialist "
                        "(multilingual: the title-writing adapter answers title_generation by default)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_run)


def cmd_tasks(args: argparse.Namespace) -> int:
    tasks = catalog.list_tasks()
    if args.json:
        print(json.dumps([{"name": t.name, "family": t.family, "summary": t.summary,
                           "inputs": list(t.required), "optional_inputs": list(t.optional),
                           "output": t.output, "metric": t.metric} for t in tasks], indent=2))
        return 0
    width = max(len(t.name) for t in tasks)
    for t in tasks:
        print(f"{t.name:<{width}}  {t.summary}  [inputs: {', '.join(t.fields)}]")
    return 0


def fields_from_args(args: argparse.Namespace) -> dict[str, Any]:
    return {name: spec.from_text(getattr(args, f"field_{name}")) for name, spec in FIELDS.items()
            if getattr(args, f"field_{name}") is not None}


def format_result(result: Result) -> str:
    """Human-readable rendering of a result (its task's output kind renders it)."""
    return catalog.render_result(result)


def cmd_run(args: argparse.Namespace) -> int:
    from .model import EcomModel
    from .models import language_hint

    task = catalog.get_task(args.task)
    if args.no_repeat_ngram is not None and args.no_repeat_ngram < 0:
        raise InvalidInputError("--no-repeat-ngram must be 0 (off) or a positive n-gram size")
    fields = fields_from_args(args)
    if args.input:
        if not args.output:
            raise InvalidInputError("--input needs --output FILE for the results (or --output - "
                                    "for standard output)")
        from .batch import check_paths, run_batch
        check_paths(args.input, args.output, resume=args.resume, force=args.force)  # before loading
        model = EcomModel.load(args.model, backend=args.backend, n_ctx=args.n_ctx,
                               retype=True if args.retype else None,
                               chunk=SWITCHES[args.chunk], no_repeat_ngram=args.no_repeat_ngram,
                               consensus_of=args.consensus_of, beams=args.beams,
                               specialists=not args.no_specialists)
        report = run_batch(model, task.name, args.input, args.output, defaults=fields,
                           truncate=args.truncate, allow_none=not args.require_answer, progress=True,
                           resume=args.resume, force=args.force)
        for line, message in report.errors:
            print(f"{args.input}:{line}: skipped: {message}", file=sys.stderr)
        resumed = f" ({report.n_resumed} already there from an earlier run)" if report.n_resumed else ""
        where = "standard output" if args.output == "-" else args.output
        print(f"wrote {report.n_ok} result(s) to {where}{resumed}; {len(report.errors)} line(s) "
              f"skipped", file=sys.stderr)
        return 0 if report.n_ok or report.n_resumed or not report.n_lines else 1
    # report bad input before loading the model; sentiment's labels have a default (task_defaults)
    normalized = catalog.normalize_fields(task, with_defaults(task.name, fields))
    hint = language_hint(args.model, [v for v in fields.values() if isinstance(v, str)])
    if hint:
        print(hint, file=sys.stderr)
    model = EcomModel.load(args.model, backend=args.backend, n_ctx=args.n_ctx,
                           retype=True if args.retype else None,
                           chunk=SWITCHES[args.chunk], no_repeat_ngram=args.no_repeat_ngram,
                           consensus_of=args.consensus_of, beams=args.beams,
                           specialists=not args.no_specialists)
    result = model.run(task.name, truncate=args.truncate, allow_none=not args.require_answer, **normalized)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(format_result(result))
    return 0
