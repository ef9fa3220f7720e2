"""``ecomlm bench-http-batch``: single requests and the batch route measured on a real server (the
bundled base model), with the answers of both ways compared item by item."""
from __future__ import annotations

import pytest

from ecomlm.bench.http_batch import measure, render_markdown
from ecomlm.bench.runner import NER_TYPES, load_titles


@pytest.fixture(scope="module")
def url(pool):
    pytest.importorskip("fastapi")
    from ecomlm.demo.server import ServerConfig, ServerThread, create_app

    with ServerThread(create_app(pool, ServerConfig(request_timeout_s=300))) as server:
        yield server.url


def test_both_ways_answer_every_title_alike(url):
    titles = load_titles(3)
    chunks = []
    r = measure(url, titles, list(NER_TYPES), chunk=2, on_chunk=lambda: chunks.append(1))
    assert len(chunks) == 2  # a chunk of 2, then the last title alone
    assert r["items"] == 3 and r["batch_errors"] == 0
    assert r["same_answers"] == 3  # greedy on one instance: the batch route changes nothing
    assert r["single_s"] > 0 and r["batch_s"] > 0
    assert r["single_items_per_s"] == pytest.approx(3 / r["single_s"], rel=0.01)
    assert "| base | 3 | 2 |" in render_markdown("base", r)
