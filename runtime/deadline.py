"""Time limits that really stop the work: a per-thread deadline that decoding loops check.

    from ecomlm.runtime.deadline import time_limit
    with time_limit(5.0):
        model.classify(text, labels)      # DeadlineExceededError after ~5 s, and the model is free

A deadline set with ``time_limit`` (or ``at_deadline``, an absolute ``time.monotonic()`` value)
applies to the calling thread. Backends call ``check()`` before each chunk of prompt evaluation and
before each generated token (llama.cpp: between ``eval`` batches, which covers both; ONNX Runtime
and PyTorch: in every forward pass), so a call whose time is up ends within one forward pass and
leaves the model instance ready for the next call. Nested limits keep the earliest deadline.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator, Optional

from .errors import EcomError

_local = threading.local()


class DeadlineExceededError(EcomError, TimeoutError):
    """The call ran past its time limit and was stopped (the model is free again)."""


def current() -> Optional[float]:
    """This thread's deadline (``time.monotonic()`` seconds), or ``None``."""
    return getattr(_local, "deadline", None)


def remaining() -> Optional[float]:
    """Seconds left before this thread's deadline (negative once past), or ``None`` without one."""
    d = current()
    return None if d is None else d - time.monotonic()


def check() -> None:
    """Raise ``DeadlineExceededError`` when this thread's deadline has passed."""
    d = current()
    if d is not None and time.monotonic() > d:
        raise DeadlineExceededError(
            f"stopped after the time limit ({time.monotonic() - d:.1f} s past the deadline); give a "
            f"shorter input or fewer options, or allow more time")


@contextmanager
def at_deadline(deadline: Optional[float]) -> Iterator[None]:
    """Apply the absolute deadline ``deadline`` (``time.monotonic()`` seconds) inside the block."""
    previous = current()
    effective = deadline if previous is None else previous if deadline is None else min(previous, deadline)
    _local.deadline = effective
    try:
        yield
    finally:
        _local.deadline = previous


@contextmanager
def time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Stop model work in this block after ``seconds`` (``None``: no limit)."""
    with at_deadline(None if seconds is None else time.monotonic() + seconds):
        yield


__all__ = ["DeadlineExceededError", "at_deadline", "check", "current", "remaining", "time_limit"]
