"""ecomlm.runtime: run e-commerce tasks on a small local model, with typed, validated results.

Imports nothing heavier than llama-cpp-python (and that only when a model is loaded).
"""
from .catalog import TASKS, Task, get_task, list_tasks
from .errors import (BackendUnavailableError, ContextOverflowError, EcomError, InvalidInputError,
                     ModelLoadError, UnknownTaskError)
from .model import EcomModel
from .results import (AnswerResult, LabelResult, MatchResult, Result, Span, SpansResult,
                      TextResult)

__all__ = [
    "EcomModel", "TASKS", "Task", "get_task", "list_tasks",
    "Result", "Span", "SpansResult", "LabelResult", "MatchResult", "AnswerResult", "TextResult",
    "EcomError", "UnknownTaskError", "InvalidInputError", "ContextOverflowError", "ModelLoadError",
    "BackendUnavailableError",
]
