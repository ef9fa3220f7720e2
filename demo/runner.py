"""Running model work for an HTTP request: queue limit, thread pool, deadline, and one mapping from
runtime errors to HTTP errors, shared by the task, batch and OpenAI-compatible routes.

A request's work runs on the server's thread pool on a borrowed model instance, under the request's
deadline (``runtime.deadline``): it stops at the deadline, and the request's queue slot is released
only when the model call really ends (never while an instance still computes for a gone client).
"""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from ecomlm.runtime.deadline import DeadlineExceededError
from ecomlm.runtime.errors import ContextOverflowError, InvalidInputError, UnknownTaskError

from .admission import TooSlowError
from .pool import ModelPool, PoolBusyError

T = TypeVar("T")


class ApiError(Exception):
    """An HTTP error answer: status, short code, and a message naming the problem and the fix."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def api_error(exc: BaseException, timeout_s: float) -> Optional[ApiError]:
    """The HTTP error for a runtime failure of a model call, or ``None`` for an unexpected one."""
    if isinstance(exc, (DeadlineExceededError, asyncio.TimeoutError)):
        return ApiError(504, "timeout", f"no answer within {timeout_s:.0f} s (the call was stopped); "
                                        f"the server is overloaded or the input is very long")
    if isinstance(exc, UnknownTaskError):
        return ApiError(404, "unknown_task", str(exc))
    if isinstance(exc, ContextOverflowError):
        return ApiError(413, "context_overflow", str(exc))
    if isinstance(exc, TooSlowError):
        return ApiError(413, "too_slow", str(exc))
    if isinstance(exc, InvalidInputError):
        return ApiError(422, "invalid_input", str(exc))
    if isinstance(exc, PoolBusyError):
        return ApiError(503, "busy", str(exc))
    return None


class Limits:
    """Counts the requests waiting or running, to refuse new ones beyond ``max_queue``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        self.served = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.pending >= self.limit:
                return False
            self.pending += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.pending -= 1
            self.served += 1


class Runner:
    """Runs ``work(model)`` for a request on a free instance of ``pool`` (see the module docstring)."""

    def __init__(self, pool: ModelPool, limits: Limits, timeout_s: float) -> None:
        self.pool = pool
        self.limits = limits
        self.timeout_s = timeout_s
        self.executor = ThreadPoolExecutor(max_workers=pool.size, thread_name_prefix="ecomlm-model")

    def deadline(self) -> float:
        """The ``time.monotonic()`` deadline of a request that starts now."""
        return time.monotonic() + self.timeout_s

    def admit(self) -> None:
        """Take a queue slot, or raise the 503 ``ApiError``; the caller must ``limits.leave()``."""
        if not self.limits.enter():
            raise ApiError(503, "busy", f"{self.limits.limit} requests are already waiting; retry later")

    def submit(self, work: Callable[[Any], T], deadline_at: float) -> "asyncio.Future[T]":
        """Start ``work`` on a borrowed instance (slot already taken); the slot is released when the
        call really ends."""
        try:
            future = asyncio.get_running_loop().run_in_executor(
                self.executor, lambda: self.pool.call(work, deadline_at=deadline_at))
        except BaseException:
            self.limits.leave()
            raise

        def release(done: "asyncio.Future[Any]") -> None:
            self.limits.leave()
            if not done.cancelled():
                done.exception()  # retrieved: a late failure after a 504 is not logged as lost
        future.add_done_callback(release)
        return future

    async def run(self, work: Callable[[Any], T]) -> T:
        """``work(model)`` under the request's deadline; runtime failures become ``ApiError``."""
        self.admit()
        future = self.submit(work, self.deadline())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout_s)
        except Exception as exc:
            err = api_error(exc, self.timeout_s)
            if err is None:
                raise
            raise err from None

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["ApiError", "Limits", "Runner", "api_error"]
