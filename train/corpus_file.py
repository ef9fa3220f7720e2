"""Reading a corpus file written by ``ecomlm data build``: moved to ``ecomlm.source.corpus`` (the
layer training and export share); importable from here as before."""
from __future__ import annotations

from ecomlm.source.corpus import read_corpus, sample_corpus

__all__ = ["read_corpus", "sample_corpus"]
