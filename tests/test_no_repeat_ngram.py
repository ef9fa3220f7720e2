"""The no-repeat n-gram rule of free-text decoding (``automaton.repeat_bans``): on every decoding loop
an answer never holds an n-gram of that size twice, and is the plain greedy answer up to the point
where that one first repeats itself."""
from __future__ import annotations

import numpy as np
import pytest
from ecomlm.runtime.backends.automaton import greedy_free, repeat_bans


def _repeats(ids, n):
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    return len(grams) != len(set(grams))


def _first_repeat_end(ids, n):
    """Length of the longest prefix of ``ids`` without a repeated n-gram."""
    for k in range(n, len(ids) + 1):
        if _repeats(ids[:k], n):
            return k - 1
    return len(ids)


def test_repeat_bans_names_the_tokens_that_would_repeat_an_ngram():
    assert repeat_bans([1, 2, 3, 1, 2], 3) == [3]
    assert repeat_bans([1, 2, 3, 1, 2, 4, 1, 2], 3) == [3, 4]
    assert repeat_bans([5, 6, 5], 2) == [6]
    assert repeat_bans([5, 6, 5], 1) == [5, 6]
    assert repeat_bans([1, 2, 3, 4], 3) == []
    assert repeat_bans([1, 2, 1, 2], 0) == []
    assert repeat_bans([], 3) == []


# A decoding loop's own test: a step function whose greedy choice cycles a, b, c, d, a, b, ... (the
# loop a small model falls into), and a next-best token that varies; the model pipeline itself is
# tested on the bundled model below.
EOS = 10


def _cycling_step():
    history: list[int] = []

    def step(ids):
        history.extend(ids)
        last = history[-1] if history else -1
        logits = np.zeros(EOS + 1)
        logits[(last + 1) % 4] = 10.0          # the loop
        logits[4 + (len(history) * 7) % 6] = 5.0  # the runner-up
        logits[EOS] = -10.0
        return logits

    return step


def _free_ids(no_repeat_ngram):
    step = _cycling_step()
    return greedy_free(step([]), step, 24, [EOS], no_repeat_ngram)


def test_free_loop_never_repeats_an_ngram_and_keeps_the_greedy_prefix():
    plain, ruled = _free_ids(0), _free_ids(3)
    assert plain[:8] == [0, 1, 2, 3, 0, 1, 2, 3] and _repeats(plain, 3)
    assert not _repeats(ruled, 3) and len(ruled) == 24
    keep = _first_repeat_end(plain, 3)
    assert ruled[:keep] == plain[:keep] and ruled != plain


def test_constrained_loop_applies_the_rule_inside_the_constraint():
    from ecomlm.runtime.backends.automaton import Automaton, ConstrainedDecoder, Vocabulary
    from ecomlm.runtime.constraints import FreeLine

    vocab = Vocabulary([bytes([ord("a") + i]) for i in range(EOS)] + [None])
    decoder = ConstrainedDecoder(vocab, Automaton(FreeLine()), [EOS])
    answers = {}
    for n in (0, 3):
        step = _cycling_step()
        answers[n] = decoder.run(step([]), step, 24, no_repeat_ngram=n)
    plain, ruled = ([b - ord("a") for b in answers[n]] for n in (0, 3))
    assert _repeats(plain, 3) and not _repeats(ruled, 3)
    keep = _first_repeat_end(plain, 3)
    assert ruled[:keep] == plain[:keep] and ruled != plain


def test_llama_cpp_title_loop_is_cut_and_starts_as_greedy(base_model):
    """The bundled base model loops on a Chinese title ("The Ultimate Product: The Ultimate ...")."""
    from ecomlm.runtime import EcomModel

    fields = {"specs": {"品牌": "华为", "产品": "手机"}}
    # the kind's default: 3; one greedy answer each (not the task's consensus of several)
    ruled = EcomModel(base_model.backend, base_model.resolved, consensus_of=1)
    plain = EcomModel(base_model.backend, base_model.resolved, no_repeat_ngram=0, consensus_of=1)
    plain.run("title_generation", **fields)  # both timed runs then find the prompt cached alike
    a = plain.run("title_generation", **fields).text
    b = ruled.run("title_generation", **fields).text
    a_ids, b_ids = base_model.backend.tokenize(a), base_model.backend.tokenize(b)
    assert _repeats(a_ids, 3) and not _repeats(b_ids, 3)
    keep = _first_repeat_end(a_ids, 3)
    # the same answer until the plain one first repeats itself (compared as text, one token short of
    # the cut: a token boundary there may differ when the text is tokenized again)
    assert b.startswith(base_model.backend.llm.detokenize(a_ids[:keep - 1]).decode("utf-8"))


def test_model_setting_reaches_free_text_only(base_model):
    from ecomlm.runtime import EcomModel, catalog
    from ecomlm.runtime.errors import InvalidInputError

    m = EcomModel(base_model.backend, base_model.resolved, no_repeat_ngram=5)
    assert m._no_repeat_ngram(catalog.get_task("title_generation")) == 5
    assert m._no_repeat_ngram(catalog.get_task("ner")) == 0
    assert EcomModel(base_model.backend, base_model.resolved)._no_repeat_ngram(
        catalog.get_task("title_generation")) == 3
    with pytest.raises(InvalidInputError, match="no_repeat_ngram"):
        EcomModel(base_model.backend, base_model.resolved, no_repeat_ngram=-1)


def test_repeat_check_reads_free_text_instances_back_from_a_corpus_split():
    """``evaluate/repeat_check.py`` scores the corpus's own rendered instances: their fields must come
    back from the rendered user message exactly, with the target and the language."""
    from ecomlm.evaluate.repeat_check import instances
    from ecomlm.runtime import catalog

    task = catalog.get_task("title_generation")
    specs = {"品牌": "华为", "产品": "手机, 平板"}
    messages = catalog.build_messages(task, catalog.normalize_fields(task, {"specs": specs}))
    records = [{"task": "title_generation", "lang": "zh",
                "messages": [*messages, {"role": "assistant", "content": "华为手机平板"}]},
               {"task": "ner", "lang": "en", "messages": []}]
    assert list(instances(records, task, None)) == [({"specs": specs}, "华为手机平板", "zh")]
    assert list(instances(records, task, "en")) == []
