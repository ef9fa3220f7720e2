"""Typed request and response bodies of the HTTP API, so that the OpenAPI schema (and /docs) shows
what every route takes and answers: task inputs typed by their field specs, task answers typed by the
task's output kind, batch answers, health, the task list and the error body."""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, Field, create_model

from ecomlm.runtime import catalog
from ecomlm.runtime.fields import FIELDS
from ecomlm.runtime.kinds import KINDS
from ecomlm.runtime.task_defaults import defaults_of

from .examples import examples_for

#: most answers one HTTP call may ask a task to write (``consensus_of``): each costs a decode
MAX_CONSENSUS_OF = 16
#: widest beam search one HTTP call may ask for (``beams``): each partial answer costs a decode row
MAX_BEAMS = 8

#: the result classes, one or more kinds each (``OutputKind.result_type``)
RESULT_CLASSES: tuple[type, ...] = tuple(dict.fromkeys(k.result_type for k in KINDS.values()))


class ErrorBody(BaseModel):
    """Every error answer, on every route and status."""

    error: str = Field(description="short code: invalid_input, context_overflow, timeout, busy, ...")
    detail: str = Field(description="what went wrong and how to fix it")


class Health(BaseModel):
    """What the server serves and how busy it is (no file-system paths)."""

    status: str
    model: str = Field(description="the model reference the server was started with")
    backend: str
    file: str = Field(description="the model file's (or folder's) name; an ensemble's, joined by '+'")
    size_mb: float
    adapter: Optional[str] = Field(None, description="the LoRA adapter file's name, if any")
    instances: int
    busy: int
    pending: int
    served: int


class TaskInfo(BaseModel):
    """One task of the catalog, as ``GET /v1/tasks`` lists it."""

    name: str
    family: str
    summary: str
    inputs: list[str]
    optional_inputs: list[str]
    defaults: dict[str, Any] = Field(description="inputs used when a request leaves them out")
    output: str
    endpoint: str
    example: Optional[dict[str, Any]]


def task_request_model(task: catalog.Task) -> type[BaseModel]:
    """The body of ``POST /v1/tasks/{task}``: the task's inputs, typed by their field specs (for
    validation and for the OpenAPI schema), ``truncate``, ``allow_none`` where answers are copied, and
    ``consensus_of`` and ``beams`` where the output kind agrees several answers (free text, spans)."""
    from pydantic import ConfigDict

    fields: dict[str, Any] = {}
    defaults = defaults_of(task.name)
    for name in task.fields:
        type_, shape = FIELDS[name].request_type()
        caption = FIELDS[name].caption + shape
        if name in task.required and name not in defaults:
            fields[name] = (type_, Field(..., description=caption))
        elif name in defaults:
            fields[name] = (Optional[type_], Field(None, description=f"{caption}; default: {defaults[name]}"))
        else:
            fields[name] = (Optional[type_], Field(None, description=caption))
    fields["truncate"] = (bool, Field(False, description="cut an over-long text or context to fit "
                                                         "the model's context instead of answering 413"))
    if task.kind.copies_spans:
        fields["allow_none"] = (bool, Field(True, description="false: never answer 'None', copy something "
                                                              "from the input (it is known to hold an answer)"))
    if task.kind.consensus:
        fields["consensus_of"] = (Optional[int], Field(
            None, ge=1, le=MAX_CONSENSUS_OF,
            description="write the greedy answer and N-1 sampled ones and keep what they agree on: the "
                        "answer that agrees most with the others, or, for span lists, the spans enough "
                        "of them hold (default: the task's setting; 1: greedy only)"))
        fields["beams"] = (Optional[int], Field(
            None, ge=1, le=MAX_BEAMS,
            description="find the (first) answer by a beam search of N partial answers: the complete "
                        "answer the model finds most probable as a whole (default: the model's setting "
                        "for the task, 4 for qa on default; 1: greedy)"))
    examples = examples_for(task.name)[:1]
    config = ConfigDict(extra="forbid", json_schema_extra={"examples": examples} if examples else None)
    return create_model(f"{''.join(p.title() for p in task.name.split('_'))}Input",
                        __config__=config, **fields)


def task_answer_model(task: catalog.Task) -> type[BaseModel]:
    """The response body of ``POST /v1/tasks/{task}``: its result typed by the task's output kind."""
    name = "".join(p.title() for p in task.name.split("_"))
    return create_model(f"{name}Answer", task=(str, ...), model=(str, ...), backend=(str, ...),
                        latency_ms=(float, ...), result=(task.kind.result_type, ...))


class BatchItem(BaseModel):
    """One answer of a batch, at its input's position: a result or an error, never both."""

    index: int
    result: Optional[Union[RESULT_CLASSES]] = None  # type: ignore[valid-type]
    error: Optional[str] = Field(None, description="error code when this item failed")
    detail: Optional[str] = Field(None, description="what is wrong with this item")


class BatchAnswer(BaseModel):
    """The answers of ``POST /v1/tasks/{task}/batch``, in the order of the inputs."""

    task: str
    model: str
    backend: str
    latency_ms: float
    n_ok: int
    n_errors: int
    items: list[BatchItem]


#: the declared error answers of the model routes
ERROR_RESPONSES: dict[Union[int, str], dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "malformed JSON"), (401, "missing or wrong API key"),
        (404, "unknown task or model"), (413, "body, prompt or work too large"),
        (422, "invalid inputs"), (503, "too many requests waiting"), (504, "no answer in time"))}

__all__ = ["BatchAnswer", "BatchItem", "ERROR_RESPONSES", "ErrorBody", "Health", "RESULT_CLASSES",
           "TaskInfo", "task_answer_model", "task_request_model"]
