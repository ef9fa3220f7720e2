"""Per-dataset pools that generators draw distractors and negatives from (label spaces, other
offers, other titles). Built once from all records of a dataset, before any instance is made."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from .records import Record, humanize
from .sampling import JOIN_PIECE_WORDS


def topic(category: str) -> str:
    """The entity part of an ABSA category ("BATTERY#QUALITY" -> "battery")."""
    return humanize(category.split("#")[0] + "#") if "#" in category else humanize(category)


@dataclass
class Pools:
    categories: list[str] = field(default_factory=list)        # product categories (attribute records)
    attr_values: dict[str, list[str]] = field(default_factory=dict)
    attr_names: list[str] = field(default_factory=list)
    absa_categories: list[str] = field(default_factory=list)   # humanized ABSA categories
    topics: list[str] = field(default_factory=list)             # their entity parts
    offer_categories: list[str] = field(default_factory=list)  # categories of matching offers
    offers: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # query offer -> [(other, match)]
    offers_by_domain: dict[str, list[str]] = field(default_factory=dict)
    titles: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # NER text, entities
    reviews: list[str] = field(default_factory=list)            # ABSA review texts (QA context padding)
    specs: list[dict[str, str]] = field(default_factory=list)   # spec lists of ad-copy records (AdvertiseGen)
    #: offers with a title and an attribute annotation: (title, entities, attributes); the products
    #: that English search queries are matched against (``atomic.listing_query_tasks``)
    listings: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = field(default_factory=list)
    #: short English texts with a complete entity annotation (joined into long entity inputs)
    annotated: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    #: how many short-answer questions one context is asked (``BuildConfig.questions_per_context``)
    questions_per_context: int = 1

    @classmethod
    def build(cls, records: Sequence[Record], join_entities: bool = False,
              questions_per_context: int = 1) -> "Pools":
        """The pools of one dataset's records; ``annotated`` stays empty unless ``join_entities``
        (then a share of the English entity tasks runs on joined texts: ``atomic.entity_input``)."""
        p = cls(questions_per_context=questions_per_context)
        cats, names, absa, topics, ocats = set(), set(), set(), set(), set()
        values: dict[str, set[str]] = defaultdict(set)
        offers: dict[str, list] = defaultdict(list)
        by_domain: dict[str, set] = defaultdict(set)
        for r in records:
            d: dict[str, Any] = r.data
            complete = r.kind != "attributes" or d.get("complete")
            if join_entities and r.lang == "en" and d.get("entities") and complete \
                    and len(d["text"].split()) <= JOIN_PIECE_WORDS:
                p.annotated.append((d["text"], d["entities"]))
            if r.kind == "attributes":
                if d.get("title") and complete:
                    p.listings.append((d["title"], list(d.get("entities") or []), list(d["attrs"])))
                if d.get("category"):
                    cats.add(d["category"])
                for n, v in d["attrs"]:
                    values[n].add(v)
                    names.add(n)
                names.update(d.get("absent", []))
            elif r.kind == "absa":
                p.reviews.append(d["text"])
                for c, _ in d.get("categories") or []:
                    absa.add(humanize(c))
                    topics.add(topic(c))
            elif r.kind == "pair":
                offers[d["a"]].append((d["b"], d["match"]))
                by_domain[d.get("domain", "")].add(d["b"])
                for f in (d["a_fields"], d["b_fields"]):
                    if f.get("category"):
                        ocats.add(f["category"])
            elif r.kind == "specs":  # ad copy written from key#value specs (AdvertiseGen)
                names.update(d["values"])
                p.specs.append(d["specs"])
            elif r.kind == "ner":
                p.titles.append((d["text"], d["entities"]))
        p.categories, p.attr_names = sorted(cats), sorted(names)
        p.attr_values = {k: sorted(v) for k, v in values.items()}
        p.absa_categories, p.topics, p.offer_categories = sorted(absa), sorted(topics), sorted(ocats)
        p.offers = dict(offers)
        p.offers_by_domain = {k: sorted(v) for k, v in by_domain.items()}
        return p
