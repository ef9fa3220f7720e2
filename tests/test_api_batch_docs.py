"""The HTTP batch route, /health without file-system paths, typed OpenAPI responses and the offline
docs assets, on a real uvicorn server with the bundled base model."""
from __future__ import annotations

import httpx
import pytest

from ecomlm.demo.server import ServerConfig, ServerThread, create_app
from ecomlm.runtime.task_defaults import SENTIMENT_LABELS


@pytest.fixture(scope="module")
def api(pool):
    with ServerThread(create_app(pool, ServerConfig(request_timeout_s=120, max_batch_items=4))) as server:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            yield client


def test_batch_answers_in_order_with_per_item_errors(api):
    items = [{"text": "Great screen."}, {"text": ""}, "not an object", {"text": "Awful.", "labels": ["good", "bad"]}]
    r = api.post("/v1/tasks/sentiment/batch", json={"items": items})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["index"] for a in body["items"]] == [0, 1, 2, 3] and (body["n_ok"], body["n_errors"]) == (2, 2)
    assert body["items"][0]["result"]["labels"][0] in SENTIMENT_LABELS  # default labels
    assert body["items"][1]["error"] == "invalid_input" and "empty" in body["items"][1]["detail"]
    assert "JSON object" in body["items"][2]["detail"]
    assert body["items"][3]["result"]["labels"][0] in ("good", "bad")


def test_batch_takes_a_bare_list_and_shared_defaults(api):
    r = api.post("/v1/tasks/classify/batch", json=[{"text": "USB-C cable", "labels": "cables, shoes"}])
    assert r.status_code == 200 and r.json()["items"][0]["result"]["candidates"] == ["cables", "shoes"]
    r = api.post("/v1/tasks/classify/batch", json={"items": [{"text": "Running shoe"}, {"text": "HDMI cable"}],
                                                  "defaults": {"labels": ["cables", "shoes"]}})
    assert all(a["result"]["labels"][0] in ("cables", "shoes") for a in r.json()["items"])


def test_batch_limits(api):
    r = api.post("/v1/tasks/sentiment/batch", json={"items": [{"text": "ok"}] * 5})
    assert r.status_code == 422 and "limit is 4" in r.json()["detail"]
    assert api.post("/v1/tasks/sentiment/batch", json={"items": []}).status_code == 422
    assert api.post("/v1/tasks/nope/batch", json={"items": [{"text": "x"}]}).json()["error"] == "unknown_task"


def test_health_shows_no_paths(api):
    body = api.get("/health").json()
    assert body["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and "path" not in body
    assert not any("/" in str(v) for v in body.values())


def test_openapi_declares_typed_responses(api):
    schema = api.get("/openapi.json").json()
    ok = schema["paths"]["/v1/tasks/sentiment"]["post"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    result = schema["components"]["schemas"][ref]["properties"]["result"]
    assert result["$ref"].endswith("/LabelResult")
    assert "ErrorBody" in str(schema["paths"]["/v1/tasks/sentiment"]["post"]["responses"]["422"])
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                 "/v1/tasks/{task}/batch", "/v1/tasks"):
        op = next(iter(schema["paths"][path].values()))
        assert "schema" in op["responses"]["200"]["content"]["application/json"], path


def test_docs_load_their_assets_from_this_server(api):
    page = api.get("/docs").text
    assert "cdn" not in page.lower() and "/docs-assets/swagger-ui-bundle.js" in page
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "/docs-assets/redoc.standalone.js" in api.get("/redoc").text


def test_an_ensemble_server_names_every_model_file_and_counts_their_sizes():
    """``serve --model base+default``: /health and /v1/models show both models, not the first alone."""
    from ecomlm.demo.pool import ModelPool, path_size
    from ecomlm.runtime.model_ref import resolve

    pool = ModelPool("base+default", n_ctx=1024, n_threads=1)
    try:
        base, tuned = resolve("base"), resolve("default")
        assert pool.info.size_bytes == (path_size(base.path) + path_size(tuned.path) + path_size(tuned.adapter)
                                        + sum(path_size(s.adapter) for s in tuned.specialists))
        with ServerThread(create_app(pool, ServerConfig(request_timeout_s=60))) as server:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                health = client.get("/health").json()
                models = client.get("/v1/models").json()["data"]
        assert health["model"] == "base+default"
        assert health["file"] == f"{base.path.name}+{tuned.path.name}" and "/" not in health["file"]
        assert health["size_mb"] == round(pool.info.size_bytes / 1e6, 1)
        assert "an ensemble of 2 models" in models[0]["description"]
    finally:
        pool.close()


def test_the_demo_picker_sizes_a_model_as_the_server_does():
    """The picker's entry for ``default`` counts its specialists' adapters too, as ``/health`` does."""
    from ecomlm.demo.models import model_choices
    from ecomlm.demo.pool import path_size
    from ecomlm.runtime.model_ref import resolve

    tuned = resolve("default")
    assert tuned.specialists  # so the sum below differs from model + adapter
    [choice] = [c for c in model_choices() if c.ref == "default"]
    assert choice.size_bytes == (path_size(tuned.path) + path_size(tuned.adapter)
                                 + sum(path_size(s.adapter) for s in tuned.specialists))
