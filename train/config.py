"""Training settings: one dataclass, loaded from a YAML recipe (train/recipes/*.yaml) plus CLI overrides."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from ecomlm.runtime.errors import InvalidInputError

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
DEFAULT_RECIPE = "smollm2-135m-lora"
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraSettings:
    """peft LoRA settings. ``target_modules: all-linear`` adapts every linear projection but the head."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: Any = "all-linear"


@dataclass
class TrainConfig:
    """Everything a run needs besides its data and base; saved as ``config.yaml`` in the run folder."""

    lora: LoraSettings = field(default_factory=LoraSettings)
    max_seq_len: int = 2048          # packed row length; longer examples are dropped (and counted)
    rows_per_device: int = 8         # packed rows in one micro-batch on one device
    grad_accum: int = 1              # micro-batches per optimizer step
    epochs: float = 1.0
    max_steps: Optional[int] = None  # overrides epochs when set
    lr: float = 2e-4
    min_lr_ratio: float = 0.1        # cosine decays to lr * min_lr_ratio
    warmup_ratio: float = 0.03
    warmup_steps: Optional[int] = None
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    precision: str = "auto"          # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32
    gradient_checkpointing: bool = False
    attn_implementation: str = "auto"  # auto (sdpa; flash_attention_2 when installed on GPU) | sdpa | eager | ...
    compile: bool = False
    loss_chunk: int = 2048           # assistant positions per chunk of the chunked cross-entropy
    pack_window: int = 2000          # examples packed together (first-fit decreasing) after shuffling
    task_weights: Dict[str, float] = field(default_factory=dict)  # {task: weight}; repeats (>1) or thins (<1)
    language_weights: Dict[str, float] = field(default_factory=dict)  # {lang: weight}, times the task weight
    dataset_weights: Dict[str, float] = field(default_factory=dict)  # {corpus dataset: weight}, times both
    tasks: List[str] = field(default_factory=list)  # only these tasks (train and val); empty: all (a specialist)
    init_adapter: Optional[str] = None  # warm start: a peft adapter folder (same LoRA shape), or 'default'
    eval_every: int = 100            # validation loss every N optimizer steps (0: only at the end)
    val_max_examples: int = 512
    save_every: int = 100            # checkpoint every N optimizer steps
    keep_checkpoints: int = 2
    log_every: int = 1
    seed: int = 1234

    @property
    def lora_targets(self) -> List[str] | str:
        t = self.lora.target_modules
        return ALL_LINEAR if t in ("all-linear", None) else t


def _from_mapping(cls: type, data: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidInputError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        if name == "lora" and isinstance(value, Mapping):
            value = _from_mapping(LoraSettings, value, f"{where}: lora")
        kwargs[name] = value
    return cls(**kwargs)


def recipe_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A recipe file: a path, or the name of one in train/recipes/ (without ``.yaml``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = RECIPES_DIR / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    names = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
    raise InvalidInputError(f"recipe {str(name_or_path)!r} not found; give a YAML file or one of {names}")


def load_config(recipe: str | os.PathLike[str] | None = None, **overrides: Any) -> TrainConfig:
    """The recipe (default: the shipped SmolLM2-135M one) with ``overrides`` (None values ignored)."""
    import yaml

    path = recipe_path(recipe or DEFAULT_RECIPE)
    data = yaml.safe_load(path.read_text()) or {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return _from_mapping(TrainConfig, data, str(path))


def config_to_dict(config: TrainConfig) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    return _from_mapping(TrainConfig, data, "saved config")
