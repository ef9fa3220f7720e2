"""OpenAI-compatible routes, as llama-server and Ollama serve them: ``GET /v1/models``,
``POST /v1/chat/completions`` and ``POST /v1/completions``, with streaming (server-sent events,
``data: {...}`` lines ending with ``data: [DONE]``), usage counts and the usual sampling fields.

``model`` is the served model's id (free generation) or ``ecomlm:TASK`` (an e-commerce task, see
``openai_tasks.py``). Work runs like every other model call (``runner.py``): on a borrowed instance,
within the queue limit and the time limit. A stream holds its instance until it ends, and stops
(freeing the instance) when the client goes away or the time limit passes; an error before the first
token is an ordinary HTTP error, one later is sent as a last ``data: {"error": ...}`` event.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Union

from ecomlm.runtime import catalog

from .generation import as_chunks, generate, usage_chunk
from .openai_schemas import (TASK_PREFIX, ChatCompletion, ChatCompletionRequest, Completion,
                             CompletionRequest, ModelCard, ModelList, Sampling)
from .openai_tasks import run_task, task_of
from .runner import ApiError, Runner, api_error
from .schemas import ERROR_RESPONSES

if TYPE_CHECKING:
    from fastapi import FastAPI

_END = object()

#: the routes whose errors take OpenAI's shape, ``{"error": {"message", "type", "code"}}``, which
#: OpenAI clients show (every other route answers ``{"error": CODE, "detail": MESSAGE}``)
OPENAI_PATHS = ("/v1/models", "/v1/chat/completions", "/v1/completions")


def openai_error(status: int, code: str, detail: str) -> Any:
    """An error answer in OpenAI's shape."""
    from fastapi.responses import JSONResponse
    kind = ("authentication_error" if status == 401 else "server_error" if status >= 500
            else "invalid_request_error")
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse(status_code=status, content={"error": {"message": detail, "type": kind,
                                                               "param": None, "code": code}})


def served_id(ref: str) -> str:
    """The id the served model has in /v1/models: ``default``, ``base``, or its file name."""
    return ref if ref in ("default", "base") else Path(ref).name


def _chat_converters() -> tuple[Callable[[Any], Any], Callable[[Any], Iterator[Any]]]:
    """llama-cpp-python's own converters from text-completion to chat-completion format."""
    from llama_cpp.llama_chat_format import (_convert_text_completion_chunks_to_chat,
                                             _convert_text_completion_to_chat)
    return _convert_text_completion_to_chat, _convert_text_completion_chunks_to_chat


def _sse(obj: Any) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode("utf-8")


class _Stream:
    """Chunks made by a worker thread, handed to the event loop through an asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: "asyncio.Queue[Any]" = asyncio.Queue()
        self.stopped = threading.Event()

    def put(self, item: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def pump(self, chunks: Iterator[Any]) -> None:
        """Run in the worker: forward every chunk until the end, an error or a stop."""
        try:
            for chunk in chunks:
                if self.stopped.is_set():
                    break
                self.put(chunk)
        except BaseException as exc:  # forwarded to the client as an error event
            self.put(exc)
        finally:
            self.put(_END)


def add_openai_routes(app: "FastAPI", runner: Runner) -> None:
    """Add the OpenAI-compatible routes to ``app``."""
    from fastapi.responses import StreamingResponse

    pool = runner.pool
    model_id = served_id(pool.info.ref)
    created = int(time.time())
    to_chat, chunks_to_chat = _chat_converters()

    def check_model(name: str) -> None:
        task = task_of(name)
        if task is not None and task in catalog.TASKS:
            return
        if name in (model_id, pool.info.ref, "ecomlm"):
            return
        raise ApiError(404, "model_not_found", f"model {name!r} is not served here; GET /v1/models "
                                               f"lists the ids: {model_id!r}, or 'ecomlm:TASK' for an "
                                               f"e-commerce task (e.g. 'ecomlm:sentiment')")

    @app.get("/v1/models", tags=["openai"], summary="The models this server answers with",
             response_model=ModelList)
    def models() -> dict[str, Any]:
        cards = [{"id": model_id, "object": "model", "created": created, "owned_by": "ecomlm",
                  "description": f"free generation with {pool.info.label()}"}]
        cards += [{"id": f"{TASK_PREFIX}{t.name}", "object": "model", "created": created,
                   "owned_by": "ecomlm", "description": f"task: {t.summary}"}
                  for t in catalog.list_tasks()]
        return {"object": "list", "data": cards}

    def work_for(params: Sampling, prompt: Union[str, list[dict[str, str]]], message: str,
                 ) -> Callable[[Any], Any]:
        """The model call answering ``params`` (a completion dict, or chunks when streaming)."""
        task = task_of(params.model)  # type: ignore[attr-defined]
        name = params.model  # type: ignore[attr-defined]
        if task is not None:
            def run(model: Any) -> Any:
                done = run_task(pool, model, task, message, params.inputs, params.truncate, name)
                return iter([*as_chunks(done), usage_chunk(done)]) if params.stream else done
            return run
        if params.inputs:
            raise ApiError(422, "invalid_input", "'inputs' is for e-commerce tasks: use model "
                                                 "'ecomlm:TASK' with it")
        chat = isinstance(prompt, list)

        def free(model: Any) -> Any:
            text = model.backend.chat_prompt(prompt) if chat else prompt
            return generate(model, text, params, name, chat=chat)
        return free

    async def respond(params: Sampling, work: Callable[[Any], Any], chat: bool) -> Any:
        if not params.stream:
            done = await runner.run(work)
            return to_chat(done) | _extension(done) if chat else done
        return await stream(params, work, chat)

    async def stream(params: Sampling, work: Callable[[Any], Any], chat: bool) -> Any:
        include_usage = bool(params.stream_options and params.stream_options.include_usage)
        out = _Stream(asyncio.get_running_loop())

        def job(model: Any) -> None:
            try:
                chunks = work(model)
            except BaseException as exc:
                out.put(exc)
                out.put(_END)
                return
            out.pump(_chat_chunks(chunks, chunks_to_chat) if chat else chunks)

        def failed(future: "asyncio.Future[Any]") -> None:  # no instance, or out of time in the queue
            if not future.cancelled() and future.exception() is not None:
                out.put(future.exception())
                out.put(_END)

        runner.admit()
        runner.submit(job, runner.deadline()).add_done_callback(failed)
        try:  # an error before the first chunk is an ordinary HTTP error
            first = await asyncio.wait_for(out.queue.get(), timeout=runner.timeout_s)
        except asyncio.TimeoutError as exc:
            out.stopped.set()
            raise api_error(exc, runner.timeout_s) from None  # type: ignore[misc]
        if isinstance(first, BaseException):
            err = api_error(first, runner.timeout_s)
            if err is None:
                raise first
            raise err

        async def body() -> AsyncIterator[bytes]:
            item = first
            try:
                while item is not _END:
                    if isinstance(item, BaseException):
                        err = api_error(item, runner.timeout_s)
                        detail = err.detail if err else f"the generation failed ({type(item).__name__})"
                        yield _sse({"error": {"message": detail,
                                              "code": err.code if err else "internal_error"}})
                        break
                    if item["choices"] or include_usage:
                        yield _sse(item)
                    item = await out.queue.get()
            finally:
                out.stopped.set()  # the client left, or the stream ended: free the instance
            yield b"data: [DONE]\n\n"

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})

    @app.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completion",
              responses={200: {"model": ChatCompletion, "description": "a completion, or server-sent "
                                                                       "events when stream is true"},
                         **ERROR_RESPONSES})
    async def chat_completions(body: ChatCompletionRequest) -> Any:
        check_model(body.model)
        if body.tools:
            raise ApiError(422, "invalid_input", "tools (function calling) are not supported by this "
                                                 "server; leave 'tools' out")
        for m in body.messages:
            if isinstance(m.content, list) and any(p.type != "text" for p in m.content):
                raise ApiError(422, "invalid_input", "only text content parts are supported "
                                                     "(no images or audio)")
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in body.messages]
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        return await respond(body, work_for(body, messages, last_user), chat=True)

    @app.post("/v1/completions", tags=["openai"], summary="OpenAI-compatible text completion",
              responses={200: {"model": Completion, "description": "a completion, or server-sent "
                                                                   "events when stream is true"},
                         **ERROR_RESPONSES})
    async def completions(body: CompletionRequest) -> Any:
        check_model(body.model)
        if isinstance(body.prompt, list):
            if len(body.prompt) != 1:
                raise ApiError(422, "invalid_input", "give one prompt per request (a string, or a "
                                                     "list of one string)")
            body.prompt = body.prompt[0]
        if not body.prompt:
            raise ApiError(422, "invalid_input", "the prompt is empty; give the text to continue")
        return await respond(body, work_for(body, body.prompt, body.prompt), chat=False)


def _chat_chunks(chunks: Iterator[dict[str, Any]], convert: Callable[[Any], Iterator[Any]]
                 ) -> Iterator[dict[str, Any]]:
    """Text-completion stream chunks as chat chunks (llama-cpp-python's converter); the usage-only
    chunk (no choices) is passed on last."""
    usage: list[dict[str, Any]] = []

    def text_chunks() -> Iterator[dict[str, Any]]:
        for chunk in chunks:
            if chunk["choices"]:
                yield chunk
            else:
                usage.append(chunk)
    yield from convert(text_chunks())
    for chunk in usage:
        yield {**chunk, "id": "chat" + str(chunk["id"]), "object": "chat.completion.chunk"}


def _extension(done: dict[str, Any]) -> dict[str, Any]:
    return {"ecomlm": done["ecomlm"]} if "ecomlm" in done else {}


__all__ = ["OPENAI_PATHS", "add_openai_routes", "openai_error", "served_id"]
