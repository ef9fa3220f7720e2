"""A small pool of model instances, so the demo and the API can serve concurrent requests safely.

A llama.cpp model instance is not thread-safe (one KV cache, one sampler): each request borrows a
whole instance for the duration of one task call and gives it back. With ``size=1`` this is a lock;
with ``size=N`` it is N independent instances, each on ``cpu_count // N`` threads (llama-cpp-python
releases the GIL while it decodes, so instances really run in parallel). Which size is faster on a
given machine is measured by ``ecomlm loadtest``.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Tuple, TypeVar

from ecomlm.runtime import EcomModel

# llama.cpp's OpenMP worker threads spin while they wait. When requests, pool instances or other
# processes share the cores, spinning threads starve the ones doing work (many times slower on a busy
# 2-core machine). Must be set before llama_cpp is first loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from ecomlm.runtime import deadline
from ecomlm.runtime.errors import EcomError, InvalidInputError
from ecomlm.runtime.model_ref import ENSEMBLE_SEP, ensemble_members, files_under, resolve
from ecomlm.runtime.results import Result
from ecomlm.runtime.task_defaults import with_defaults

from .admission import CostModel, call_budget

T = TypeVar("T")


class PoolBusyError(EcomError):
    """No model instance became free within the wait limit."""


@dataclass(frozen=True)
class ModelInfo:
    """What a pool serves, as shown to users: reference, backend, file and its size."""

    ref: str
    backend: str
    path: str
    size_bytes: int
    adapter: Optional[str] = None
    specialists: Tuple[str, ...] = ()  # tasks answered by a task specialist adapter
    #: an ensemble's other models' files (``size_bytes`` counts theirs too)
    partners: Tuple[str, ...] = ()

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    def label(self) -> str:
        extra = " + fine-tuned adapter" if self.adapter else ""
        if self.specialists:
            extra += f" + {', '.join(self.specialists)} specialist{'s' if len(self.specialists) > 1 else ''}"
        if self.partners:
            extra += f"; an ensemble of {1 + len(self.partners)} models, all files"
        return f"{self.ref} ({self.backend}{extra}, {self.size_mb:.0f} MB)"

    @property
    def file_names(self) -> str:
        """The model file's name; an ensemble's, joined by ``+`` (no folders: no paths shown)."""
        return ENSEMBLE_SEP.join(Path(p).name for p in (self.path, *self.partners))


@dataclass(frozen=True)
class Answer:
    """One task result with the time it took (model time only, not the wait for a free instance)."""

    result: Result
    latency_s: float
    waited_s: float


def path_size(path: str | os.PathLike[str]) -> int:
    """Bytes of a model file, or of every file under a model folder."""
    return sum(f.stat().st_size for f in files_under(path))


def default_threads(size: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, size))


class ModelPool:
    """``size`` instances of one model; ``run`` borrows one for a call (blocking up to ``wait_s``)."""

    def __init__(self, ref: str = "default", backend: Optional[str] = None, *, size: int = 1,
                 n_ctx: int = 4096, n_threads: Optional[int] = None, **options: Any) -> None:
        if size < 1:
            raise InvalidInputError(f"a model pool needs at least one instance (got {size}); "
                                    f"give --pool-size 1 or more")
        self.size = size
        self._free: "queue.Queue[EcomModel]" = queue.Queue()
        self._models: list[EcomModel] = []
        self._busy = 0
        self._count_lock = threading.Lock()
        load_options: dict[str, Any] = {"n_ctx": n_ctx, **options}
        threads = n_threads or default_threads(size)
        for _ in range(size):
            model = EcomModel.load(ref, backend=backend,
                                   **({"n_threads": threads} if _takes_threads(ref, backend) else {}),
                                   **load_options)
            self._models.append(model)
            self._free.put(model)
        first = self._models[0]
        # an ensemble ("default+multilingual"): the first model answers, every member's files count
        members = [m.resolved or resolve(r) for m, r in zip((first, *first.partners), ensemble_members(ref))]
        resolved = members[0]
        self.info = ModelInfo(ref=str(ref), backend=first.backend.name, path=str(resolved.path),
                              size_bytes=sum(m.size_bytes() for m in members),
                              adapter=str(resolved.adapter) if resolved.adapter else None,
                              specialists=tuple(s.label for s in resolved.specialists),
                              partners=tuple(str(m.path) for m in members[1:]))
        self.n_threads = threads
        self.costs = CostModel()

    @property
    def busy(self) -> int:
        """Instances lent out right now."""
        return self._busy

    @contextmanager
    def borrow(self, wait_s: Optional[float] = None) -> Iterator[EcomModel]:
        """Borrow a free instance (waiting up to ``wait_s`` seconds, forever if ``None``)."""
        try:
            model = self._free.get(timeout=wait_s)
        except queue.Empty:
            raise PoolBusyError(f"all {self.size} model instance(s) stayed busy for {wait_s:.0f} s; "
                                f"retry later or start the server with a larger --pool-size") from None
        with self._count_lock:
            self._busy += 1
        try:
            yield model
        finally:
            with self._count_lock:
                self._busy -= 1
            self._free.put(model)

    def call(self, work: Callable[[EcomModel], T], *, wait_s: Optional[float] = None,
             deadline_at: Optional[float] = None) -> T:
        """``work(model)`` on a borrowed instance, stopped at ``deadline_at`` (a ``time.monotonic()``
        value; ``DeadlineExceededError``) if given. Any call that is not one task (a batch, free
        generation for the OpenAI routes) goes through here."""
        with self.borrow(wait_s) as model, deadline.at_deadline(deadline_at):
            if deadline_at is not None:
                deadline.check()  # the time may have run out in the queue
            return work(model)

    def run_on(self, model: EcomModel, task: str, *, truncate: bool = False, allow_none: bool = True,
               consensus_of: Optional[int] = None, beams: Optional[int] = None, **fields: Any) -> Result:
        """One task on ``model`` (borrowed by the caller) with the task's default inputs
        (``task_defaults``); under a deadline it is first refused with ``TooSlowError`` when it
        cannot finish in the time left (``admission.py``)."""
        fields = with_defaults(task, fields)
        remaining = deadline.remaining()
        if remaining is None:
            return model.run(task, truncate=truncate, allow_none=allow_none, consensus_of=consensus_of,
                             beams=beams, **fields)
        begun = time.perf_counter()
        n_prompt, max_tokens = call_budget(model, task, fields, truncate, consensus_of, beams)
        self.costs.admit(n_prompt, max_tokens, remaining)
        result = model.run(task, truncate=truncate, allow_none=allow_none, consensus_of=consensus_of,
                           beams=beams, **fields)
        self.costs.record(n_prompt, max_tokens, time.perf_counter() - begun)
        return result

    def run(self, task: str, *, truncate: bool = False, allow_none: bool = True,
            wait_s: Optional[float] = None, deadline_at: Optional[float] = None, **fields: Any) -> Answer:
        """Run one task on a borrowed instance; errors are the runtime's (``InvalidInputError``...).

        With ``deadline_at`` (a ``time.monotonic()`` value) the call is refused with
        ``TooSlowError`` when it cannot finish by then (``admission.py``), and stopped with
        ``DeadlineExceededError`` when it runs past it; either way the instance is free again.
        """
        start = time.perf_counter()
        times: list[float] = []

        def work(model: EcomModel) -> Result:
            times.append(time.perf_counter())
            return self.run_on(model, task, truncate=truncate, allow_none=allow_none, **fields)
        result = self.call(work, wait_s=wait_s, deadline_at=deadline_at)
        done = time.perf_counter()
        return Answer(result=result, latency_s=done - times[0], waited_s=times[0] - start)

    def close(self, wait_s: float = 60.0) -> None:
        """Free every instance, each once it is back from its borrower (freeing one that a thread
        still runs would crash the process); one still lent after ``wait_s`` is left to the GC."""
        deadline_at = time.monotonic() + wait_s
        for _ in range(len(self._models)):
            try:
                model = self._free.get(timeout=max(0.0, deadline_at - time.monotonic()))
            except queue.Empty:
                break
            model.close()
        self._models.clear()


def _takes_threads(ref: str, backend: Optional[str]) -> bool:
    """Only llama.cpp takes ``n_threads``; other backends size their own thread pools."""
    if backend is not None:
        return backend == "llama.cpp"
    try:
        return resolve(ref).kind == "gguf"
    except EcomError:
        return True  # let EcomModel.load raise its clear error


class PoolRegistry:
    """Pools by (model reference, backend), loaded on first use: the demo's model picker."""

    def __init__(self, *, size: int = 1, n_ctx: int = 4096) -> None:
        self.size = size
        self.n_ctx = n_ctx
        self._pools: dict[tuple[str, Optional[str]], ModelPool] = {}
        self._lock = threading.Lock()

    def get(self, ref: str, backend: Optional[str] = None) -> ModelPool:
        key = (str(ref), backend)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = ModelPool(str(ref), backend, size=self.size, n_ctx=self.n_ctx)
            return pool

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


__all__ = ["Answer", "ModelInfo", "ModelPool", "PoolBusyError", "PoolRegistry", "path_size"]
