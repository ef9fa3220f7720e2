"""Chat formats declared once, for base models whose files carry no chat template.

SmolLM2-135M-Instruct's GGUF carries its own (ChatML) template, and every folder or GGUF that
ecomlm writes carries the template it was trained with. The Gemma 3 270M *pretrained* GGUF carries
none: it has never been taught to chat, so the format our adapter learns is ours to declare. It is
declared here and used by training (``materialize_base`` puts it into the tokenizer), by the
llama.cpp runtime (a GGUF without a template gets the one of its architecture) and by export (the
merged folder's tokenizer carries it into the exported GGUF and ONNX folder).

A template here inserts every message content verbatim (no ``trim``), so that the runtime can keep
user text apart from control tokens (``chat_segments``) and training sees exactly the inference
prompt.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class ChatFormat:
    """A chat template (Jinja, Hugging Face conventions) and the token that closes a model turn."""

    name: str
    template: str
    end_of_turn: str


# Gemma's turn markers (<start_of_turn>/<end_of_turn>, the model speaks as "model"). Gemma has no
# system role: the system text opens the first user turn, separated by a blank line, as in Google's
# own Gemma 3 template, but without its ``trim`` of contents.
GEMMA = ChatFormat(
    name="gemma",
    template=(
        "{{ bos_token }}{% set ns = namespace(system='') %}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\n\n' %}"
        "{% else %}<start_of_turn>{{ 'model' if message['role'] == 'assistant' else 'user' }}\n"
        "{% if message['role'] != 'assistant' %}{{ ns.system }}{% set ns.system = '' %}{% endif %}"
        "{{ message['content'] }}<end_of_turn>\n"
        "{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"),
    end_of_turn="<end_of_turn>",
)

CHAT_FORMATS: Dict[str, ChatFormat] = {GEMMA.name: GEMMA}
#: ``general.architecture`` of a GGUF file -> the chat format its template-less files get
BY_ARCHITECTURE: Dict[str, str] = {"gemma3": "gemma"}


def register_chat_format(fmt: ChatFormat, *architectures: str) -> None:
    """Add a chat format, used for template-less GGUF files of ``architectures``."""
    CHAT_FORMATS[fmt.name] = fmt
    for arch in architectures:
        BY_ARCHITECTURE[arch] = fmt.name


def for_architecture(architecture: Optional[str]) -> Optional[ChatFormat]:
    """The declared chat format of a GGUF ``general.architecture``, or ``None``."""
    name = BY_ARCHITECTURE.get(str(architecture)) if architecture else None
    return CHAT_FORMATS.get(name) if name else None


__all__ = ["ChatFormat", "GEMMA", "CHAT_FORMATS", "register_chat_format", "for_architecture"]
