"""Errors the runtime raises. Each message names the problem and how to fix it."""
from __future__ import annotations


class EcomError(Exception):
    """Base class of every error ecomlm raises on purpose (the CLI prints these without a traceback)."""


class UnknownTaskError(EcomError, KeyError):
    """A task name that the catalog does not define."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(EcomError, ValueError):
    """An input that no task can run on: empty text, an empty or duplicated label set, a missing field."""


class ContextOverflowError(InvalidInputError):
    """The rendered prompt does not fit the model's context window."""


class ModelLoadError(EcomError, OSError):
    """A model reference that cannot be resolved or loaded (missing path, truncated or foreign file)."""


class BackendUnavailableError(EcomError, ImportError):
    """The backend's optional dependency is not installed."""
