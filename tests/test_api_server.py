"""The HTTP API, called as users call it: a real uvicorn server on a free loopback port, httpx, the
bundled base model (no mock). Covers every endpoint, the OpenAPI schema and bad requests."""
from __future__ import annotations

import threading

import httpx
import pytest

from ecomlm.demo.admission import CostModel
from ecomlm.demo.examples import examples_for
from ecomlm.demo.server import ServerConfig, ServerThread, create_app
from ecomlm.runtime import catalog
from ecomlm.runtime.task_defaults import defaults_of

MAX_BODY = 8_000


@pytest.fixture(scope="module")
def api(pool):
    with ServerThread(create_app(pool, ServerConfig(max_body_bytes=MAX_BODY, request_timeout_s=120))) as server:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            yield client


def test_health_names_the_model(api, pool):
    body = api.get("/health").json()
    assert body["status"] == "ok" and body["model"] == "base" and body["backend"] == "llama.cpp"
    assert body["instances"] == 1 and body["size_mb"] == pytest.approx(pool.info.size_mb, abs=0.1)


def test_task_list_is_the_catalog(api):
    tasks = api.get("/v1/tasks").json()
    assert [t["name"] for t in tasks] == [t.name for t in catalog.list_tasks()]
    ner = next(t for t in tasks if t["name"] == "ner")
    assert ner["inputs"] == ["text", "types"] and ner["endpoint"] == "/v1/tasks/ner"
    assert ner["example"]["types"]


def test_openapi_documents_every_task_with_its_inputs(api):
    schema = api.get("/openapi.json").json()
    for task in catalog.list_tasks():
        op = schema["paths"][f"/v1/tasks/{task.name}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        model = schema["components"]["schemas"][ref]
        assert set(model["required"]) == set(task.required) - set(defaults_of(task.name))
        spans = task.output in ("typed_spans", "spans", "answer_span")
        assert set(model["properties"]) == (set(task.fields) | {"truncate"} | ({"allow_none"} if spans else set())
                                            | ({"consensus_of", "beams"} if task.kind.consensus else set()))
    assert api.get("/docs").status_code == 200


def test_classification_answer_is_one_of_the_labels(api):
    labels = ["positive", "negative", "neutral"]
    r = api.post("/v1/tasks/sentiment", json={"text": "Broke after a week, waste of money.", "labels": labels})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "sentiment" and body["model"] == "base" and body["latency_ms"] > 0
    assert len(body["result"]["labels"]) == 1 and body["result"]["labels"][0] in labels
    assert body["result"]["candidates"] == labels


def test_list_fields_accept_a_comma_separated_string(api):
    r = api.post("/v1/tasks/query_match", json={"query": "usb-c charger", "product": "Anker 65W USB-C charger"})
    assert r.status_code == 200 and isinstance(r.json()["result"]["match"], bool)
    text = "Samsung Galaxy S24 with 12GB RAM"
    r = api.post("/v1/tasks/ner", json={"text": text, "types": "brand, product"})
    assert r.status_code == 200, r.text
    for span in r.json()["result"]["spans"]:  # whatever the base model finds is really in the text
        assert text[span["start"]:span["end"]] == span["text"] and span["type"] in ("brand", "product")


def test_a_title_can_be_the_consensus_of_several_answers(api):
    specs = {"brand": "Anker", "product": "power bank", "capacity": "10000mAh"}
    r = api.post("/v1/tasks/title_generation", json={"specs": specs, "consensus_of": 3})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert len(result["written"]) == 3 and result["text"] in result["written"]
    assert len(api.post("/v1/tasks/title_generation", json={"specs": specs}).json()["result"]["written"]) == 8
    for bad in (0, 17, "many"):
        r = api.post("/v1/tasks/title_generation", json={"specs": specs, "consensus_of": bad})
        assert r.status_code == 422 and "consensus_of" in r.json()["detail"], r.text
    r = api.post("/v1/tasks/sentiment", json={"text": "ok", "consensus_of": 3})  # a label: no consensus
    assert r.status_code == 422 and "consensus_of" in r.json()["detail"]


def test_an_answer_can_ask_for_its_beam_width(api):
    """``beams: N`` reaches the model as the Python API's ``beams=N``; the server's model (``base``)
    answers qa greedily by default (only ``default`` ships a beam for qa)."""
    from ecomlm.runtime import EcomModel
    fields = {"question": "How long does the battery last?",
              "context": "Battery life is about 10 hours, and it charges in two hours over USB-C. "
                         "The case is black aluminium."}
    body = {**fields, "allow_none": False}  # the base model answers 'None' otherwise
    answers = {n: api.post("/v1/tasks/qa", json={**body, "beams": n}) for n in (1, 4)}
    assert all(r.status_code == 200 for r in answers.values()), answers
    assert answers[1].json()["result"] != answers[4].json()["result"]  # so the checks below tell them apart
    assert api.post("/v1/tasks/qa", json=body).json()["result"] == answers[1].json()["result"]
    with EcomModel.load("base", n_ctx=1024) as direct:
        for n, r in answers.items():
            assert r.json()["result"] == direct.run("qa", beams=n, allow_none=False, **fields).to_dict()
    for bad in (0, 9, "wide"):
        r = api.post("/v1/tasks/qa", json={**body, "beams": bad})
        assert r.status_code == 422 and "beams" in r.json()["detail"], r.text
    r = api.post("/v1/tasks/sentiment", json={"text": "ok", "beams": 3})  # a label: no beam option
    assert r.status_code == 422 and "beams" in r.json()["detail"]
    r = api.post("/v1/tasks/qa/batch", json={"items": [fields, {**fields, "beams": 1}],  # an item's own wins
                                              "defaults": {"beams": 4, "allow_none": False}})
    assert r.status_code == 200 and r.json()["n_ok"] == 2, r.text
    assert [item["result"] for item in r.json()["items"]] == [answers[4].json()["result"],
                                                               answers[1].json()["result"]]


def test_ner_votes_by_default_and_a_batch_can_ask_for_greedy(api):
    body = {"text": "Anker power bank, 10000mAh", "types": ["Brand", "Product"]}
    assert len(api.post("/v1/tasks/ner", json=body).json()["result"]["written"]) == 8  # NER's default
    r = api.post("/v1/tasks/ner", json={**body, "consensus_of": 2})
    assert r.status_code == 200 and len(r.json()["result"]["written"]) == 2, r.text
    r = api.post("/v1/tasks/ner/batch", json={"items": [{"text": body["text"]}] * 2,
                                              "defaults": {"types": body["types"], "consensus_of": 1}})
    assert r.status_code == 200 and r.json()["n_ok"] == 2, r.text
    assert all(item["result"]["written"] == [] for item in r.json()["items"])  # greedy


@pytest.mark.parametrize("body, status, words", [
    ({"text": "ok", "labels": ["a", "b"], "colour": "red"}, 422, ["colour", "Extra inputs", "takes"]),
    ({"labels": ["a", "b"]}, 422, ["text", "Field required"]),
    ({"text": "   ", "labels": ["a", "b"]}, 422, ["'text'", "empty"]),
    ({"text": "ok", "labels": ["a", "A"]}, 422, ["duplicates"]),
    ({"text": "ok", "labels": []}, 422, ["non-empty list"]),
    ({"text": "ok", "labels": 5}, 422, ["labels"]),
    (["not", "an", "object"], 422, ["object"]),
])
def test_invalid_inputs_get_422_naming_the_problem(api, body, status, words):
    r = api.post("/v1/tasks/sentiment", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == "invalid_input"
    for word in words:
        assert word.lower() in r.json()["detail"].lower()


def test_malformed_json_gets_400(api):
    r = api.post("/v1/tasks/sentiment", content=b'{"text": "ok", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"


def test_unknown_task_gets_404_listing_the_tasks(api):
    r = api.post("/v1/tasks/sentimnet", json={"text": "ok"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_task"
    assert "sentiment" in r.json()["detail"]


def test_wrong_method_gets_405(api):
    r = api.get("/v1/tasks/sentiment")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed" and "POST" in r.json()["detail"]


def test_body_over_the_limit_gets_413_declared_or_streamed(api):
    big = {"text": "cheap " * MAX_BODY, "labels": ["a", "b"]}
    r = api.post("/v1/tasks/sentiment", json=big)
    assert r.status_code == 413 and r.json()["error"] == "too_large" and str(MAX_BODY) in r.json()["detail"]

    def chunks():  # no content-length: the server must count the bytes itself
        yield b'{"text": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'", "labels": ["a", "b"]}'
    r = api.post("/v1/tasks/sentiment", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_prompt_over_the_context_gets_413_unless_truncated(api):
    context = "The battery lasts ten hours and charges in two. " * 120  # ~1300 tokens > n_ctx 1024
    r = api.post("/v1/tasks/answerability", json={"question": "How long does it last?", "context": context})
    assert r.status_code == 413 and r.json()["error"] == "context_overflow"
    assert "truncate" in r.json()["detail"]
    r = api.post("/v1/tasks/answerability",
                 json={"question": "How long does it last?", "context": context, "truncate": True})
    assert r.status_code == 200 and isinstance(r.json()["result"]["match"], bool)


def test_timeout_gets_504_and_the_server_recovers(pool):
    pool.costs = CostModel()  # nothing measured yet: nothing is refused up front, the call is stopped
    app = create_app(pool, ServerConfig(request_timeout_s=0.001))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        r = client.post("/v1/tasks/summarize", json=examples_for("summarize")[0])
        assert r.status_code == 504 and r.json()["error"] == "timeout"
        # the stopped call gave its instance back, and the same server answers the next request
        app.state.runner.timeout_s = 120
        body = examples_for("sentiment")[0]
        r = client.post("/v1/tasks/sentiment", json=body)
        assert r.status_code == 200, r.text
        from ecomlm.demo.loadtest import check_answer
        assert check_answer("sentiment", body, r.json()) is None
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["busy"] == 0


def test_full_queue_gets_503(pool):
    app = create_app(pool, ServerConfig(max_queue=0))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/v1/tasks/sentiment", json=examples_for("sentiment")[0])
        assert r.status_code == 503 and r.json()["error"] == "busy"


def test_pool_never_lends_an_instance_twice(base_gguf):
    """Six borrowers, a pool of two: no instance is ever held by two borrowers at once, and both
    instances are lent at the same time (the first two borrowers meet at a barrier while holding)."""
    from ecomlm.demo.pool import ModelPool

    two = ModelPool("base", n_ctx=1024, size=2)
    holding: set[int] = set()
    lent, errors, peak = [], [], [0]
    lock, meet = threading.Lock(), threading.Barrier(2, timeout=120)

    def work(i: int) -> None:
        try:
            with two.borrow(wait_s=120) as model:
                with lock:
                    assert id(model) not in holding, "an instance lent to two borrowers at once"
                    holding.add(id(model))
                    lent.append(id(model))
                    peak[0] = max(peak[0], len(holding))
                if i < 2:
                    meet.wait()  # only passes when two instances are out together
                model.run("subjectivity", text=f"It has {i} buttons.", labels=["subjective", "objective"])
                with lock:
                    holding.discard(id(model))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
            meet.abort()  # do not leave the other borrower waiting

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        later = [threading.Thread(target=work, args=(i,)) for i in range(2, 6)]
        for t in later:
            t.start()
        for t in later:
            t.join()
    finally:
        two.close()
    assert not errors, errors
    assert len(lent) == 6 and len(set(lent)) == 2 and peak[0] == 2


@pytest.mark.slow
def test_every_task_answers_its_example(api):
    for task in catalog.list_tasks():
        example = examples_for(task.name)[0]
        r = api.post(f"/v1/tasks/{task.name}", json=example)
        assert r.status_code == 200, (task.name, r.text)
        from ecomlm.demo.loadtest import check_answer
        assert check_answer(task.name, example, r.json()) is None, task.name
