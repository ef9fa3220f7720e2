"""The Gradio demo driven as people use it: headless Chromium (Debian's, via playwright) fills a field,
clicks Run and reads the answer of a real model (the bundled base unless told otherwise); uploads a
CSV to the batch tab.

Screenshots go to the test's temp dir (and to $ECOMLM_SCREENSHOT_DIR when set). The demo runs the
model named by $ECOMLM_DEMO_MODEL (default: base). docs/screenshots/ shows the shipped model:
ECOMLM_DEMO_MODEL=default ECOMLM_SCREENSHOT_DIR=docs/screenshots pytest tests/test_demo_browser.py
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium: run scripts/install_browser.sh"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT_MS = 180_000
DEMO_MODEL = os.environ.get("ECOMLM_DEMO_MODEL", "base")


@pytest.fixture(scope="module")
def demo_url(base_gguf):
    pytest.importorskip("gradio")
    from ecomlm.demo.app import launch
    from ecomlm.demo.server import free_port

    port = free_port()
    demo = launch([DEMO_MODEL], port=port, prevent_thread_lock=True, n_ctx=2048)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    demo.ecomlm_registry.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, demo_url):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(demo_url, wait_until="domcontentloaded")
    page.wait_for_selector("#entities-run", timeout=WAIT_MS)
    yield page
    page.close()


def _shot(page, tmp_path: Path, name: str) -> Path:
    page.wait_for_timeout(500)  # let the answer's fade-in finish
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    target = os.environ.get("ECOMLM_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def _answer(page, key: str) -> str:
    page.wait_for_function(f"document.querySelector('#{key}-answer textarea').value.length > 0",
                           timeout=WAIT_MS)
    return page.locator(f"#{key}-answer textarea").input_value()


def test_classify_a_review(page, tmp_path):
    page.get_by_role("tab", name="Classify").click()
    page.locator("#classify-text textarea").fill("Stopped charging after two weeks. Total waste of money.")
    page.locator("#classify-labels textarea, #classify-labels input").first.fill("positive, negative, neutral")
    page.click("#classify-run")
    answer = _answer(page, "classify")
    assert answer in ("positive", "negative", "neutral")
    chips = page.locator("#classify-highlight").inner_text()
    for label in ("positive", "negative", "neutral"):  # the answer is shown among its candidates
        assert label in chips
    meta = page.locator("#classify-meta").inner_text()
    assert DEMO_MODEL in meta and "llama.cpp" in meta and "MB" in meta and "ms" in meta
    _shot(page, tmp_path, "demo-classify")


def test_answer_a_question_from_a_review(page, tmp_path):
    page.get_by_role("tab", name="QA").click()
    context = ("I use it every day for my commute. The battery lasts about 30 hours with noise "
               "cancelling on, and it charges fully in two hours.")
    page.locator("#qa-question textarea, #qa-question input").first.fill("How long does the battery last?")
    page.locator("#qa-context textarea").fill(context)
    page.click("#qa-run")
    answer = _answer(page, "qa")
    # an extractive answer is a span of the context (with its offsets), or says there is none
    assert answer == "(no answer in the context)" or answer.rsplit("  [", 1)[0] in context
    _shot(page, tmp_path, "demo-qa")


def test_entity_example_runs(page, tmp_path):
    page.click("#entities-run")
    assert _answer(page, "entities")  # spans with offsets, or "(nothing found)"
    assert "ms" in page.locator("#entities-meta").inner_text()


def test_batch_csv_lists_bad_rows(page, tmp_path):
    csv_path = tmp_path / "reviews.csv"
    csv_path.write_text("id,review\n1,Love it works perfectly\n2,\n3,Broke after two days\n", encoding="utf-8")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-file input[type=file]").set_input_files(str(csv_path))
    page.wait_for_function("document.querySelector('#batch-column input') && "
                           "document.querySelector('#batch-column input').value === 'review'",
                           timeout=WAIT_MS)
    page.click("#batch-run")
    page.wait_for_function("document.querySelector('#batch-summary').innerText.includes('rows answered')",
                           timeout=WAIT_MS)
    summary = page.locator("#batch-summary").inner_text()
    assert "2 of 3 rows answered" in summary and "1 skipped" in summary
    assert "'review' is empty" in page.locator("#batch-bad").inner_text()  # the bad row, and why
    files = "".join(page.locator("#batch-results").inner_text().split())
    assert "reviews.sentiment.results.csv" in files and "reviews.sentiment.results.jsonl" in files
    links = [a.get_attribute("href") or "" for a in page.locator("#batch-results a").all()]
    csv_link = next(h for h in links if h.split("?")[0].endswith(".csv"))
    downloaded = page.request.get(csv_link if "://" in csv_link else page.url.rstrip("/") + csv_link).text()
    assert downloaded.splitlines()[0] == "row,id,review,answer,error" and "'review' is empty" in downloaded
    _shot(page, tmp_path, "demo-batch")


@pytest.fixture(scope="module")
def api_url(pool):
    pytest.importorskip("fastapi")
    from ecomlm.demo.server import ServerThread, create_app

    with ServerThread(create_app(pool)) as server:
        yield server.url


def test_api_docs_render_with_the_network_blocked(browser, api_url, tmp_path):
    """/docs (Swagger UI) draws every route from assets this server serves: any request that leaves
    127.0.0.1 (a CDN) is blocked and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    leaving: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(api_url):
            route.continue_()
        else:
            leaving.append(route.request.url)
            route.abort()
    page.route("**/*", only_local)
    try:
        page.goto(f"{api_url}/docs", wait_until="domcontentloaded")
        page.wait_for_selector(".swagger-ui .opblock", timeout=WAIT_MS)
        text = page.locator(".swagger-ui").inner_text()
        for path in ("/v1/tasks/sentiment", "/v1/chat/completions", "/v1/models", "/v1/tasks/{task}/batch"):
            assert path in text
        assert not leaving, leaving
        _shot(page, tmp_path, "api-docs")
    finally:
        page.close()
