"""Consensus decoding of free text (``runtime/consensus.py``, ``backends/sampling.py``,
``EcomModel.run(consensus_of=)``): the sampler draws only what it may, repeats itself under its seed,
and the answer kept is the candidate that agrees most with the others."""
from __future__ import annotations

import numpy as np
import pytest
from ecomlm.runtime.backends.sampling import GREEDY, EpsilonSampler
from ecomlm.runtime.consensus import consensus_order, rouge_l_f, units


def test_units_are_cjk_characters_and_lower_cased_words():
    assert units("华为Mate60 手机壳, New_款") == ["华", "为", "mate60", "手", "机", "壳", "new", "款"]
    assert units("  ,. ") == []


def test_consensus_keeps_the_candidate_with_the_most_agreement():
    texts = ["华为 手机壳 新款 防摔", "华为 手机壳 防摔", "苹果 耳机 无线", "华为 手机壳 新款 防摔 透明 硅胶 男女"]
    order = consensus_order(texts)
    toks = [units(t) for t in texts]
    agreement = [sum(rouge_l_f(toks[i], toks[j]) for j in range(len(texts)) if j != i) for i in range(len(texts))]
    assert agreement[order[0]] == max(agreement)
    assert [agreement[i] for i in order] == sorted(agreement, reverse=True)
    assert order[-1] == 2  # the odd one out comes last
    assert consensus_order(["a b", "a b", "c"])[0] == 0  # a tie keeps the greedy (first) answer
    assert consensus_order(["only"]) == [0]


def test_rouge_l_f_is_the_lcs_f1():
    assert rouge_l_f(list("abcd"), list("abd")) == pytest.approx(2 * 3 / 7)
    assert rouge_l_f([], []) == 1.0 and rouge_l_f(["a"], []) == 0.0


def _probs(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def test_epsilon_sampler_draws_allowed_tokens_above_epsilon_and_repeats_with_its_seed():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=50) * 2.0
    allowed = np.arange(0, 50, 2)
    logits[4] = -np.inf  # a banned token (no-repeat rule) is never drawn
    p = _probs(np.where(np.isin(np.arange(50), allowed), logits, -np.inf))
    draws = [EpsilonSampler(7)(logits, allowed) for _ in range(3)]
    assert len(set(draws)) == 1  # a fresh sampler of the same seed draws the same token
    sampler = EpsilonSampler(7, epsilon=0.05)
    seen = [sampler(logits, allowed) for _ in range(3000)]
    assert set(seen) <= {int(i) for i in allowed if p[i] >= 0.05}
    top = int(allowed[np.nanargmax(logits[allowed])])
    assert max(set(seen), key=seen.count) == top and len(set(seen)) > 1
    assert GREEDY(logits, allowed) == top and GREEDY(logits, None) == int(np.argmax(logits))
    with pytest.raises(ValueError, match="temperature"):
        EpsilonSampler(1, temperature=0)


def test_a_sampling_loop_stays_inside_its_constraint():
    from ecomlm.runtime.backends.automaton import Automaton, ConstrainedDecoder, Vocabulary
    from ecomlm.runtime.constraints import FreeLine

    eos = 27
    vocab = Vocabulary([bytes([ord("a") + i]) for i in range(26)] + [b"\n", None])
    decoder = ConstrainedDecoder(vocab, Automaton(FreeLine()), [eos])
    step = lambda ids: np.zeros(eos + 1)  # noqa: E731  every token alike: only the constraint decides
    answers = {decoder.run(np.zeros(eos + 1), step, 30, pick=EpsilonSampler(seed)) for seed in range(8)}
    assert len(answers) > 1
    assert all(b"\n" not in a for a in answers)


def test_model_keeps_the_consensus_of_the_greedy_and_seeded_answers(base_model):
    from ecomlm.runtime import EcomModel
    from ecomlm.runtime.errors import InvalidInputError
    from ecomlm.runtime.results import TextResult

    model = EcomModel(base_model.backend, base_model.resolved)
    specs = {"品牌": "Anker", "产品": "power bank", "容量": "10000mAh"}
    model.run("title_generation", specs=specs, consensus_of=1)  # the calls below find the prompt cached alike
    greedy = model.run("title_generation", specs=specs, consensus_of=1)
    assert greedy.written == []  # one greedy answer
    assert len(model.run("title_generation", specs=specs).written) == 8  # the task's default
    result = model.run("title_generation", specs=specs, consensus_of=4)
    assert isinstance(result, TextResult) and len(result.written) == 4
    assert result.written[0] == greedy.text
    assert len(set(result.written)) > 1  # the samples differ from the greedy answer
    assert result.text == result.written[consensus_order(result.written)[0]]
    assert all("\n" not in c for c in result.written)  # every candidate keeps the one-line rule
    again = model.run("title_generation", specs=specs, consensus_of=4)
    assert again.written == result.written  # seeded: the call repeats itself
    assert EcomModel(base_model.backend, base_model.resolved, consensus_of=4).run(
        "title_generation", specs=specs).written == result.written  # the model's setting
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidInputError, match="consensus_of"):
            model.run("title_generation", specs=specs, consensus_of=bad)


def test_consensus_reaches_free_text_only(base_model):
    from ecomlm.runtime import EcomModel, catalog

    model = EcomModel(base_model.backend, base_model.resolved, consensus_of=5)
    assert model._consensus_of(catalog.get_task("title_generation"), None) == 5
    assert model._consensus_of(catalog.get_task("title_generation"), 2) == 2
    for name in ("ner", "classify", "same_product"):
        assert model._consensus_of(catalog.get_task(name), 3) == 1


def test_consensus_check_keeps_the_consensus_of_the_first_n_written():
    """``evaluate/consensus_check.py`` scores several counts from one pass: the answer kept for ``n``
    is the consensus of the first ``n`` written, and ``n = 1`` is the greedy answer."""
    import argparse

    from ecomlm.evaluate.consensus_check import _counts, kept

    written = ["x y z", "a b c", "a b c d", "a b"]
    assert kept(written, 1) == "x y z"
    assert kept(written, 3) == "a b c" and kept(written, 4) == "a b c"
    assert _counts("8,1,4,4") == [1, 4, 8]
    with pytest.raises(argparse.ArgumentTypeError, match=">= 1"):
        _counts("0,2")
