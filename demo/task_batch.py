"""``POST /v1/tasks/{task}/batch``: many inputs of one task in one request.

The body is ``{"items": [{...}, ...], "defaults": {...}, "truncate": false}`` (or just the list of
items). The answers come in the order of the items, each a result or an error of its own (a bad item
never fails the others). The items run one after the other on one model instance, so consecutive
items reuse the KV cache of the shared prompt prefix (task description, command, label set), as
``EcomModel.run_many`` and ``ecomlm run --input`` do. At most ``ServerConfig.max_batch_items``
items; the whole batch shares the request's time limit: items not reached in time get ``timeout``.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Union

from pydantic import BaseModel, Field

from ecomlm.runtime import catalog
from ecomlm.runtime.deadline import DeadlineExceededError
from ecomlm.runtime.errors import EcomError, InvalidInputError, UnknownTaskError

from .runner import ApiError, Runner, api_error
from .schemas import ERROR_RESPONSES, BatchAnswer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .server import ServerConfig


class BatchRequest(BaseModel):
    """Inputs of one task for many items."""

    items: list[Any] = Field(..., description="one object of the task's inputs per item")
    defaults: dict[str, Any] = Field(default_factory=dict,
                                     description="inputs shared by every item (an item's own win), "
                                                 "e.g. the label set")
    truncate: bool = Field(False, description="cut an over-long text or context of an item to fit")


def run_items(pool: Any, model: Any, task: str, items: list[Any], defaults: dict[str, Any],
              truncate: bool, timeout_s: float) -> list[dict[str, Any]]:
    """Run every item on ``model`` (borrowed, under the request's deadline); one answer per item."""
    out: list[dict[str, Any]] = []
    expired = False
    for i, item in enumerate(items):
        if expired:
            out.append({"index": i, "error": "timeout",
                        "detail": f"not reached within the request's {timeout_s:.0f} s"})
            continue
        try:
            if not isinstance(item, dict):
                raise InvalidInputError(f"item {i} is a {type(item).__name__}; each item must be a "
                                        f"JSON object of the task's inputs")
            fields = {k: v for k, v in {**defaults, **item}.items() if v is not None}
            result = pool.run_on(model, task, truncate=truncate, **fields)
            out.append({"index": i, "result": result.to_dict()})
        except (EcomError, DeadlineExceededError) as exc:
            expired = isinstance(exc, DeadlineExceededError)
            err = api_error(exc, timeout_s) or ApiError(500, "internal_error", str(exc))
            out.append({"index": i, "error": err.code, "detail": err.detail})
    return out


def add_batch_routes(app: "FastAPI", runner: Runner, config: "ServerConfig") -> None:
    """Add ``POST /v1/tasks/{task}/batch`` to ``app``."""
    pool = runner.pool
    limit = config.max_batch_items

    @app.post("/v1/tasks/{task}/batch", tags=["tasks"], summary="Many inputs of one task, answered in order",
              responses={200: {"model": BatchAnswer}, **ERROR_RESPONSES},
              description=f"Body: `{{\"items\": [...], \"defaults\": {{...}}, \"truncate\": false}}` or "
                          f"just the list of items; at most {limit} items. Each answer is at its "
                          f"item's `index`, with `result` or `error` + `detail`.")
    async def batch(task: str, body: Union[BatchRequest, list[Any]]) -> Any:
        if task not in catalog.TASKS:
            raise ApiError(404, "unknown_task", str(UnknownTaskError(
                f"unknown task {task!r}; known tasks: {', '.join(sorted(catalog.TASKS))}")))
        request = body if isinstance(body, BatchRequest) else BatchRequest(items=body)
        if not request.items:
            raise ApiError(422, "invalid_input", "the batch has no items; give at least one")
        if len(request.items) > limit:
            raise ApiError(422, "invalid_input", f"the batch has {len(request.items)} items; the limit "
                                                 f"is {limit}: split it into several requests")

        def work(model: Any) -> tuple[list[dict[str, Any]], float]:
            begun = time.perf_counter()
            answers = run_items(pool, model, task, request.items, request.defaults, request.truncate,
                                runner.timeout_s)
            return answers, time.perf_counter() - begun
        answers, seconds = await runner.run(work)
        n_errors = sum(1 for a in answers if "error" in a)
        return {"task": task, "model": pool.info.ref, "backend": pool.info.backend,
                "latency_ms": round(seconds * 1000, 1), "n_ok": len(answers) - n_errors,
                "n_errors": n_errors, "items": answers}


__all__ = ["BatchRequest", "add_batch_routes", "run_items"]
