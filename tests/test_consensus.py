"""Consensus decoding (``runtime/consensus.py``, ``backends/sampling.py``, ``OutputKind.agreed``,
``EcomModel.run(consensus_of=)``): the sampler draws only what it may, repeats itself under its seed;
the free-text answer kept is the candidate that agrees most with the others, and a span list keeps
the spans that enough of the answers hold."""
from __future__ import annotations

import numpy as np
import pytest
from ecomlm.runtime.backends.sampling import GREEDY, EpsilonSampler
from ecomlm.runtime.consensus import consensus_order, rouge_l_f, units, voted, voted_by_text, voted_for_f1


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


def test_consensus_reaches_free_text_and_spans_not_labels(base_model):
    from ecomlm.runtime import EcomModel, catalog

    model = EcomModel(base_model.backend, base_model.resolved, consensus_of=5)
    for name in ("title_generation", "ner", "qa"):
        assert model._consensus_of(catalog.get_task(name), None) == 5
        assert model._consensus_of(catalog.get_task(name), 2) == 2
    for name in ("classify", "same_product"):
        assert model._consensus_of(catalog.get_task(name), 3) == 1


def test_voted_keeps_items_enough_answers_hold_in_first_seen_order():
    answers = [["b", "a", "a"], ["a", "c"], ["c", "b"], []]
    assert voted(answers, 1) == ["b", "a", "c"]  # the union, the first answer's items first
    assert voted(answers, 2) == ["b", "a", "c"]  # "a" twice in one answer counts once
    assert voted([["b", "a", "a"], ["a"], ["c"]], 2) == ["a"]
    assert voted(answers, 3) == []


def _expected_f1(answers, kept):
    n, votes = len(answers), {}
    for items in answers:
        for item in set(items):
            votes[item] = votes.get(item, 0) + 1
    return 2 * sum(votes[i] for i in kept) / n / (len(kept) + sum(votes.values()) / n) if kept else 0.0


def test_voted_for_f1_keeps_the_set_of_the_highest_expected_f1_and_adapts_its_threshold():
    rng = np.random.default_rng(0)
    for _ in range(200):  # against every threshold, by brute force
        answers = [[str(x) for x in rng.choice(6, size=rng.integers(0, 4), replace=False)] for _ in range(8)]
        kept = voted_for_f1(answers)
        union = voted(answers, 1)
        best = max(_expected_f1(answers, voted(answers, k)) for k in range(1, 9))
        assert _expected_f1(answers, kept) == pytest.approx(best)
        assert kept == [i for i in union if i in kept]  # in the order first seen
    # answers that agree: a span 3 of 8 hold is left out (the fixed rule keeps it) ...
    agree = [["a", "b"], ["a"], ["a", "c"], ["a", "b"], ["a"], ["a", "d"], ["a"], ["a", "b"]]
    assert voted(agree, 3) == ["a", "b"] and voted_for_f1(agree) == ["a"]
    # ... answers that disagree: one 2 of 8 hold is kept (the fixed rule drops it)
    disagree = [["x"], ["y"], ["x", "z"], ["w"], ["y"], ["x"], [], ["q"]]
    assert voted(disagree, 3) == ["x"] and voted_for_f1(disagree) == ["x", "y"]
    assert voted_for_f1([]) == [] and voted_for_f1([[], []]) == []


def test_a_task_votes_by_expected_f1_when_its_vote_says_so():
    import dataclasses

    from ecomlm.runtime import catalog

    task = dataclasses.replace(catalog.get_task("ner"), vote="expected_f1")
    fields = catalog.normalize_fields(task, {"text": "Lenovo ThinkPad X1 with a 14 inch screen",
                                             "types": ["Brand", "Product", "Attribute"]})
    texts = ["Brand: Lenovo"] * 3 + ["Product: ThinkPad X1"] * 2 + ["Attribute: 14 inch"] + ["None"] * 2
    assert task.kind.agreed(catalog.get_task("ner"), texts, fields) == "Brand: Lenovo"  # 3 of 8
    assert task.kind.agreed(task, texts, fields) == "Brand: Lenovo\nProduct: ThinkPad X1"
    with pytest.raises(ValueError, match="vote must be one of"):
        dataclasses.replace(task, vote="majority")


def test_voted_by_text_counts_a_span_whatever_its_type_and_gives_it_the_most_given_type():
    answers = [[("Brand", "X1"), ("Attribute", "14 inch")], [("Product", "X1")], [("Product", "X1")],
               [("Component", "X1"), ("Attribute", "14 inch")]]
    assert voted(answers, 3) == []  # split between types, no (type, text) pair has 3 votes
    assert voted_by_text(answers, 3) == [("Product", "X1")]  # 4 answers hold X1, 2 of them as Product
    assert voted_by_text(answers, 2) == [("Product", "X1"), ("Attribute", "14 inch")]
    assert voted_by_text(answers, 5) == []
    assert voted_by_text([[("Brand", "X1")], [("Product", "X1")]], 2) == [("Brand", "X1")]  # tie: first seen


def test_voted_by_overlap_counts_spans_of_other_boundaries_for_one_entity():
    from ecomlm.evaluate.overlap_vote import voted_by_overlap

    # source "Lenovo ThinkPad X1 Carbon Gen 11"; spans are (type, start, end, text)
    lenovo, tp, tpx1 = ("Brand", 0, 6, "Lenovo"), ("Product", 7, 15, "ThinkPad"), ("Product", 7, 18, "ThinkPad X1")
    carbon, carbon_attr = ("Product", 19, 32, "Carbon Gen 11"), ("Attribute", 19, 25, "Carbon")
    answers = [[lenovo, tp], [lenovo, tpx1], [tp], [carbon], [carbon_attr]]
    assert voted([[(t, x) for t, _, _, x in a] for a in answers], 3) == []  # the product's votes split
    # ThinkPad (written twice) is held, with its other boundaries, by 3 answers; Lenovo by 2
    assert voted_by_overlap(answers, 3) == [("Product", "ThinkPad")]
    # ThinkPad X1 overlaps the kept ThinkPad and is dropped; Carbon Gen 11 has one Product behind it
    assert voted_by_overlap(answers, 2) == [("Brand", "Lenovo"), ("Product", "ThinkPad")]
    assert voted_by_overlap(answers, 2, same_type=True) == voted_by_overlap(answers, 2)
    # any type: the Attribute "Carbon" supports it, and is dropped as overlapping it
    assert voted_by_overlap(answers, 2, same_type=False) == [("Brand", "Lenovo"), ("Product", "ThinkPad"),
                                                             ("Product", "Carbon Gen 11")]
    assert ("Product", "ThinkPad X1") not in voted_by_overlap(answers, 1)
    assert voted_by_overlap([], 1) == []


def test_a_span_list_keeps_the_spans_enough_answers_hold():
    from ecomlm.runtime import catalog

    task = catalog.get_task("ner")
    kind = task.kind
    fields = catalog.normalize_fields(task, {"text": "Lenovo ThinkPad X1 with a 14 inch screen",
                                             "types": ["Brand", "Product", "Attribute"]})
    texts = ["Brand: Lenovo\nProduct: ThinkPad X1", "Product: ThinkPad X1\nBrand: Lenovo",
             "Brand: Lenovo\nAttribute: 14 inch", "None"]
    assert kind.votes_needed(4) == 2 and kind.votes_needed(8) == 3 and kind.votes_needed(1) == 1
    agreed = kind.parse(task, kind.agreed(task, texts, fields), fields)
    assert [(s.type, s.text) for s in agreed.spans] == [("Brand", "Lenovo"), ("Product", "ThinkPad X1")]
    assert all(fields["text"][s.start:s.end] == s.text for s in agreed.spans)
    assert kind.voted_answer(task, texts, fields, 1).count("\n") == 2  # the union: three spans
    assert kind.voted_answer(task, texts, fields, 4) == "None"  # no span in all four
    # an answer required: the greedy answer where no span has the votes
    assert kind.voted_answer(task, texts, fields, 4, allow_none=False) == texts[0]
    retyped = ["Brand: ThinkPad X1", "Product: ThinkPad X1", "Product: ThinkPad X1\nBrand: Lenovo", "None"]
    assert kind.voted_answer(task, retyped, fields, 2) == "Product: ThinkPad X1"
    assert kind.voted_answer(task, retyped, fields, 3) == "None"
    assert kind.voted_answer(task, retyped, fields, 3, by_text=True) == "Product: ThinkPad X1"


def test_model_votes_on_span_answers_piece_by_piece(base_model):
    """A span task's consensus: the spans kept are among those the written answers hold, a call
    repeats itself, and a long source read in pieces lists each answer whole (its pieces joined)."""
    from ecomlm.runtime import EcomModel, catalog

    model = EcomModel(base_model.backend, base_model.resolved)
    task = catalog.get_task("ner")
    fields = {"text": "Anker power bank, 10000mAh, black", "types": ["Brand", "Product", "Attribute"]}
    assert model.run("ner", consensus_of=1, **fields).written == []  # greedy
    assert len(model.run("ner", **fields).written) == task.consensus_of == 8  # the task's default
    result = model.run("ner", consensus_of=4, **fields)
    assert len(result.written) == 4
    normalized = catalog.normalize_fields(task, fields)
    held = {(s.type, s.text) for w in result.written for s in task.kind.parse(task, w, normalized).spans}
    assert {(s.type, s.text) for s in result.spans} <= held
    assert model.run("ner", consensus_of=4, **fields).written == result.written  # seeded
    long_text = ". ".join(["Anker power bank with 10000mAh in black"] * 12)  # 84 words: 3 pieces of 40
    pieces = model.run("ner", consensus_of=3, text=long_text, types=fields["types"])
    assert len(pieces.written) == 3
    assert all(w.count("\n") >= 2 for w in pieces.written)  # three pieces' answers joined


def test_consensus_check_keeps_the_consensus_of_the_first_n_written():
    """``evaluate/consensus_check.py`` scores several counts from one pass: the answer kept for ``n``
    is the consensus of the first ``n`` written, and ``n = 1`` is the greedy answer."""
    import argparse

    from ecomlm.evaluate.consensus_check import _counts, kept

    written = ["x y z", "a b c", "a b c d", "a b"]
    assert kept(written, 1) == "x y z"
    assert kept(written, 3) == "a b c" and kept(written, 4) == "a b c"
    assert _counts("8,1,4,4") == [1, 4, 8]
    # a span list: with n answers, each vote threshold k from 1 (their union) to n (their intersection)
    from ecomlm.evaluate.consensus_check import _span_rows
    from ecomlm.runtime import catalog

    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": "Lenovo ThinkPad X1", "types": ["Brand", "Product"]})
    texts = ["Brand: Lenovo", "Brand: Lenovo\nProduct: ThinkPad X1"]
    rows = list(_span_rows(task, [(fields, texts, "Brand: Lenovo\nProduct: ThinkPad X1")], [1, 2]))
    assert [(rule, round(f1, 2), size) for rule, f1, size in rows] == [
        ("1, spans held by >= 1", 66.67, 1.0), ("2, spans held by >= 1 (the task's)", 100.0, 2.0),
        ("2, spans held by >= 2", 66.67, 1.0),
        ("2, texts, most given type held by >= 1", 100.0, 2.0), ("2, texts, most given type held by >= 2", 66.67, 1.0),
        ("2, spans kept for the best expected F1 per answer", 100.0, 2.0),  # p 1 and 0.5: both kept
        ("2, overlapping spans of its type held by >= 2", 66.67, 1.0),
        ("2, overlapping spans, any type, held by >= 2", 66.67, 1.0)]
    with pytest.raises(argparse.ArgumentTypeError, match=">= 1"):
        _counts("0,2")


def test_consensus_check_scores_saved_answers_and_an_ensemble_of_two_files(tmp_path, capsys):
    """``--save`` then ``--load`` scores the same answers without a model; two files are one ensemble,
    each instance's answers interleaved file by file (the first file's greedy answer first)."""
    from ecomlm.evaluate.consensus_check import _loaded, _save, main
    from ecomlm.runtime import catalog

    task = catalog.get_task("ner")
    fields = catalog.normalize_fields(task, {"text": "Lenovo ThinkPad X1", "types": ["Brand", "Product"]})
    gold = "Brand: Lenovo\nProduct: ThinkPad X1"
    _save(tmp_path / "a.jsonl", "ner", "en", [(fields, ["Brand: Lenovo", "Product: ThinkPad X1"], gold)])
    _save(tmp_path / "b.jsonl", "ner", "en", [(fields, ["Product: ThinkPad X1", "Brand: ThinkPad X1"], gold)])
    [(loaded_task, lang, written, seconds)] = _loaded([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], [task], None)
    assert (loaded_task.name, lang, seconds) == ("ner", "en", None)
    assert written == [(fields, ["Brand: Lenovo", "Product: ThinkPad X1", "Product: ThinkPad X1",
                                 "Brand: ThinkPad X1"], gold)]
    assert main(["--load", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--task", "ner",
                 "--counts", "2,4"]) == 0
    out = capsys.readouterr().out
    assert "| ner | en | 1 | 2, spans held by >= 1 (the task's) | micro-F1 | 100.00 |" in out  # a's greedy, b's greedy
    assert "| ner | en | 1 | 4, spans held by >= 2 (the task's) | micro-F1 | 66.67 |" in out  # ThinkPad X1 twice
    _save(tmp_path / "c.jsonl", "ner", "en", [({**fields, "text": "Other"}, ["None"], gold)])
    with pytest.raises(SystemExit, match="different instances"):
        list(_loaded([tmp_path / "a.jsonl", tmp_path / "c.jsonl"], [task], None))


def test_ensemble_members_split_a_reference_on_plus_unless_it_is_a_path(tmp_path):
    from ecomlm.runtime.errors import ModelLoadError
    from ecomlm.runtime.model_ref import ensemble_members

    assert ensemble_members("default+multilingual") == ["default", "multilingual"]
    assert ensemble_members("default") == ["default"]
    odd = tmp_path / "a+b.gguf"
    odd.write_bytes(b"")
    assert ensemble_members(odd) == [str(odd)]  # a file of that name is one model
    with pytest.raises(ModelLoadError, match="one of them is empty"):
        ensemble_members("default+")


def test_an_ensemble_votes_over_the_answers_each_of_its_models_writes(base_gguf):
    """``load("base+default")``: each model writes the call's answers (the partner in its own thread),
    interleaved, the first model's greedy answer first; the vote is kept over all of them; a greedy
    call is the first model's alone."""
    from ecomlm.runtime import EcomModel, catalog

    fields = {"text": "Anker power bank, 10000mAh, black", "types": ["Brand", "Product", "Attribute"]}
    task = catalog.get_task("ner")
    normalized = catalog.normalize_fields(task, fields)
    spans = lambda raw: [(s.type, s.text) for s in task.kind.parse(task, raw, normalized).spans]  # noqa: E731
    with EcomModel.load("base", n_ctx=2048) as base, EcomModel.load("default", n_ctx=2048) as tuned:
        own = base.run("ner", consensus_of=3, **fields).written
        theirs = tuned.run("ner", consensus_of=3, **fields).written
        greedy = base.run("ner", consensus_of=1, **fields).raw
    assert own != theirs  # two different models: the test below can tell them apart
    with EcomModel.load("base+default", n_ctx=2048) as ensemble:
        assert [p.resolved.ref for p in ensemble.partners] == ["default"]
        result = ensemble.run("ner", consensus_of=3, **fields)
        assert result.written == [own[0], theirs[0], own[1], theirs[1], own[2], theirs[2]]
        assert [(s.type, s.text) for s in result.spans] == spans(task.kind.agreed(task, result.written, normalized))
        assert ensemble.run("ner", consensus_of=1, **fields).raw == greedy


def test_a_variant_prompts_with_another_command_phrasing_and_the_check_interleaves_them(base_model):
    """``EcomModel(command=)`` renders the task's other phrasings (what training sampled); the
    validation check's ``--commands`` writes each phrasing's answers and interleaves them, each
    phrasing's greedy answer first."""
    from ecomlm.evaluate.consensus_check import _written_under
    from ecomlm.runtime import catalog
    from ecomlm.runtime.errors import InvalidInputError

    task = catalog.get_task("ner")
    fields = {"text": "Anker PowerCore 10000 portable charger, black", "types": ["Brand", "Product", "Attribute"]}
    normalized = catalog.normalize_fields(task, fields)
    variants = [base_model.variant(command=i) for i in range(2)]
    prompts = [v.prompt_for("ner", normalized) for v in variants]
    assert task.commands[0] in prompts[0] and task.commands[1] not in prompts[0]
    assert task.commands[1] in prompts[1] and task.commands[0] not in prompts[1]
    assert base_model.variant(command=len(task.commands)).prompt_for("ner", normalized) == prompts[0]  # modulo
    with pytest.raises(InvalidInputError, match="0 or more"):
        base_model.variant(command=-1)

    written = _written_under(variants, "ner", 4, fields)
    assert len(written) == 4
    # each phrasing's greedy answer first, then each one's seeded sample
    greedy = [v.run("ner", consensus_of=1, **fields).raw for v in variants]
    assert [written[0], written[1]] == [g.strip() for g in greedy]
    assert written[2:] == [v.run("ner", consensus_of=2, **fields).written[1] for v in variants]
