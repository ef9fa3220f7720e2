"""Attribute-value JSONL (ExtractGPT / WDC-PAVE processed format).

``input`` (a title) or ``input_title`` + ``input_description``; ``category``; ``target_scores``
``{attribute: {value: 1 | {"pid": ..., "score": ...}}}`` where the value ``n/a`` means absent.
``train_0.2`` files (a subset of ``train``) and the ``*_normalized`` copies (values rewritten, so no
longer spans of the text) are skipped. Attribute names also give coarse entity types
(brand -> Brand, product type / model -> Product, processor / ports -> Component, else Attribute;
the product type of a computer part is a Component).
Used for ave_ae110k_oamine_en and ave_wdc_pave_en.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Iterator

from ..records import Record, norm
from .common import ReadLog, files, jsonl, safe

NATIVE = ("attribute_extraction",)
MAX_DESCRIPTION = 1500   # characters of the offer description kept after the title
BRAND = {"brand", "brand name", "manufacturer", "sub brand"}
PRODUCT = {"product type", "item", "type", "model", "model name", "model number", "name", "shoe type",
           "lure type", "eyewear type", "machine type", "stove type", "mask type", "supplement type",
           "cereal type", "tea variety", "part number", "manufacturer stock number"}
COMPONENT = {"processor type", "processor core", "ports", "cooling", "pickup", "interface", "cache"}
#: categories whose products are parts of a larger machine: their product type is a component
#: ("Hard Drive", "Processor Option Kit", "Power Supply" in WDC-PAVE's computers and accessories)
PART_CATEGORIES = {"computers and accessories"}


def coarse_type(attribute: str, category: str = "") -> str:
    a = attribute.strip().lower()
    if a == "product type" and category.strip().lower() in PART_CATEGORIES:
        return "Component"
    return "Brand" if a in BRAND else "Product" if a in PRODUCT else "Component" if a in COMPONENT \
        else "Attribute"


def parse(obj: dict) -> dict:
    title = html.unescape(str(obj.get("input") or obj.get("input_title") or "")).strip()
    if not title:
        raise ValueError("no input text")
    desc = " ".join(html.unescape(str(obj.get("input_description") or "")).split())[:MAX_DESCRIPTION]
    text = f"{title}\n{desc}" if desc else title
    attrs, absent, missing = [], [], []
    for name, values in obj["target_scores"].items():
        name = name.strip()
        present = [html.unescape(str(v)).strip() for v in values if str(v).strip().lower() != "n/a"]
        if not present:
            absent.append(name)
        for v in present:
            if v and v in text:
                attrs.append((name, v))
            else:
                missing.append(name)
    category = str(obj.get("category") or "").strip()
    return {"text": text, "title": title, "category": category,
            "attrs": list(dict.fromkeys(attrs)), "absent": absent, "missing": missing, "complete": not missing,
            "entities": [(coarse_type(n, category), v) for n, v in dict.fromkeys(attrs)]}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "**/*.jsonl", log, dataset):
        if "_0." in path.name or path.parent.name.endswith("_normalized"):
            continue
        for i, obj in jsonl(path, log, dataset):
            data = safe(log, dataset, lambda: parse(obj))
            if data:
                yield Record(dataset, f"{path.parent.name}/{path.name}:{i}", lang, "attributes", data,
                             native=NATIVE, group=norm(data["title"]))
