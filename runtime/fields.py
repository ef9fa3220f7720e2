"""The input fields of the tasks, as specs: one place says how each input is captioned in the prompt,
what shape it has, whether it is an *option* (part of the shared prefix) or a per-item input, and so
how it is checked, rendered, typed on the command line, in a CSV cell and in the demo's forms.

Shapes:
- ``TextField``: one string (``text``, ``query``, ``question``...).
- ``ListField``: a list of strings; given as a list or one comma-separated string (``labels``,
  ``types``...). ``one_a_line``: its items may hold commas, so the prompt and the demo's forms put
  one a line (``reviews``, ``candidates``); ``separator``: what separates items typed on the
  command line or in a CSV cell (``reviews``: ``||``).
- ``MappingField``: attribute -> value pairs (``specs``).

Adding an input field is adding one spec to ``FIELDS`` (its position there is its place in the
prompt: options first, in order, then the answer-format line, then the item's inputs in order; the
source text last, so the options form a prefix shared by every item of a task).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Union

from . import validation
from .errors import InvalidInputError

REVIEW_SEPARATOR = "||"  # reviews hold commas: the CLI's --reviews and a CSV cell separate them with this


#: what separates an attribute from its value in typed attributes: ASCII or full-width colon, or "="
SPEC_SEPARATORS = (":", "\uff1a", "=")


def parse_specs(text: str) -> dict[str, str]:
    """Product attributes typed by a person: ``attribute: value`` lines (a full-width ``：`` too),
    ``key=value;key=value`` pairs, or a JSON object (used by the CLI's --specs and the demo's
    attribute boxes). A line splits at its first separator, so a value may hold the others
    (``屏幕比例=16:9``); an attribute given twice keeps both values, joined with ", "."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInputError(f"the attributes are not valid JSON: {e.msg}") from None
        if not isinstance(value, dict):
            raise InvalidInputError("the attributes must be a JSON object of attribute -> value")
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in text.replace(";", "\n").splitlines():
        if not part.strip():
            continue
        at = min((i for i in (part.find(sep) for sep in SPEC_SEPARATORS) if i >= 0), default=-1)
        key, value = part[:at].strip(), part[at + 1:].strip()
        if at < 0 or not key:
            raise InvalidInputError(f"attribute line {part.strip()!r} is not 'attribute: value' (or "
                                    f"'attribute=value'); separate attributes with ';' or new lines")
        values = [v for v in out.get(key, "").split(", ") if v]
        out[key] = ", ".join(values if value in values or not value else values + [value])
    return out


@dataclass(frozen=True)
class TextField:
    """One string input."""

    name: str
    caption: str
    #: an option (rendered before the answer-format line, shared by the items of a call) or an
    #: item's own input
    option: bool = False
    #: a long text (a source text or context): ``truncate`` cuts it to fit the model's context,
    #: and the demo gives it a box of several lines
    long: bool = False

    #: how the input is written on the command line (its ``--help``)
    cli_format = "text"
    #: placeholder telling people how to type it in the demo
    form_hint = ""

    @property
    def flag(self) -> str:
        """Its command-line option (``--product-a``)."""
        return "--" + self.name.replace("_", "-")

    def normalize(self, value: Any) -> str:
        """Checked and normalised (``validation.py``); an empty value is an ``InvalidInputError``."""
        return validation.clean_text(self.name, value)

    def render(self, value: Any) -> str:
        """The value as the prompt shows it after its caption."""
        return str(value)

    def from_text(self, text: str) -> Any:
        """A value typed on the command line or in a CSV cell."""
        return text

    def from_form(self, raw: str) -> Any:
        """A value typed in the demo's form (already stripped, not blank)."""
        return raw

    def to_form(self, value: Any) -> str:
        """The inverse of ``from_form``."""
        return str(value)

    def from_cell(self, value: str) -> Any:
        """A cell of a table uploaded to the demo's batch tab."""
        return value

    def from_prompt(self, value: str) -> Any:
        """The value read back from its rendered prompt line (one line)."""
        return value

    def request_type(self) -> tuple[Any, str]:
        """(Python type, what the description adds) of the field in an HTTP request body."""
        return str, ""

    @property
    def form_lines(self) -> int:
        """Lines of its box in the demo."""
        return 3 if self.long else 1


@dataclass(frozen=True)
class ListField(TextField):
    """A list of strings: a list, or one string of items separated by ``separator``."""

    one_a_line: bool = False      # items may hold commas: one a line in the prompt and the forms
    duplicates: bool = False      # items are text, not options: repeats allowed (reviews)
    separator: str = ","          # between items typed on the command line or in a CSV cell
    item: str = "item"            # what one item is called (demo placeholder)

    @property
    def cli_format(self) -> str:  # type: ignore[override]
        if self.separator != ",":
            return f"{self.name} separated by '{self.separator}'; a {self.item} may contain commas"
        return "comma-separated list"

    @property
    def form_hint(self) -> str:  # type: ignore[override]
        return f"one {self.item} per line" if self.one_a_line else "comma-separated"

    def normalize(self, value: Any) -> list[str]:
        return validation.clean_options(self.name, value, allow_duplicates=self.duplicates)

    def render(self, value: Any) -> str:
        if self.one_a_line:  # items may contain commas: one a line
            return "".join(f"\n- {r}" for r in value)
        return ", ".join(value)

    def from_text(self, text: str) -> Any:
        # a comma-separated string is split by ``normalize`` (one rule for every caller)
        return text.split(self.separator) if self.separator != "," else text

    def from_form(self, raw: str) -> Any:
        if self.one_a_line:
            return [r for r in (ln.strip() for ln in raw.splitlines()) if r]
        return [v.strip() for v in raw.split(",")]

    def to_form(self, value: Any) -> str:
        return ("\n" if self.one_a_line else ", ").join(value)

    def from_cell(self, value: str) -> Any:
        if self.one_a_line:  # items may hold commas: one a line, or "||"-separated
            sep = "\n" if "\n" in value else REVIEW_SEPARATOR
            return [r.strip() for r in value.split(sep) if r.strip()]
        return value

    def from_prompt(self, value: str) -> Any:
        return value.split(", ")

    def request_type(self) -> tuple[Any, str]:
        return Union[list[str], str], " (a list of strings, or one comma-separated string)"

    @property
    def form_lines(self) -> int:
        return 3 if self.one_a_line else 1


@dataclass(frozen=True)
class MappingField(TextField):
    """Attribute -> value pairs."""

    cli_format = 'JSON object or "key=value;key=value"'
    form_hint = "one 'attribute: value' per line"

    def normalize(self, value: Any) -> dict[str, str]:
        return validation.clean_mapping(self.name, value)

    def render(self, value: Any) -> str:
        return "; ".join(f"{k}: {v}" for k, v in value.items())

    def from_text(self, text: str) -> Any:
        return parse_specs(text)

    def from_prompt(self, value: str) -> Any:
        return parse_specs(value)

    def from_form(self, raw: str) -> Any:
        return parse_specs(raw)

    def to_form(self, value: Any) -> str:
        return "\n".join(f"{k}: {v}" for k, v in value.items())

    def from_cell(self, value: str) -> Any:
        return parse_specs(value)

    def request_type(self) -> tuple[Any, str]:
        return dict[str, str], " (an object of attribute -> value)"

    form_lines = 3


FieldSpec = Union[TextField, ListField, MappingField]

_SPECS: tuple[FieldSpec, ...] = (
    # options: the closed sets an answer is chosen from (rendered first, shared by a call's items)
    ListField("types", "Entity types", option=True),
    ListField("labels", "Candidate labels", option=True),
    ListField("attributes", "Attributes", option=True),
    ListField("candidates", "Candidates", option=True, one_a_line=True, item="candidate"),
    # an item's own inputs, in rendering order; the source text last
    TextField("type", "Entity type"),
    TextField("attribute", "Attribute"),
    TextField("aspect", "Aspect"),
    TextField("span", "Entity"),
    TextField("value", "Value"),
    TextField("query", "Query"),
    TextField("product", "Product"),
    TextField("product_a", "Product A"),
    TextField("product_b", "Product B"),
    MappingField("specs", "Product attributes"),
    TextField("question", "Question"),
    ListField("reviews", "Reviews", one_a_line=True, duplicates=True, separator=REVIEW_SEPARATOR,
              item="review"),
    TextField("context", "Context", long=True),
    TextField("text", "Text", long=True),
)

#: every input field by name, in prompt order (options first)
FIELDS: dict[str, FieldSpec] = {f.name: f for f in _SPECS}
#: the option fields, in prompt order
OPTION_FIELDS: tuple[str, ...] = tuple(f.name for f in _SPECS if f.option)
#: the item fields, in prompt order
ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in _SPECS if not f.option)


#: the long texts an over-long prompt may cut (``truncate``), in order of preference
LONG_FIELDS: tuple[str, ...] = tuple(f.name for f in _SPECS if f.long)


def render_lines(fields: Mapping[str, Any], names: tuple[str, ...]) -> list[str]:
    """``Caption: value`` lines of the given fields present in ``fields``, in the order of ``names``."""
    return [f"{FIELDS[n].caption}: {FIELDS[n].render(fields[n])}" for n in names if n in fields]


__all__ = ["FIELDS", "FieldSpec", "ITEM_FIELDS", "LONG_FIELDS", "ListField", "MappingField", "OPTION_FIELDS",
           "REVIEW_SEPARATOR", "SPEC_SEPARATORS", "TextField", "parse_specs", "render_lines"]
