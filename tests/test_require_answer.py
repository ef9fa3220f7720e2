"""An answer can be required (allow_none=False) from every front end: Python, CLI, HTTP."""
from __future__ import annotations

import json

import httpx

from ecomlm.cli.main import main
from ecomlm.demo.server import ServerConfig, ServerThread, create_app

CONTEXT = ("I bought this sleeve last month for my old laptop. It is well made, the zipper is smooth "
           "and the padding feels thick.")
QUESTION = "Is it waterproof?"


def test_http_and_cli_require_an_answer_on_request(pool, capsys, tmp_path):
    app = create_app(pool, ServerConfig(request_timeout_s=120))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        r = client.post("/v1/tasks/qa", json={"question": QUESTION, "context": CONTEXT, "allow_none": False})
        assert r.status_code == 200, r.text
        span = r.json()["result"]["span"]
        assert span and CONTEXT[span["start"]:span["end"]] == span["text"]
        # the option is documented where it applies, and refused where it does not
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "allow_none" in schema["QaInput"]["properties"]
        r = client.post("/v1/tasks/sentiment", json={"text": "fine", "allow_none": False})
        assert r.status_code == 422
    rc = main(["run", "qa", "--question", QUESTION, "--context", CONTEXT, "--require-answer", "--json",
               "--model", "base"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["span"] and CONTEXT[result["span"]["start"]:result["span"]["end"]] == result["span"]["text"]
    items = tmp_path / "in.jsonl"
    items.write_text(json.dumps({"question": QUESTION, "context": CONTEXT}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["run", "qa", "--input", str(items), "--output", str(out), "--require-answer",
                 "--model", "base"]) == 0
    line = json.loads(out.read_text())
    assert line["result"]["span"] is not None


def test_a_required_answer_reads_a_copied_none_as_the_word_in_the_input():
    """With "None" forbidden, the decoder can still copy the word None from the input (code, specs):
    that answer is the span, not "no answer"."""
    from ecomlm.runtime import catalog

    qa = catalog.get_task("qa")
    fields = catalog.normalize_fields(qa, {"question": "What does it return?", "context": "It returns None."})
    required = catalog.parse_answer(qa, "None", fields, allow_none=False)
    assert required.span is not None and (required.span.start, required.span.end) == (11, 15)
    assert catalog.parse_answer(qa, "None", fields).span is None
    spans = catalog.get_task("span_detection")
    fields = catalog.normalize_fields(spans, {"text": "Default: None", "types": ["Attribute"]})
    assert [s.text for s in catalog.parse_answer(spans, "None", fields, allow_none=False).spans] == ["None"]
    assert catalog.parse_answer(spans, "None", fields).spans == []
