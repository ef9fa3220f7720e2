"""Split the validation split's same_product items into the variant ones (an offer made by
``atomic.variant_offer``) and the rest (the datasets' own pairs), for the same-product specialist's
check. Regenerates the matching datasets' drafts the way ``ecomlm data build`` does (default seed and
cap) to learn which offers are variants.

    python evaluate/finetuned/specialists-default/variant_split.py corpus/val.jsonl ../shared/datasets OUTDIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ecomlm.train.data import atomic, build

MATCHING = ("product_matching_wdc_en", "product_matching_magellan_en")


def variant_offers(source: Path) -> set[str]:
    """Every offer text ``variant_offer`` writes while the matching datasets' drafts are generated."""
    made: set[str] = set()
    original = atomic.variant_offer

    def recording(a: str, b: str, rng):  # type: ignore[no-untyped-def]
        v = original(a, b, rng)
        if v is not None:
            made.add(v)
        return v

    atomic.variant_offer = recording
    try:
        config = build.BuildConfig(source=source, out=Path("unused"))
        for name in MATCHING:
            for _ in build.candidates(build.dataset_records(config, name, build.ReadLog()), config):
                pass
    finally:
        atomic.variant_offer = original
    return made


def main(split: str, source: str, out: str) -> None:
    made = variant_offers(Path(source))
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    rows = [line for line in Path(split).read_text(encoding="utf-8").splitlines()
            if json.loads(line)["task"] == "same_product"]
    variant, rest = [], []
    for line in rows:
        user = json.loads(line)["messages"][1]["content"].split("\n")
        offers = [u.split(": ", 1)[1] for u in user if u.startswith(("Product A: ", "Product B: "))]
        (variant if any(o in made for o in offers) else rest).append(line)
    (outdir / "val_same_product_variant.jsonl").write_text("".join(x + "\n" for x in variant), encoding="utf-8")
    (outdir / "val_same_product_datasets.jsonl").write_text("".join(x + "\n" for x in rest), encoding="utf-8")
    print(f"{len(variant)} variant, {len(rest)} dataset items")


if __name__ == "__main__":
    main(*sys.argv[1:4])
