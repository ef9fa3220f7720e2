"""A llama.cpp call answers the same on its first call, when asked again, and whatever was asked
before it: a row's logits depend on whether its pass has one row or several, so a prompt's last
token is always evaluated alone and the tokens before it always in passes of several rows
(``backends/prompt_cache.py``), on the shipped model (bundled base GGUF
with its LoRA adapter), with and without a deadline."""
from __future__ import annotations

import time

import numpy as np
import pytest
from ecomlm.runtime import EcomModel, catalog, deadline
from ecomlm.runtime.backends.prompt_cache import block_passes, llama_prompt_passes, prompt_passes, prompt_start

TYPES = ["Brand", "Product", "Component", "Attribute"]
TITLES = ["Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7, 16GB RAM",
          "Nike Air Zoom Pegasus 40 men's running shoe, black, size 10"]


@pytest.mark.parametrize("step", [1, 2, 3, 4, 7, 64, 512])
def test_prompt_passes_cover_the_range_in_order_and_never_leave_a_token_alone(step):
    for start in range(0, 5):
        for end in range(start, start + 3 * max(step, 3) + 3):
            passes = prompt_passes(start, end, step)
            bounds = [start] + [b for _, b in passes]
            assert passes == list(zip(bounds, bounds[1:])) and bounds[-1] == end
            sizes = [b - a for a, b in passes]
            assert all(0 < n <= max(step, 3) for n in sizes)
            assert end - start == 1 or 1 not in sizes


def test_prompt_start_keeps_the_cached_prefix_but_never_one_new_token_before_the_last():
    assert prompt_start([], [5, 6, 7]) == 0
    assert prompt_start([5, 6, 7], [5, 6, 7]) == 2  # asked again: the last token alone
    assert prompt_start([5, 6, 7, 8], [5, 6, 9, 10]) == 1  # not 2: 9 would be a pass of its own
    assert prompt_start([5, 6, 7, 8], [5, 6, 7, 9, 10]) == 2
    assert prompt_start([5, 6, 1], [5, 6, 7, 8, 9]) == 2
    assert prompt_start([4], [5, 6]) == 0
    assert llama_prompt_passes([5, 6, 7], [5, 6, 7], 512) == [(2, 3)]
    assert llama_prompt_passes([5, 6, 7, 8], [5, 6, 9, 10], 512) == [(1, 3), (3, 4)]
    assert llama_prompt_passes([], list(range(10)), 4) == [(0, 4), (4, 7), (7, 9), (9, 10)]


def test_block_passes_start_at_the_block_where_the_reusable_prefix_ends():
    prompt = list(range(40))
    assert block_passes([], prompt, 16) == [(0, 16), (16, 32), (32, 40)]
    assert block_passes(prompt[:35], prompt, 16) == [(32, 40)]
    assert block_passes(prompt, prompt, 16) == [(32, 40)]  # asked again: its last block again
    assert block_passes(prompt[:20] + [99], prompt, 16) == [(16, 32), (32, 40)]
    assert block_passes(prompt[:10], prompt[:8], 16) == [(0, 8)]


@pytest.fixture(scope="module")
def tuned():
    model = EcomModel.load("default", n_ctx=2048, n_threads=1, parallel_samples=False)
    yield model
    model.close()


def _tokens(model: EcomModel, title: str) -> tuple[object, list[int]]:
    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": title, "types": TYPES})
    backend = model.backend_for(task, fields)
    return backend, backend.tokenize(model.prompt_for(task, fields))


def test_a_prompt_gets_the_same_logits_first_again_and_after_any_other_prompt(tuned):
    """Exactly the same logits: on a first call (cache empty), asked again (all but the last token
    cached), after a prompt that shares its instruction, after one that differs only in the token
    before the last, and under a deadline (prompts then evaluated 64 tokens a pass)."""
    backend, tokens = _tokens(tuned, TITLES[0])
    _, other = _tokens(tuned, TITLES[1])
    greedy = backend._greedy()
    near = tokens[:-2] + [other[-5]] + tokens[-1:]  # another token before the last
    assert near[-2] != tokens[-2] and len(tokens) > 66  # more than one deadline pass
    backend.llm.n_tokens = 0
    first = greedy.prefill(tokens)
    again = greedy.prefill(tokens)
    greedy.prefill(other)
    after_other = greedy.prefill(tokens)
    greedy.prefill(near)
    after_near = greedy.prefill(tokens)
    backend.llm.n_tokens = 0
    with deadline.at_deadline(time.monotonic() + 600):
        under_deadline = greedy.prefill(tokens)
    for logits in (again, after_other, after_near, under_deadline):
        assert np.array_equal(logits, first)


def test_a_call_answers_the_same_first_and_again(tuned):
    """The answers themselves, through ``EcomModel.run`` (greedy, and NER's vote), on a fresh model
    and after other calls."""
    fresh = EcomModel.load("default", n_ctx=2048, n_threads=1, parallel_samples=False)
    try:
        firsts = [fresh.run("ner", text=title, types=TYPES).written for title in TITLES]
    finally:
        fresh.close()
    for _ in range(2):
        for title, first in zip(TITLES, firsts):
            assert tuned.run("ner", text=title, types=TYPES).written == first


def test_the_pytorch_backend_gives_a_prompt_the_same_logits_first_again_and_after_another(tmp_path):
    """The token-level backends (``hf_decoding.py``) evaluate prompts in passes of fixed blocks of
    positions, on a tiny random model as wide as SmolLM2-135M: there a row's values depended on its
    pass's size by about 5e-5."""
    from ecomlm.runtime.backends.torch_backend import TorchBackend
    from tiny_models import tiny_model_dir

    backend = TorchBackend(tiny_model_dir(tmp_path / "tiny", hidden_size=576), n_threads=1)
    assert_prefill_repeats(backend, list(range(5, 120)), shared=95)


def assert_prefill_repeats(backend, prompt: list[int], shared: int) -> None:  # noqa: ANN001 (a token-level backend)
    """``prompt``'s last logits on ``backend`` are equal on a first prefill, again, after a prompt
    sharing its first ``shared`` tokens, and after one differing only in the token before the last."""
    first = backend._prefill(prompt)
    again = backend._prefill(prompt)
    backend._prefill(prompt[:shared] + [300, 301])
    after_other = backend._prefill(prompt)
    backend._prefill(prompt[:-2] + [7] + prompt[-1:])
    after_near = backend._prefill(prompt)
    for logits in (again, after_other, after_near):
        assert np.array_equal(logits, first)
