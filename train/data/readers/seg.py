"""PyABSA aspect-polarity files (``.seg`` / APC): three lines per aspect instance.

Line 1 is the sentence with ``$T$`` where the aspect stands, line 2 the aspect, line 3 the polarity
(a word or -1/0/1). Instances of one sentence are merged into one record that carries every aspect
of that sentence. Chinese files are tokenised per character; the spaces are removed.
Used for absa_products_zh/apc, absa_tv_tshirt_en/apc (the atepc/ folders hold the same reviews).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..records import Record, dechar, norm, polarity
from .common import ReadLog, files

NATIVE = ("aspect_sentiment",)


def parse_file(path: Path, log: ReadLog, dataset: str, lang: str) -> dict[str, list[tuple[str, str]]]:
    """sentence -> [(aspect, polarity)], in file order."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [ln for ln in lines if ln]
    merged: dict[str, list[tuple[str, str]]] = {}
    for k in range(0, len(lines) - len(lines) % 3, 3):
        masked, aspect, pol = lines[k:k + 3]
        try:
            if "$T$" not in masked or not aspect:
                raise ValueError("no $T$ marker")
            p = polarity(pol)
        except ValueError:
            log.bad(dataset)
            continue
        if lang == "zh":
            masked, aspect = dechar(masked.replace("$T$", " $T$ ")), dechar(aspect)
            text = dechar(masked.replace("$T$", aspect))
        else:
            text = " ".join(masked.replace("$T$", aspect).split())
        pairs = merged.setdefault(text, [])
        if (aspect, p) not in pairs:
            pairs.append((aspect, p))
    if len(lines) % 3:
        log.bad(dataset)
    return merged


def read(folder: Path, log: ReadLog, dataset: str, lang: str = "en") -> Iterator[Record]:
    pattern = "apc/*" if (folder / "apc").is_dir() else "*.seg"
    for path in files(folder, pattern, log, dataset):
        domain = path.name.split(".")[0].split("_")[0].lower()
        for i, (text, aspects) in enumerate(parse_file(path, log, dataset, lang).items()):
            yield Record(dataset, f"{path.name}:{i}", lang, "absa",
                         {"text": text, "aspects": [a for a in aspects if a[0] in text], "opinions": None,
                          "categories": None, "entities": None, "domain": domain},
                         native=NATIVE, group=norm(text))
