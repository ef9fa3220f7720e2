"""The builder end to end on fixtures: format, cap, dedup, split, guard, ablation, determinism, CLI."""
from __future__ import annotations

import argparse
import json
import random
from collections import Counter

import pytest

from ecomlm.runtime import catalog
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.train.data.build import BuildConfig, Candidate, build_corpus, ordered
from ecomlm.train.data.guard import Guard
from ecomlm.train.data.records import Draft, Record
from test_corpus_fixtures import LEAK_EN, LEAK_ZH, SHARED_SENTENCE, write_heldout, write_sources

HELDOUT = [f"Customers say: {LEAK_EN} a lot", f"用户评价：{LEAK_ZH}！"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    src = write_sources(root / "datasets")
    held = write_heldout(root / "heldout", HELDOUT)
    out = root / "out"
    stats = build_corpus(BuildConfig(source=src, heldout=held, out=out, cap=50, seed=3, val_fraction=0.3,
                                     progress=False))
    rows = {s: [json.loads(l) for l in (out / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()]
            for s in ("train", "val")}
    return root, stats, rows


def test_outputs_and_format(built):
    root, stats, rows = built
    out = root / "out"
    assert {p.name for p in out.iterdir()} == {"train.jsonl", "val.jsonl", "stats.json", "stats.md"}
    for inst in rows["train"] + rows["val"]:
        assert set(inst) == {"task", "dataset", "lang", "atomic", "messages"}
        assert inst["lang"] in ("en", "zh") and isinstance(inst["atomic"], bool)
        system, user, assistant = inst["messages"]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        task = catalog.get_task(inst["task"])
        assert system["content"] == task.description
        assert user["content"].split("\n")[0] in task.commands
    on_disk = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert on_disk["n_instances"] == len(rows["train"]) + len(rows["val"])
    assert stats["n_datasets"] == 18 and stats["n_tasks"] >= 28
    assert set(stats["per_lang"]) == {"en", "zh"}
    assert "| task | train | val |" in (out / "stats.md").read_text(encoding="utf-8")


def test_guard_drops_overlaps(built):
    root, stats, rows = built
    assert stats["heldout_overlap_dropped"] >= 2
    guard = Guard.from_folder(root / "heldout")
    for inst in rows["train"] + rows["val"]:
        for m in inst["messages"]:
            assert not guard.overlaps(m["content"])
            assert LEAK_EN not in m["content"] and LEAK_ZH not in m["content"]


def test_guard_rule():
    g = Guard(["one two three four five six seven eight nine ten eleven twelve thirteen fourteen",
               "一二三四五六七八九十甲乙丙丁"])
    assert g.overlaps("x One two three four five six seven eight nine ten eleven twelve thirteen y")
    assert not g.overlaps("one two three four five six seven eight nine ten eleven twelve")
    assert g.overlaps("前缀二三四五六七八九十甲乙丙丁")
    assert not g.overlaps("三四五六七八九十甲乙丙丁")


def _texts(inst) -> set[str]:
    return {line[len("Text: "):] for line in inst["messages"][1]["content"].splitlines() if line.startswith("Text: ")}


def test_dedup_across_sources(built):
    _, stats, rows = built
    all_rows = rows["train"] + rows["val"]
    ext = [i for i in all_rows if i["task"] == "aspect_extraction" and SHARED_SENTENCE in _texts(i)]
    assert len(ext) == 1                       # SemEval-2014 and ASTE both have it
    uci = [i for i in all_rows if i["task"] == "sentiment" and "Good case, Excellent value." in _texts(i)]
    assert len(uci) == 1                       # duplicate line in one file
    assert stats["duplicates_dropped"] >= 2


def test_split_by_source_record(built):
    _, _, rows = built
    train = set().union(*(_texts(i) for i in rows["train"]))
    val = set().union(*(_texts(i) for i in rows["val"]))
    assert train and val and not train & val


def test_cap_and_ablation(tmp_path):
    src = write_sources(tmp_path / "datasets")
    held = write_heldout(tmp_path / "heldout", HELDOUT)
    stats = build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / "a", cap=2, progress=False))
    rows = [json.loads(l) for s in ("train", "val") for l in (tmp_path / "a" / f"{s}.jsonl").read_text().splitlines()]
    per_pair = Counter((r["task"], r["dataset"]) for r in rows)
    assert max(per_pair.values()) == 2
    assert stats["per_atomic"]["atomic"] > 0
    ab = build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / "b", cap=2, atomic=False, progress=False))
    assert ab["per_atomic"]["atomic"] == 0 and ab["n_instances"] < stats["n_instances"]
    rows_b = [json.loads(l) for l in (tmp_path / "b" / "train.jsonl").read_text().splitlines()]
    assert "span_detection" not in {r["task"] for r in rows_b}


def test_a_draft_bucket_gets_an_equal_share_of_the_round_robin():
    rec = Record("m", "1", "en", "pair", {})
    task = catalog.get_task("same_product")
    cands = [Candidate(Draft("same_product", {"product_a": f"a{i}", "product_b": "b"}, i % 2 == 0), rec, False)
             for i in range(60)]
    cands += [Candidate(Draft("same_product", {"product_a": f"v{i}", "product_b": "b"}, False, bucket="variant"),
                        rec, False) for i in range(6)]
    first = ordered(cands, task, 9, random.Random(0))[:9]
    assert Counter(c.draft.bucket for c in first) == {"": 6, "variant": 3}   # 3 buckets: Yes, No, variant
    assert Counter(c.draft.gold for c in first if not c.draft.bucket) == {True: 3, False: 3}


def test_questions_per_context_asks_one_context_several_questions_within_the_cap(tmp_path):
    src = write_sources(tmp_path / "datasets")
    held = write_heldout(tmp_path / "heldout", HELDOUT)

    def built(out: str, k: int) -> tuple[Counter, list[dict], Counter]:
        build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / out, cap=50, progress=False,
                                 questions_per_context=k))
        rows = [json.loads(line) for s in ("train", "val")
                for line in (tmp_path / out / f"{s}.jsonl").read_text().splitlines()]
        qa = [r for r in rows if r["task"] == "qa"]
        per_context = Counter(r["messages"][1]["content"].split("Context: ", 1)[1] for r in qa)
        return per_context, [r for r in rows if r["task"] != "qa"], Counter((r["task"], r["dataset"]) for r in rows)

    one, rest_one, _ = built("one", 1)
    three, rest_three, pairs = built("three", 3)
    several = lambda per_context: sum(n > 1 for n in per_context.values())  # noqa: E731
    assert several(three) > several(one)                 # more contexts asked several questions
    assert max(three.values()) == 3
    assert max(pairs.values()) <= 50                     # still within the cap per (task, dataset)
    assert rest_three == rest_one                        # every other task's instances as they were
    with pytest.raises(InvalidInputError, match="questions-per-context"):
        BuildConfig(source=src, out=tmp_path / "bad", questions_per_context=0)


def test_siblings_together_keeps_a_records_drafts_next_to_one_another():
    task = catalog.get_task("qa")
    records = [Record("d", str(i), "en", "attributes", {}) for i in range(6)]
    cands = [Candidate(Draft("qa", {"question": f"q{j}", "context": f"c{i}"}, f"a{i}{j}"), r, True)
             for i, r in enumerate(records) for j in range(3)]
    apart = ordered(list(cands), task, 9, random.Random(0))
    together = ordered(list(cands), task, 9, random.Random(0), siblings_together=True)
    runs = lambda out: sum(1 for a, b in zip(out, out[1:]) if a.record is not b.record) + 1  # noqa: E731
    assert runs(together) == 6 and runs(apart) > 6     # one run of drafts per record
    assert sorted(id(c) for c in together) == sorted(id(c) for c in cands)
    # the records come in the order their first draft fell in the shuffle
    first_seen = list(dict.fromkeys(id(c.record) for c in apart))
    assert list(dict.fromkeys(id(c.record) for c in together)) == first_seen


def test_deterministic(tmp_path, built):
    root, _, _ = built
    build_corpus(BuildConfig(source=root / "datasets", heldout=root / "heldout", out=tmp_path / "again", cap=50,
                             seed=3, val_fraction=0.3, progress=False))
    for name in ("train.jsonl", "val.jsonl"):
        assert (tmp_path / "again" / name).read_bytes() == (root / "out" / name).read_bytes()


def test_bad_paths_raise(tmp_path):
    src = write_sources(tmp_path / "datasets")
    with pytest.raises(InvalidInputError):
        build_corpus(BuildConfig(source=tmp_path / "missing", heldout=None, out=tmp_path / "o", progress=False))
    with pytest.raises(InvalidInputError):
        build_corpus(BuildConfig(source=src, heldout=tmp_path / "missing", out=tmp_path / "o", progress=False))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError):
        build_corpus(BuildConfig(source=src, heldout=tmp_path / "empty", out=tmp_path / "o", progress=False))


def test_cli(tmp_path, capsys):
    from ecomlm.train.data import cli
    src = write_sources(tmp_path / "datasets")
    held = write_heldout(tmp_path / "heldout", HELDOUT)
    parser = argparse.ArgumentParser(prog="ecomlm")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "build", "--source", str(src), "--heldout", str(held), "--out",
                              str(tmp_path / "c"), "--cap", "5", "--seed", "1", "--no-atomic",
                              "--val-fraction", "0.1", "--quiet"])
    assert args.func(args) == 0
    assert "train" in capsys.readouterr().out
    assert (tmp_path / "c" / "train.jsonl").exists()


def test_the_gate_split_holds_fresh_records_and_moves_nothing_else(tmp_path):
    """``--gate N``: instances the cap left out, from records no train or val instance holds; the train
    and val splits are the same with or without it."""
    src = write_sources(tmp_path / "datasets")
    held = write_heldout(tmp_path / "heldout", HELDOUT)
    plain = build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / "plain", cap=1, progress=False))
    stats = build_corpus(BuildConfig(source=src, heldout=held, out=tmp_path / "gated", cap=1, gate=2,
                                     progress=False))
    for split in ("train", "val"):
        assert (tmp_path / "gated" / f"{split}.jsonl").read_bytes() == (tmp_path / "plain" / f"{split}.jsonl").read_bytes()
    assert not (tmp_path / "plain" / "gate.jsonl").exists() and "gate" not in plain
    read = lambda name: [json.loads(line) for line in (tmp_path / "gated" / name).read_text().splitlines()]  # noqa: E731
    gate, used = read("gate.jsonl"), read("train.jsonl") + read("val.jsonl")
    assert gate and stats["gate"]["n_instances"] == len(gate)
    assert max(Counter((r["task"], r["dataset"]) for r in gate).values()) <= 2
    # no gate item's input is a train or val input: its record is in neither split
    inputs = lambda rows: {r["messages"][1]["content"].split("\n")[-1] for r in rows}  # noqa: E731
    assert not inputs(gate) & inputs(used)
    with pytest.raises(InvalidInputError, match="--gate"):
        BuildConfig(source=src, out=tmp_path / "bad", gate=-1)
