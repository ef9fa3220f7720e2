"""Long span-task inputs read in pieces (runtime/chunking.py): the pieces cover the source in order,
whole sentences where they fit; merged spans sit at their offsets in the whole source; on a real
model, a chunked run is exactly the merge of the pieces' own runs."""
from __future__ import annotations

import re

import pytest

from ecomlm.runtime import catalog
from ecomlm.runtime.chunking import merge_chunks, source_chunks
from ecomlm.runtime.results import Span, SpansResult
from ecomlm.runtime.task import Task

LONG = ("Lenovo ThinkPad X1 Carbon with a 14 inch display. It has an Intel Core i7 processor and 16GB of "
        "memory. The keyboard is backlit and the battery lasts ten hours. Ports: two USB-C, one HDMI and a "
        "headphone jack. Weight 1.1 kg; thickness 15 mm. Ships with Windows 11 Pro and a 65 W charger. "
        "The webcam has a privacy shutter and the speakers are tuned by Dolby. " * 2).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


@pytest.mark.parametrize("max_words", [1, 7, 12, 40, 500])
def test_pieces_cover_every_word_once_in_order_within_the_limit(max_words):
    pieces = source_chunks(LONG, max_words)
    assert [w for a, b in pieces for w in _words(LONG[a:b])] == _words(LONG)
    assert all(len(_words(LONG[a:b])) <= max_words for a, b in pieces)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(pieces, pieces[1:]))
    if len(_words(LONG)) <= max_words:
        assert len(pieces) == 1


def test_pieces_end_at_sentence_ends_when_sentences_fit():
    pieces = source_chunks(LONG, 25)
    assert len(pieces) > 2
    assert all(LONG[b - 1] in ".;" for _, b in pieces)
    one_long_sentence = " ".join(f"word{i}" for i in range(30))
    assert [len(_words(one_long_sentence[a:b])) for a, b in source_chunks(one_long_sentence, 12)] == [12, 12, 6]
    with pytest.raises(ValueError):
        source_chunks(LONG, 0)


def test_merged_spans_sit_at_their_offsets_in_the_whole_source_once_each():
    source = "HP laptop. Dell monitor. HP mouse."
    a, b, c = source_chunks(source, 2)
    parts = []
    for start, end in (a, b, c):
        piece = source[start:end]
        brand, product = piece.split()[0], piece.split()[1].rstrip(".")
        spans = [Span(brand, piece.index(brand), piece.index(brand) + len(brand), "Brand"),
                 Span(product, piece.index(product), piece.index(product) + len(product), "Product")]
        parts.append((start, SpansResult(task="ner", raw=f"Brand: {brand}\nProduct: {product}", spans=spans,
                                         dropped=1)))
    merged = merge_chunks("ner", parts)
    assert [(s.type, s.text) for s in merged.spans] == [("Brand", "HP"), ("Product", "laptop"), ("Brand", "Dell"),
                                                        ("Product", "monitor"), ("Product", "mouse")]
    assert all(source[s.start:s.end] == s.text for s in merged.spans)
    assert merged.dropped == 3 and merged.raw.count("\n") == 5


def test_chunk_words_only_on_span_lists_with_a_source():
    ner = catalog.get_task("ner")
    assert ner.chunk_words == 40
    with pytest.raises(ValueError, match="chunk_words"):
        Task(name="t", family="x", output="label", summary="s", description="d", commands=("c",),
             required=("text", "labels"), options_field="labels", chunk_words=40)
    with pytest.raises(ValueError, match="chunk_words"):
        Task(name="t", family="x", output="spans", summary="s", description="d", commands=("c",),
             required=("text",), source_field="text", chunk_words=0)


def test_a_chunked_run_is_the_merge_of_its_pieces_runs(base_model):
    """On the bundled model: NER on a long text with chunking on answers each piece as a run on that
    piece alone would, and every merged span is at its offsets in the whole text."""
    types = ["Brand", "Product", "Component", "Attribute"]
    chunked = base_model.run("ner", text=LONG, types=types, chunk=True)
    pieces = source_chunks(LONG, catalog.get_task("ner").chunk_words)
    assert len(pieces) > 1
    alone = merge_chunks("ner", [(a, base_model.run("ner", text=LONG[a:b], types=types, chunk=False))
                                 for a, b in pieces])
    assert chunked == alone
    assert catalog.get_task("ner").kind.check(catalog.get_task("ner"), {"text": LONG, "types": types},
                                              chunked.to_dict()) is None
    whole = base_model.run("ner", text=LONG, types=types, chunk=False)
    assert whole.raw != chunked.raw
