"""The benchmark on a handful of titles with the bundled model: the report has every field (no timed asserts)."""
from __future__ import annotations

import json

import pytest

from ecomlm.bench.runner import load_titles, render_markdown
from ecomlm.cli.main import main


def test_the_fixed_batch_has_100_distinct_short_titles():
    titles = load_titles()
    assert len(titles) == 100 and len(set(titles)) == 100
    assert all(0 < len(t) <= 100 for t in titles)
    assert load_titles(5) == titles[:5]


def test_bad_options_are_refused(capsys):
    assert main(["bench", "--model", "base", "--items", "0"]) == 1
    assert "--items" in capsys.readouterr().err
    assert main(["bench", "--model", "base", "--batch-sizes", "1,x"]) == 1


@pytest.mark.slow
def test_bench_reports_every_figure(tmp_path, capsys):
    rc = main(["bench", "--model", "base", "--model", "base", "--items", "3", "--threads", "1",
               "--batch-sizes", "1,2", "--vote-items", "2", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["config"]["n_items"] == 3
    first, second = report["models"]
    for m in (first, second):
        assert m["model"] == "base" and m["backend"] == "llama.cpp" and m["n_items"] == 3
        for key in ("load_s", "peak_rss_mb", "prompt_tok_s", "gen_tok_s", "api_items_s", "api_ms_per_item",
                    "no_reuse_items_s", "prefix_reuse_gain", "raw_items_s", "api_vs_raw"):
            assert isinstance(m[key], float) and m[key] > 0, key
        assert m["prompt_tokens"] > m["ner_prompt_tokens"] > 50
        assert 0.0 <= m["raw_same_output"] <= 1.0
        assert set(m["batched"]["runs"]) == {"1", "2"} and m["batched"]["best_gain"] > 0
        assert m["peak_rss_mb"] >= m["loaded_rss_mb"] > 50  # the model is in memory
        vote = m["vote"]
        assert vote["items"] == 2 and vote["answers"] == 8 and vote["gain"] > 0
        # the greedy answer is decoded alone on either path, from caches that saw the same prompts
        assert vote["same_greedy"] == 2 and vote["same_written"] <= vote["same_kept"] <= 2  # all 8 alike: one kept
    assert first["vs_first"]["api_items_s"] == 1.0
    assert second["vs_first"]["api_items_s"] > 0
    # with span copying off, our API decodes the same prompts as raw llama-cpp-python with the same
    # grammar: same answers (with copying on, an answer differs only where raw wrote a non-copy)
    assert first["raw_same_output_nocopy"] == 1.0
    assert first["raw_same_output"] + first["copy_changed"] == pytest.approx(1.0)
    md = (tmp_path / "bench.md").read_text()
    assert md == render_markdown(report)
    assert "API / raw" in md and "prefix-reuse gain" in md and "items/s n=2" in md and "side by side" in md
    assert "API / raw" in capsys.readouterr().out


def test_decode_rows_sees_a_one_token_pass_as_itself(base_gguf):
    """bench-decode-rows' exactness check compares real logits: one token evaluated alone and as a
    batch of one is the same computation, so the difference is exactly 0; its pass timings are
    positive and cover the requested row counts."""
    from llama_cpp import Llama

    from ecomlm.bench import decode_rows

    llm = Llama(model_path=str(base_gguf), n_ctx=1024, n_threads=1, verbose=False)
    try:
        llm.reset()
        llm.eval(llm.tokenize(decode_rows.CONTEXT.encode()))
        n0 = llm.n_tokens
        token = llm.tokenize(b"Brand", add_bos=False)
        a = decode_rows._pass(llm, token, n0)
        b = decode_rows._pass(llm, token, n0)
        assert a.shape == (1, llm.n_vocab()) and (a == b).all()
        costs = decode_rows.row_costs(llm, rows=(1, 2), repeats=1)
        assert [k for k, _ in costs] == [1, 2] and all(ms > 0 for _, ms in costs)
        diff, same = decode_rows.exactness(llm)
        assert diff >= 0.0 and 0.0 <= same <= 1.0
    finally:
        llm.close()
