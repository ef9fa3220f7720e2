"""Laptop ACOS quadruples (JSONL) and ASTE triplets (``sentence####[([a], [o], 'POS')]``).

ACOS categories also give coarse entity types for the aspect terms (LAPTOP#GENERAL -> Product,
COMPANY -> Brand, hardware parts -> Component): typed English product-entity data.
Used for absa_laptop_acos_aste_en.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Optional

from ..records import Record, norm, polarity
from .common import ReadLog, files, jsonl, safe

NATIVE = ("opinion_extraction", "aspect_polarity_pairs")
COMPONENTS = {"DISPLAY", "KEYBOARD", "MOUSE", "MOTHERBOARD", "CPU", "FANS_COOLING", "PORTS", "MEMORY",
              "POWER_SUPPLY", "OPTICAL_DRIVES", "BATTERY", "GRAPHICS", "HARD_DISK", "MULTIMEDIA_DEVICES",
              "HARDWARE"}


def coarse_type(category: str) -> Optional[str]:
    entity, _, attribute = category.upper().partition("#")
    if entity in COMPONENTS:
        return "Component"
    if entity == "COMPANY":
        return "Brand"
    if entity == "LAPTOP" and attribute == "GENERAL":
        return "Product"
    return None


def _acos(obj: dict) -> dict:
    text = obj["text"].strip()
    if not text:
        raise ValueError("empty text")
    aspects, opinions, categories, entities = [], [], [], []
    for q in obj["labels"]:
        asp, op, pol, cat = q["aspect"].strip(), q["opinion"].strip(), polarity(q["polarity"]), q["category"]
        categories.append((cat, pol))
        if asp != "NULL":
            if asp not in text:
                raise ValueError(f"aspect {asp!r} not in text")
            aspects.append((asp, pol))
            t = coarse_type(cat)
            if t:
                entities.append((t, asp))
        if asp != "NULL" and op != "NULL" and op in text:
            opinions.append((asp, op, pol))
    uniq = lambda xs: list(dict.fromkeys(xs))
    return {"text": text, "aspects": uniq(aspects), "opinions": uniq(opinions),
            "categories": uniq(categories), "entities": uniq(entities), "domain": "laptop"}


def _aste(line: str) -> dict:
    sentence, _, triples = line.partition("####")
    tokens = sentence.split()
    if not tokens or not triples:
        raise ValueError("bad ASTE line")
    aspects, opinions = [], []
    for a_idx, o_idx, pol in ast.literal_eval(triples.strip()):
        asp = " ".join(tokens[i] for i in a_idx)
        op = " ".join(tokens[i] for i in o_idx)
        p = polarity(pol)
        aspects.append((asp, p))
        opinions.append((asp, op, p))
    text = " ".join(tokens)
    return {"text": text, "aspects": list(dict.fromkeys(aspects)), "opinions": list(dict.fromkeys(opinions)),
            "categories": None, "entities": None, "domain": "laptop"}


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    for path in files(folder, "**/*.jsonl", log, dataset):
        for i, obj in jsonl(path, log, dataset):
            data = safe(log, dataset, lambda: _acos(obj))
            if data:
                yield Record(dataset, f"{path.name}:{i}", lang, "absa", data, native=NATIVE,
                             group=norm(data["text"]))
    for path in files(folder, "**/*.txt", log, dataset):
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if not line.strip():
                continue
            data = safe(log, dataset, lambda: _aste(line))
            if data:
                yield Record(dataset, f"{path.name}:{i}", lang, "absa", data, native=NATIVE,
                             group=norm(data["text"]))
