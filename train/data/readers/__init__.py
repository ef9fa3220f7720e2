"""One small reader per dataset format; ``DATASETS`` maps each staged folder to its reader.

A reader is ``read(folder, log, dataset, lang) -> Iterator[Record]``. A missing folder is a warning;
a malformed record is counted in the ``ReadLog``, never raised. Folders that are not listed here
are not read, and names of the held-out evaluation sources are refused outright.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional, Sequence

from ecomlm.runtime.errors import InvalidInputError
from ..records import Record
from . import (acos_aste, advertisegen, ave_jsonl, bieos, cpqa, ditto, fewsum, huliu, mwpd, semeval_xml,
               sentences_tsv, seg, shopping_csv, subjqa)
from .common import ReadLog

__all__ = ["DATASETS", "Dataset", "ReadLog", "read_all"]


class Dataset(NamedTuple):
    folder: str
    lang: str
    read: Callable[..., Iterator[Record]]


DATASETS: tuple[Dataset, ...] = (
    Dataset("ecom_ner_zh", "zh", bieos.read),
    Dataset("online_shopping_10_cats_zh", "zh", shopping_csv.read),
    Dataset("absa_products_zh", "zh", seg.read),
    Dataset("semeval16_absa_zh_phone_camera", "zh", semeval_xml.read),
    Dataset("ad_copy_advertisegen_zh", "zh", advertisegen.read),
    Dataset("semeval_absa_laptops_en", "en", semeval_xml.read),
    Dataset("absa_laptop_acos_aste_en", "en", acos_aste.read),
    Dataset("absa_tv_tshirt_en", "en", seg.read),
    Dataset("customer_reviews_huliu_en", "en", huliu.read),
    Dataset("ave_ae110k_oamine_en", "en", ave_jsonl.read),
    Dataset("ave_wdc_pave_en", "en", ave_jsonl.read),
    Dataset("product_matching_wdc_en", "en", ditto.read),
    Dataset("product_matching_magellan_en", "en", ditto.read),
    Dataset("product_categorization_mwpd_en", "en", mwpd.read),
    Dataset("product_qa_cpqa_en", "en", cpqa.read),
    Dataset("subjqa_products_en", "en", subjqa.read),
    Dataset("review_summ_fewsum_en", "en", fewsum.read),
    Dataset("review_sentiment_uci_amazon_en", "en", sentences_tsv.read),
)

# Sources of the held-out evaluation sets (EcomGPT paper): never training data.
HELDOUT_SOURCES = re.compile(r"lenovo|reddit|restaurant|mepave|multi[_-]?cpr|openbg|ecomgpt", re.I)


def read_all(source: Path, log: ReadLog, only: Optional[Sequence[str]] = None) -> Iterator[Record]:
    """Records of every known dataset folder under ``source`` (or just ``only``)."""
    if not source.is_dir():
        raise InvalidInputError(f"dataset folder {source} does not exist; pass --source with the folder "
                                "that holds the staged datasets (see train/data/CORPUS.md)")
    known = {d.folder for d in DATASETS}
    for child in sorted(p.name for p in source.iterdir() if p.is_dir()):
        if HELDOUT_SOURCES.search(child):
            log.warn(f"{child}: looks like a held-out evaluation source; never used for training")
        elif child not in known:
            log.warn(f"{child}: no reader for this folder; skipped")
    for ds in DATASETS:
        if only is not None and ds.folder not in only:
            continue
        folder = source / ds.folder
        if not folder.is_dir():
            log.warn(f"{ds.folder}: folder missing under {source}; dataset skipped")
            continue
        for rec in ds.read(folder, log, ds.folder, ds.lang):
            log.read[ds.folder] += 1
            yield rec
