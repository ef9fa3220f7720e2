"""Print the base and the default (fine-tuned) model's raw answers to a few e-commerce prompts.

    python scripts/compare_models.py [--model default] [--model base]
"""
from __future__ import annotations

import argparse

from ecomlm.runtime import EcomModel

TOPICS = ["Food", "Service", "Price", "Ambience", "Anecdotes/Miscellaneous"]
CASES = [
    ("ner", {"text": "Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7",
             "types": ["Brand", "Product", "Attribute", "Component"]}),
    ("ner", {"text": "The Toshiba Satellite comes with a 2.0 GHz Intel processor and 4 GB of memory .",
             "types": ["Attribute", "Brand", "Component", "Product"]}),
    ("attribute_extraction", {"text": "Nike Air Zoom Pegasus 40 men's running shoe, black, size 10",
                              "attributes": ["brand", "color", "size"]}),
    ("review_topic", {"text": "The waiter was rude and slow.", "labels": TOPICS}),
    ("review_topic", {"text": "Way too expensive for what you get.", "labels": TOPICS}),
    ("qa", {"question": "How long does the battery last?",
            "context": "I bought this for travel. The battery lasts about 10 hours on a single charge."}),
    ("sentiment", {"text": "The battery died after two days", "labels": ["positive", "negative", "neutral"]}),
    ("product_category", {"text": "Levi's 501 original fit men's jeans",
                          "labels": ["Electronics", "Clothing", "Grocery", "Toys"]}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model references (default: default and base)")
    args = parser.parse_args()
    models = {ref: EcomModel.load(ref, n_ctx=2048) for ref in (args.model or ["default", "base"])}
    for task, fields in CASES:
        print(f"== {task}: {fields}")
        for ref, model in models.items():
            print(f"  {ref:>8}: {model.run(task, **fields).raw!r}")


if __name__ == "__main__":
    main()
