"""The samples of a vote decoded side by side on llama.cpp (``backends/llama_parallel.py``), on the
shipped model (the bundled base GGUF with its LoRA adapter): one sequence through the parallel
context is the greedy answer byte for byte, a sequence sees only its own cells, a call repeats
itself, the answers stay inside the constraint, and a vote that does not fit the context is decoded
one sample after another, as without the option."""
from __future__ import annotations

import pytest
from ecomlm.runtime import EcomModel, catalog
from ecomlm.runtime.backends.sampling import GREEDY, EpsilonSampler

TYPES = ["Brand", "Product", "Component", "Attribute"]
TITLES = ["Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7, 16GB RAM",
          "Nike Air Zoom Pegasus 40 men's running shoe, black, size 10",
          "Samsung 980 PRO 1TB PCIe 4.0 NVMe SSD with heatsink"]


@pytest.fixture(scope="module")
def tuned():
    model = EcomModel.load("default", n_ctx=2048, n_threads=1)
    yield model
    model.close()


def _call(model: EcomModel, title: str):
    """NER on ``title``: (the prompt's tokens, the token budget, the constraint, its decoder)."""
    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": title, "types": TYPES})
    backend = model.backend_for(task, fields)
    constraint = catalog.constraint_for(task, fields)
    tokens = backend.tokenize(model.prompt_for(task, fields))
    return backend, tokens, model._max_tokens(task, fields), constraint, backend.decoders.get(constraint)


def test_one_sequence_through_the_parallel_context_is_the_greedy_answer(tuned, base_model):
    """Its KV copy, positions, constraint state and stop rules are those of the greedy loop, and the
    model's LoRA adapter is applied there too (the base alone answers otherwise). Both contexts
    evaluate the prompt's last token alone, so the comparison is with a first call."""
    differs_from_base = 0
    for title in TITLES:
        backend, tokens, budget, constraint, decoder = _call(tuned, title)
        prompt = tuned.prompt_for("ner", {"text": title, "types": TYPES})
        greedy = backend.generate_bytes(prompt, budget, constraint)
        [alone] = backend._sampler(2).sample(tokens, budget, decoder, [GREEDY], stop_on_repeat=True)
        assert alone == greedy
        differs_from_base += base_model.run("ner", text=title, types=TYPES, consensus_of=1).raw != greedy.decode()
    assert differs_from_base  # so the equality above needs the adapter


def test_a_sequence_sees_only_its_own_cells(tuned):
    """Two sequences share the prompt's cells; one gets a few more tokens; the other's next token is
    then scored exactly as on the model's own context after the prompt alone (one-row passes use the
    same kernels there), and differently from the sequence that holds them."""
    import numpy as np
    from llama_cpp import llama_cpp as C
    backend, tokens, _, _, _ = _call(tuned, TITLES[2])
    sampler = backend._sampler(2)
    greedy = backend._greedy()
    backend.llm.n_tokens = 0  # both contexts evaluate the prompt from its start
    C.llama_memory_seq_rm(sampler.ctx.memory, 0, -1, -1)
    sampler.prompt = []
    sampler.prefill(tokens)
    n = len(tokens)
    nxt = backend.llm.tokenize(b"Brand", add_bos=False, special=False)[0]
    greedy.prefill(tokens)  # as the sampler does: all but the last token in passes of several rows, then it alone
    main = greedy.eval_rows([nxt])
    for seq in (1, 2):
        C.llama_memory_seq_cp(sampler.ctx.memory, 0, seq, 0, n)
    sampler.batch.reset()
    extra = backend.llm.tokenize(b"Samsung 980", add_bos=False, special=False)
    for k, tok in enumerate(extra):
        sampler._add(tok, n + k, 1, False)
    sampler._decode()
    rows = {}
    for seq, pos in ((2, n), (1, n + len(extra))):
        sampler.batch.reset()
        j = sampler._add(nxt, pos, seq, True)
        sampler._decode()
        rows[seq] = sampler._row(j)
    assert np.array_equal(rows[2], main[0])
    assert not np.allclose(rows[1], main[0], atol=1e-3)
    for seq in (1, 2):
        C.llama_memory_seq_rm(sampler.ctx.memory, seq, -1, -1)


def test_samples_side_by_side_repeat_and_stay_inside_the_constraint(tuned):
    backend, tokens, budget, _, decoder = _call(tuned, TITLES[0])
    picks = lambda: [EpsilonSampler(1), EpsilonSampler(2), GREEDY, EpsilonSampler(3)]  # noqa: E731
    sampler = backend._sampler(4)
    first = sampler.sample(tokens, budget, decoder, picks(), stop_on_repeat=True)
    assert len(set(first)) > 1  # the samples did draw
    assert sampler.sample(tokens, budget, decoder, picks(), stop_on_repeat=True) == first
    _, other, other_budget, _, other_decoder = _call(tuned, TITLES[1])
    sampler.sample(other, other_budget, other_decoder, picks(), stop_on_repeat=True)
    assert sampler.sample(tokens, budget, decoder, picks(), stop_on_repeat=True) == first  # prefix kept right
    for text in first:
        for line in text.decode().splitlines():
            kind, _, span = line.partition(": ")
            assert kind in TYPES and span in TITLES[0]


def test_a_vote_with_parallel_samples_copies_its_spans_and_keeps_the_greedy_answer_first(tuned):
    for title in TITLES:
        voted = tuned.run("ner", text=title, types=TYPES)
        greedy = tuned.run("ner", text=title, types=TYPES, consensus_of=1).raw
        assert len(voted.written) == 8 and voted.written[0] == greedy.strip()
        for text in voted.written:
            for span in catalog.parse_answer(catalog.get_task("ner"), text, {"text": title, "types": TYPES}).spans:
                assert span.text in title
        assert tuned.run("ner", text=title, types=TYPES).written == voted.written  # seeded: it repeats


def test_a_vote_that_does_not_fit_the_context_is_decoded_one_sample_after_another():
    """8 answers of NER's budget do not fit 512 cells beside the prompt: the samples are then those of
    the sequential loop, byte for byte."""
    with EcomModel.load("default", n_ctx=512, n_threads=1) as small, \
            EcomModel.load("default", n_ctx=512, n_threads=1, parallel_samples=False) as sequential:
        backend, tokens, budget, _, _ = _call(small, TITLES[0])
        assert not backend._sampler(7).fits(len(tokens), 7, budget)
        assert small.run("ner", text=TITLES[0], types=TYPES).written == \
            sequential.run("ner", text=TITLES[0], types=TYPES).written


def test_picks_run_one_after_another_without_the_option():
    with EcomModel.load("default", n_ctx=2048, n_threads=1, parallel_samples=False) as sequential:
        backend, tokens, budget, constraint, _ = _call(sequential, TITLES[1])
        prompt = sequential.prompt_for("ner", {"text": TITLES[1], "types": TYPES})
        picks = [EpsilonSampler(1), EpsilonSampler(2)]
        backend.generate(prompt, budget, constraint)  # so that every call below is a repeated one
        expected = [backend.generate(prompt, budget, constraint, pick=EpsilonSampler(s)) for s in (1, 2)]
        assert backend.generate_many(prompt, budget, constraint, picks=picks) == expected
        assert sequential.backend._parallel is None  # no second context was made
