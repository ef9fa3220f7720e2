"""Atomic generators: right answers, shuffled label sets, absent labels, catalog-valid fields."""
from __future__ import annotations

import random

from ecomlm.runtime import catalog
from ecomlm.runtime.results import AnswerResult, LabelResult, MatchResult, SpansResult, TextResult
from ecomlm.train.data import atomic, downstream, sampling, title_panel
from ecomlm.train.data.pools import Pools
from ecomlm.train.data.records import Record

TEXT = "Lenovo ThinkPad X1 with Intel Core i7 and 16GB memory"
ENTS = [("Brand", "Lenovo"), ("Product", "ThinkPad X1"), ("Component", "Intel Core i7"), ("Attribute", "16GB")]


def _read_back(parsed, gold):
    """What the runtime reads from a formatted answer, in the shape of the draft's gold."""
    if isinstance(parsed, SpansResult):
        assert parsed.dropped == 0, parsed
        if all(isinstance(g, str) for g in gold):
            return sorted(s.text for s in parsed.spans), sorted(gold)
        return sorted((s.type, s.text) for s in parsed.spans), sorted(tuple(g) for g in gold)
    if isinstance(parsed, LabelResult):
        return parsed.labels, [gold] if isinstance(gold, str) else list(gold)
    if isinstance(parsed, MatchResult):
        return parsed.match, gold
    if isinstance(parsed, AnswerResult):
        assert parsed.dropped == 0, parsed
        return (None if parsed.span is None else parsed.span.text), gold
    assert isinstance(parsed, TextResult), parsed
    return parsed.text, gold


def _valid(draft):
    """The draft's fields are catalog-valid, and the runtime reads back exactly the answer we train on."""
    task = catalog.get_task(draft.task)
    fields = catalog.normalize_fields(task, draft.fields)
    answer = catalog.format_answer(task, draft.gold)
    parsed = catalog.parse_answer(task, answer, fields)
    got, want = _read_back(parsed, draft.gold)
    assert got == want, (draft.task, answer, got, want)
    return task, fields, parsed


def test_entity_generators():
    drafts = {d.task: d for d in atomic.from_entities(TEXT, ENTS, random.Random(0))}
    assert set(drafts) == {"ner", "span_detection", "extract_type", "entity_typing", "entity_type_presence"}
    for d in drafts.values():
        _valid(d)
    ner = drafts["ner"]
    assert set(ner.fields["types"]) >= {"Brand", "Product", "Component", "Attribute"}
    assert ner.gold == ENTS
    assert drafts["span_detection"].gold == [s for _, s in ENTS]
    t = drafts["entity_typing"]
    assert t.gold == dict((s, ty) for ty, s in ENTS)[t.fields["span"]]
    presence = drafts["entity_type_presence"]
    assert presence.gold == [x for x in presence.fields["types"] if x in {"Brand", "Product", "Component", "Attribute"}]


def test_span_answers_list_spans_in_reading_order():
    """An annotation that lists entities out of text order still gives answers in reading order."""
    shuffled = [ENTS[3], ENTS[0], ENTS[2], ENTS[1], ("Attribute", "not in the text")]
    for seed in range(20):
        for d in atomic.from_entities(TEXT, shuffled, random.Random(seed)):
            if d.task in ("ner", "span_detection", "extract_type") and d.gold:
                spans = [g[1] if isinstance(g, tuple) else g for g in d.gold]
                found = [s for s in spans if s in TEXT]
                assert spans[:len(found)] == found, (d.task, spans)  # spans not in the text come last
                assert [TEXT.index(s) for s in found] == sorted(TEXT.index(s) for s in found), (d.task, spans)
    ner = next(d for d in atomic.from_entities(TEXT, shuffled, random.Random(0)) if d.task == "ner")
    assert ner.gold[:4] == ENTS
    rec = Record("absa", "2", "en", "absa", {"text": "solid keyboard , but the screen is dim .",
                                             "opinions": [("screen", "dim", "negative"),
                                                          ("keyboard", "solid", "positive")]})
    opinions = next(d for d in atomic.generate(rec, Pools(), random.Random(0)) if d.task == "opinion_extraction")
    assert opinions.gold == [("Opinion", "solid"), ("Aspect", "keyboard"), ("Aspect", "screen"), ("Opinion", "dim")]


def test_absent_types_and_none_answers_occur():
    ents = [("Brand", "Lenovo")]
    seen_absent_type, seen_none = False, False
    for seed in range(60):
        for d in atomic.from_entities("Lenovo laptop", ents, random.Random(seed)):
            if d.task == "ner" and len(d.fields["types"]) > 1:
                seen_absent_type = True
            if d.task == "extract_type" and d.gold == []:
                seen_none = True
                assert catalog.format_answer(catalog.get_task("extract_type"), d.gold) == "None"
    assert seen_absent_type and seen_none


def test_label_sets_are_shuffled():
    orders = set()
    rec = Record("x", "1", "en", "label", {"text": "great phone", "labels": {
        "sentiment": (["Positive"], ["Positive", "Negative", "Neutral"], False)}})
    for seed in range(30):
        (d,) = downstream.generate(rec, Pools(), random.Random(seed))
        assert d.gold in d.fields["labels"]
        orders.add(tuple(d.fields["labels"]))
    assert len(orders) > 3


def test_attribute_generators():
    rec = Record("ave", "1", "en", "attributes", {
        "text": "Diesel Men's Exposure High-Top Sneaker", "title": "Diesel Men's Exposure High-Top Sneaker",
        "category": "Shoes", "attrs": [("Brand", "Diesel"), ("Gender", "Men's"), ("Shoe type", "High-Top Sneaker")],
        "absent": ["Color"], "missing": [], "complete": True,
        "entities": [("Brand", "Diesel"), ("Attribute", "Men's"), ("Product", "High-Top Sneaker")]})
    pools = Pools(categories=["Shoes", "Lure"], attr_values={"Brand": ["Diesel", "Nike"]}, attr_names=["Brand", "Size"])
    tasks = {}
    for seed in range(20):
        for d in atomic.generate(rec, pools, random.Random(seed)):
            _valid(d)
            tasks.setdefault(d.task, []).append(d)
    assert {"attribute_extraction", "attribute_value", "attribute_name", "title_generation", "attribute_match",
            "ner", "product_category"} <= set(tasks)
    for d in tasks["attribute_extraction"]:
        assert all(n in d.fields["attributes"] for n, _ in d.gold)
    assert {d.gold for d in tasks["attribute_match"]} == {True, False}
    for d in tasks["attribute_match"]:
        if not d.gold:
            assert d.fields["specs"]["Brand"] == "Nike"
    assert all(d.gold == "Diesel Men's Exposure High-Top Sneaker" for d in tasks["title_generation"])
    # Short-answer QA: one attribute's value, asked as a question about it, answered by copying it.
    qa = {(d.fields["question"], d.gold) for d in tasks["qa"]}
    assert {gold for _, gold in qa} == {"Diesel", "Men's", "High-Top Sneaker"}
    for question, gold in qa:
        name = {"Diesel": "brand", "Men's": "gender", "High-Top Sneaker": "shoe type"}[gold]
        assert name in question and question.endswith("?")


def _offer(title, brand, product, attrs):
    return (title, [("Brand", brand), ("Product", product)], [("Brand", brand)] + attrs)


def test_english_queries_match_their_offer_and_refuse_the_wrong_variant_or_product():
    own = _offer("Diesel Men's Black High-Top Sneaker", "Diesel", "High-Top Sneaker",
                 [("Gender", "Men's"), ("Color", "Black"), ("Retail UPC", "084417401001")])
    pool = [own,
            _offer("Nike Men's Black High-Top Sneaker", "Nike", "High-Top Sneaker", [("Color", "Black")]),
            _offer("Diesel Women's Red High-Top Sneaker", "Diesel", "High-Top Sneaker",
                   [("Gender", "Women's"), ("Color", "Red")]),
            _offer("Lodge Cast Iron Skillet, 10 inch", "Lodge", "Skillet", [("Material", "Cast Iron")]),
            _offer("Anker USB-C Charger, 65W", "Anker", "Charger", [("Power", "65W")]),
            _offer("Sony WH-1000XM5 Headphones", "Sony", "Headphones", [("Color", "Black")])]
    rec = Record("ave", "1", "en", "attributes", {
        "text": own[0], "title": own[0], "category": "Shoes", "attrs": own[2], "absent": [], "missing": [],
        "complete": True, "entities": own[1]})
    drafts = [d for seed in range(200) for d in atomic.listing_query_tasks(rec, Pools(listings=pool),
                                                                            random.Random(seed))]
    for d in drafts:
        _valid(d)
        query = d.fields["query"]
        assert query == query.lower() and query.endswith("high-top sneaker")  # the product type, typed
        assert "084417401001" not in query  # numbers such as UPCs are not searched for
        if d.gold:
            assert d.fields["product"] == own[0]
        elif "sneaker" in d.fields["product"].lower():  # the same product type: the query names what differs
            assert any(w in query for w in ("diesel", "black", "men's")) and d.fields["product"] != own[0]
            assert not all(w in d.fields["product"].lower() for w in query.split())
    assert {d.gold for d in drafts} == {True, False}
    products = {d.fields["product"] for d in drafts if not d.gold}
    assert pool[1][0] in products or pool[2][0] in products  # a wrong variant of the same product type
    assert products - {pool[1][0], pool[2][0]}  # and another product altogether
    queries = {d.fields["query"] for d in drafts}
    assert "high-top sneaker" in queries and any(q.startswith("diesel ") for q in queries)
    # Chinese offers (their titles have their own query tasks) and offers without a title give none
    assert not list(atomic.listing_query_tasks(Record("ave", "2", "zh", "attributes", {**rec.data}),
                                               Pools(listings=pool), random.Random(0)))


def test_offer_entities_also_come_from_one_description_sentence():
    title = "HP 500GB SATA Hard Drive"
    desc = ("Upgrade your server today. The HP hard drive spins at 7200 rpm for fast access. "
            "With 500GB of room, it holds every file.")
    ents = [("Brand", "HP"), ("Component", "Hard Drive"), ("Attribute", "500GB"), ("Attribute", "7200 rpm")]
    rec = Record("ave", "1", "en", "attributes", {
        "text": f"{title}\n{desc}", "title": title, "category": "Computers And Accessories",
        "attrs": [("Manufacturer", "HP"), ("Product Type", "Hard Drive"), ("Capacity", "500GB"),
                  ("Rotational Speed", "7200 rpm")], "absent": [], "missing": [], "complete": True,
        "entities": ents})
    texts = set()
    for seed in range(30):
        for d in atomic.attributes_atomic(rec, Pools(), random.Random(seed)):
            if d.task == "ner":
                _valid(d)
                texts.add(d.fields["text"])
                # every gold entity is in the text it is asked on, with the record's type
                assert all(v in d.fields["text"] and (t, v) in ents for t, v in d.gold)
                if d.fields["text"] == "The HP hard drive spins at 7200 rpm for fast access.":
                    assert set(d.gold) <= {("Brand", "HP"), ("Attribute", "7200 rpm")}
    # the whole offer and its sentences that hold a value ("Upgrade your server today." holds none)
    assert texts == {f"{title}\n{desc}", "The HP hard drive spins at 7200 rpm for fast access.",
                     "With 500GB of room, it holds every file."}


def test_the_product_type_of_a_computer_part_is_a_component():
    from ecomlm.train.data.readers.ave_jsonl import coarse_type

    assert coarse_type("Product Type", "Computers And Accessories") == "Component"
    assert coarse_type("Product Type", "Jewelry") == coarse_type("Product Type") == "Product"
    assert coarse_type("Manufacturer", "Computers And Accessories") == "Brand"


def test_specs_ask_single_sentences_or_clauses_under_a_whole_schema():
    copy = "这款连衣裙采用雪纺面料，轻盈透气。经典的v领设计，显得脖颈修长！白色基调清新文艺。"
    values = {"材质": ["雪纺"], "领型": ["v领"], "颜色": ["白色"], "风格": ["清新", "复古"]}
    record = Record("ad", "1", "zh", "specs", {"copy": copy, "values": values, "specs": {}})
    schema_names = ["图案", "袖长", "裙长", "版型", "裤型", "腰型", "工艺", "厚度", "弹性", "鞋跟高度", "风格",
                    "材质", "领型", "颜色"]
    pools = Pools(attr_names=sorted(schema_names))
    sentences = {"这款连衣裙采用雪纺面料，轻盈透气。", "经典的v领设计，显得脖颈修长！", "白色基调清新文艺。"}
    clauses = {"这款连衣裙采用雪纺面料", "经典的v领设计", "白色基调清新文艺"}  # those holding a value
    seen_copy, seen_pieces, sizes = 0, set(), set()
    for seed in range(80):
        (draft,) = [d for d in atomic.specs_atomic(record, pools, random.Random(seed))
                    if d.task == "attribute_extraction"]
        _valid(draft)
        asked, gold = draft.fields["attributes"], draft.gold
        if draft.fields["text"] == copy:
            seen_copy += 1
            continue
        seen_pieces.add(draft.fields["text"])
        assert draft.fields["text"] in sentences | clauses
        assert gold and all(v in draft.fields["text"] for _, v in gold)
        # the piece's own attributes and 6 up to all of the names the record lacks; never 风格, which
        # the record has (清新 is in the copy) but not wholly in the copy (复古 is not), so no answer is sure
        absent = set(asked) - {k for k, _ in gold}
        assert {k for k, _ in gold} <= set(asked) and len(absent) >= 6
        assert "风格" not in asked and not absent & set(values)
        sizes.add(len(absent))
    assert seen_copy > 5 and seen_pieces & sentences and seen_pieces & clauses
    assert max(sizes) == len(schema_names) - len(values)  # sometimes the whole schema


def test_ad_copy_is_matched_against_its_own_spec_list_or_another_garments():
    copy = "这款连衣裙采用雪纺面料，轻盈透气。经典的v领设计，白色基调清新文艺。"
    own = {"类型": "裙", "材质": "雪纺", "领型": "v领", "颜色": "白色"}
    values = {k: v.split("、") for k, v in own.items()}
    record = Record("ad", "1", "zh", "specs", {"copy": copy, "values": values, "specs": own})
    trousers = {"类型": "裤", "材质": "牛仔布", "裤长": "九分裤", "颜色": "白色"}
    other_dress = {"类型": "裙", "材质": "棉", "领型": "圆领", "颜色": "黑色"}  # same garment: never a No
    pools = Pools(specs=[own, other_dress, trousers])
    seen = set()
    for seed in range(120):
        (draft,) = [d for d in atomic.specs_atomic(record, pools, random.Random(seed)) if d.task == "attribute_match"]
        _valid(draft)
        # the whole copy, or its one sentence or clause that names the garment
        text = draft.fields["product"]
        pieces = {"这款连衣裙采用雪纺面料，轻盈透气。": "sentence", "这款连衣裙采用雪纺面料": "clause"}
        assert text == copy or text in pieces
        # Yes only with the copy's own list; No only with another garment's
        assert draft.fields["specs"] == (own if draft.gold else trousers)
        seen.add((draft.gold, pieces.get(text, "copy")))
    assert seen == {(gold, piece) for gold in (True, False) for piece in ("copy", "sentence", "clause")}
    # drawn after the record's other drafts, so those stay as they were
    with_match = list(atomic.specs_atomic(record, pools, random.Random(3)))
    assert with_match[-1].task == "attribute_match"
    assert with_match[:-1] == [d for d in atomic.specs_atomic(record, Pools(), random.Random(3))
                               if d.task != "attribute_match"]


def test_attribute_questions_skip_ambiguous_values_and_chinese():
    rng = random.Random(0)
    # "red" occurs twice in the text and Size has two values: no question has one right answer.
    text = "red shirt with red trim, size S or M"
    attrs = [("Color", "red"), ("Size", "S"), ("Size", "M")]
    assert list(atomic.attribute_question(text, attrs, "en", rng)) == []
    assert list(atomic.attribute_question("华为手机", [("品牌", "华为")], "zh", rng)) == []


def test_several_questions_of_one_context_ask_other_attributes_with_their_own_answers():
    text = "Anker PowerCore 20000mAh power bank, black, USB-C"
    attrs = [("Brand", "Anker"), ("Capacity", "20000mAh"), ("Color", "black"), ("Port", "USB-C")]
    one = list(atomic.attribute_question(text, attrs, "en", random.Random(1)))
    assert len(one) == 1
    for seed in range(5):
        drafts = list(atomic.attribute_question(text, attrs, "en", random.Random(seed), questions=3))
        assert len(drafts) == 3 and {d.fields["context"] for d in drafts} == {text}
        assert len({d.gold for d in drafts}) == 3           # three attributes, three answers
        for d in drafts:
            name = next(n for n, v in attrs if v == d.gold)
            assert name.lower() in d.fields["question"]       # each question names its own attribute
            _valid(d)
    # never more questions than attributes with one value in the text
    assert len(list(atomic.attribute_question(text, attrs[:2], "en", random.Random(0), questions=3))) == 2


def test_several_opinion_questions_share_one_context_that_answers_each_once():
    text = "the screen is bright but the fan is loud ."
    ops = [("screen", "bright", "positive"), ("fan", "loud", "negative")]
    reviews = ([f"review {i}: the keyboard feels solid and the price was fair ." for i in range(300)]
               + ["the screen cracked .", "it runs loud .", text])
    both = padded_both = 0
    for seed in range(40):
        drafts = list(atomic.opinion_question(text, ops, random.Random(seed), reviews, questions=2))
        first = list(atomic.opinion_question(text, ops, random.Random(seed), reviews))
        assert drafts[:1] == first                       # the first question is the one-question draft
        assert len({d.fields["context"] for d in drafts}) == 1
        context = drafts[0].fields["context"]
        for d in drafts:
            aspect = "screen" if d.gold == "bright" else "fan"
            assert aspect in d.fields["question"] and context.count(aspect) == 1 and context.count(d.gold) == 1
        both += len(drafts) == 2
        padded_both += len(drafts) == 2 and context != text
    # the second aspect is asked unless a padding review names it again
    assert both >= 25 and padded_both >= 3


def test_opinion_questions_ask_about_aspects_with_one_opinion():
    text = "the screen is bright and sharp but the fan is loud ."
    ops = [("screen", "bright", "positive"), ("screen", "sharp", "positive"), ("fan", "loud", "negative")]
    drafts = [d for seed in range(10) for d in atomic.opinion_question(text, ops, random.Random(seed))]
    assert drafts and all(d.gold == "loud" and "fan" in d.fields["question"] for d in drafts)
    for d in drafts:
        _valid(d)


def test_opinion_questions_are_often_asked_among_other_reviews_that_do_not_answer_them():
    """Short answers in long contexts: the review stands among other reviews of the dataset, and
    none of those names the aspect or the opinion, so the gold stays the only answer."""
    text = "the fan is loud ."
    ops = [("fan", "loud", "negative")]
    reviews = ([f"review {i}: the keyboard feels solid and the price was fair ." for i in range(60)]
               + ["the fan never stops .", "it runs loud under load .", text])
    contexts = [d.fields["context"] for seed in range(40)
                for d in atomic.opinion_question(text, ops, random.Random(seed), reviews)]
    padded = [c for c in contexts if c != text]
    assert len(padded) >= 8 and len(padded) < len(contexts)  # often, not always
    for c in padded:
        assert c.count("loud") == 1 and c.count("fan") == 1 and text in c
        assert "never stops" not in c and "under load" not in c
    assert max(len(c.split()) for c in padded) >= 250


def test_absa_generators():
    rec = Record("absa", "1", "en", "absa", {
        "text": "the display is beautiful and the keyboard is solid .",
        "aspects": [("display", "positive"), ("keyboard", "positive")],
        "opinions": [("display", "beautiful", "positive"), ("keyboard", "solid", "positive")],
        "categories": [("DISPLAY#DESIGN_FEATURES", "positive")], "entities": [("Component", "display")], "domain": "x"})
    pools = Pools(absa_categories=["display design features", "battery quality", "keyboard quality", "os general"],
                  topics=["display", "battery", "keyboard", "os"])
    drafts = {d.task: d for d in atomic.generate(rec, pools, random.Random(1))}
    for d in drafts.values():
        _valid(d)
    assert drafts["aspect_extraction"].gold == ["display", "keyboard"]
    assert drafts["aspect_polarity_pairs"].gold == [("Positive", "display"), ("Positive", "keyboard")]
    assert drafts["opinion_extraction"].gold[:2] == [("Aspect", "display"), ("Opinion", "beautiful")]
    assert drafts["review_topic"].gold == "display"
    assert drafts["sentiment"].gold == "Positive"
    assert {"aspect_sentiment", "aspect_category", "multi_classify", "ner"} <= set(drafts)
    assert drafts["qa"].gold in ("beautiful", "solid")


def test_pair_generators():
    rec = Record("m", "1", "en", "pair", {"a": "sony w120", "b": "sony dsc-w120", "match": True, "domain": "",
                                          "a_fields": {"title": "sony w120"}, "b_fields": {}})
    pools = Pools(offers={"sony w120": [("sony dsc-w120", True), ("canon a590", False)]},
                  offers_by_domain={"": ["sony dsc-w120", "canon a590"]})
    drafts = {d.task: d for d in atomic.generate(rec, pools, random.Random(0))}
    assert drafts["same_product"].gold is True
    w = drafts["which_of_two"]
    assert w.fields["product_" + w.gold.lower()] == "sony dsc-w120"
    assert drafts["select_product"].gold == "sony dsc-w120" and "canon a590" in drafts["select_product"].fields["candidates"]
    for d in drafts.values():
        _valid(d)


def test_a_variant_offer_changes_one_spec_both_offers_state_and_nothing_else():
    a = "Samsung 990 PRO SSD 2TB PCIe 4.0 NVMe"
    b = "SAMSUNG 990 PRO 2TB internal solid state drive, 990 series; price: 199.99"
    seen = set()
    for seed in range(20):
        v = atomic.variant_offer(a, b, random.Random(seed))
        assert v is not None and v != b and v.endswith("; price: 199.99")
        changed = [(x, y) for x, y in zip(b.split(), v.split()) if x != y]
        assert changed and all(x.strip(",;").lower() in ("990", "2tb") for x, _ in changed), v
        assert len({x for x, _ in changed}) == 1          # one token, everywhere it occurs in b
        seen.update(y for _, y in changed)
    assert {"4TB", "1TB"} & seen                               # a size is doubled or halved
    assert atomic.variant_offer("sony w120", "canon a590", random.Random(0)) is None
    # a long dotted token is read up to a dot; a piece without a digit is no spec token
    offer = "Acme abcdefghij.klmnop1 laptop"
    assert atomic.variant_offer(offer, offer, random.Random(0)) is None
    assert atomic.variant_offer("math advantage; price: 33.89", "math advantage; price: 33.89", random.Random(0)) is None


def test_matching_pairs_give_minimal_pairs_in_their_own_balance_bucket(monkeypatch):
    monkeypatch.setattr(atomic, "P_VARIANT", 1.0)
    a, b = "Sony WH-1000XM5 headphones black", "sony wh-1000xm5 wireless noise cancelling, black"
    rec = Record("m", "1", "en", "pair", {"a": a, "b": b, "match": True, "domain": "",
                                          "a_fields": {"title": a}, "b_fields": {}})
    drafts = [d for d in atomic.generate(rec, Pools(), random.Random(0)) if d.task == "same_product"]
    plain, *pair = drafts
    assert plain.bucket == "" and plain.gold is True
    assert [d.bucket for d in pair] == ["variant", "variant"] and [d.gold for d in pair] == [True, False]
    assert set(pair[0].fields.values()) == {a, b}
    (variant,) = set(pair[1].fields.values()) - {a}
    assert [x for x, y in zip(b.split(), variant.split()) if x != y] == ["wh-1000xm5"]   # the shared model
    for d in drafts:
        _valid(d)


def test_answerability_from_qa():
    rec = Record("q", "1", "en", "qa", {"question": "How is it?", "context": "It is fine.", "answer": None,
                                        "subjective": False, "pool": []})
    (d,) = atomic.generate(rec, Pools(), random.Random(0))
    assert d.task == "answerability" and d.gold is False


def test_long_qa_contexts_keep_the_answer():
    """Padded contexts keep the answer's review; some run to ~2k tokens, some stop at a length that
    fits the CPU recipes' 768-token rows."""
    pool = [" ".join(["word"] * 50)] * 40
    lengths = []
    for seed in range(20):
        ctx = sampling.long_context("the bass is deep", pool, random.Random(seed))
        assert "the bass is deep" in ctx
        lengths.append(len(ctx.split()))
    assert any(n > 1400 for n in lengths)
    medium = [n for n in lengths if n < 1400]
    assert medium and all(200 <= n <= 450 for n in medium), lengths


def _annotated_pool() -> list[tuple[str, list[tuple[str, str]]]]:
    return [(f"Maker{i:02d} notebook with {100 + i}GB memory and a quiet fan",
             [("Brand", f"Maker{i:02d}"), ("Attribute", f"{100 + i}GB")]) for i in range(40)]


def test_joined_entity_inputs_keep_every_piece_and_its_entities():
    """Long entity inputs: the record's text joined with other annotated texts of its dataset, within
    the drawn length, answered with the union of the pieces' entities (each piece fully annotated)."""
    pool = _annotated_pool()
    for seed in range(10):
        joined = sampling.joined_entities(TEXT, ENTS, pool, random.Random(seed))
        assert joined is not None
        text, ents = joined
        lo, hi = sampling.LONG_ENTITY_WORDS
        assert TEXT in text and lo <= len(text.split()) <= hi
        pieces = [p for p, _ in pool if p in text]
        assert len(pieces) >= 5
        assert ents[:len(ENTS)] == ENTS
        assert sorted(ents[len(ENTS):]) == sorted(e for p, pe in pool if p in text for e in pe)
    long_text = " ".join(["word"] * (sampling.JOIN_PIECE_WORDS + 1))
    assert sampling.joined_entities(long_text, ENTS, pool, random.Random(0)) is None
    assert sampling.joined_entities(TEXT, ENTS, pool[:2], random.Random(0)) is None


def test_english_entity_tasks_are_sometimes_asked_on_joined_texts():
    """With a pool of annotated texts, about LONG_ENTITY_SHARE of an English record's entity tasks run
    on a long joined input whose NER answer holds the record's own entities; Chinese records never."""
    pool = _annotated_pool()
    pools = Pools(annotated=pool)
    joined = 0
    for seed in range(200):
        rec = Record("ave", str(seed), "en", "attributes",
                     {"text": TEXT, "title": TEXT, "attrs": [], "entities": ENTS, "complete": True})
        (ner,) = [d for d in atomic.attributes_atomic(rec, pools, random.Random(seed)) if d.task == "ner"]
        _valid(ner)
        if ner.fields["text"] != TEXT:
            joined += 1
            assert TEXT in ner.fields["text"]
            assert {e for e in ENTS if e[0] in ner.fields["types"]} <= set(ner.gold)
    assert 0.15 * 200 <= joined <= 0.35 * 200, joined
    zh = Record("ave", "zh", "zh", "attributes",
                {"text": TEXT, "title": TEXT, "attrs": [], "entities": ENTS, "complete": True})
    for seed in range(50):
        assert all(d.fields.get("text", TEXT) == TEXT for d in atomic.attributes_atomic(zh, pools, random.Random(seed)))


def test_joined_entity_inputs_are_an_option_that_is_off_by_default():
    """Without ``join_entities`` the pools hold no texts to join, so no entity task is asked on a joined
    input (and no random draw is spent on it); with it, the short English annotated texts are pooled."""
    records = [Record("ave", str(i), "en", "attributes",
                      {"text": text, "title": text, "attrs": [], "entities": ents, "complete": True})
               for i, (text, ents) in enumerate(_annotated_pool())]
    assert Pools.build(records).annotated == []
    assert len(Pools.build(records, join_entities=True).annotated) == len(records)
    pools = Pools.build(records)
    for seed in range(30):
        drafts = list(atomic.attributes_atomic(records[0], pools, random.Random(seed)))
        assert all(d.fields.get("text", records[0].data["text"]) == records[0].data["text"] for d in drafts)


ZH_TITLES = [("冬季保暖男加厚加绒紧身青少年打底裤", [("Product", "打底裤")]),
             ("贝能儿童桌子宝宝餐椅多功能可折叠便携式婴儿椅子", [("Brand", "贝能"), ("Product", "桌子"),
                                                  ("Product", "餐椅"), ("Product", "椅子")]),
             ("触屏皮手套户外骑行全指女防水加绒保暖", [("Product", "手套")]),
             ("格力变频冷暖空调挂机", [("Brand", "格力"), ("Product", "空调")]),
             ("美度男表瑞士机械手表", [("Brand", "美度"), ("Product", "男表")])]


def _title_drafts(text, ents, seed, lang="zh"):
    rec = Record("ecom_ner_zh", "1", lang, "ner", {"text": text, "entities": ents})
    return [d for d in atomic.generate(rec, Pools(titles=ZH_TITLES), random.Random(seed))
            if d.task in ("title_generation", "attribute_match")]


def test_chinese_titles_give_title_writing_and_title_attribute_matching():
    text, ents = ZH_TITLES[1]
    matches, kinds = [], set()
    for seed in range(24):
        drafts = {d.task: d for d in _title_drafts(text, ents, seed)}
        gen = drafts["title_generation"]
        block = {"品牌": "贝能", "产品": "桌子, 餐椅, 椅子"}
        # this title is one of those written from a store panel (test_title_panel.py)
        assert gen.gold == text and gen.fields["specs"] == title_panel.panel(text, block)
        m = drafts.get("attribute_match")
        if m is not None:
            _valid(m)
            matches.append(m.gold)
            specs = m.fields["specs"]
            if m.gold:
                assert specs == block
            elif specs.keys() == block.keys() and \
                    len(changed := [k for k, v in specs.items() if v != block[k]]) == 1:
                # one value swapped for another title's entity of that type, absent from this title
                assert specs[changed[0]] not in text
                kinds.add("swapped")
            else:  # another pooled title's whole block: another product, none of its values in this title
                assert any(atomic._title_specs(e) == specs for t, e in ZH_TITLES if t != text)
                assert "产品" in specs and not any(v in text for vs in specs.values() for v in vs.split(", "))
                kinds.add("other product")
        _valid(gen)
    assert True in matches and kinds == {"swapped", "other product"}
    # short texts (queries), English records and titles without a product give none
    assert _title_drafts("打底裤", [("Product", "打底裤")], 0) == []
    assert _title_drafts("Lenovo ThinkPad X1 Carbon laptop", [("Product", "ThinkPad X1")], 0, lang="en") == []
    assert _title_drafts("格力品牌旗舰店官方正品保障", [("Brand", "格力")], 0) == []


def test_chinese_title_tasks_leave_the_records_other_drafts_as_they_were():
    text, ents = ZH_TITLES[1]
    rec = Record("ecom_ner_zh", "1", "zh", "ner", {"text": text, "entities": ents})
    pools = Pools(titles=ZH_TITLES)
    drafts = list(atomic.generate(rec, pools, random.Random(5)))
    # what the generator drew before the title tasks existed (entity tasks, then query tasks) comes
    # first, drawn alike; the title tasks follow
    rng = random.Random(5)
    before = [d for d in atomic.from_entities(text, ents, rng) if d.task != "ner"]
    before += list(atomic.query_tasks(rec, pools, rng))
    assert drafts[:len(before)] == before
    assert {d.task for d in drafts[len(before):]} <= {"title_generation", "attribute_match"}
    assert drafts[len(before)].task == "title_generation"
