"""The validation-split checks read back exactly the fields each prompt was rendered from."""
from __future__ import annotations

import pytest

from ecomlm.evaluate.split_reading import fields_of, split_records
from ecomlm.runtime import catalog


@pytest.mark.parametrize("task, fields", [
    ("qa", {"question": "Which material?", "context": "Bun pan rack, full height\nwelded aluminum interior"}),
    ("ner", {"types": ["Brand", "Product"], "text": "Anker power bank\n10000mAh, black"}),
    ("answerability", {"question": "Is it waterproof?", "context": "Line one.\n\nLine three: rated IPX7."}),
    # a line of the text that looks like a field of the task stays in the text
    ("extract_type", {"type": "Brand", "text": "Anker power bank\nType: portable charger"}),
    ("qa", {"question": "Color?", "context": "Black cable\nQuestion: does it fit?\nAnswer: yes"}),
])
def test_a_context_or_text_over_several_lines_reads_back_whole(task, fields):
    """Regression: a qa context with a line break was cut at its first line (49 of the 136 English
    qa validation items), so the QA checks scored answers to contexts the model had not been given."""
    t = catalog.get_task(task)
    normalized = catalog.normalize_fields(t, fields)
    user = catalog.render_user(t, normalized)
    assert fields_of(t, user) is not None
    assert catalog.normalize_fields(t, fields_of(t, user)) == normalized
    record = {"task": task, "lang": "en", "messages": [{"role": "user", "content": user},
                                                       {"role": "assistant", "content": "None"}]}
    [(back, target, lang)] = split_records([record], t)
    assert catalog.render_user(t, catalog.normalize_fields(t, back)) == user and target == "None"
