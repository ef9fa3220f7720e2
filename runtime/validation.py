"""Checks every input string before any backend sees it: the one gate against crashing or steering
the model with malformed input.

Applied by ``catalog.normalize_fields`` (and so by ``EcomModel.run``, the CLI, the HTTP API, the
demo, batch runs, training-data rendering and evaluation):

- **Types**: a text input is a string (a number is accepted and written out); a list input is a list
  of strings or one comma-separated string; a mapping input maps strings to strings. Anything else
  (``{"labels": 5}``, ``null`` items, nested objects) is an ``InvalidInputError``.
- **Lone surrogates** (``"\\ud800"``, which JSON allows but UTF-8 cannot encode) are rejected
  everywhere: there is no faithful way to pass them to a tokenizer.
- **Control characters** (C0 except tab, newline and carriage return; DEL; C1) are rejected in
  *options* (labels, types, attributes, candidates, attribute names), which the answer must copy
  verbatim and which end up inside decoding grammars, where a NUL byte once crashed llama.cpp. In
  *text* inputs (text, context, question, reviews, attribute values, ...) they are normalised: each
  becomes one space (NUL included), so scraped text with a stray form feed still runs, and the
  prompt the model sees is exactly the normalised text (spans and offsets refer to it).
- **Limits**: at most ``MAX_OPTIONS`` options per field, each at most ``MAX_OPTION_BYTES`` UTF-8
  bytes, all together at most ``MAX_OPTIONS_BYTES``; duplicates (after stripping, ignoring case)
  are found with a set, in linear time.

Chat-template control tokens written as text (``<|im_end|>``) are *not* an error: backends tokenize
user content as plain text, never as control tokens (see ``backends/chat_segments.py``).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import InvalidInputError

#: most options (labels, types, attributes, candidates) one call may give (held-out product
#: categories have 172)
MAX_OPTIONS = 256
#: longest single option, in UTF-8 bytes
MAX_OPTION_BYTES = 512
#: all options of one field together, in UTF-8 bytes
MAX_OPTIONS_BYTES = 8192

# C0 controls but \t \n \r, DEL, and the C1 controls
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _check_encodable(name: str, value: str) -> None:
    bad = _SURROGATE.search(value)
    if bad:
        raise InvalidInputError(
            f"{name!r} holds a lone surrogate ({_describe(bad.group())} at character {bad.start()}), "
            f"which is not valid Unicode text; send proper UTF-8 (a JSON \\ud83d\\ude00 pair is fine, "
            f"a lone \\ud800 is not)")


def clean_text(name: str, value: Any) -> str:
    """A text input as the model will see it: a string, control characters made spaces, stripped."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInputError(f"the input {name!r} must be a string, not {type(value).__name__}")
    text = str(value)
    _check_encodable(name, text)
    return _CONTROL.sub(" ", text).strip()


def clean_option(name: str, value: Any) -> str:
    """One option (label, type, attribute name, candidate): a non-empty string without control
    characters, at most ``MAX_OPTION_BYTES`` bytes; stripped."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInputError(f"{name!r} must hold strings, not {type(value).__name__} ({value!r:.40})")
    text = str(value)
    _check_encodable(name, text)
    bad = _CONTROL.search(text)
    if bad:
        raise InvalidInputError(
            f"{name!r} item {text[:40]!r} holds the control character {_describe(bad.group())}; "
            f"options must be plain text (remove it)")
    text = text.strip()
    if len(text.encode("utf-8")) > MAX_OPTION_BYTES:
        raise InvalidInputError(f"{name!r} item {text[:40]!r}... has {len(text.encode('utf-8'))} bytes; "
                                f"each may have at most {MAX_OPTION_BYTES}")
    return text


def clean_options(name: str, value: Any, *, allow_duplicates: bool = False) -> list[str]:
    """A list input: a list of strings or one comma-separated string; non-empty, items non-empty,
    within the limits, free of duplicates (ignoring case) unless ``allow_duplicates``."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise InvalidInputError(f"{name!r} must be a list of strings or one comma-separated string, "
                                f"not {type(value).__name__}")
    if len(value) > MAX_OPTIONS:
        raise InvalidInputError(f"{name!r} has {len(value)} items; at most {MAX_OPTIONS} are allowed "
                                f"(split the work into several calls)")
    clean = clean_text if allow_duplicates else clean_option  # reviews are text, not options
    items = [clean(name, v) for v in value]
    if not items or any(not v for v in items):
        raise InvalidInputError(f"{name!r} must be a non-empty list of non-empty strings")
    if not allow_duplicates:
        total = sum(len(v.encode("utf-8")) for v in items)
        if total > MAX_OPTIONS_BYTES:
            raise InvalidInputError(f"{name!r} has {total} bytes in all; at most {MAX_OPTIONS_BYTES} "
                                    f"are allowed (shorten or split the set)")
        seen: set[str] = set()
        dups: set[str] = set()
        for v in items:
            key = v.lower()
            if key in seen:
                dups.add(v)
            seen.add(key)
        if dups:
            dup_keys = {d.lower() for d in dups}
            shown = sorted({v for v in items if v.lower() in dup_keys})
            raise InvalidInputError(f"{name!r} has duplicates: {shown[:10]}; give each one once")
    return items


def clean_mapping(name: str, value: Any) -> dict[str, str]:
    """A mapping input (attribute -> value): keys are options (no control characters, no two equal
    after stripping, ignoring case), values are text."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(f"{name!r} must be a non-empty mapping of attribute -> value")
    if len(value) > MAX_OPTIONS:
        raise InvalidInputError(f"{name!r} has {len(value)} attributes; at most {MAX_OPTIONS} are allowed")
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for k, v in value.items():
        key = clean_option(f"{name} key", k)
        if not key:
            raise InvalidInputError(f"{name!r} has an empty attribute name")
        if key.lower() in seen:
            raise InvalidInputError(f"{name!r} names the attribute {key!r} twice ({seen[key.lower()]!r} "
                                    f"and {str(k)!r} are the same after trimming spaces and case); "
                                    f"give each attribute once")
        seen[key.lower()] = str(k)
        out[key] = clean_text(f"{name}[{key}]", v)
    return out


__all__ = ["MAX_OPTIONS", "MAX_OPTION_BYTES", "MAX_OPTIONS_BYTES", "clean_text", "clean_option",
           "clean_options", "clean_mapping"]
