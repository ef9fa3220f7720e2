"""``ecomlm demo`` (Gradio app) and ``ecomlm serve`` (HTTP API): the demo package's commands."""
from __future__ import annotations

import argparse
import os

from ecomlm.runtime.cli import N_CTX, add_model_options, bounded


PORT = bounded(int, 1, 65535, "a port number")
POSITIVE_INT = bounded(int, 1, what="a whole number")
POSITIVE_FLOAT = bounded(float, 1e-3, what="a number of seconds")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pool-size", type=POSITIVE_INT, default=1,
                   help="model instances per model; requests beyond it wait (default: %(default)s)")
    p.add_argument("--n-ctx", type=N_CTX, default=4096, help="context window in tokens")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start the Gradio demo in the browser (http://127.0.0.1:7860)")
    p.add_argument("--model", action="append", default=[], metavar="REF",
                   help="a model to offer first (default, multilingual, base, a .gguf file, an ONNX folder); "
                        "repeat for several. default and base are always offered")
    p.add_argument("--exports", default=None, metavar="DIR",
                   help="also offer the GGUF files and ONNX folders under DIR (default: exports/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=PORT, default=7860, help="port (default: %(default)s)")
    _common(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the tasks as a JSON HTTP API (FastAPI, /docs)")
    add_model_options(p, n_ctx=False)  # --n-ctx: _common
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=PORT, default=8000, help="port (default: %(default)s)")
    p.add_argument("--max-body-bytes", type=POSITIVE_INT, default=64_000,
                   help="larger request bodies get 413 (default: %(default)s)")
    p.add_argument("--timeout", type=POSITIVE_FLOAT, default=60.0,
                   help="seconds before a request gets 504 and its model call is stopped "
                        "(default: %(default)s)")
    p.add_argument("--max-queue", type=bounded(int, 0, what="a whole number"), default=64,
                   help="requests waiting beyond this get 503 (default: %(default)s)")
    p.add_argument("--api-key", default=os.environ.get("ECOMLM_API_KEY"),
                   help="require this key ('Authorization: Bearer KEY' or 'X-API-Key') on every "
                        "route but /health (default: $ECOMLM_API_KEY, else none)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="let this browser origin call the API (repeat; '*' for any; default: none)")
    _common(p)
    p.set_defaults(func=cmd_serve)

    from .loadtest import add_arguments as add_loadtest_arguments
    from .loadtest import cmd_loadtest
    p = sub.add_parser("loadtest", help="a bounded load test of the HTTP API (N requests, C at a time, "
                                        "every answer checked)")
    add_loadtest_arguments(p)
    p.set_defaults(func=cmd_loadtest)


def _need(package: str) -> None:
    """One clear line (with this install's command for the [demo] extra) when ``package`` is absent."""
    from ecomlm.cli.extras import need
    need("demo", [package], "this command")


def cmd_demo(args: argparse.Namespace) -> int:
    _need("gradio")
    from .app import launch
    launch(args.model, host=args.host, port=args.port, exports_dir=args.exports,
           pool_size=args.pool_size, n_ctx=args.n_ctx)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _need("fastapi")
    _need("uvicorn")
    from .server import ServerConfig, serve
    serve(args.model, backend=args.backend, host=args.host, port=args.port, pool_size=args.pool_size,
          n_ctx=args.n_ctx, config=ServerConfig(max_body_bytes=args.max_body_bytes,
                                                request_timeout_s=args.timeout,
                                                max_queue=args.max_queue, api_key=args.api_key,
                                                cors_origins=tuple(args.cors_origin)))
    return 0
