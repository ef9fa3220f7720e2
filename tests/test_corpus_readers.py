"""Every reader on its fixture: records come out right, malformed records are counted, not raised."""
from __future__ import annotations

from pathlib import Path

import pytest

from ecomlm.runtime.errors import InvalidInputError
from ecomlm.train.data.readers import DATASETS, ReadLog, read_all
from test_corpus_fixtures import MALFORMED, SHARED_SENTENCE, write_sources


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_sources(tmp_path_factory.mktemp("src") / "datasets")


def _read(source: Path, name: str):
    log = ReadLog()
    return list(read_all(source, log, only=[name])), log


@pytest.mark.parametrize("name", [d.folder for d in DATASETS])
def test_every_reader_yields_records_and_counts_malformed(source, name):
    records, log = _read(source, name)
    assert records, name
    assert all(r.dataset == name and r.lang in ("en", "zh") for r in records)
    assert (log.malformed[name] >= 1) == (name in MALFORMED), (name, log.malformed)


def test_bieos_entities(source):
    records, _ = _read(source, "ecom_ner_zh")
    first = records[0].data
    assert first["text"] == "飞利浦理发器配件刀座"
    assert first["entities"] == [("Brand", "飞利浦"), ("Product", "理发器")]


def test_shopping_csv_labels(source):
    records, _ = _read(source, "online_shopping_10_cats_zh")
    by_text = {r.data["text"]: r.data["labels"] for r in records}
    assert by_text["手机用了三天就坏了，很失望。"]["sentiment"][0] == ["负面"]
    assert by_text["手机用了三天就坏了，很失望。"]["product_category"][0] == ["手机"]
    assert "product_category" not in by_text["酒店服务很周到。"]      # hotels are not products


def test_seg_merges_aspects_of_one_sentence(source):
    records, _ = _read(source, "absa_tv_tshirt_en")
    (rec,) = [r for r in records if "sound" in r.data["text"]]
    assert sorted(rec.data["aspects"]) == [("picture quality", "positive"), ("sound", "negative")]
    zh, _ = _read(source, "absa_products_zh")
    assert any(r.data["text"] == "屏幕很好，续航太短" and ("续航", "negative") in r.data["aspects"] for r in zh)


def test_semeval_xml_merges_years(source):
    records, _ = _read(source, "semeval_absa_laptops_en")
    by_text = {r.data["text"]: r.data for r in records}
    both = by_text["I charge it at night and skip taking the cord with me because of the good battery life."]
    assert ("battery life", "positive") in both["aspects"]
    assert both["categories"] == [("BATTERY#OPERATION_PERFORMANCE", "positive")]
    # One aspect term and one category: the term is typed by the category (a hardware part); two
    # terms under two categories of one coarse type both take it; two terms and one category cannot
    # be aligned (the neutral "cord" has no category), so that sentence stays untyped.
    assert by_text["The Retina display is bright."]["entities"] == [("Component", "Retina display")]
    assert by_text["The screen is dim and the keys stick."]["entities"] == [
        ("Component", "screen"), ("Component", "keys")]
    assert both["entities"] is None
    assert by_text["I bought a HP Pavilion laptop last year."]["aspects"] == []
    assert by_text["I bought a HP Pavilion laptop last year."]["entities"] is None
    assert ("Boot time", "positive") in by_text["Boot time is super fast , around 35 seconds ."]["aspects"]
    zh, _ = _read(source, "semeval16_absa_zh_phone_camera")
    assert {r.data["text"]: r.data["categories"] for r in zh}["今天拿到了手机，"] == []


def test_acos_types_and_aste_opinions(source):
    records, _ = _read(source, "absa_laptop_acos_aste_en")
    by_text = {r.data["text"]: r.data for r in records}
    assert by_text["the display is beautiful and the keyboard is solid ."]["entities"] == [
        ("Component", "display"), ("Component", "keyboard")]
    assert by_text["acer wants $ 170 to just look at it ."]["entities"] == [("Brand", "acer")]
    aste = by_text[SHARED_SENTENCE]
    assert ("keyboard", "great", "positive") in aste["opinions"]
    assert ("battery life", "short", "negative") in aste["opinions"]


def test_huliu_features(source):
    records, _ = _read(source, "customer_reviews_huliu_en")
    by_text = {r.data["text"]: r.data for r in records}
    assert by_text["the camera is very easy to use ."]["aspects"] == [("use", "positive")]
    assert by_text["overall i 'm happy ."]["complete"] is False      # [p] feature is not in the sentence


def test_ave_readers(source):
    records, _ = _read(source, "ave_ae110k_oamine_en")
    assert len(records) == 3                       # train_0.2 subset skipped, bad JSON counted
    lure = records[0].data
    assert ("Brand Name", "SEAPESCA") in lure["attrs"] and lure["absent"] == ["Material"]
    assert ("Brand", "SEAPESCA") in lure["entities"] and ("Product", "YA24a") in lure["entities"]
    wdc, _ = _read(source, "ave_wdc_pave_en")
    assert "25K PAGE YIELD" in wdc[0].data["text"] and ("Page Yield", "25K") in wdc[0].data["attrs"]


def test_ditto_pairs(source):
    records, _ = _read(source, "product_matching_magellan_en")
    assert records[0].data["match"] is True and records[0].data["a_fields"]["brand"] == "sony"
    assert records[0].data["a"].startswith("sony cyber-shot dscw120p camera")


def test_mwpd_cpqa_subjqa_fewsum_uci(source):
    mwpd, _ = _read(source, "product_categorization_mwpd_en")
    assert mwpd[0].data["labels"]["product_category@lvl3"][0] == ["Jewellery"]
    cpqa, _ = _read(source, "product_qa_cpqa_en")
    kinds = {(r.data["relevant"], r.data["answers"]) for r in cpqa}
    assert (True, True) in kinds and (False, False) in kinds and (False, None) in kinds
    subj, _ = _read(source, "subjqa_products_en")
    assert subj[0].data["answer"] == "the bass is deep" and "ANSWERNOTFOUND" not in subj[0].data["context"]
    assert subj[1].data["answer"] is None and subj[0].data["pool"] == [subj[1].data["context"]]
    few, _ = _read(source, "review_summ_fewsum_en")
    assert sum(r.kind == "summary" for r in few) == 3 and sum(r.kind == "label" for r in few) == 8
    uci, _ = _read(source, "review_sentiment_uci_amazon_en")
    assert uci[0].data["labels"]["sentiment"][0] == ["Positive"]


def test_missing_folder_is_a_warning_and_bad_source_an_error(tmp_path):
    (tmp_path / "src").mkdir()
    log = ReadLog()
    assert list(read_all(tmp_path / "src", log, only=["ecom_ner_zh"])) == []
    assert any("ecom_ner_zh" in w for w in log.warnings)
    with pytest.raises(InvalidInputError):
        list(read_all(tmp_path / "nope", ReadLog()))
