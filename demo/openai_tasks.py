"""E-commerce tasks through the OpenAI-compatible routes: ``model: "ecomlm:TASK"``.

The task's inputs come from the request's ``inputs`` object (an ecomlm extension; the openai client
sends it with ``extra_body={"inputs": {...}}``) and from the last user message (or the prompt): a
JSON object there gives inputs too, any other text is the task's ``text`` (or ``context`` for QA
tasks). Inputs left out take the task's defaults (``runtime.task_defaults``: sentiment's labels).
The answer keeps every guarantee of the task routes (labels in the set, spans copied from the input):
the message content is the answer as text, and the extension field ``ecomlm`` holds the typed result.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.results import Result
from ecomlm.runtime.task_defaults import with_defaults

from .generation import completion_dict, completion_id
from .openai_schemas import TASK_PREFIX

#: the input a plain-text message fills, in order of preference
TEXT_INPUTS = ("text", "context", "query", "product")


def task_of(model_id: str) -> Optional[str]:
    """The task a model id names (``ecomlm:sentiment`` -> ``sentiment``), else ``None``."""
    return model_id[len(TASK_PREFIX):] if model_id.startswith(TASK_PREFIX) else None


def task_fields(task: catalog.Task, message: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The task's inputs from a message and the ``inputs`` extension (see the module docstring)."""
    fields: dict[str, Any] = {}
    stripped = message.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            fields.update(obj)
            stripped = ""
    fields.update(inputs)
    if stripped:
        target = next((name for name in TEXT_INPUTS if name in task.fields and name not in fields), None)
        if target is None:
            raise InvalidInputError(
                f"task {task.name!r} takes {list(task.fields)}: give them as a JSON object in the "
                f"message, or in the request's 'inputs' object")
        fields[target] = message
    return with_defaults(task.name, fields)


def result_text(result: Result) -> str:
    """A task result as the answer text of a completion (the task's answer format)."""
    return catalog.get_task(result.task).kind.answer_text(result)


def run_task(pool: Any, model: Any, task_name: str, message: str, inputs: dict[str, Any],
             truncate: bool, model_id: str) -> dict[str, Any]:
    """Run the task on ``model`` (borrowed); a text-completion dict with the typed result under
    ``ecomlm``."""
    task = catalog.get_task(task_name)
    fields = task_fields(task, message, inputs)
    result = pool.run_on(model, task.name, truncate=truncate, **fields)
    normalized = catalog.normalize_fields(task, fields)
    backend = model.backend_for(task, normalized)
    n_prompt = backend.count_tokens(model.prompt_for(task, normalized))
    n_answer = backend.count_tokens(result.raw) if result.raw else 0
    done = completion_dict(completion_id(), model_id, result_text(result), "stop", n_prompt, n_answer)
    done["ecomlm"] = {"task": task.name, "result": result.to_dict()}
    return done


__all__ = ["TEXT_INPUTS", "result_text", "run_task", "task_fields", "task_of"]
