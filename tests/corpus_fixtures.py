"""Small synthetic training corpora for the trainer's tests, in the corpus format of
``ecomlm data build`` (one record a line with its chat ``messages``)."""
from __future__ import annotations

import json
import random

BRANDS = ["Apple", "Samsung", "Sony", "Lenovo", "Nike", "Adidas", "Canon", "Dell"]
PRODUCTS = ["phone", "laptop", "camera", "shoes", "watch", "tablet"]


def _record(task: str, user: str, answer: str) -> str:
    return json.dumps({"task": task, "dataset": "synthetic", "lang": "en", "atomic": False,
                       "messages": [{"role": "user", "content": user},
                                    {"role": "assistant", "content": answer}]}) + "\n"


def write_corpus(path, n, seed):
    """``n`` "extract the brand" records (``seed`` fixes them) written to ``path``; returns ``path``."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(n):
            brand, product = rng.choice(BRANDS), rng.choice(PRODUCTS)
            f.write(_record("brand", f"Extract the brand: {brand} {product} {rng.randint(1, 99)}",
                            f"Brand: {brand}"))
    return path


def write_number_corpus(path, n, seed):
    """``n`` "Number N?" -> "N" records written to ``path``; returns ``path``."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(n):
            k = rng.randint(1, 99)
            f.write(_record("t", f"Number {k}?", f"{k}"))
    return path
