"""Items/s of NER over the bench titles through the HTTP API: one request per title against the batch
route (``POST /v1/tasks/ner/batch``), measured in one run on one server and one model instance.

    ecomlm bench-http-batch [--model default] [--items 100] [--chunk 20] [--threads 1] [--out FILE]

The titles go in chunks; for each chunk the two ways take turns (one request per title first on even
chunks, the batch request first on odd ones), so a change in the machine's load falls on both. Both
run on the same model instance, so both reuse the KV cache of the shared prompt prefix; what differs
is a request per item (HTTP, validation, queueing) against one per chunk. The answers of the two ways
are compared item by item. Prints a Markdown table; ``--out`` also writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

TASK = "ner"
#: greedy answers, as in the other benchmarks (NER's default is a vote of 8: runtime/task_table.py)
GREEDY = {"consensus_of": 1}


def _post(url: str, body: Any, timeout_s: float) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


def _spans(result: dict[str, Any]) -> list[tuple[Any, str, int, int]]:
    return [(s.get("type"), s["text"], s["start"], s["end"]) for s in result["spans"]]


def measure(url: str, titles: list[str], types: list[str], chunk: int, timeout_s: float = 600.0,
            on_chunk: Optional[Callable[[], None]] = None) -> dict[str, Any]:
    """Seconds and items/s of single requests and of batch requests over ``titles`` (chunks of
    ``chunk``, the two ways taking turns), and how many items got the same answer both ways."""
    single_s = batch_s = 0.0
    same = errors = 0
    for k, start in enumerate(range(0, len(titles), chunk)):
        part = titles[start:start + chunk]
        answers: dict[str, list[Any]] = {}

        def singles() -> float:
            t0 = time.perf_counter()
            answers["single"] = [_spans(_post(f"{url}/v1/tasks/{TASK}", {"text": t, "types": types, **GREEDY},
                                              timeout_s)["result"]) for t in part]
            return time.perf_counter() - t0

        def batch() -> float:
            t0 = time.perf_counter()
            reply = _post(f"{url}/v1/tasks/{TASK}/batch",
                          {"items": [{"text": t} for t in part], "defaults": {"types": types, **GREEDY}},
                          timeout_s)
            dt = time.perf_counter() - t0
            answers["batch"] = [_spans(a["result"]) if a.get("result") else None for a in reply["items"]]
            return dt

        for way in ((singles, batch) if k % 2 == 0 else (batch, singles)):
            dt = way()
            if way is singles:
                single_s += dt
            else:
                batch_s += dt
        errors += sum(a is None for a in answers["batch"])
        same += sum(a == b for a, b in zip(answers["single"], answers["batch"]))
        if on_chunk is not None:
            on_chunk()
    n = len(titles)
    return {"items": n, "chunk": chunk, "single_s": round(single_s, 2), "batch_s": round(batch_s, 2),
            "single_items_per_s": round(n / single_s, 3), "batch_items_per_s": round(n / batch_s, 3),
            "batch_vs_single": round(single_s / batch_s, 3), "same_answers": same, "batch_errors": errors}


def render_markdown(model: str, r: dict[str, Any]) -> str:
    head = "| model | items | chunk | items/s, a request per title | items/s, batch route | batch / single | same answers |"
    row = (f"| {model} | {r['items']} | {r['chunk']} | {r['single_items_per_s']:.3f} | "
           f"{r['batch_items_per_s']:.3f} | {r['batch_vs_single']:.2f}x | {r['same_answers']}/{r['items']} |")
    return "\n".join([head, "|---|---|---|---|---|---|---|", row]) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm bench-http-batch`` (and ``python -m ecomlm.bench.http_batch``)."""
    p.add_argument("--model", default="default", help="model reference (default: default, the shipped model)")
    p.add_argument("--items", type=int, default=100, help="number of titles (at most 100)")
    p.add_argument("--chunk", type=int, default=20, help="titles per batch request (at most 64)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp (default: the server's)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON to this file")


def cmd_bench_http_batch(args: argparse.Namespace) -> int:
    """Serve the model on 127.0.0.1, measure both ways, print the table."""
    from ecomlm.demo.pool import ModelPool
    from ecomlm.demo.server import ServerConfig, ServerThread, create_app
    from ecomlm.runtime.atomic_io import atomic_write
    from ecomlm.runtime.errors import InvalidInputError

    from .runner import NER_TYPES, load_titles

    if not 1 <= args.items <= 100:
        raise InvalidInputError("--items must be between 1 and 100")
    config = ServerConfig(request_timeout_s=600.0)
    if not 1 <= args.chunk <= config.max_batch_items:
        raise InvalidInputError(f"--chunk must be between 1 and {config.max_batch_items}")
    pool = ModelPool(args.model, n_ctx=2048, n_threads=args.threads)
    try:
        with ServerThread(create_app(pool, config)) as server:
            result = measure(server.url, load_titles(args.items), list(NER_TYPES), args.chunk)
    finally:
        pool.close()
    result.update({"model": args.model, "backend": pool.info.backend, "n_threads": pool.n_threads})
    print(render_markdown(args.model, result), end="")
    if args.out is not None:
        with atomic_write(args.out) as f:
            json.dump(result, f, indent=2)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ecomlm.bench.http_batch``: the same as ``ecomlm bench-http-batch``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.bench.http_batch", __doc__.split("\n")[0], add_arguments,
                       cmd_bench_http_batch, argv)


if __name__ == "__main__":
    raise SystemExit(main())
