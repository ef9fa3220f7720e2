"""Moved to ``ecomlm.source.base`` (the model-source layer that training and export share); these
names stay importable from here."""
from ecomlm.source.base import FORMAT, MARKER, load_base_model, materialize_base, source_hash, source_path

__all__ = ["FORMAT", "MARKER", "load_base_model", "materialize_base", "source_hash", "source_path"]
