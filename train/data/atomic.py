"""Atomic (chain-of-task) generators: simpler tasks derived from the same gold annotations.

EcomGPT's ablation shows these lift zero-shot results on unseen datasets most of all. From
- entity spans: span detection, extraction of one type, entity typing, which types occur, NER (a
  quarter of the English ones on several annotated texts joined into one long input, as an option:
  ``entity_input``);
- attribute annotations: attribute value, attribute name, attribute extraction, attributes -> title,
  title/attribute consistency, product category;
- ABSA annotations: aspect terms, aspect polarity, aspect-polarity pairs, aspect category, review
  topic (single and multi-label), sentence sentiment, aspect/opinion extraction;
- ad copy written from a spec list: attribute extraction/value/name, and whether a spec list (its own,
  or another product's) describes the copy's product;
- matching pairs: same product, which of two, select the matching product; and, from a matching pair,
  the same product against another variant (one shared model number or size changed: ``variant_offer``);
- product titles with entities: query/title matching, product selection; for Chinese titles also
  brand + product -> title and title/attribute consistency;
- attribute annotations and opinion triples: short-answer extractive QA (the value of an attribute, the
  opinion about an aspect), with a question built from the attribute or aspect;
- QA: answerability.
Each generator takes (record, pools, rng) and yields ``Draft``s. Whether an instance counts as
atomic is decided by the builder: a task that is one of the dataset's own (``Record.native``) is not.
"""
from __future__ import annotations

import hashlib
import random
import re
from typing import Callable, Iterable, Iterator, Sequence

from . import title_panel
from .pools import Pools, topic
from .records import Draft, Record, humanize
from .sampling import (COARSE_TYPES, LONG_CONTEXT_SHARE, LONG_ENTITY_SHARE, P_NONE, in_text_order,
                       joined_entities, label_set, long_context, polarity_labels, type_set, uniq)

Entities = Sequence[tuple[str, str]]


# --- entities ---------------------------------------------------------------------------------------
def _typed(entities: Entities) -> dict[str, str] | None:
    """surface -> type, or None when one surface carries two types (ambiguous for typing)."""
    out: dict[str, str] = {}
    for t, s in entities:
        if out.get(s, t) != t:
            return None
        out[s] = t
    return out


def from_entities(text: str, entities: Entities, rng: random.Random,
                  universe: Sequence[str] = COARSE_TYPES) -> Iterator[Draft]:
    """NER and its atomic tasks from a text and its complete (type, surface) annotation."""
    typed = _typed(entities)
    if typed is None or not text:
        return
    present = uniq(t for t, _ in entities)
    types = type_set(present, rng, universe)
    # answers list entities in reading order (as aspect terms are), not in the annotation's order
    ents = in_text_order([(t, s) for t, s in dict.fromkeys(entities) if t in types], text, lambda e: e[1])
    yield Draft("ner", {"text": text, "types": types}, ents)
    yield Draft("span_detection", {"text": text, "types": types}, uniq(s for _, s in ents))
    if present:
        asked = rng.choice(present) if rng.random() > P_NONE else rng.choice(
            [t for t in universe if t not in present] or present)
        yield Draft("extract_type", {"text": text, "type": asked},
                    uniq(in_text_order((s for t, s in entities if t == asked), text, str)))
        surface = rng.choice(sorted(typed))
        yield Draft("entity_typing", {"text": text, "span": surface,
                                      "types": label_set([typed[surface]], universe, rng, 2, len(universe))},
                    typed[surface])
    options = label_set(present, universe, rng, 2, len(universe))
    yield Draft("entity_type_presence", {"text": text, "types": options},
                [t for t in options if t in present])


def entity_input(r: Record, text: str, entities: Entities, pools: Pools,
                 rng: random.Random) -> tuple[str, Entities]:
    """The text and entities to ask an English record's entity tasks on: ``LONG_ENTITY_SHARE`` of the
    time, the text joined with other annotated texts of the dataset (``joined_entities``), when the
    pools hold such texts (``BuildConfig.long_entities``); otherwise the text itself, with no random
    draw, so that the default corpus is the one built before this option existed."""
    if r.lang == "en" and pools.annotated and rng.random() < LONG_ENTITY_SHARE:
        joined = joined_entities(text, entities, pools.annotated, rng)
        if joined is not None:
            return joined
    return text, entities


def ner_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    for draft in from_entities(d["text"], d["entities"], rng):
        if draft.task != "ner":
            yield draft
    yield from query_tasks(r, pools, rng)
    yield from title_tasks(r, pools, rng)


#: the attribute names a Chinese title's entity types are given under (title writing, title/attribute
#: consistency): the names Chinese shop catalogs use
TITLE_SPEC_NAMES = {"Brand": "品牌", "Product": "产品"}
#: shortest title (characters) that title writing is trained on: shorter texts are queries, not titles
MIN_TITLE_CHARS = 12
#: how often a Chinese title's No answer pairs it with another product's whole attribute block (a block
#: filed under the wrong item, none of its values in the title) instead of its own block with one
#: value swapped
P_OTHER_PRODUCT = 0.5


def _title_specs(entities: Entities) -> dict[str, str]:
    """A title's brand and product entities as its attribute block (several values joined by ", ")."""
    specs: dict[str, str] = {}
    for t, s in entities:
        name = TITLE_SPEC_NAMES.get(t)
        if name and len(s) > 1 and s not in specs.get(name, "").split(", "):
            specs[name] = f"{specs[name]}, {s}" if name in specs else s
    return specs


def _other_product_specs(title: str, pools: Pools, rng: random.Random) -> dict[str, str] | None:
    """The attribute block of another pooled title whose product is named, none of whose values
    occurs in ``title``: another product altogether. None if the sample holds none."""
    for other, ents in rng.sample(pools.titles, min(len(pools.titles), 20)):
        specs = _title_specs(ents)
        if other != title and "产品" in specs and \
                not any(v in title for vs in specs.values() for v in vs.split(", ")):
            return specs
    return None


def title_tasks(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    """From a Chinese product title with brand and product entities: write the title from them
    (attributes -> title; half the titles from a store panel around them: ``title_panel``), and
    decide whether the title and its attributes match (No: another product's whole block, or the
    title's own with one value swapped for another title's). Drawn after the record's other
    drafts, so those stay the same."""
    if r.lang != "zh" or len(r.data["text"]) < MIN_TITLE_CHARS:
        return
    title = r.data["text"]
    specs = _title_specs(r.data["entities"])
    if "产品" not in specs:
        return
    yield Draft("title_generation", {"specs": title_panel.panel(title, specs)
                                     if title_panel.wants_panel(title) else specs}, title)
    if rng.random() < 0.5:
        yield Draft("attribute_match", {"product": title, "specs": specs}, True)
        return
    if rng.random() < P_OTHER_PRODUCT:
        other = _other_product_specs(title, pools, rng)
        if other:
            yield Draft("attribute_match", {"product": title, "specs": other}, False)
        return
    name = rng.choice(sorted(specs))
    entity_type = next(t for t, n in TITLE_SPEC_NAMES.items() if n == name)
    alt = [s for other, ents in rng.sample(pools.titles, min(len(pools.titles), 20)) if other != title
           for t, s in ents if t == entity_type and len(s) > 1 and s not in title and s not in specs[name]]
    if alt:
        yield Draft("attribute_match", {"product": title, "specs": {**specs, name: rng.choice(alt)}}, False)


def query_tasks(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    """From product titles with entities: does a title match a query built from another's entities?"""
    products = [s for t, s in r.data["entities"] if t == "Product" and len(s) > 1]
    if not products or len(pools.titles) < 5:
        return
    product = rng.choice(products)
    brands = [s for t, s in r.data["entities"] if t == "Brand"]
    query = f"{rng.choice(brands)} {product}" if brands and rng.random() < 0.5 else product
    if len(query) > 200:
        return
    others = [t for t, _ in rng.sample(pools.titles, 5) if product not in t and t != r.data["text"]]
    if not others:
        return
    if rng.random() < 0.5:
        yield Draft("query_match", {"query": query, "product": r.data["text"]}, True)
    else:
        yield Draft("query_match", {"query": query, "product": others[0]}, False)
    candidates = uniq([r.data["text"]] + others[:rng.randint(1, 3)])
    rng.shuffle(candidates)
    yield Draft("select_product", {"query": query, "candidates": candidates}, r.data["text"])


#: how often an English search query also names the brand, and (independently) one attribute value
P_QUERY_BRAND = 0.5
P_QUERY_VALUE = 0.5
#: an attribute value a shopper would type: a few words, a letter, no long number (UPCs, part numbers)
QUERY_VALUE = re.compile(r"^(?=.*[A-Za-z])(?!.*\d{5})[^\n]{1,24}$")
#: offers drawn as candidates for a query's No answer
QUERY_CANDIDATES = 40


def _query_product(title: str, entities: Entities, category: str | None) -> str | None:
    """What a shopper would search an offer by: a product entity without digits (a product type, not
    a model number) that occurs in the title, the longest if several ("stamp dispenser" before
    "dispenser"), or else the category if the title names it. None if neither."""
    products = sorted({s for t, s in entities if t == "Product" and 3 <= len(s) <= 40 and
                       not re.search(r"\d", s) and s.lower() in title.lower()}, key=lambda s: (-len(s), s))
    if products:
        return products[0]
    if category and len(category) >= 3 and category.lower() in title.lower():
        return category
    return None


def _other_variant(title: str, entities: Entities, attrs: Sequence[tuple[str, str]],
                   named: Sequence[tuple[str, str]]) -> bool:
    """Whether an offer is another variant than the query names: for one (attribute or "Brand", value)
    of ``named``, its title does not state the value and it has another value of that attribute."""
    own = list(attrs) + [("Brand", b) for t, b in entities if t == "Brand"]
    return any(v.lower() not in title.lower() and any(n2 == n and v2.lower() != v.lower() for n2, v2 in own)
               for n, v in named)


def listing_query_tasks(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    """English query/product matching from an offer with an attribute annotation: a search query made
    of its product type, and half the time its brand and one short attribute value ("lee black stamp
    dispenser"), lower-cased as people type them. Yes: the offer's own title. No: another offer, half
    the time (where the pool has one) of the same product type with a different brand or value for
    what the query names (the wrong variant, as a shop's search must refuse), else one of another
    product type. Drawn after the record's other drafts, so those stay the same."""
    d = r.data
    title = d.get("title")
    if r.lang != "en" or not title or not d.get("complete") or len(pools.listings) < 5:
        return
    product = _query_product(title, d.get("entities") or [], d.get("category"))
    if product is None:
        return
    named: list[tuple[str, str]] = []   # (attribute or "Brand", value) the query names besides the product
    brands = [s for t, s in d.get("entities") or [] if t == "Brand" and s.lower() in title.lower()]
    if brands and rng.random() < P_QUERY_BRAND:
        named.append(("Brand", rng.choice(brands)))
    values = [(n, v) for n, v in d["attrs"] if QUERY_VALUE.match(v) and v.lower() in title.lower() and
              v.lower() not in product.lower() and product.lower() not in v.lower() and
              all(v != b for _, b in named)]
    if values and rng.random() < P_QUERY_VALUE:
        named.append(rng.choice(values))
    query = " ".join([v for _, v in named] + [product]).lower()
    if rng.random() < 0.5:
        yield Draft("query_match", {"query": query, "product": title}, True)
        return
    others = [x for x in rng.sample(pools.listings, min(QUERY_CANDIDATES, len(pools.listings))) if x[0] != title]
    same_type = [o for o, ents, attrs in others
                 if product.lower() in o.lower() and _other_variant(o, ents, attrs, named)]
    other_type = [o for o, _, _ in others if product.lower() not in o.lower()]
    pick = same_type if same_type and rng.random() < 0.5 else other_type
    if pick:
        yield Draft("query_match", {"query": query, "product": pick[0]}, False)


# --- attributes ---------------------------------------------------------------------------------------
#: how often an offer with a description gives its entity tasks on one description sentence
P_SENTENCE = 0.5
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def _description_sentence(d: dict, rng: random.Random) -> tuple[str, Entities] | None:
    """One sentence of the offer's description (after its title) holding an annotated value, with
    the entities whose values it holds: marketing prose where the brand is not the first word and
    parts are named mid-sentence, beside the title-shaped texts. None without such a sentence."""
    description = d["text"][len(d.get("title") or ""):].strip()
    if not description:
        return None
    found = []
    for sentence in SENTENCE_SPLIT.split(description):
        sentence = sentence.strip()
        ents = [(t, v) for t, v in d["entities"] if v in sentence]
        if 20 <= len(sentence) <= 400 and ents:
            found.append((sentence, ents))
    return rng.choice(found) if found else None


def attributes_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    text, attrs, missing = d["text"], d["attrs"], set(d.get("missing", []))
    names = uniq(n for n, _ in attrs if n not in missing)
    absent = [n for n in d.get("absent", []) if n not in names]
    if d.get("complete") and (names or absent):
        asked = names[:]
        if len(asked) > 6:
            asked = rng.sample(asked, 6)
        if absent:
            asked += rng.sample(absent, min(len(absent), rng.randint(0, 2)))
        if asked:
            rng.shuffle(asked)
            gold = in_text_order([(n, v) for n, v in attrs if n in asked], text, lambda nv: nv[1])
            yield Draft("attribute_extraction", {"text": text, "attributes": asked}, gold)
    if names:
        name = rng.choice(names)
        if absent and rng.random() < P_NONE:
            name = rng.choice(absent)
        yield Draft("attribute_value", {"text": text, "attribute": name},
                    uniq(v for n, v in attrs if n == name))
        yield from attribute_question(text, attrs, r.lang, rng, pools.questions_per_context)
        owners: dict[str, set[str]] = {}
        for n, v in attrs:
            owners.setdefault(v.lower(), set()).add(n)
        single = [(n, v) for n, v in attrs if len(owners[v.lower()]) == 1]
        if single:
            n, v = rng.choice(single)
            others = [x for x in uniq(names + absent + pools.attr_names) if x.lower() not in
                      {o.lower() for o in owners}]
            yield Draft("attribute_name", {"text": text, "value": v,
                                           "attributes": label_set([n], others, rng, 2, 6)}, n)
    specs = {}
    for n, v in attrs:
        specs[n] = f"{specs[n]}, {v}" if n in specs else v
    if len(specs) >= 2 and d.get("title"):
        yield Draft("title_generation", {"specs": specs}, d["title"])
        if rng.random() < 0.5:
            yield Draft("attribute_match", {"product": d["title"], "specs": specs}, True)
        else:
            n = rng.choice(sorted(specs))
            alt = [v for v in pools.attr_values.get(n, [])
                   if v.lower() not in d["title"].lower() and v.lower() not in specs[n].lower()]
            if alt:
                bad = dict(specs)
                bad[n] = rng.choice(alt)
                yield Draft("attribute_match", {"product": d["title"], "specs": bad}, False)
    if d.get("complete") and d.get("entities"):
        sentence = _description_sentence(d, rng) if rng.random() < P_SENTENCE else None
        yield from from_entities(*entity_input(r, *(sentence or (text, d["entities"])), pools, rng), rng)
    if d.get("category") and len(pools.categories) > 1:
        yield Draft("product_category", {"text": d.get("title") or text,
                                         "labels": label_set([d["category"]], pools.categories, rng, 3, 8)},
                    d["category"])
    yield from listing_query_tasks(r, pools, rng)


#: how often a specs record is asked as one piece of its copy under a whole attribute schema
P_SCHEMA = 0.5
#: of those, how often the piece is one clause (between commas) instead of one sentence: a short
#: phrase such as a product title's, asked under the schema as a catalog asks every title
P_CLAUSE = 0.5
SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")
CLAUSE_MARK = re.compile(r"[，。！？；、,!?;]")  # a clause is asked without its punctuation
#: a piece (clause or sentence) shorter than this many characters holds too little to read a value from
MIN_CLAUSE_CHARS = 4


def _copy_pieces(copy: str, p_clause: float, rng: random.Random) -> list[str]:
    """The copy cut into clauses (with probability ``p_clause``, one draw of ``rng``) or else
    sentences, stripped, those shorter than ``MIN_CLAUSE_CHARS`` left out."""
    split = CLAUSE_MARK if rng.random() < p_clause else SENTENCE_END
    return [x.strip() for x in split.split(copy) if len(x.strip()) >= MIN_CLAUSE_CHARS]


def _schema_piece(copy: str, found: dict[str, list[str]], specs: Iterable[str], pools: Pools,
                  rng: random.Random) -> tuple[str, list[str], list[tuple[str, str]]] | None:
    """One sentence, or one clause (``P_CLAUSE``), of the copy that holds a found value, asked with a
    category-wide schema: its attributes plus from 6 to all of the attribute names of the dataset
    that the record does not have (as a merchant asks a whole attribute schema of every sentence of a
    description, or of every title). (text, asked, gold) or None."""
    holding = [x for x in _copy_pieces(copy, P_CLAUSE, rng) if any(v in x for vs in found.values() for v in vs)]
    if not holding:
        return None
    text = rng.choice(holding)
    gold = in_text_order([(k, v) for k, vs in found.items() for v in vs if v in text], text, lambda kv: kv[1])
    present = uniq(k for k, _ in gold)
    own = set(specs)  # none of the record's own attributes is asked as an absent one
    others = [n for n in pools.attr_names if n not in own]
    asked = present + rng.sample(others, rng.randint(min(len(others), 6), len(others)))
    rng.shuffle(asked)
    return text, asked, gold


def specs_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    """Ad copy written from attributes: the attributes whose values all appear in it are spans of it.
    Half of the extraction instances ask one sentence or clause of the copy under a whole attribute
    schema."""
    copy, values = r.data["copy"], r.data["values"]
    found = {k: vs for k, vs in values.items() if all(v in copy for v in vs)}
    if not found:
        return
    keys = sorted(found)
    schema = _schema_piece(copy, found, values, pools, rng) if rng.random() < P_SCHEMA else None
    if schema is None:  # the whole copy, 1-5 of its attributes
        asked = rng.sample(keys, min(len(keys), rng.randint(1, 5)))
        schema = copy, asked, in_text_order([(k, v) for k in asked for v in found[k]], copy, lambda kv: kv[1])
    text, asked, gold = schema
    yield Draft("attribute_extraction", {"text": text, "attributes": asked}, gold)
    k = rng.choice(keys)
    yield Draft("attribute_value", {"text": copy, "attribute": k}, found[k])
    owners = [(k, v) for k in keys for v in found[k] if sum(v in found[o] for o in keys) == 1]
    if owners and len(values) >= 2:
        k, v = rng.choice(owners)
        yield Draft("attribute_name", {"text": copy, "value": v,
                                       "attributes": label_set([k], [x for x in values if x != k], rng, 2, 6)}, k)
    yield from copy_specs_match(r, pools, rng)


#: the AdvertiseGen key that names the garment (裙, 上衣, 裤): spec lists of another garment are the
#: No answers of the copy/spec-list matching
GARMENT_KEY = "类型"
#: of the copy/spec-list matches asked on one piece of the copy, how often the piece is a clause
P_MATCH_CLAUSE = 0.5


def copy_specs_match(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    """Do these specs describe the product of this ad copy? Yes with the copy's own spec list; No with
    the spec list of another garment (another ``GARMENT_KEY`` value). Half ask the whole copy, half one
    piece of it that names the garment: a sentence or (``P_MATCH_CLAUSE``) a clause, a title-like
    phrase that states little more than the garment. So on both sides many listed values are not
    written in the text (as a catalog's attribute block holds far more than its title says): how many
    values occur in the text does not give the answer away, a listed value the text contradicts does."""
    copy, own = r.data["copy"], r.data["specs"]
    garment = set(r.data["values"].get(GARMENT_KEY, []))
    if len(own) < 2 or not garment:
        return
    text = copy
    if rng.random() < 0.5:
        naming = [x for x in _copy_pieces(copy, P_MATCH_CLAUSE, rng) if any(g in x for g in garment)]
        text = rng.choice(naming) if naming else copy
    if rng.random() < 0.5:
        yield Draft("attribute_match", {"product": text, "specs": own}, True)
        return
    for other in rng.sample(pools.specs, min(len(pools.specs), 10)):
        if len(other) >= 2 and other.get(GARMENT_KEY) and not garment & set(other[GARMENT_KEY].split("、")):
            yield Draft("attribute_match", {"product": text, "specs": other}, False)
            return


# --- short-answer questions ----------------------------------------------------------------------------
ATTRIBUTE_QUESTIONS = ("What is the {name}?", "What is the {name} of the product?",
                       "Which {name} does the item have?", "What {name} is it?",
                       "What does the listing give as the {name}?")
OPINION_QUESTIONS = ("What does the reviewer say about the {aspect}?", "How is the {aspect} described?",
                     "What does the author think of the {aspect}?")


def _single_valued(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (key, value) pairs whose key has exactly one value, in first-seen order."""
    values: dict[str, list[str]] = {}
    for k, v in pairs:
        values.setdefault(k, []).append(v)
    return [(k, vs[0]) for k, vs in values.items() if len(vs) == 1]


def attribute_question(text: str, attrs: Sequence[tuple[str, str]], lang: str,
                       rng: random.Random, questions: int = 1) -> Iterator[Draft]:
    """Extractive QA whose answer is a short span: the one value of an attribute, asked as a question;
    with ``questions`` > 1, up to that many attributes of the one text, each its own instance (the
    same context, other questions, other answers: ``BuildConfig.questions_per_context``).

    English only (the questions are English); attributes with several values are not asked.
    """
    if lang != "en":
        return
    single = [(n, v) for n, v in _single_valued(attrs) if text.count(v) == 1]
    if not single:
        return
    n, v = rng.choice(single)
    yield Draft("qa", {"question": rng.choice(ATTRIBUTE_QUESTIONS).format(name=humanize(n).lower()),
                       "context": text}, v)
    if questions > 1:
        extra = _extra_rng(rng, text)
        others = [(n2, v2) for n2, v2 in single if n2 != n]
        for n2, v2 in extra.sample(others, min(questions - 1, len(others))):
            question = extra.choice(ATTRIBUTE_QUESTIONS).format(name=humanize(n2).lower())
            yield Draft("qa", {"question": question, "context": text}, v2)


def _extra_rng(rng: random.Random, text: str) -> random.Random:
    """The random source of a record's further questions, drawn from ``rng``'s state without
    advancing it: the record's other drafts stay what they are with one question a context."""
    return random.Random(hashlib.md5((repr(rng.getstate()) + text).encode("utf-8")).hexdigest())


def _occurs_once(word: str, context: str) -> bool:
    return len(re.findall(r"\b" + re.escape(word.lower()) + r"\b", context.lower())) == 1


#: reviews drawn as candidates for padding one opinion question's context
PAD_CANDIDATES = 80


def opinion_question(text: str, opinions: Sequence[tuple[str, str, str]], rng: random.Random,
                     reviews: Sequence[str] = (), questions: int = 1) -> Iterator[Draft]:
    """Extractive QA whose answer is the one opinion phrase written about an aspect; with
    ``questions`` > 1, up to that many aspects of the one review, each its own instance over the
    same context (a further aspect only where its aspect and opinion occur once in that context).

    Often (``LONG_CONTEXT_SHARE``) the review stands among other reviews of the dataset that name
    neither the aspect nor the opinion, so the answer stays the only one in the context: a short
    answer found in a long context, as in forum-thread QA (the other long-context QA source,
    SubjQA, has answers of six words on average)."""
    single = [(a, o) for a, o in _single_valued((a, o) for a, o, _ in opinions) if a != o]
    if not single:
        return
    a, o = rng.choice(single)
    context = text
    if reviews and rng.random() < LONG_CONTEXT_SHARE:
        words = re.compile(r"\b(" + re.escape(a.lower()) + "|" + re.escape(o.lower()) + r")\b")
        pool = [t for t in rng.sample(reviews, min(PAD_CANDIDATES, len(reviews)))
                if t != text and not words.search(t.lower())]
        context = long_context(text, pool, rng) if pool else text
    yield Draft("qa", {"question": rng.choice(OPINION_QUESTIONS).format(aspect=a), "context": context}, o)
    if questions > 1:
        extra = _extra_rng(rng, text)
        others = [(a2, o2) for a2, o2 in single if a2 != a and (context == text or (
            _occurs_once(a2, context) and _occurs_once(o2, context)))]
        for a2, o2 in extra.sample(others, min(questions - 1, len(others))):
            yield Draft("qa", {"question": extra.choice(OPINION_QUESTIONS).format(aspect=a2),
                               "context": context}, o2)


# --- reviews and aspects -------------------------------------------------------------------------------
def _cap(p: str) -> str:
    return p[:1].upper() + p[1:]


def absa_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    text, aspects, cats = d["text"], d.get("aspects"), d.get("categories")
    complete = d.get("complete", True)
    if aspects is not None and complete:
        ordered = in_text_order(aspects, text, lambda ap: ap[0])
        yield Draft("aspect_extraction", {"text": text}, uniq(a for a, _ in ordered))
        labels = list(("Positive", "Negative", "Neutral"))
        rng.shuffle(labels)
        yield Draft("aspect_polarity_pairs", {"text": text, "labels": labels},
                    [(_cap(p), a) for a, p in ordered])
    if aspects:
        a, p = rng.choice(aspects)
        yield Draft("aspect_sentiment", {"text": text, "aspect": a, "labels": polarity_labels(rng, _cap(p))},
                    _cap(p))
    if cats is not None and pools.absa_categories:
        gold = uniq(humanize(c) for c, _ in cats)
        keep = rng.random() > P_NONE
        labels = label_set(gold, pools.absa_categories, rng, 3, 8, keep_gold=keep)
        yield Draft("aspect_category", {"text": text, "labels": labels}, [x for x in labels if x in gold])
        if cats:
            c, p = rng.choice(cats)
            yield Draft("aspect_sentiment", {"text": text, "aspect": humanize(c),
                                             "labels": polarity_labels(rng, _cap(p))}, _cap(p))
        topics = uniq(topic(c) for c, _ in cats)
        if len(topics) == 1 and len(pools.topics) > 2:
            yield Draft("review_topic", {"text": text, "labels": label_set(topics, pools.topics, rng, 3, 6)},
                        topics[0])
        if topics and len(pools.topics) > 3:
            labels = label_set(topics, pools.topics, rng, 3, 7)
            yield Draft("multi_classify", {"text": text, "labels": labels}, [x for x in labels if x in topics])
    polar = {p for _, p in (aspects or [])} | {p for _, p in (cats or [])}
    if len(polar) == 1:
        p = _cap(polar.pop())
        yield Draft("sentiment", {"text": text, "labels": polarity_labels(rng, p)}, p)
    if d.get("opinions") is not None:
        types = ["Aspect", "Opinion"]
        rng.shuffle(types)
        gold = []
        for a, o, _ in d["opinions"]:
            gold += [("Aspect", a), ("Opinion", o)]
        yield Draft("opinion_extraction", {"text": text, "types": types},
                    in_text_order(dict.fromkeys(gold), text, lambda e: e[1]))
        if r.lang == "en":
            yield from opinion_question(text, d["opinions"], rng, pools.reviews,
                                        pools.questions_per_context)
    if d.get("entities") is not None and aspects is not None:
        yield from from_entities(*entity_input(r, text, d["entities"], pools, rng), rng,
                                 ("Brand", "Product", "Component"))


# --- matching ------------------------------------------------------------------------------------------
#: how often a matching pair (two offers of one product) also gives a minimal pair: the two offers
#: (Yes) and the first with the second made another variant (``variant_offer``; No)
P_VARIANT = 0.5
#: a spec token: letters, digits and joiners with at least one digit, at most 12 characters (no UPCs)
SPEC_TOKEN = re.compile(r"(?<![\w.\-/])(?=[\w.\-/]*\d)[A-Za-z0-9][\w.\-/]{0,11}(?![\w\-/])")
#: a number too plain to name a variant: one digit, or a short decimal ("4.0" of "PCIe 4.0")
PLAIN_NUMBER = re.compile(r"\d([.,]\d+)?|\d{1,3}[.,]\d+")
#: where an offer's price starts (Magellan's "...; price: 33.89"): no spec token is read from there on
PRICE = re.compile(r"[;,]?\s*price\s*:", re.I)
#: a storage or memory size ("256GB", "2TB", "512 MB" is two tokens and not one): a variant doubles or
#: halves it where it is a power of two
SIZE = re.compile(r"(\d+)([KMGT]B?)", re.I)
DOUBLINGS = {2 ** k for k in range(1, 12)}


def _short(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0]


def _spec_tokens(text: str) -> dict[str, str]:
    """An offer's spec tokens before its price, by lower-cased form (the first spelling kept)."""
    head = PRICE.split(text, maxsplit=1)[0]
    found: dict[str, str] = {}
    for m in SPEC_TOKEN.finditer(head):
        tok = m.group(0).rstrip(".-/")
        if re.search(r"\d", tok) and not PLAIN_NUMBER.fullmatch(tok):
            found.setdefault(tok.lower(), tok)
    return found


def _other_number(digits: str, size: bool, rng: random.Random) -> str:
    """Another value of one number in a spec: a size that is a power of two doubled or halved ("2TB" ->
    "4TB"), else its last digit changed ("XM5" -> "XM4", "990" -> "993")."""
    n = int(digits)
    if size and n in DOUBLINGS:
        return str(n * 2 if n == 2 or rng.random() < 0.5 else n // 2)
    last = rng.choice([d for d in "0123456789" if d != digits[-1]])
    return digits[:-1] + last


def variant_offer(a: str, b: str, rng: random.Random) -> str | None:
    """Offer ``b`` made into another variant of the product ``a`` names: one spec token both offers
    state (a model number, a capacity: "990", "2TB", "XM5") gets another number in ``b``, everywhere
    it occurs there. None if they share no such token."""
    tokens_b = _spec_tokens(b)
    shared = sorted(set(_spec_tokens(a)) & set(tokens_b))
    if not shared:
        return None
    token = tokens_b[rng.choice(shared)]
    runs = list(re.finditer(r"\d+", token))
    run = rng.choice(runs)
    size = SIZE.fullmatch(token) is not None
    changed = token[:run.start()] + _other_number(run.group(0), size, rng) + token[run.end():]
    head_end = len(PRICE.split(b, maxsplit=1)[0])
    pattern = re.compile(r"(?<![\w.\-/])" + re.escape(token) + r"(?![\w\-/])", re.I)
    return pattern.sub(changed, b[:head_end]) + b[head_end:]


def pair_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    a, b = d["a"], d["b"]
    yield Draft("same_product", {"product_a": a, "product_b": b} if rng.random() < 0.5
                else {"product_a": b, "product_b": a}, d["match"])
    if d["match"]:
        negatives = [o for o, m in pools.offers.get(a, []) if not m and o != b]
        if not negatives:
            negatives = [o for o in rng.sample(pools.offers_by_domain.get(d.get("domain", ""), [b]), 1) if o != b]
        if negatives:
            neg = rng.choice(negatives)
            gold = "A" if rng.random() < 0.5 else "B"
            pa, pb = (b, neg) if gold == "A" else (neg, b)
            yield Draft("which_of_two", {"query": a, "product_a": pa, "product_b": pb}, gold)
            cands = uniq([_short(b)] + [_short(x) for x in rng.sample(negatives, min(len(negatives), 3))])
            if len(cands) > 1:
                rng.shuffle(cands)
                yield Draft("select_product", {"query": a, "candidates": cands}, _short(b))
    fields = d["a_fields"]
    title = fields.get("title") or fields.get("name") or ""
    brand = fields.get("brand") or fields.get("manufacturer") or ""
    if title and brand and brand in title:
        ents = [("Brand", brand)]
        if fields.get("modelno") and fields["modelno"] in title:
            ents.append(("Product", fields["modelno"]))
        for draft in from_entities(title, ents, rng, ("Brand", "Product")):
            if draft.task in ("ner", "extract_type"):
                yield draft
    if fields.get("category") and len(pools.offer_categories) > 2 and title:
        yield Draft("product_category", {"text": title, "labels": label_set(
            [fields["category"]], pools.offer_categories, rng, 3, 8)}, fields["category"])
    if d["match"] and rng.random() < P_VARIANT:
        variant = variant_offer(a, b, rng)
        if variant is not None and variant != b:
            # a minimal pair in a bucket of its own: the match and the variant, one Yes and one No
            for other, gold in ((b, True), (variant, False)):
                yield Draft("same_product", {"product_a": a, "product_b": other} if rng.random() < 0.5
                            else {"product_a": other, "product_b": a}, gold, bucket="variant")


# --- question answering -------------------------------------------------------------------------------
def qa_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    yield Draft("answerability", {"question": d["question"], "context": d["context"]}, d["answer"] is not None)


def relevance_atomic(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    d = r.data
    if d.get("answers") is not None:
        yield Draft("answerability", {"question": d["question"], "context": d["context"]}, d["answers"])


GENERATORS: dict[str, Callable[[Record, Pools, random.Random], Iterator[Draft]]] = {
    "ner": ner_atomic,
    "attributes": attributes_atomic,
    "specs": specs_atomic,
    "absa": absa_atomic,
    "pair": pair_atomic,
    "qa": qa_atomic,
    "relevance": relevance_atomic,
}


def generate(r: Record, pools: Pools, rng: random.Random) -> Iterator[Draft]:
    gen = GENERATORS.get(r.kind)
    if gen is not None:
        yield from gen(r, pools, rng)
