"""SemEval ABSA XML (2014 aspect terms; 2015/2016 opinions with categories), English and Chinese.

Copies of one sentence across years (SemEval-2016 laptop train = 2015 train+test; most 2014 train
sentences reappear) are merged into one record: aspect terms from 2014, categories from 2015/2016.
``*.seg`` files beside the XML (the 2014 test gold in PyABSA format) are read with ``seg``.
English laptop sentences whose categories all give one coarse entity type (hardware parts ->
Component, COMPANY -> Brand, LAPTOP#GENERAL -> Product, as for ACOS; others are left untyped) give
that type to each of their aspect terms, so the cased review text adds typed entity data.
Used for semeval_absa_laptops_en and semeval16_absa_zh_phone_camera.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from ..records import Record, norm, polarity
from . import seg
from .acos_aste import coarse_type
from .common import ReadLog, files

NATIVE = ("aspect_extraction", "aspect_sentiment", "aspect_category")


def _sentence(node: ET.Element, opinion_layer: bool) -> dict:
    """Text, aspect terms (2014 layer, else None) and categories (2015/16 layer, else None)."""
    text = (node.findtext("text") or "").strip()
    if not text:
        raise ValueError("sentence without text")
    terms = node.find("aspectTerms")
    opinions = node.find("Opinions")
    aspects = None if opinion_layer else [
        (t.get("term", "").strip(), polarity(t.get("polarity", "")))
        for t in (terms if terms is not None else []) if t.get("term", "").strip()]
    categories = None if not opinion_layer else [
        (o.get("category", "").strip(), polarity(o.get("polarity", "")))
        for o in (opinions if opinions is not None else []) if o.get("category", "").strip()]
    strip = lambda xs: None if xs is None else [x for x in xs if x[1] != "conflict"]
    return {"text": text, "aspects": strip(aspects), "categories": strip(categories)}


def _merge(into: dict, new: dict) -> None:
    for key in ("aspects", "categories"):
        if new.get(key) is None:
            continue
        into[key] = list(dict.fromkeys((into.get(key) or []) + new[key]))


def typed_entities(aspects: list | None, categories: list | None) -> list[tuple[str, str]] | None:
    """[(type, term)] when every category of the sentence gives one and the same coarse type, so that
    each aspect term has that type whichever category is its own (one term with one category, or
    "the keyboard and the screen" under KEYBOARD#... and DISPLAY#..., both Component) and there are
    no more terms than categories; else None."""
    if not aspects or not categories:
        return None
    types = {coarse_type(c) for c, _ in categories}
    # more terms than categories: some term has no opinion in the 2015/16 layer, so no category
    # vouches for its type ("skip the cord ... the good battery life" under BATTERY#...)
    if len(types) != 1 or None in types or len(aspects) > len(categories):
        return None
    t = types.pop()
    return list(dict.fromkeys((t, term) for term, _ in aspects))


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    merged: dict[str, dict] = {}
    order: list[tuple[str, str]] = []
    for path in files(folder, "**/*.xml", log, dataset):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            log.warn(f"{dataset}: {path.name} is not well-formed XML; skipped")
            log.bad(dataset)
            continue
        # 2015/16 files annotate opinions (a sentence without any has none); 2014 files aspect terms.
        opinion_layer = any(s.find("Opinions") is not None for s in root.iter("sentence"))
        for i, node in enumerate(root.iter("sentence")):
            try:
                sent = _sentence(node, opinion_layer)
            except ValueError:
                log.bad(dataset)
                continue
            key = norm(sent["text"])
            if key in merged:
                _merge(merged[key], sent)
            else:
                merged[key] = sent
                order.append((key, f"{path.name}:{i}"))
    for path in sorted(folder.glob("**/*.seg")):
        for text, aspects in seg.parse_file(path, log, dataset, lang).items():
            key = norm(text)
            sent = {"text": text, "aspects": aspects, "categories": None}
            if key in merged:
                _merge(merged[key], sent)
            else:
                merged[key] = sent
                order.append((key, f"{path.name}:{len(order)}"))
    domain = "laptop" if lang == "en" else "phone_camera"
    for key, rid in order:
        s = merged[key]
        aspects = [a for a in s["aspects"] if a[0] in s["text"]] if s["aspects"] is not None else None
        entities = typed_entities(aspects, s["categories"]) if domain == "laptop" else None
        yield Record(dataset, rid, lang, "absa",
                     {"text": s["text"], "aspects": aspects, "opinions": None,
                      "categories": s["categories"], "entities": entities, "domain": domain},
                     native=NATIVE, group=key)
