"""Moved to ``ecomlm.source.merge`` (the model-source layer that training and export share); these
names stay importable from here."""
from ecomlm.source.merge import PARITY_PROMPTS, MergeParityError, adapter_to_gguf, merge_run

__all__ = ["PARITY_PROMPTS", "MergeParityError", "adapter_to_gguf", "merge_run"]
