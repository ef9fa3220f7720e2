"""E-commerce example inputs for every task: shown in the demo, used in the API's OpenAPI schema.

Each value is a dict of the task's fields exactly as ``EcomModel.run`` takes them. ``EXAMPLES[task]``
holds one or more examples; the first one is the one the API documents.
"""
from __future__ import annotations

from typing import Any

from ecomlm.runtime.catalog import TASKS

_LAPTOP = ("Lenovo ThinkPad X1 Carbon Gen 11, 14 inch 2.8K OLED display, Intel Core i7-1365U, "
           "32GB LPDDR5 RAM, 1TB SSD, Windows 11 Pro, Deep Black")
_SHOE = "Nike Air Zoom Pegasus 40 Men's Road Running Shoes, Size 10.5, Black/White, breathable mesh upper"
_REVIEW_BATTERY = "The screen is gorgeous but the battery barely lasts three hours and the fan is loud."
_REVIEW_PIZZA = "The pizza arrived cold and the delivery guy was rude, but the crust was amazing."

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    # entities
    "ner": [
        {"text": _LAPTOP, "types": ["brand", "product", "component", "attribute"]},
        {"text": "Samsung Galaxy S24 Ultra with 12GB RAM and a Snapdragon 8 Gen 3 chip, Titanium Gray",
         "types": ["brand", "product", "component", "attribute"]},
    ],
    "span_detection": [{"text": _SHOE, "types": ["brand", "product"]}],
    "extract_type": [{"text": _LAPTOP, "type": "component"}],
    "entity_typing": [{"text": _LAPTOP, "span": "Intel Core i7-1365U",
                       "types": ["brand", "product", "component", "attribute"]}],
    "entity_type_presence": [{"text": _SHOE, "types": ["brand", "color", "size", "price"]}],
    # attributes
    "attribute_extraction": [
        {"text": _LAPTOP, "attributes": ["brand", "screen size", "memory", "storage", "color"]},
        {"text": _SHOE, "attributes": ["brand", "size", "color", "material"]},
    ],
    "attribute_value": [{"text": _SHOE, "attribute": "size"}],
    "attribute_name": [{"text": _SHOE, "value": "Black/White",
                        "attributes": ["brand", "size", "color", "material"]}],
    "attribute_match": [{"product": "Apple iPhone 15 Pro 256GB Natural Titanium",
                         "specs": {"brand": "Apple", "storage": "128GB", "color": "Natural Titanium"}}],
    # reviews
    "aspect_extraction": [{"text": _REVIEW_BATTERY}],
    "aspect_sentiment": [{"text": _REVIEW_BATTERY, "aspect": "battery",
                          "labels": ["positive", "negative", "neutral"]}],
    "aspect_polarity_pairs": [{"text": _REVIEW_PIZZA, "labels": ["positive", "negative", "neutral"]}],
    "aspect_category": [{"text": _REVIEW_PIZZA,
                         "labels": ["food", "service", "price", "ambience", "delivery"]}],
    "opinion_extraction": [{"text": _REVIEW_BATTERY, "types": ["Aspect", "Opinion"]}],
    # classification
    "classify": [{"text": "Stainless steel 12-cup programmable coffee maker with thermal carafe",
                  "labels": ["Kitchen", "Electronics", "Toys", "Clothing"]}],
    "multi_classify": [{"text": "Waterproof Bluetooth speaker for the shower and the beach, 20h battery",
                        "labels": ["audio", "outdoor", "bathroom", "kitchen", "office"]}],
    "sentiment": [
        {"text": "Stopped charging after two weeks. Total waste of money.",
         "labels": ["positive", "negative", "neutral"]},
        {"text": "Fits perfectly and the fabric feels premium. Would buy again!",
         "labels": ["positive", "negative", "neutral"]},
    ],
    "review_topic": [{"text": "The keyboard is comfortable but the trackpad clicks feel cheap.",
                      "labels": ["Keyboard", "Battery", "Display", "Price", "Shipping"]}],
    "product_category": [{"text": _SHOE,
                          "labels": ["Shoes", "Electronics", "Home & Kitchen", "Beauty", "Toys"]}],
    "subjectivity": [{"text": "The blender has a 1.5 litre jar and three speed settings.",
                      "labels": ["subjective", "objective"]}],
    # matching
    "query_match": [{"query": "wireless noise cancelling headphones",
                     "product": "Sony WH-1000XM5 Wireless Noise Canceling Over-Ear Headphones, Black"}],
    "same_product": [{"product_a": "Apple AirPods Pro (2nd Generation) with MagSafe Case (USB-C)",
                      "product_b": "AirPods Pro 2 USB-C MagSafe charging case, Apple"}],
    "which_of_two": [{"query": "Logitech MX Master 3S wireless mouse, graphite",
                      "product_a": "Logitech MX Keys S wireless keyboard, graphite",
                      "product_b": "MX Master 3S Performance Wireless Mouse by Logitech - Graphite"}],
    "select_product": [{"query": "kids waterproof rain boots size 12",
                        "candidates": ["Crocs Classic Clog, adult size 9",
                                       "Hunter Kids First Classic Rain Boots, size 12, waterproof",
                                       "Timberland Men's 6-inch Premium Boot"]}],
    # question answering
    "qa": [{"question": "How long does the battery last?",
            "context": "I use it every day for my commute. The battery lasts about 30 hours with noise "
                       "cancelling on, and it charges fully in two hours."}],
    "answerability": [{"question": "Is it dishwasher safe?",
                       "context": "The mug holds 350 ml and keeps drinks hot for six hours."}],
    "evidence_relevance": [{"question": "Does this tent fit four people?",
                            "context": "We camped as a family of four and there was room to spare."}],
    "answer_question": [{"question": "Can I use it with an iPhone?",
                         "context": "Bluetooth 5.3 speaker, works with any phone, tablet or laptop; "
                                    "USB-C charging; 12 hour battery."}],
    # generation
    "title_generation": [
        {"specs": {"brand": "Anker", "product": "power bank", "capacity": "20000mAh",
                   "ports": "USB-C PD 30W", "color": "black"}},
    ],
    "ad_copy": [{"specs": {"brand": "Hydro Flask", "product": "water bottle", "capacity": "32 oz",
                           "feature": "keeps drinks cold for 24 hours"}}],
    "summarize": [{"reviews": ["Great sound for the price, battery lasts all day.",
                               "Bass is weak but the voices are very clear.",
                               "Connection drops sometimes when my phone is in my pocket."]}],
}


def examples_for(task: str) -> list[dict[str, Any]]:
    """The examples of ``task`` (an empty list for a task without examples)."""
    return [dict(e) for e in EXAMPLES.get(task, [])]


def _check() -> None:
    missing = sorted(set(TASKS) - set(EXAMPLES))
    unknown = sorted(set(EXAMPLES) - set(TASKS))
    if missing or unknown:  # a catalog change must update the examples
        raise AssertionError(f"examples out of date: missing {missing}, unknown {unknown}")


__all__ = ["EXAMPLES", "examples_for"]
