"""The API under concurrent load: 200 requests, 16 at a time, 60 s cap, every answer checked."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest

from ecomlm.demo.loadtest import run_load
from ecomlm.demo.pool import ModelPool
from ecomlm.demo.server import ServerThread, create_app


def track_lending(pool: ModelPool) -> dict:
    """Wrap ``pool.borrow`` (which every server route goes through) to record, per lending, whether
    the instance was already out, and the most instances out at once."""
    seen = {"lendings": 0, "twice": 0, "peak": 0, "instances": set()}
    holding: set[int] = set()
    lock, borrow = threading.Lock(), pool.borrow

    @contextmanager
    def tracked(*args, **kwargs):
        with borrow(*args, **kwargs) as model:
            with lock:
                seen["lendings"] += 1
                seen["twice"] += id(model) in holding
                holding.add(id(model))
                seen["instances"].add(id(model))
                seen["peak"] = max(seen["peak"], len(holding))
            try:
                yield model
            finally:
                with lock:
                    holding.discard(id(model))

    pool.borrow = tracked  # type: ignore[method-assign]
    return seen


@pytest.mark.slow
def test_200_requests_16_at_a_time_all_valid(base_gguf):
    pool = ModelPool("base", n_ctx=1024, size=2)
    seen = track_lending(pool)
    try:
        with ServerThread(create_app(pool)) as server:
            report = run_load(server.url, task="sentiment", requests=200, concurrency=16, cap_s=60)
    finally:
        pool.close()
    print("\n" + report.summary())
    assert report.invalid == 0, report.problems
    assert not report.failed, report.failed
    assert report.ok + report.unfinished == report.sent
    assert report.sent == report.requests or report.capped  # all 200 went out, unless the cap stopped it
    assert report.ok >= report.concurrency, report.summary()  # at least one full wave answered
    assert seen["lendings"] >= report.ok and seen["twice"] == 0  # no instance served two requests at once
    assert seen["peak"] == pool.size == len(seen["instances"]) == 2  # both instances worked side by side
