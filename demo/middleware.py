"""The HTTP API's ASGI middlewares and its JSON error answer: a request body over the limit is a 413,
a missing or wrong API key a 401, an unexpected exception a JSON 500 that keeps the connection."""
from __future__ import annotations

import hmac
import logging
from typing import Any

from .docs_pages import ASSETS_URL

#: the error code of each HTTP status Starlette raises itself
HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              413: "too_large", 415: "unsupported_media_type"}


def error_response(status: int, code: str, detail: str, path: str = "") -> Any:
    """The JSON error answer; on the OpenAI-compatible routes (``path``) in OpenAI's shape."""
    from fastapi.responses import JSONResponse

    from .openai_routes import OPENAI_PATHS, openai_error
    if path in OPENAI_PATHS:
        return openai_error(status, code, detail)
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates stay readable
    return JSONResponse(status_code=status, content={"error": code, "detail": detail})


class BodyLimitMiddleware:
    """ASGI middleware answering 413 to a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode()
        size = int(declared) if declared.isdigit() else None
        if size is None:  # chunked: read the body here, up to the limit, and replay it
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
                if size > self.max_bytes:
                    break
            body = b"".join(chunks)
            sent = False

            async def replay() -> dict:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            receive = replay
        if size > self.max_bytes:
            response = error_response(413, "too_large", f"the request body has {size}+ bytes; the "
                                                        f"limit is {self.max_bytes} (shorten the text, "
                                                        f"or split it)")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ApiKeyMiddleware:
    """ASGI middleware answering 401 unless the request carries the API key (``/health`` and the
    docs' static assets are open)."""

    OPEN_PATHS = ("/health",)

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key.encode("utf-8")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["path"] in self.OPEN_PATHS or scope["method"] == "OPTIONS"
                or scope["path"].startswith(ASSETS_URL + "/")):  # static docs assets are public
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-api-key", b"")
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
        if not hmac.compare_digest(given, self.key):
            response = error_response(401, "unauthorized",
                                      "this server needs an API key: send the header "
                                      "'Authorization: Bearer KEY' (or 'X-API-Key: KEY')")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class CrashGuardMiddleware:
    """ASGI middleware answering an unexpected exception with a JSON 500 (logged with its traceback)
    and keeping the connection, instead of a plain-text 500 and a dropped connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            logging.getLogger("ecomlm.server").exception("request %s failed", scope.get("path"))
            if started:
                raise
            response = error_response(500, "internal_error",
                                      f"the server failed on this request ({type(exc).__name__}); it "
                                      f"keeps serving, and this is a bug worth reporting")
            await response(scope, receive, send)


__all__ = ["ApiKeyMiddleware", "BodyLimitMiddleware", "CrashGuardMiddleware", "HTTP_CODES", "error_response"]
