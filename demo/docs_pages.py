"""/docs (Swagger UI) and /redoc served with no CDN: the JavaScript and CSS come from the PyPI
package ``fastapi-offline`` (extra ``demo``), served by this server under ``/docs-assets``. FastAPI's
own pages load them from jsdelivr, so behind a firewall or offline they stay blank.
"""
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

ASSETS_URL = "/docs-assets"


def assets_dir() -> Path:
    """The folder holding swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png."""
    try:
        import fastapi_offline
    except ImportError:
        from ecomlm.runtime.errors import BackendUnavailableError

        from ecomlm.cli.extras import install_hint
        raise BackendUnavailableError(
            f"the API docs need the package fastapi-offline: {install_hint('demo')}") from None
    return Path(fastapi_offline.__file__).parent / "static"


def add_docs(app: "FastAPI") -> None:
    """Serve the OpenAPI pages at /docs and /redoc from local assets (create the app with
    ``docs_url=None, redoc_url=None``)."""
    from fastapi import Request
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount(ASSETS_URL, StaticFiles(directory=str(assets_dir())), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:  # real classes: FastAPI reads them
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Any:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API reference",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False)


__all__ = ["ASSETS_URL", "add_docs", "assets_dir"]
