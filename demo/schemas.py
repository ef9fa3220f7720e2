"""Typed response bodies of the HTTP API, so that the OpenAPI schema (and /docs) shows what every
route answers: task answers typed by the task's output kind, batch answers, health, the task list
and the error body."""
from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, Field, create_model

from ecomlm.runtime import catalog
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult, TextResult

#: the result class each output kind parses into (``catalog.parse_answer``)
RESULT_TYPES: dict[str, type] = {
    catalog.TYPED_SPANS: SpansResult, catalog.SPANS: SpansResult,
    catalog.LABEL: LabelResult, catalog.LABELS: LabelResult, catalog.CHOICE: LabelResult,
    catalog.YES_NO: MatchResult, catalog.ANSWER_SPAN: AnswerResult, catalog.TEXT: TextResult,
}


class ErrorBody(BaseModel):
    """Every error answer, on every route and status."""

    error: str = Field(description="short code: invalid_input, context_overflow, timeout, busy, ...")
    detail: str = Field(description="what went wrong and how to fix it")


class Health(BaseModel):
    """What the server serves and how busy it is (no file-system paths)."""

    status: str
    model: str = Field(description="the model reference the server was started with")
    backend: str
    file: str = Field(description="the model file's (or folder's) name")
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


def task_answer_model(task: catalog.Task) -> type[BaseModel]:
    """The response body of ``POST /v1/tasks/{task}``: its result typed by the task's output kind."""
    name = "".join(p.title() for p in task.name.split("_"))
    return create_model(f"{name}Answer", task=(str, ...), model=(str, ...), backend=(str, ...),
                        latency_ms=(float, ...), result=(RESULT_TYPES[task.output], ...))


class BatchItem(BaseModel):
    """One answer of a batch, at its input's position: a result or an error, never both."""

    index: int
    result: Optional[Union[SpansResult, LabelResult, MatchResult, AnswerResult, TextResult]] = None
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

__all__ = ["BatchAnswer", "BatchItem", "ERROR_RESPONSES", "ErrorBody", "Health", "RESULT_TYPES",
           "TaskInfo", "task_answer_model"]
