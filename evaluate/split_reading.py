"""Reading a corpus split back for the validation-split checks (``calibration_check``,
``repeat_check``, ``extraction_check``): each instance's fields recovered from its user message, its
target, its language; and the command-line options the checks share."""
from __future__ import annotations

import argparse
from typing import Any, Iterable, Iterator, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.fields import FIELDS, ITEM_FIELDS, render_lines

_CAPTION_FIELD = {spec.caption: name for name, spec in FIELDS.items()}


def fields_of(task: catalog.Task, user: str) -> Optional[dict[str, Any]]:
    """The fields behind a rendered user message (``None`` when a field cannot be recovered)."""
    out: dict[str, Any] = {}
    lines = user.split("\n")
    i = 0
    while i < len(lines):
        name = _caption_of(lines[i], task)
        if name is None:
            i += 1
            continue
        value = lines[i].partition(": ")[2]
        i += 1
        if FIELDS[name].long:  # a context or source text may span lines: up to a field rendered after it,
            # or a field read before it written again (a layout that restates it: catalog.render_user)
            later = ITEM_FIELDS[ITEM_FIELDS.index(name) + 1:]
            restated = set(render_lines(out, tuple(out)))
            end = next((j for j in range(i, len(lines))
                        if _caption_of(lines[j], task) in later or lines[j] in restated), len(lines))
            out[name] = "\n".join([value, *lines[i:end]])
            i = end
            continue
        out[name] = FIELDS[name].from_prompt(value)
    return out if all(f in out for f in task.required) else None


def _caption_of(line: str, task: catalog.Task) -> Optional[str]:
    """The field of ``task`` whose ``Caption: `` starts ``line``, if any."""
    caption, sep, _ = line.partition(": ")
    name = _CAPTION_FIELD.get(caption)
    return name if sep and name in task.fields else None


def split_records(records: Iterable[dict], task: catalog.Task,
                  lang: Optional[str] = None) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(fields read back from the user message, the assistant's target, language) of ``task``'s
    instances in a corpus split (of ``lang`` only, when given); instances whose fields do not read
    back are skipped. What the validation-split checks read."""
    for record in records:
        if record.get("task") != task.name or (lang and record.get("lang") != lang):
            continue
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        target = next(m["content"] for m in record["messages"] if m["role"] == "assistant")
        try:
            fields = fields_of(task, user)
        except InvalidInputError:  # a field that does not read back from its prompt line
            continue
        if fields is not None:
            yield fields, target, record.get("lang", "en")


def by_language(items: Iterable[tuple[Any, Any, str]]) -> list[tuple[str, list[tuple[Any, Any]]]]:
    """(language, [(a, b), ...]) for (a, b, language) items, languages in sorted order."""
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for a, b, lang in items:
        groups.setdefault(lang, []).append((a, b))
    return sorted(groups.items())


def split_check_parser(prog: str, description: str, task_help: Optional[str], limit: int, *,
                       data_required: bool = True) -> argparse.ArgumentParser:
    """The options the validation-split checks share (``calibration_check``, ``repeat_check``,
    ``extraction_check``): --data, --task (repeatable; not offered where ``task_help`` is None, a
    check of one task), --model, --lang, --limit, --threads, --no-specialists."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--data", required=data_required, help="a corpus split (val.jsonl from `ecomlm data build`)")
    if task_help is not None:
        p.add_argument("--task", action="append", dest="tasks", required=True, help=task_help)
    p.add_argument("--model", default="default")
    p.add_argument("--limit", type=int, default=limit, help="at most N instances a task")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--lang", default=None, help="only instances of this language (en, zh)")
    p.add_argument("--no-specialists", action="store_true",
                   help="the model's one adapter for every task, not its task specialists")
    return p


def split_check_model(args: argparse.Namespace, **settings: Any) -> Any:
    """The ``EcomModel`` a check's options name (``split_check_parser``'s --model, --threads and
    --no-specialists), with other constructor ``settings``."""
    from ecomlm.runtime import EcomModel

    return EcomModel.load(args.model, specialists=not args.no_specialists, **settings,
                          **({"n_threads": args.threads} if args.threads else {}))
