"""A bounded load test of the HTTP API: N requests, C at a time, stopped at a time cap.

    ecomlm loadtest                          # starts `base` in-process, 200 x 16, 60 s cap
    ecomlm loadtest --pool-size 2            # two model instances
    ecomlm loadtest --url http://127.0.0.1:8000 --task query_match

(``python -m ecomlm.demo.loadtest`` is the same command.)

Every answer is checked (HTTP 200 and a well-formed result: labels among the candidates, spans with
offsets into the input); the report gives requests/s and latency percentiles as the client saw them.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ecomlm.runtime import catalog
from ecomlm.runtime.task_defaults import with_defaults

from .examples import examples_for

_SUFFIXES = ("", " Ordered it twice.", " Arrived on Monday.", " Bought it for my brother.",
             " Second purchase.", " Used it for a month.", " Gift for a friend.", " Came in a box.")


@dataclass
class LoadReport:
    """What a load test saw. Latencies are client-side, in seconds."""

    task: str
    requests: int
    concurrency: int
    sent: int = 0
    ok: int = 0
    invalid: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # status or exception -> count
    problems: list[str] = field(default_factory=list)    # the first few invalid answers
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    capped: bool = False
    unfinished: int = 0  # still running when the cap (plus a grace period) ran out

    @property
    def requests_per_s(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the latencies of valid answers (nearest rank)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    def summary(self) -> str:
        return (f"{self.task}: {self.ok}/{self.sent} valid answers ({self.requests} planned, "
                f"{self.concurrency} at a time{', stopped at the time cap' if self.capped else ''}) "
                f"in {self.elapsed_s:.1f} s: {self.requests_per_s:.2f} requests/s, "
                f"p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms"
                + (f"; invalid {self.invalid}" if self.invalid else "")
                + (f"; {self.unfinished} unfinished at the cap" if self.unfinished else "")
                + (f"; failed {self.failed}" if self.failed else ""))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("latencies")
        out.update(requests_per_s=round(self.requests_per_s, 3),
                   p50_ms=round(self.percentile(0.5) * 1000, 1),
                   p95_ms=round(self.percentile(0.95) * 1000, 1))
        return out


def payload(task: str, i: int) -> dict[str, Any]:
    """The ``i``-th request body: the task's examples in turn, the main text varied a little."""
    examples = examples_for(task)
    if not examples:
        raise ValueError(f"task {task!r} has no examples to load-test with")
    body = dict(examples[i % len(examples)])
    for key in ("text", "query", "product_a"):
        if key in body:
            body[key] = body[key] + _SUFFIXES[i % len(_SUFFIXES)]
            break
    return body


def check_answer(task: str, sent: dict[str, Any], reply: dict[str, Any]) -> Optional[str]:
    """``None`` if ``reply`` is a valid answer of ``task`` to ``sent``, else what is wrong."""
    t = catalog.get_task(task)
    result = reply.get("result")
    if reply.get("task") != task or not isinstance(result, dict) or result.get("task") != task:
        return f"not an answer of task {task!r}: {str(reply)[:200]}"
    fields = catalog.normalize_fields(t, with_defaults(task, {k: v for k, v in sent.items() if k in t.fields}))
    return t.kind.check(t, fields, result)


def run_load(url: str, *, task: str = "sentiment", requests: int = 200, concurrency: int = 16,
             cap_s: float = 60.0, grace_s: float = 10.0) -> LoadReport:
    """Send ``requests`` POSTs, ``concurrency`` in flight, submitting nothing after ``cap_s``.

    Requests in flight at the cap get ``grace_s`` more seconds; those still running then are
    counted as ``unfinished`` (not as failures).
    """
    import httpx

    report = LoadReport(task=task, requests=requests, concurrency=concurrency)
    lock = threading.Lock()
    client = httpx.Client(base_url=url, limits=httpx.Limits(max_connections=concurrency))
    begin = time.perf_counter()
    deadline = begin + cap_s

    def one(i: int) -> None:
        body = payload(task, i)
        start = time.perf_counter()
        try:
            left = max(1.0, deadline + grace_s - start)
            response = client.post(f"/v1/tasks/{task}", json=body, timeout=left)
        except httpx.TimeoutException:
            with lock:
                report.unfinished += 1
            return
        except httpx.HTTPError as e:
            with lock:
                report.failed[type(e).__name__] = report.failed.get(type(e).__name__, 0) + 1
            return
        latency = time.perf_counter() - start
        problem = (check_answer(task, body, response.json()) if response.status_code == 200
                   else f"HTTP {response.status_code}")
        with lock:
            if response.status_code != 200:
                key = str(response.status_code)
                report.failed[key] = report.failed.get(key, 0) + 1
            elif problem:
                report.invalid += 1
                if len(report.problems) < 5:
                    report.problems.append(problem)
            else:
                report.ok += 1
                report.latencies.append(latency)

    with client, ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future] = set()
        for i in range(requests):
            while len(pending) >= concurrency:
                done, pending = wait(pending, timeout=max(0.0, deadline - time.perf_counter()),
                                     return_when=FIRST_COMPLETED)
                if time.perf_counter() >= deadline:
                    break
            if time.perf_counter() >= deadline:
                report.capped = True
                break
            pending.add(pool.submit(one, i))
            report.sent += 1
        wait(pending)
    report.elapsed_s = time.perf_counter() - begin
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm loadtest`` (and ``python -m ecomlm.demo.loadtest``)."""
    parser.add_argument("--url", help="an API already running; default: start one in-process")
    parser.add_argument("--model", default="base", help="model to serve in-process (default: %(default)s)")
    parser.add_argument("--pool-size", type=int, default=1, help="model instances (default: %(default)s)")
    parser.add_argument("--task", default="sentiment", help="task to call (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cap", type=float, default=60.0, help="time cap in seconds")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")


def _rss_mb() -> Optional[float]:
    """This process's resident memory in MB (Linux ``/proc``), or ``None`` elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cmd_loadtest(args: argparse.Namespace) -> int:
    """Run the load test the options describe; 0 when every answer came back valid."""
    catalog.get_task(args.task)
    server = pool = None
    url = args.url
    if url is None:
        from .pool import ModelPool
        from .server import ServerThread, create_app
        pool = ModelPool(args.model, size=args.pool_size)
        server = ServerThread(create_app(pool)).start()
        url = server.url
        print(f"serving {pool.info.label()} with {pool.size} instance(s) x {pool.n_threads} thread(s) "
              f"on {url}", file=sys.stderr)
    rss: dict[str, Optional[float]] = {"rss_before_mb": None, "rss_after_mb": None}
    try:
        # one request first, so that model warm-up is not counted
        import httpx
        httpx.post(f"{url}/v1/tasks/{args.task}", json=payload(args.task, 0), timeout=args.cap)
        if server is not None:  # the in-process server's memory, before and after the load
            rss["rss_before_mb"] = _rss_mb()
        report = run_load(url, task=args.task, requests=args.requests, concurrency=args.concurrency,
                          cap_s=args.cap)
        if server is not None:
            rss["rss_after_mb"] = _rss_mb()
    finally:
        if server is not None:
            server.stop()
        if pool is not None:
            pool.close()
    print(report.summary())
    if rss["rss_before_mb"] is not None:
        print(f"server process RSS: {rss['rss_before_mb']:.0f} MB before the load, "
              f"{rss['rss_after_mb']:.0f} MB after")
    for problem in report.problems:
        print(f"  invalid: {problem}")
    if args.json:
        from ecomlm.runtime.atomic_io import atomic_write
        with atomic_write(args.json) as f:
            json.dump({**report.to_dict(), **rss, "pool_size": args.pool_size, "model": args.model}, f,
                      indent=2)
    return 0 if report.ok and not report.invalid and not report.failed else 1


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m ecomlm.demo.loadtest``: the same as ``ecomlm loadtest``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.demo.loadtest", __doc__.splitlines()[0], add_arguments, cmd_loadtest, argv)


if __name__ == "__main__":
    sys.exit(main())
