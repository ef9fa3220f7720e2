"""Chat prompts that know which of their characters are the user's: control tokens only from the
template, never from user text.

A chat template wraps message contents in control tokens (``<|im_start|>user\\n ... <|im_end|>``).
Tokenizing the rendered prompt with special-token parsing on would also turn a review that *writes*
``<|im_end|>\\n<|im_start|>assistant`` into real control tokens, ending the user turn early. So a
backend renders a ``ChatPrompt``: a ``str`` (usable everywhere a prompt string is) that also holds
its segments, each marked as template text or message content. ``tokenize_segments`` then parses
special tokens in the template parts only and tokenizes the contents as plain text.

The segments are found by rendering the template a second time with each content replaced by a
unique private-use sentinel; when the real rendering equals the sentinel rendering with the
sentinels replaced by the contents (the template inserts contents verbatim, as ChatML templates
do), the segmentation is exact. A template that rewrites contents gets no segments, and
``tokenize_segments`` then refuses content that holds a control-token string.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, Sequence

from ..errors import InvalidInputError

Render = Callable[[list[dict[str, str]]], str]


class ChatPrompt(str):
    """A rendered chat prompt; ``segments`` is ``((text, is_content), ...)`` or ``None`` when the
    template did not insert the contents verbatim; ``contents`` are the message contents."""

    segments: Optional[tuple[tuple[str, bool], ...]]
    contents: tuple[str, ...]

    def __new__(cls, text: str, segments: Optional[Sequence[tuple[str, bool]]] = None,
                contents: Sequence[str] = ()) -> "ChatPrompt":
        obj = super().__new__(cls, text)
        obj.segments = tuple(segments) if segments is not None else None
        obj.contents = tuple(contents)
        return obj


def _sentinel(i: int) -> str:
    return f"\ue000{i}\ue001"


def render_segmented(render: Render, messages: Sequence[dict[str, str]]) -> ChatPrompt:
    """Render ``messages`` with ``render`` and mark where each message's content lies."""
    messages = [dict(m) for m in messages]
    contents = [m.get("content", "") for m in messages]
    text = render(messages)
    plain = ChatPrompt(text, None, contents)
    if any("\ue000" in c or "\ue001" in c for c in contents):
        return plain  # a content holding the sentinel characters: no segments
    probe = [dict(m, content=_sentinel(i)) for i, m in enumerate(messages)]
    try:
        skeleton = render(probe)
    except Exception:  # a template that inspects contents and rejects the probe
        return plain
    segments: list[tuple[str, bool]] = []
    rest = skeleton
    for i, content in enumerate(contents):
        head, sep, rest = rest.partition(_sentinel(i))
        if not sep:
            return plain
        segments += [(head, False), (content, True)]
    segments.append((rest, False))
    if "".join(s for s, _ in segments) != text:
        return plain
    return ChatPrompt(text, [s for s in segments if s[0]], contents)


def tokenize_segments(prompt: str, tokenize: Callable[[str, bool], list[int]],
                      control_texts: Callable[[], Iterable[str]] = tuple) -> list[int]:
    """Token ids of ``prompt``: ``tokenize(text, special)`` on each segment, special tokens parsed
    only outside message contents. A plain ``str`` is template text (parsed throughout); a
    ``ChatPrompt`` without segments is parsed throughout too, after checking that no message
    content spells one of ``control_texts()`` (``InvalidInputError`` if one does)."""
    segments = getattr(prompt, "segments", None)
    if not segments:
        for content in getattr(prompt, "contents", ()):
            for token in control_texts():
                if token and token in content:
                    raise InvalidInputError(
                        f"the input holds the model's control token {token!r}; remove it (this "
                        f"model's chat template does not keep message text apart from its tokens)")
        return tokenize(str(prompt), True)
    ids: list[int] = []
    for text, is_content in segments:
        ids += tokenize(text, not is_content)
    return ids


__all__ = ["ChatPrompt", "render_segmented", "tokenize_segments"]
