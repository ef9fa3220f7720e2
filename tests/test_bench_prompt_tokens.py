"""bench-prompt-tokens: the denser answer format it prices groups a typed answer's lines by type."""
from __future__ import annotations

from ecomlm.bench.prompt_tokens import grouped_answer


def test_grouped_answer_keeps_every_span_once_per_type_in_first_seen_order():
    answer = "Brand: ASUS\nAttribute: 8GB\nProduct: Eee PC\nAttribute: 500GB"
    assert grouped_answer(answer) == "Brand: ASUS\nAttribute: 8GB; 500GB\nProduct: Eee PC"
    assert grouped_answer("None") == "None"
