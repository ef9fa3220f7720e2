"""Held-out metrics and task mapping on hand-made predictions with known answers (no model)."""
from __future__ import annotations

import pytest

from ecomlm.evaluate import metrics
from ecomlm.evaluate.heldout import HeldoutTask
from ecomlm.evaluate.mapping import MAPPINGS, Answer, gold, mapping_for, parse_specs, prediction
from ecomlm.evaluate.runner import Example, majority_baseline, pooled, score_examples
from ecomlm.runtime import catalog
from ecomlm.runtime.results import LabelResult, MatchResult, Span, SpansResult


def test_micro_f1_sums_counts_over_examples():
    # TP = 2 (a, c), FP = 1 (b), FN = 1 (d): F1 = 2*2 / (2*2 + 1 + 1) = 4/6
    assert metrics.micro_f1([{"a", "b"}, {"c"}], [{"a"}, {"c", "d"}]) == pytest.approx(100 * 4 / 6)
    assert metrics.micro_f1([set()], [{"a"}]) == 0.0
    assert metrics.micro_f1([{"a"}], [{"a"}]) == 100.0


def test_macro_f1_averages_per_class():
    preds = [{("Brand", "Dell"), ("Product", "XPS")}, {("Brand", "HP")}]
    golds = [{("Brand", "Dell"), ("Product", "XPS 13")}, {("Brand", "HP"), ("Product", "Envy")}]
    # Brand: TP 2 -> F1 1.0; Product: TP 0, FP 1, FN 2 -> F1 0.0; mean 0.5
    assert metrics.macro_f1(preds, golds) == pytest.approx(50.0)
    # micro: TP 2, FP 1, FN 2 -> 4/7
    assert metrics.micro_f1(preds, golds) == pytest.approx(100 * 4 / 7)
    assert metrics.macro_f1([set()], [set()]) is None


def test_rouge_l_english_word_level():
    # LCS "the cat on the mat" = 5 of 6 words each side: P = R = 5/6
    assert metrics.rouge_l("The cat sat on the mat.", "the cat is on the mat", "en") == pytest.approx(5 / 6)
    # P = 2/2, R = 2/4 -> F = 2 * 1 * 0.5 / 1.5 = 2/3
    assert metrics.rouge_l("10 seconds", "about 10 seconds total", "en") == pytest.approx(2 / 3)
    assert metrics.rouge_l("", "", "en") == 1.0
    assert metrics.rouge_l("x", "", "en") == 0.0


def test_rouge_l_chinese_character_level():
    # 5 characters, all in order in the 7-character reference: P = 1, R = 5/7 -> F = 10/12
    assert metrics.rouge_l("红色连衣裙", "红色长款连衣裙", "zh") == pytest.approx(10 / 12)
    # whitespace is ignored; Latin letters and digits count as characters
    assert metrics.rouge_l("新豪轩 门窗", "新豪轩门窗", "zh") == 1.0
    assert metrics.tokens("ab 1", "zh") == ["a", "b", "1"]
    # word-level would see one token here and score 0
    assert metrics.rouge_l("连衣裙", "长款连衣裙", "en") == 0.0
    assert metrics.mean_rouge_l(["红色连衣裙", "abc"], ["红色长款连衣裙", "xyz"], "zh") == pytest.approx(
        100 * (10 / 12 + 0) / 2)


def test_lcs_length():
    assert metrics.lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert metrics.lcs_length([], list("abc")) == 0


def _task(name: str, meta: dict, instances: list) -> HeldoutTask:
    return HeldoutTask(name=name, dataset=name.split("-")[1], lang=name[:2].lower(),
                       task_type=name.split("-")[2], path=None, meta=meta, instances=instances)  # type: ignore[arg-type]


def test_parse_specs_keeps_repeated_keys():
    assert parse_specs("功效#:#遮瑕#;#功效#:#保湿#;#品牌#:#兰芝#;#bad") == {"功效": "遮瑕, 保湿", "品牌": "兰芝"}


INSTANCES = {
    "EN-Lenovo-NER-NER": {"sentences": "Dell XPS 13 with Intel CPU",
                          "spans": [{"start": 0, "end": 4, "type": "Brand", "term": "Dell"}]},
    "EN-Reddit_QA-Extract-Extract_QA": {"sentences": "Context: It boots in 10 seconds.\nQuestion: How fast?",
                                        "spans": [{"start": 0, "end": 0, "term": "10 seconds"}]},
    "ZH-Multi_CPR-CLS-query_item_matching": {"sentences": "Query: 大落地窗\nDoc: 铝合金落地窗",
                                             "labels": {"en": ["match"], "zh": ["匹配"]}},
    "ZH-Multi_CPR-Extract-product_select_2": {
        "sentences": "Query: 大落地窗\nCandidate Document: 手机支架, 铝合金落地窗, 沙发.",
        "spans": [{"term": "铝合金落地窗", "start": 0, "end": 0}]},
    "ZH-OpenBG_Align-CLS-item_align": {"sentences": "Item 1: 兰芝隔离霜, 品牌#:#兰芝,\nItem 2: 兰芝雪纱隔离霜, 品牌#:#兰芝",
                                       "labels": {"en": ["same"], "zh": ["相同"]}},
    "ZH-OpenBG_Align-CLS-title_attribute_matching": {
        "sentences": "Title: 皮裤女, Attritute: 颜色#:#黑色#;#材质#:#PU", "labels": {"en": ["not match"]}},
    "ZH-OpenBG_Align-Generate-title_generate": {"sentences": "颜色#:#黑色#;#款式#:#铅笔裤",
                                                "spans": [{"term": "黑色铅笔裤", "start": 0, "end": 0}]},
}
META = {"EN-Lenovo-NER-NER": {"label_set": {"en": ["Brand", "Product"]}, "label_key": "en"},
        "ZH-Multi_CPR-CLS-query_item_matching": {"label_set": {"en": ["not match", "match"]}, "label_key": "en"},
        "ZH-OpenBG_Align-CLS-item_align": {"label_set": {"en": ["not same", "same"]}, "label_key": "en"},
        "ZH-OpenBG_Align-CLS-title_attribute_matching": {"label_set": {"en": ["not match", "match"]},
                                                         "label_key": "en"}}
EXPECTED_FIELDS = {
    "EN-Lenovo-NER-NER": {"text": "Dell XPS 13 with Intel CPU", "types": ["Brand", "Product"]},
    "EN-Reddit_QA-Extract-Extract_QA": {"context": "It boots in 10 seconds.", "question": "How fast?"},
    "ZH-Multi_CPR-CLS-query_item_matching": {"query": "大落地窗", "product": "铝合金落地窗"},
    "ZH-Multi_CPR-Extract-product_select_2": {"query": "大落地窗", "candidates": ["手机支架", "铝合金落地窗", "沙发"]},
    "ZH-OpenBG_Align-CLS-item_align": {"product_a": "兰芝隔离霜, 品牌: 兰芝", "product_b": "兰芝雪纱隔离霜, 品牌: 兰芝"},
    "ZH-OpenBG_Align-CLS-title_attribute_matching": {"product": "皮裤女", "specs": {"颜色": "黑色", "材质": "PU"}},
    "ZH-OpenBG_Align-Generate-title_generate": {"specs": {"颜色": "黑色", "款式": "铅笔裤"}},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FIELDS))
def test_fields_come_from_the_input_only(name):
    inst = INSTANCES[name]
    task = _task(name, META.get(name, {}), [inst])
    m = mapping_for(task)
    fields = m.build_fields(task, inst)
    assert fields == EXPECTED_FIELDS[name]
    # the gold answer is never read to build the prompt
    blind = {k: v for k, v in inst.items() if k not in ("labels", "spans")}
    assert m.build_fields(task, blind) == fields
    catalog.normalize_fields(catalog.get_task(m.catalog_task), fields)  # the catalog accepts them


def test_every_mapping_names_a_catalog_task_with_its_metrics():
    for name, m in MAPPINGS.items():
        task = catalog.get_task(m.catalog_task)
        assert m.kind is task.kind and m.metrics == task.kind.metrics  # one source of truth
        assert task.metric == m.metrics[0]
        assert set(m.metrics) <= {"micro_f1", "macro_f1", "rouge_l"}
        assert bool(m.yes_no_labels) == (task.output == "yes_no")  # a yes/no answer needs its labels
    assert len(MAPPINGS) >= 12


def test_yes_no_and_spans_convert_to_heldout_answers():
    name = "ZH-Multi_CPR-CLS-query_item_matching"
    task = _task(name, META[name], [INSTANCES[name]])
    m = mapping_for(task)
    assert prediction(m, task, MatchResult(task="query_match", raw="Yes", match=True)).items == (("match", "match"),)
    assert prediction(m, task, MatchResult(task="query_match", raw="No", match=False)).text == "not match"
    fields = m.build_fields(task, INSTANCES[name])
    assert gold(m, task, INSTANCES[name], fields).items == (("match", "match"),)

    name = "EN-Lenovo-NER-NER"
    task = _task(name, META[name], [INSTANCES[name]])
    m = mapping_for(task)
    fields = catalog.normalize_fields(catalog.get_task("ner"), m.build_fields(task, INSTANCES[name]))
    g = gold(m, task, INSTANCES[name], fields)
    assert g.items == (("Brand", "Dell"),)
    pred = prediction(m, task, SpansResult(task="ner", raw="", spans=[Span("Dell", 0, 4, "Brand"),
                                                                      Span("XPS 13", 5, 11, "Product")]))
    assert pred.items == (("Brand", "Dell"), ("Product", "XPS 13"))
    assert prediction(m, task, None).items == ()

    name = "ZH-Multi_CPR-Extract-product_select_2"
    task = _task(name, {}, [INSTANCES[name]])
    m = mapping_for(task)
    fields = catalog.normalize_fields(catalog.get_task("select_product"), m.build_fields(task, INSTANCES[name]))
    assert gold(m, task, INSTANCES[name], fields).items == ((None, "铝合金落地窗"),)
    res = LabelResult(task="select_product", raw="沙发", labels=["沙发"], candidates=fields["candidates"])
    assert prediction(m, task, res).text == "沙发"


def _ex(pred: list, gold_: list, text_p: str = "", text_g: str = "") -> Example:
    return Example("t", 0, "x", Answer(tuple((p, p) for p in pred), text_p or ", ".join(pred)),
                   Answer(tuple((g, g) for g in gold_), text_g or ", ".join(gold_)))


def test_task_scores_and_majority_baseline():
    name = "EN-ABSA-CLS-review_topic_category"
    task = _task(name, {"label_set": {"default": ["Food", "Service", "Price"]}, "label_key": "default"}, [])
    m = mapping_for(task)
    examples = [_ex(["Food"], ["Food"]), _ex(["Food"], ["Service"]), _ex(["Price"], ["Food", "Price"]),
                _ex([], ["Food"])]
    s = score_examples(examples, task, m)
    # TP 2 (Food, Price), FP 1 (Food for Service), FN 3 (Service, Food, Food) -> 4 / 8
    assert s == {"n": 4, "micro_f1": pytest.approx(50.0), "rouge_l": None,
                 # Food: TP1 FP1 FN2 -> 2/5; Service: FN1 -> 0; Price: TP1 -> 1; mean (0.4 + 0 + 1) / 3
                 "macro_f1": pytest.approx(100 * 1.4 / 3)}
    base = majority_baseline(examples, task, m)
    # always "Food": TP 3, FP 1, FN 2 (Service, Price) -> 6 / 9
    assert base["micro_f1"] == pytest.approx(100 * 6 / 9)
    assert majority_baseline(examples, _task("ZH-OpenBG_Align-Generate-title_generate", {}, []),
                             MAPPINGS["ZH-OpenBG_Align-Generate-title_generate"]) is None


def test_rouge_tasks_score_text_in_the_task_language():
    name = "ZH-OpenBG_Align-Generate-title_generate"
    task = _task(name, {}, [])
    s = score_examples([_ex([], [], "红色连衣裙", "红色长款连衣裙")], task, mapping_for(task))
    assert s == {"n": 1, "micro_f1": None, "macro_f1": None, "rouge_l": pytest.approx(100 * 10 / 12)}


def test_pooled_is_the_mean_over_tasks_where_a_metric_applies():
    p = pooled({"a": {"n": 2, "micro_f1": 40.0, "macro_f1": None, "rouge_l": None},
                "b": {"n": 3, "micro_f1": 60.0, "macro_f1": 10.0, "rouge_l": 20.0}})
    assert p == {"n": 5, "micro_f1": 50.0, "macro_f1": 10.0, "rouge_l": 20.0}
