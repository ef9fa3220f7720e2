"""The validation-split checks read a corpus record back into the fields and gold answer it was
rendered from (extraction_check: span items; calibration_check: the label), and filter by language."""
from __future__ import annotations

from ecomlm.evaluate import calibration_check, extraction_check
from ecomlm.runtime import catalog


def _record(task_name: str, fields: dict, answer, lang: str) -> dict:
    task = catalog.get_task(task_name)
    messages = catalog.build_messages(task, catalog.normalize_fields(task, fields),
                                      answer=catalog.format_answer(task, answer))
    return {"task": task_name, "lang": lang, "messages": messages}


def test_extraction_check_reads_back_the_gold_items_of_each_language():
    zh_text = "这款连衣裙采用雪纺面料，白色基调清新文艺。"
    records = [
        _record("attribute_extraction", {"text": zh_text, "attributes": ["材质", "颜色", "领型"]},
                [("材质", "雪纺"), ("颜色", "白色")], "zh"),
        _record("attribute_extraction", {"text": "Anker 20000mAh power bank, black",
                                         "attributes": ["Brand", "Color"]},
                [("Brand", "Anker"), ("Color", "black")], "en"),
        _record("ner", {"text": "Anker power bank", "types": ["Brand", "Product"]},
                [("Brand", "Anker"), ("Product", "power bank")], "en"),
    ]
    task = catalog.get_task("attribute_extraction")
    got = list(extraction_check.instances(records, task, None))
    assert [(sorted(items), lang) for _, (items, _), lang in got] == [
        ([("材质", "雪纺"), ("颜色", "白色")], "zh"), ([("Brand", "Anker"), ("Color", "black")], "en")]
    fields, _, _ = got[0]
    assert fields["text"] == zh_text and fields["attributes"] == ["材质", "颜色", "领型"]
    assert [lang for _, _, lang in extraction_check.instances(records, task, "zh")] == ["zh"]


def test_extraction_check_reads_back_an_extractive_answer_as_its_text():
    context = "Battery lasts two days. The fan is loud under load."
    records = [_record("qa", {"context": context, "question": "How is the fan?"}, "loud under load", "en")]
    ((fields, (items, text), lang),) = extraction_check.instances(records, catalog.get_task("qa"), None)
    # one span, scored by Rouge-L of its text (no items for micro-F1)
    assert (items, text, lang) == ([], "loud under load", "en") and fields["context"] == context


def test_calibration_check_reads_back_yes_no_answers_by_language():
    records = [
        _record("attribute_match", {"product": "小米 智能手机 星沙白", "specs": {"品牌": "小米", "颜色": "星沙白"}},
                True, "zh"),
        _record("attribute_match", {"product": "Anker power bank", "specs": {"Brand": "Sony"}}, False, "en"),
    ]
    task = catalog.get_task("attribute_match")
    got = list(calibration_check.instances(records, task))
    assert [(answer, lang) for _, answer, lang in got] == [("Yes", "zh"), ("No", "en")]
    assert [answer for _, answer, _ in calibration_check.instances(records, task, "en")] == ["No"]
