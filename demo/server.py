"""The HTTP API: one JSON endpoint per e-commerce task, plus OpenAI-compatible routes, served by
FastAPI + uvicorn.

    ecomlm serve --model default --port 8000
    curl -s localhost:8000/v1/tasks/sentiment -H 'content-type: application/json' \\
         -d '{"text": "Broke after a week", "labels": ["positive", "negative"]}'

Endpoints: ``POST /v1/tasks/{task}`` (body: the task's inputs, plus ``"truncate": true`` to cut an
over-long text to fit), ``POST /v1/tasks/{task}/batch`` (many items, ``task_batch.py``),
``GET /v1/tasks``, the OpenAI-compatible ``GET /v1/models``, ``POST /v1/chat/completions`` and
``POST /v1/completions`` (``openai_routes.py``), ``GET /health``, ``GET /openapi.json``, and the
docs pages ``/docs`` and ``/redoc`` served without a CDN (``docs_pages.py``).

Errors are JSON ``{"error": CODE, "detail": MESSAGE}`` on every route and status: 400 malformed
JSON, 401 missing or wrong API key, 404 unknown task or route, 405 wrong method, 413 body over
``max_body_bytes``, prompt over the model's context, or a request that cannot finish within the time
limit, 422 invalid inputs, 500 an unexpected failure, 503 too many requests waiting, 504 no answer
within ``request_timeout_s``. The OpenAI-compatible routes answer the same statuses in OpenAI's
shape, ``{"error": {"message": MESSAGE, "type": ..., "code": CODE}}``, which OpenAI clients show.

Concurrency: requests run on a thread pool with one worker per model instance of a ``ModelPool``
(an instance is never used by two requests at once); at most ``max_queue`` requests wait. A request
carries its deadline into the model call, which stops at it (``runtime.deadline``): after a 504 the
instance is free within one forward pass, and the request's queue slot is released only then.

Access: ``api_key`` (``--api-key``, as llama-server's) requires ``Authorization: Bearer KEY`` or
``X-API-Key: KEY`` on every route but ``/health``; ``cors_origins`` (``--cors-origin``) lets those
browser origins call the API. Both are off by default.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError, UnknownTaskError
from ecomlm.runtime.task_defaults import defaults_of

from .docs_pages import add_docs
from .examples import examples_for
from .pool import ModelPool
from .runner import ApiError, Limits, Runner
from .middleware import (HTTP_CODES, ApiKeyMiddleware, BodyLimitMiddleware, CrashGuardMiddleware,
                         error_response)
from .schemas import ERROR_RESPONSES, Health, TaskInfo, task_answer_model, task_request_model

if TYPE_CHECKING:  # fastapi is an optional dependency (extra "demo")
    from fastapi import FastAPI


@dataclass
class ServerConfig:
    """Limits of the API (defaults suit a laptop serving a 135M model)."""

    max_body_bytes: int = 64_000       # 413 above this
    request_timeout_s: float = 60.0    # 504 when the answer takes longer (queue wait included)
    max_queue: int = 64                # 503 when more requests than this wait for a model instance
    max_batch_items: int = 64          # 422 for a batch with more items than this
    api_key: Optional[str] = None      # when set, every route but /health needs it (401 otherwise)
    cors_origins: tuple[str, ...] = () # browser origins allowed to call the API ("*" for any)

    def __post_init__(self) -> None:
        if (self.max_body_bytes <= 0 or self.request_timeout_s <= 0 or self.max_queue < 0
                or self.max_batch_items < 1):
            raise InvalidInputError(
                f"server limits must be positive (max_body_bytes={self.max_body_bytes}, "
                f"request_timeout_s={self.request_timeout_s}, max_queue={self.max_queue} >= 0, "
                f"max_batch_items={self.max_batch_items} >= 1)")
        if self.api_key is not None and not self.api_key.strip():
            raise InvalidInputError("the API key is empty; give a non-empty --api-key or none")


def create_app(pool: ModelPool, config: Optional[ServerConfig] = None) -> "FastAPI":
    """The FastAPI application serving ``pool`` (the caller owns the pool and closes it)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .openai_routes import add_openai_routes
    from .task_batch import add_batch_routes

    config = config or ServerConfig()
    limits = Limits(config.max_queue)
    runner = Runner(pool, limits, config.request_timeout_s)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        runner.close()

    app = FastAPI(title="ecomlm", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="E-commerce tasks (entities, attributes, classification, matching, QA, "
                              f"generation) answered by a small local model: {pool.info.label()}. "
                              "Task routes under /v1/tasks; OpenAI-compatible routes under "
                              "/v1/models, /v1/chat/completions and /v1/completions.")
    app.state.pool = pool
    app.state.limits = limits
    app.state.config = config
    app.state.runner = runner
    add_docs(app)

    # -- limits and errors ------------------------------------------------------------------------
    app.add_middleware(CrashGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    if config.api_key:
        app.add_middleware(ApiKeyMiddleware, key=config.api_key)
    if config.cors_origins:  # added last: outermost, so preflight requests are answered first
        from starlette.middleware.cors import CORSMiddleware
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-api-key"])

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Any:
        return error_response(exc.status, exc.code, exc.detail, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = (f"no route {request.url.path!r}; the API serves POST /v1/tasks/{{task}} (and "
                      f"/v1/tasks/{{task}}/batch), GET /v1/tasks, GET /v1/models, POST "
                      f"/v1/chat/completions, POST /v1/completions, GET /health and /docs")
        elif exc.status_code == 405:
            detail = (f"{request.method} is not allowed on {request.url.path!r}; tasks and completions "
                      f"take POST with a JSON body, /v1/tasks, /v1/models and /health take GET")
        return error_response(exc.status_code, code, detail, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Any:
        problems = []
        malformed = False
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            if err.get("type") == "json_invalid":
                malformed = True
            problems.append(f"{where}: {err.get('msg')}")
        task = request.path_params.get("task") or request.url.path.rsplit("/", 1)[-1]
        hint = ""
        if task in catalog.TASKS:
            t = catalog.TASKS[task]
            hint = (f"; task {task!r} takes {list(t.required)} (required) and "
                    f"{list(t.optional) + ['truncate']} (optional)")
        if malformed:
            return error_response(400, "malformed_json", "; ".join(problems), request.url.path)
        return error_response(422, "invalid_input", "; ".join(problems) + hint, request.url.path)

    # -- the endpoints ------------------------------------------------------------------------------
    @app.get("/health", tags=["service"], summary="Whether the model is loaded, and how busy it is",
             response_model=Health)
    def health() -> dict[str, Any]:
        info = pool.info
        return {"status": "ok", "model": info.ref, "backend": info.backend, "file": info.file_names,
                "size_mb": round(info.size_mb, 1),
                "adapter": Path(info.adapter).name if info.adapter else None, "instances": pool.size,
                "busy": pool.busy, "pending": limits.pending, "served": limits.served}

    @app.get("/v1/tasks", tags=["tasks"], summary="The tasks and their inputs",
             response_model=list[TaskInfo])
    def tasks() -> list[dict[str, Any]]:
        return [{"name": t.name, "family": t.family, "summary": t.summary,
                 "inputs": list(t.required), "optional_inputs": list(t.optional),
                 "defaults": defaults_of(t.name), "output": t.output,
                 "endpoint": f"/v1/tasks/{t.name}", "example": (examples_for(t.name) or [None])[0]}
                for t in catalog.list_tasks()]

    async def answer(task: str, payload: dict[str, Any]) -> Any:
        truncate = bool(payload.pop("truncate", False))
        allow_none = bool(payload.pop("allow_none", True))
        consensus_of = payload.pop("consensus_of", None)
        beams = payload.pop("beams", None)
        fields = {k: v for k, v in payload.items() if v is not None}

        def work(model: Any) -> tuple[Any, float]:
            begun = time.perf_counter()
            return (pool.run_on(model, task, truncate=truncate, allow_none=allow_none,
                                consensus_of=consensus_of, beams=beams, **fields),
                    time.perf_counter() - begun)
        result, seconds = await runner.run(work)
        return {"task": task, "model": pool.info.ref, "backend": pool.info.backend,
                "latency_ms": round(seconds * 1000, 1), "result": result.to_dict()}

    for t in catalog.list_tasks():
        _add_task_route(app, t, answer)
    add_batch_routes(app, runner, config)
    add_openai_routes(app, runner)

    @app.post("/v1/tasks/{task}", include_in_schema=False)
    async def unknown_task(task: str) -> Any:
        return error_response(404, "unknown_task", str(UnknownTaskError(
            f"unknown task {task!r}; known tasks: {', '.join(sorted(catalog.TASKS))} "
            f"(GET /v1/tasks lists them)")))

    return app


def _version() -> str:
    from ecomlm.cli.main import version
    return version()


def _add_task_route(app: "FastAPI", task: catalog.Task, answer: Any) -> None:
    body_model = task_request_model(task)

    async def endpoint(body: body_model) -> Any:  # type: ignore[valid-type]
        return await answer(task.name, body.model_dump(exclude_unset=False))

    endpoint.__name__ = f"run_{task.name}"
    endpoint.__annotations__ = {"body": body_model, "return": Any}  # a real class, not a string
    app.post(f"/v1/tasks/{task.name}", tags=[task.family], summary=task.summary,
             responses={200: {"model": task_answer_model(task), "description": "the typed answer"},
                        **ERROR_RESPONSES},
             description=f"{task.description}\n\nOutput kind: `{task.output}`.")(endpoint)


# -- running it -------------------------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` in a background thread (tests, load tests, notebooks)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: Optional[int] = None) -> None:
        import uvicorn

        self.host = host
        self.port = port or free_port(host)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="ecomlm-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(ref: str = "default", *, backend: Optional[str] = None, host: str = "127.0.0.1",
          port: int = 8000, pool_size: int = 1, n_ctx: int = 4096,
          config: Optional[ServerConfig] = None) -> None:
    """Load the model and serve the API until interrupted (``ecomlm serve``)."""
    import uvicorn

    pool = ModelPool(ref, backend, size=pool_size, n_ctx=n_ctx)
    try:
        print(f"ecomlm API: {pool.info.label()}, {pool.size} instance(s) on http://{host}:{port} "
              f"(docs: http://{host}:{port}/docs)", flush=True)
        uvicorn.run(create_app(pool, config), host=host, port=port, log_level="info")
    finally:
        pool.close()


__all__ = ["ServerConfig", "ServerThread", "create_app", "free_port", "serve"]
