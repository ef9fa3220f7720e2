"""The task catalog: the one place that defines every e-commerce task.

Training data (``ecomlm.train.data``), inference (``ecomlm.runtime.model``) and evaluation
(``ecomlm.evaluate``) all go through this module, so the prompt a model is trained on is the prompt it
is asked at run time, and the answer format it learns is the one the parser reads.

It is made of three kinds of parts, each in its own module:
- the tasks (``task_table.py``: data, one ``Task`` each): a task description and several phrasings
  of the task command (EcomGPT: instruction = description + command + input); ``commands[0]`` is the
  fixed phrasing used at inference, training samples all; its input fields and output kind;
- the input fields (``fields.py``): caption, shape, option or per-item input;
- the output kinds (``kinds/``): answer format (``format_answer``), parser (``parse_answer``),
  decoding constraint (``constraint_for``), result class and metric (``Task.metric``).

The task description is the system turn; the user message puts everything that is the same across
calls of a task (command, options such as the label set, answer format) before the per-item input,
so backends can reuse the KV cache of that shared prefix.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .constraints import Constraint
from .errors import InvalidInputError, UnknownTaskError
from .fields import FIELDS, ITEM_FIELDS, OPTION_FIELDS, parse_specs, render_lines
from .kinds import LABEL, NO, YES
from .results import Result
from .task import Task
from .task_table import TASK_TABLE

TASKS: dict[str, Task] = {t.name: t for t in TASK_TABLE}


def _check_retyping() -> None:
    """Each ``retype_with`` names a single-label task that takes the text, the span and an options
    field (``retyping.py`` fills exactly those)."""
    for t in TASK_TABLE:
        how = t.retype_with
        if how is None:
            continue
        typing = TASKS.get(how.task)
        if typing is None or typing.output != LABEL or typing.options_field is None \
                or set(typing.required) != {"text", how.span_field, typing.options_field}:
            raise ValueError(f"task {t.name!r}: retype_with {how.task!r} must be a single-label task "
                             f"taking text, {how.span_field!r} and an options field")


_check_retyping()


def get_task(name: str) -> Task:
    """Look a task up by name; the error lists the known names."""
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownTaskError(
            f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))} (see `ecomlm tasks`)"
        ) from None


def list_tasks() -> list[Task]:
    return list(TASK_TABLE)


# Input validation ------------------------------------------------------------------------------
def normalize_fields(task: Task, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the inputs of ``task``; raise ``InvalidInputError`` naming the fix.

    Strings are stripped; list fields must be non-empty and free of duplicates; unknown fields are
    rejected so that a typo does not silently go unused. Types, control characters, surrogates and
    size limits are checked by ``validation.py``.
    """
    unknown = set(fields) - set(task.fields)
    if unknown:
        raise InvalidInputError(
            f"task {task.name!r} does not take {sorted(unknown)}; it takes {list(task.fields)}")
    out: dict[str, Any] = {}
    for name in task.fields:
        value = fields.get(name)
        if value is None:
            if name in task.required:
                raise InvalidInputError(f"task {task.name!r} needs the input {name!r}")
            continue
        value = FIELDS[name].normalize(value)
        if isinstance(value, str) and not value:
            raise InvalidInputError(f"the input {name!r} of task {task.name!r} is empty")
        out[name] = value
    return out


def options_of(task: Task, fields: Mapping[str, Any]) -> list[str]:
    """The closed answer set of a task (labels, types, attributes, candidates or fixed options)."""
    return task.kind.options(task, fields)


# Prompt rendering ----------------------------------------------------------------------------------------
def render_user(task: Task, fields: Mapping[str, Any], command_index: int = 0,
                restate: Sequence[str] = ()) -> str:
    """The user message: command, options, answer format, then the item's inputs.

    ``fields`` must already be normalised (``normalize_fields``). ``command_index`` picks the
    phrasing (training samples several; inference always uses 0). The task description goes in the
    system turn (``build_messages``). ``restate`` names item fields written once more after the
    inputs (``Question: ...`` after a long context), so the model reads them just before it answers
    (a prompt layout an adapter is trained with: ``restate_layout``).
    """
    lines = [task.commands[command_index % len(task.commands)]]
    lines += render_lines(fields, OPTION_FIELDS)
    if task.kind.hint:
        lines.append(task.kind.hint)
    lines += render_lines(fields, ITEM_FIELDS)
    lines += render_lines(fields, tuple(name for name in ITEM_FIELDS if name in restate))
    return "\n".join(lines)


def restate_layout(task: Task, restate: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The fields ``task`` restates under a layout (task name -> field names); raises naming the
    task's fields when the layout names one it does not take."""
    names = tuple(restate.get(task.name, ()))
    unknown = [n for n in names if n not in task.fields or n not in ITEM_FIELDS]
    if unknown:
        raise InvalidInputError(f"task {task.name!r} cannot restate {unknown}: it restates only its item "
                                f"inputs, {[n for n in task.fields if n in ITEM_FIELDS]}")
    return names


def build_messages(task: Task, fields: Mapping[str, Any], command_index: int = 0,
                   answer: Optional[str] = None, restate: Sequence[str] = ()) -> list[dict[str, str]]:
    """Chat messages for ``task``: the task description as the system turn, the user turn
    (``render_user``; ``restate``: the fields it repeats after the inputs), and the assistant turn
    when ``answer`` is given.

    The system turn replaces the chat template's default system prompt (SmolLM2 injects a 20-token
    one when a conversation has none), so every training and inference prompt spends its tokens on
    the task.
    """
    messages = [{"role": "system", "content": task.description},
                {"role": "user", "content": render_user(task, fields, command_index, restate)}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


# Answers: the kind of each task does the work ------------------------------------------------------
def format_answer(task: Task, answer: Any) -> str:
    """Render a gold answer in the task's output format (the training target the parser reads back).

    typed_spans: list of (type, text); spans / labels: list of str; label / choice: str;
    yes_no: bool; answer_span: str or None; text: str.
    """
    return task.kind.format(task, answer)


def constraint_for(task: Task, fields: Mapping[str, Any], *, allow_none: bool = True,
                   copy_spans: bool = True) -> Optional[Constraint]:
    """The decoding constraint that makes every answer well-formed (``None`` for free text).

    Spans (entities, attribute values, answer spans) are copied from the source field by
    construction (``CopyLines``); ``copy_spans=False`` decodes them as before copy decoding existed
    (free lines, checked only afterwards; ``allow_none`` then has no effect): kept to measure what
    copying buys.
    ``allow_none=False`` forbids the "None" answer of the span tasks (an answer is then required:
    e.g. extractive QA whose context is known to hold the answer); a multi-label answer keeps its
    "None".
    """
    return task.kind.constraint(task, fields, allow_none=allow_none, copy_spans=copy_spans)


def parse_answer(task: Task, raw: str, fields: Mapping[str, Any], *, allow_none: bool = True) -> Result:
    """Parse raw model output into the task's typed result, validated against the input.

    Labels are always members of the option set; spans always occur in the source field (with
    offsets); anything else the model wrote is dropped and counted, never returned.
    ``allow_none=False`` (the answer was decoded with "None" forbidden): a "None" answer can only be
    the word copied from the input, so it is read as that span, not as "no answer".
    """
    return task.kind.parse(task, raw, fields, allow_none=allow_none)


def gold_result(task: Task, answer: Any, fields: Mapping[str, Any]) -> Result:
    """Parse a gold answer through the same path as model output (used by evaluation and tests)."""
    return parse_answer(task, format_answer(task, answer), fields)


def render_result(result: Result) -> str:
    """Human-readable rendering of a result (``ecomlm run``, the demo)."""
    return get_task(result.task).kind.render(result)


__all__ = ["NO", "TASKS", "Task", "YES", "build_messages", "constraint_for", "format_answer", "get_task",
           "gold_result", "list_tasks", "normalize_fields", "options_of", "parse_answer", "parse_specs",
           "render_result", "render_user", "restate_layout"]
