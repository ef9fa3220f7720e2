"""Label sets and option lists for generated instances: shuffled, with distractors, sometimes
without the gold labels (so the model learns to answer "None")."""
from __future__ import annotations

import random
from typing import Callable, Iterable, Sequence, TypeVar

T = TypeVar("T")

COARSE_TYPES = ("Brand", "Product", "Component", "Attribute")
POLARITIES = ("Positive", "Negative", "Neutral")
P_NONE = 0.12          # share of multi-label / extraction items whose options leave out every gold


LONG_CONTEXT_SHARE = 0.4    # QA items whose context is padded with other reviews
LONG_CONTEXT_WORDS = 1500   # ~2k tokens, like the held-out Reddit QA contexts
# half of the padded contexts stop at 250-450 words, so that they fit the CPU recipes' 768-token rows
# (which drop every ~2k-token item) and CPU runs see the answer among other reviews too
MEDIUM_CONTEXT_WORDS = (250, 450)


def long_context(context: str, pool: Sequence[str], rng: random.Random) -> str:
    """The context with other reviews around it, in a shuffled order: up to ``LONG_CONTEXT_WORDS``
    words, or (half of the time) up to a length drawn from ``MEDIUM_CONTEXT_WORDS``."""
    limit = LONG_CONTEXT_WORDS if rng.random() < 0.5 else rng.randint(*MEDIUM_CONTEXT_WORDS)
    parts, words = [context], len(context.split())
    for other in rng.sample(pool, len(pool)):
        n = len(other.split())
        if words + n > limit:
            continue
        parts.append(other)
        words += n
    rng.shuffle(parts)
    return "\n\n".join(parts)


#: English entity tasks asked on several annotated texts of the dataset joined into one: long
#: inputs with many entities, where answers must go on copying well past the first few
LONG_ENTITY_SHARE = 0.25
LONG_ENTITY_WORDS = (80, 300)
#: texts longer than this are not joined to others (they are long already)
JOIN_PIECE_WORDS = 60


def joined_entities(text: str, entities: Sequence[tuple[str, str]],
                    pool: Sequence[tuple[str, Sequence[tuple[str, str]]]], rng: random.Random
                    ) -> tuple[str, list[tuple[str, str]]] | None:
    """The text with other annotated texts of its dataset around it, up to a length drawn from
    ``LONG_ENTITY_WORDS``, and the union of their (type, surface) entities; each piece's annotation
    is complete, so the union is complete for the joined text. None when the text is long already
    or too few pieces fit."""
    words = len(text.split())
    if words > JOIN_PIECE_WORDS:
        return None
    limit = rng.randint(*LONG_ENTITY_WORDS)
    parts, ents = [text], list(entities)
    for other, others in rng.sample(pool, min(len(pool), 64)):
        n = len(other.split())
        if other == text or words + n > limit:
            continue
        parts.append(other)
        ents += others
        words += n
    if words < LONG_ENTITY_WORDS[0]:
        return None
    rng.shuffle(parts)
    return " ".join(parts), list(dict.fromkeys(ents))


def uniq(items: Iterable[str]) -> list[str]:
    """Order-preserving, case-insensitive de-duplication of non-empty strings."""
    seen: set[str] = set()
    out = []
    for it in items:
        key = it.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(it.strip())
    return out


def in_text_order(items: Iterable[T], text: str, span: Callable[[T], str]) -> list[T]:
    """``items`` sorted by where their span (``span(item)``) first occurs in ``text``, so that an
    answer lists its spans in reading order and the model copies them in one pass over the input
    (case-insensitive when the exact span is not found; spans not in the text keep their order, last).
    The sort is stable: items of one span keep their relative order."""
    low = text.lower()

    def where(item: T) -> int:
        s = span(item)
        at = text.find(s)
        if at < 0:
            at = low.find(s.lower())
        return at if at >= 0 else len(text)

    return sorted(items, key=where)


def distractors(gold: Sequence[str], space: Sequence[str], k: int, rng: random.Random) -> list[str]:
    low = {g.lower() for g in gold}
    pool = uniq(s for s in space if s.lower() not in low)
    return rng.sample(pool, min(k, len(pool)))


def label_set(gold: Sequence[str], space: Sequence[str], rng: random.Random, lo: int = 2, hi: int = 8,
              keep_gold: bool = True) -> list[str]:
    """Gold labels (unless ``keep_gold`` is false) plus distractors, ``lo``..``hi`` labels, shuffled."""
    gold = uniq(gold) if keep_gold else []
    size = rng.randint(lo, hi)
    labels = gold + distractors(gold, space, max(size - len(gold), 1 if not gold else 0), rng)
    labels = uniq(labels)
    rng.shuffle(labels)
    return labels


def polarity_labels(rng: random.Random, gold: str) -> list[str]:
    """The polarity label set, shuffled; binary (gold + one other) a third of the time."""
    labels = list(POLARITIES)
    if rng.random() < 0.33:
        labels = [gold] + [rng.choice([p for p in POLARITIES if p != gold])]
    rng.shuffle(labels)
    return labels


def type_set(present: Sequence[str], rng: random.Random, universe: Sequence[str] = COARSE_TYPES) -> list[str]:
    """Entity types to ask for: the present ones plus, often, one or two absent ones; shuffled."""
    types = uniq(present)
    absent = [t for t in universe if t not in types]
    if absent and rng.random() < 0.6:
        types += rng.sample(absent, rng.randint(1, min(2, len(absent))))
    rng.shuffle(types)
    return types
