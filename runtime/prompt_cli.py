"""``ecomlm prompt``: print the exact prompt a task sends to the model (to reuse it elsewhere: another
llama.cpp build, Ollama's raw mode, the server's /v1/completions)."""
from __future__ import annotations

import argparse
import json

from . import catalog
from .cli import add_field_options, add_model_options, fields_from_args
from .task_defaults import with_defaults


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prompt", help="print the exact prompt a task sends to the model",
                       description="Render a task's prompt for the given inputs with the model's own "
                                   "chat template, exactly as `ecomlm run` sends it (the answer is then "
                                   "decoded under the task's constraint, which a plain completion "
                                   "does not apply).")
    p.add_argument("task", help="task name (see `ecomlm tasks`)")
    add_field_options(p)
    add_model_options(p)
    p.add_argument("--messages", action="store_true",
                   help="print the chat messages as JSON instead (no model needed), in the catalog's "
                        "default layout: an adapter shipped with a layout.json is asked with the fields "
                        "it names written again at the end, which the prompt printed without this shows")
    p.set_defaults(func=cmd_prompt)


def cmd_prompt(args: argparse.Namespace) -> int:
    task = catalog.get_task(args.task)
    fields = catalog.normalize_fields(task, with_defaults(task.name, fields_from_args(args)))
    if args.messages:
        print(json.dumps(catalog.build_messages(task, fields), ensure_ascii=False, indent=2))
        return 0
    from .model import EcomModel
    with EcomModel.load(args.model, backend=args.backend, n_ctx=args.n_ctx) as model:
        print(model.prompt_for(task, fields), end="")
    return 0
