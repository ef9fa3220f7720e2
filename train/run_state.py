"""Where a training run stands (``RunState``), what was built for it (``Session``), and how it ended
(``TrainResult``): the plain records the trainer's stages pass to each other."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Tuple

from .config import TrainConfig


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    total_steps: int
    finished: bool
    last_loss: Optional[float]
    val_loss: Optional[float]
    already_finished: bool = False  # --resume of a complete run: nothing was done


@dataclass
class RunState:
    """Where a run stands. ``step``, ``epoch``, ``index`` (next step of the epoch's plan),
    ``tokens_seen`` and the throughput measured so far are saved in every checkpoint; the rest is
    this process's record."""
    step: int = 0
    epoch: int = 0
    index: int = 0
    tokens_seen: int = 0
    last_loss: Optional[float] = None
    val_loss: Optional[float] = None
    stopped_early: bool = False
    bench: List[Tuple[float, int]] = field(default_factory=list)  # (seconds, tokens) per step
    # measured (seconds, tokens, steps) of the earlier processes of a resumed run, up to the checkpoint
    # this one resumed from; saved in every checkpoint so that report.json covers the whole run
    bench_before: Tuple[float, int, int] = (0.0, 0, 0)
    segments: int = 1  # processes that ran this run in turn: 1 + resumes


@dataclass
class Session:
    """What the build stages set up for one run (filled in by ``build_model``, ``load_data`` and
    ``build_optimizer``, in that order, the order the seeded RNG is consumed in)."""
    run_dir: Path
    config: TrainConfig
    accelerator: Any
    cuda: bool
    precision: str
    attn: str
    base_dir: Path
    model: Any  # the peft model as built (before accelerate wraps it)
    tokenizer: Any
    train_set: Any = None
    val_set: Any = None
    first_plan: List[Any] = field(default_factory=list)  # epoch 0's plan
    total_steps: int = 0
    trainable: List[Any] = field(default_factory=list)
    optimizer: Any = None
    scheduler: Any = None
    wrapper: Any = None  # the loss wrapper accelerate prepared (compiled when config.compile)
    peft_model: Any = None  # the peft model inside ``wrapper``

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def world(self) -> int:
        return self.accelerator.num_processes

    @property
    def rank(self) -> int:
        return self.accelerator.process_index

    @property
    def device(self) -> Any:
        return self.accelerator.device

    @property
    def examples(self) -> List[Any]:
        return self.train_set.examples

    @property
    def log_path(self) -> Path:
        return self.run_dir / "log.jsonl"

    def plan(self, epoch: int) -> List[Any]:
        """The steps of ``epoch`` (the same on every process)."""
        from .packing import plan_epoch

        c = self.config
        return plan_epoch(self.examples, c.max_seq_len, seed=c.seed, epoch=epoch,
                          rows_per_device=c.rows_per_device, grad_accum=c.grad_accum,
                          world_size=self.world, window=c.pack_window)
