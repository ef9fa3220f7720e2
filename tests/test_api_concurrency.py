"""The API under concurrent load: 200 requests, 16 at a time, 60 s cap, every answer checked."""
from __future__ import annotations

import threading

import httpx
import pytest

from ecomlm.demo.loadtest import run_load
from ecomlm.demo.pool import ModelPool
from ecomlm.demo.server import ServerThread, create_app


@pytest.mark.slow
def test_200_requests_16_at_a_time_all_valid(base_gguf):
    pool = ModelPool("base", n_ctx=1024)
    busy_seen: list[int] = []
    stop = threading.Event()
    try:
        with ServerThread(create_app(pool)) as server:
            def watch() -> None:  # the model instance is never lent to two requests at once
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    while not stop.is_set():
                        busy_seen.append(client.get("/health").json()["busy"])
                        stop.wait(0.2)
            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                report = run_load(server.url, task="sentiment", requests=200, concurrency=16, cap_s=60)
            finally:
                stop.set()
                watcher.join()
    finally:
        pool.close()
    print("\n" + report.summary())
    assert report.sent > 0 and report.ok > 0
    assert report.invalid == 0, report.problems
    assert not report.failed, report.failed
    assert report.ok + report.unfinished == report.sent
    assert busy_seen and max(busy_seen) <= pool.size
