"""LoRA fine-tuning loop: peft + accelerate, packed rows, chunked loss, exact resume.

``train(...)`` is what ``ecomlm train`` runs. One process trains on CPU or one GPU; the same command
under ``accelerate launch`` or ``torchrun`` trains data-parallel (accelerate's DDP): every process
builds the same step plan and runs its own share of each step's rows.

``train`` runs plain stages in order: ``prepare_run`` (config, resume checks), ``build_model``
(accelerate, base, LoRA), ``load_data``, ``build_optimizer``, ``start_run`` (a checkpoint's
position, or a fresh run folder), ``fit`` (the steps, with ``validate`` and checkpoints) and
``finish`` (adapter, report, curve). ``RunState`` is where the run stands; ``Session`` what was
built for it.

Run folder (``--out``): ``config.yaml``, ``run.json`` (base, data, sizes), ``log.jsonl`` (one line
per step: loss, lr, tokens/s; and val_loss lines), ``checkpoint-NNNNNNN/`` (the latest ``keep``),
and at the end ``adapter/`` (peft adapter + tokenizer), ``report.json`` (throughput, peak memory,
MFU) and ``loss.png``.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Optional, Tuple

from ecomlm.runtime.atomic_io import atomic_dir, atomic_write
from ecomlm.runtime.errors import InvalidInputError
from ecomlm.runtime.layout import corpus_restate

from .config import TrainConfig, config_from_dict, config_to_dict, load_config
from .isolation import check_packing_isolation
from .run_log import append_record, truncate_log
from .run_state import RunState, Session, TrainResult
from .throughput import measured_totals, try_plot, write_report
from .validate import validate
from .warm_start import init_adapter_dir, load_init_adapter

__all__ = ["train", "TrainResult", "RunState", "Session", "prepare_run", "build_model", "load_data",
           "build_optimizer", "start_run", "fit", "validate_run", "finish", "check_packing_isolation",
           "init_adapter_dir", "load_init_adapter"]


def _precision(config: TrainConfig, cuda: bool) -> str:
    if config.precision == "auto":
        return "bf16" if cuda else "fp32"
    if config.precision not in ("bf16", "fp32"):
        raise InvalidInputError(f"precision {config.precision!r}: use auto, bf16 or fp32")
    return config.precision


def _attn_implementation(config: TrainConfig, cuda: bool) -> str:
    if config.attn_implementation != "auto":
        return config.attn_implementation
    if cuda:
        import importlib.util
        if importlib.util.find_spec("flash_attn") is not None:
            return "flash_attention_2"
    return "sdpa"


def train(base: str, data: str | os.PathLike[str], out: str | os.PathLike[str], *,
          val: str | os.PathLike[str] | None = None, config: TrainConfig | None = None,
          resume: bool = False, stop_after: Optional[int] = None, time_limit_s: Optional[float] = None,
          limit_examples: Optional[int] = None, progress: bool = True) -> TrainResult:
    """Fine-tune ``base`` with LoRA on the JSONL corpus ``data``; write the run to ``out``.

    ``resume`` continues from the run's latest checkpoint (with its saved config). ``stop_after``
    (steps) and ``time_limit_s`` end the process early with a checkpoint, as an interruption would,
    without changing the schedule; a later ``resume`` carries on.
    """
    started = time.time()
    run_dir = Path(out)
    config, done = prepare_run(run_dir, config, resume)
    if done is not None:
        return done
    session = build_model(base, run_dir, config, resume=resume)
    load_data(session, data, val, limit_examples=limit_examples, progress=progress)
    build_optimizer(session)
    state = start_run(session, base=base, data=data, val=val, resume=resume)
    deadline = started + time_limit_s if time_limit_s is not None else None
    fit(session, state, stop_after=stop_after, deadline=deadline, progress=progress)
    if not state.stopped_early:
        finish(session, state)
    session.accelerator.end_training()
    return TrainResult(run_dir, state.step, session.total_steps, not state.stopped_early, state.last_loss,
                       state.val_loss)


def prepare_run(run_dir: Path, config: Optional[TrainConfig], resume: bool
                ) -> Tuple[TrainConfig, Optional[TrainResult]]:
    """The run's config (a resume reads the saved one) and, for a resume of a finished run, its
    result (nothing left to do). Refuses a new run over an existing one and a resume of nothing."""
    import yaml

    from .chat_tokens import check_language_weights, check_task_weights, check_tasks
    from .checkpoint import finished_state, latest_checkpoint

    if resume:
        saved = run_dir / "config.yaml"
        if not saved.exists():
            raise InvalidInputError(f"--resume: {run_dir} holds no run (no config.yaml); start it without --resume")
        config = config_from_dict(yaml.safe_load(saved.read_text()))
        done = finished_state(run_dir)
        if done is not None:
            print(f"[train] {run_dir} is finished already (step {done['step']} of {done['total_steps']}, "
                  f"adapter in {run_dir / 'adapter'}); nothing to resume")
            return config, TrainResult(run_dir, done["step"], done["total_steps"], True, None, None, True)
    else:
        config = config or load_config()
        if latest_checkpoint(run_dir) is not None:
            raise InvalidInputError(f"{run_dir} already holds a run; continue it with --resume or choose "
                                    f"another --out")
    check_task_weights(config.task_weights)
    check_tasks(config.tasks)
    check_language_weights(config.language_weights)
    check_language_weights(config.dataset_weights, "dataset_weights")
    return config, None


def build_model(base: str, run_dir: Path, config: TrainConfig, *, resume: bool) -> Session:
    """Accelerate, the seed, the base model (materialised once per machine) and its LoRA adapter
    (warm-started from ``config.init_adapter`` on a fresh run)."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from peft import LoraConfig, get_peft_model

    from ecomlm.source.base import load_base_model, materialize_base

    cuda = torch.cuda.is_available()
    precision = _precision(config, cuda)
    accelerator = Accelerator(mixed_precision="bf16" if precision == "bf16" else "no", cpu=not cuda)
    with accelerator.main_process_first():
        base_dir = materialize_base(base)
    # seeded after materialising: a first-use materialisation draws from torch's RNG (it builds the
    # model before loading weights), which would otherwise give the LoRA init of a machine's first run
    # other values than every rerun of the same recipe
    set_seed(config.seed)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    attn = _attn_implementation(config, cuda)
    model, tokenizer = load_base_model(base_dir, dtype, attn_implementation=attn)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    lora = LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                      target_modules=config.lora_targets, task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    if config.init_adapter and not resume:
        load_init_adapter(model, config.init_adapter)
    return Session(run_dir=run_dir, config=config, accelerator=accelerator, cuda=cuda, precision=precision,
                   attn=attn, base_dir=base_dir, model=model, tokenizer=tokenizer)


def load_data(session: Session, data: str | os.PathLike[str], val: str | os.PathLike[str] | None, *,
              limit_examples: Optional[int] = None, progress: bool = True) -> None:
    """Tokenise the train (and val) corpus; plan epoch 0 and the run's length in steps."""
    from .chat_tokens import load_corpus

    c = session.config
    session.train_set = load_corpus(session.tokenizer, data, c.max_seq_len, limit=limit_examples,
                                    progress=progress and session.main, task_weights=c.task_weights, seed=c.seed,
                                    language_weights=c.language_weights, dataset_weights=c.dataset_weights,
                                    tasks=c.tasks)
    session.val_set = load_corpus(session.tokenizer, val, c.max_seq_len, limit=c.val_max_examples,
                                  progress=False, tasks=c.tasks) if val else None
    session.first_plan = session.plan(0)
    session.total_steps = c.max_steps or max(1, round(c.epochs * len(session.first_plan)))


def build_optimizer(session: Session) -> None:
    """AdamW over the trainable (LoRA) weights, cosine schedule with warm-up, and the loss wrapper,
    prepared by accelerate (and compiled when the recipe asks)."""
    import torch
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    from .loss import PackedCausalLMLoss

    c, cuda = session.config, session.cuda
    warmup = c.warmup_steps if c.warmup_steps is not None else round(c.warmup_ratio * session.total_steps)
    session.trainable = [p for p in session.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(session.trainable, lr=c.lr, betas=tuple(c.betas),
                                  weight_decay=c.weight_decay, fused=cuda or None)
    session.scheduler = get_cosine_with_min_lr_schedule_with_warmup(optimizer, warmup, session.total_steps,
                                                                    min_lr_rate=c.min_lr_ratio)
    wrapper = PackedCausalLMLoss(session.model, c.loss_chunk)
    wrapper, session.optimizer = session.accelerator.prepare(wrapper, optimizer)
    session.peft_model = session.accelerator.unwrap_model(wrapper).model
    session.wrapper = torch.compile(wrapper) if c.compile else wrapper


def start_run(session: Session, *, base: str, data: Any, val: Any, resume: bool) -> RunState:
    """A resume restores the latest checkpoint (weights, optimizer, RNG, position) and cuts the log
    back to it; a fresh run writes ``config.yaml`` and ``run.json`` and checks that packed examples
    cannot see each other."""
    import torch
    import yaml

    from ecomlm.source.base import source_hash, source_path

    from .checkpoint import latest_checkpoint, load_checkpoint

    run_dir, examples, state = session.run_dir, session.examples, RunState()
    if resume:
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            raise InvalidInputError(f"--resume: {run_dir} has no checkpoint yet; start it again without --resume")
        saved = load_checkpoint(ckpt, model=session.peft_model, optimizer=session.optimizer,
                                scheduler=session.scheduler, rank=session.rank)
        state = RunState(step=saved["step"], epoch=saved["epoch"], index=saved["index"],
                         tokens_seen=saved["tokens_seen"],
                         bench_before=tuple(saved.get("bench_measured", (0.0, 0, 0))),  # absent before 2026-12
                         segments=int(saved.get("segments", 1)) + 1)
        if saved.get("n_examples") != len(examples):
            raise InvalidInputError(f"--resume: the corpus changed ({len(examples)} usable examples, "
                                    f"the run had {saved.get('n_examples')}); resume with the same data")
        if session.main:
            truncate_log(session.log_path, state.step)
    elif session.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(run_dir / "config.yaml") as f:
            yaml.safe_dump(config_to_dict(session.config), f, sort_keys=False)
        train_set, src = session.train_set, source_path(base)
        info = {"base": str(base), "base_source": str(src), "base_sha256": source_hash(src),
                "base_dir": str(session.base_dir), "data": str(data), "val": str(val) if val else None,
                "examples": len(examples), "dropped_too_long": train_set.dropped_too_long,
                "dropped_no_answer": train_set.dropped_no_answer, "train_tokens": train_set.n_tokens,
                "examples_per_task": dict(sorted(train_set.per_task.items())),
                "steps_per_epoch": len(session.first_plan), "total_steps": session.total_steps,
                "world_size": session.world, "precision": session.precision, "attn_implementation": session.attn,
                "trainable_params": sum(p.numel() for p in session.trainable),
                "device": torch.cuda.get_device_name() if session.cuda else "cpu",
                "restate": corpus_restate(data)}  # the corpus's prompt layout, shipped as layout.json
        with atomic_write(run_dir / "run.json") as f:
            json.dump(info, f, indent=2)
        if session.log_path.exists():
            session.log_path.unlink()
    if state.step == 0:  # fail loudly if packed examples could see each other
        probe = sorted(range(len(examples)), key=lambda i: len(examples[i]))[:3]
        check_packing_isolation(session.peft_model, [examples[i] for i in probe], session.device,
                                tol=1e-3 if session.precision == "fp32" else 5e-2)
    return state


def validate_run(session: Session) -> Optional[float]:
    """The validation loss of the model as it stands (``None`` without a val corpus)."""
    if session.val_set is None:
        return None
    c = session.config
    return validate(session.wrapper, session.val_set.examples, session.tokenizer.pad_token_id,
                    max_seq_len=c.max_seq_len, rows_per_device=c.rows_per_device, window=c.pack_window,
                    device=session.device, world_size=session.world, rank=session.rank,
                    accelerator=session.accelerator)


def _log_val(session: Session, step: int, value: Optional[float], bar: Any = None) -> None:
    if session.main and value is not None:
        append_record(session.log_path, {"step": step, "val_loss": round(value, 5)})
        if bar is not None:
            bar.write(f"step {step}: val_loss {value:.4f}")


def _save_checkpoint(session: Session, state: RunState) -> None:
    """Every process's RNG, gathered; the main process writes ``checkpoint-<step>``."""
    from accelerate.utils import gather_object

    from .checkpoint import rng_state, save_checkpoint

    rngs = gather_object([rng_state()]) if session.world > 1 else [rng_state()]
    if session.main:
        saved = {"epoch": state.epoch, "index": state.index, "tokens_seen": state.tokens_seen,
                 "n_examples": len(session.examples), "total_steps": session.total_steps,
                 "bench_measured": list(measured_totals(state.bench, state.bench_before)),
                 "segments": state.segments}
        save_checkpoint(session.run_dir, state.step, model=session.peft_model, optimizer=session.optimizer,
                        scheduler=session.scheduler, state=saved, rank_rng=dict(enumerate(rngs)),
                        keep=session.config.keep_checkpoints)
    session.accelerator.wait_for_everyone()


def _train_step(session: Session, step_plan: Any) -> Tuple[float, Optional[Any], float]:
    """One optimizer step over the plan's micro-batches: (loss per target token, grad norm, lr)."""
    import torch

    from .packing import collate

    accelerator, wrapper, world, rank = session.accelerator, session.wrapper, session.world, session.rank
    loss_total = torch.zeros((), device=session.device)
    for k, per_rank in enumerate(step_plan.micro):
        rows = per_rank[rank]
        sync = k == len(step_plan.micro) - 1
        with (nullcontext() if sync or world == 1 else accelerator.no_sync(wrapper)):
            batch = {key: v.to(session.device)
                     for key, v in collate(session.examples, rows, session.tokenizer.pad_token_id).items()}
            loss_sum, _ = wrapper(**batch)
            # normalised by the step's target tokens over all devices; DDP averages over devices
            accelerator.backward(loss_sum * world / max(step_plan.n_targets, 1))
            loss_total += loss_sum.detach()
    c = session.config
    grad_norm = accelerator.clip_grad_norm_(session.trainable, c.max_grad_norm) if c.max_grad_norm else None
    lr = session.scheduler.get_last_lr()[0]
    session.optimizer.step()
    session.scheduler.step()
    session.optimizer.zero_grad(set_to_none=True)
    loss_total = accelerator.reduce(loss_total, reduction="sum")
    return loss_total.item() / max(step_plan.n_targets, 1), grad_norm, lr


def fit(session: Session, state: RunState, *, stop_after: Optional[int] = None,
        deadline: Optional[float] = None, progress: bool = True) -> None:
    """Train from ``state`` to the last step, logging, validating every ``eval_every`` steps and
    saving checkpoints; stop early (with a checkpoint) after ``stop_after`` or past ``deadline``
    (a ``time.time()`` value)."""
    import torch
    from tqdm.auto import tqdm

    c, total_steps = session.config, session.total_steps
    plan = session.first_plan if state.epoch == 0 else session.plan(state.epoch)
    if state.step == 0 and c.eval_every:  # the starting point of the val curve
        _log_val(session, 0, validate_run(session))
    session.wrapper.train()
    bar = tqdm(total=total_steps, initial=state.step, desc="training", unit="step",
               disable=not (progress and session.main), dynamic_ncols=True)
    window_tokens, window_start = 0, time.time()
    while state.step < total_steps:
        if state.index >= len(plan):
            state.epoch, state.index = state.epoch + 1, 0
            plan = session.plan(state.epoch)
        s = plan[state.index]
        t0 = time.time()
        state.last_loss, grad_norm, lr = _train_step(session, s)
        state.step, state.index = state.step + 1, state.index + 1
        state.tokens_seen += s.n_tokens
        if session.cuda:
            torch.cuda.synchronize()
        state.bench.append((time.time() - t0, s.n_tokens))
        window_tokens += s.n_tokens
        bar.update(1)
        if session.main and (state.step % c.log_every == 0 or state.step == total_steps):
            now = time.time()
            tps = window_tokens / max(now - window_start, 1e-9)
            window_tokens, window_start = 0, now
            append_record(session.log_path, {
                "step": state.step, "epoch": state.epoch + state.index / max(len(plan), 1),
                "loss": round(state.last_loss, 5), "lr": lr, "tokens_per_s": round(tps, 1),
                "tokens_seen": state.tokens_seen,
                "grad_norm": None if grad_norm is None else round(float(grad_norm), 4)})
            bar.set_postfix(loss=f"{state.last_loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tps:.0f}")
        if c.eval_every and state.step % c.eval_every == 0 and state.step < total_steps:
            state.val_loss = validate_run(session)
            _log_val(session, state.step, state.val_loss, bar)
        stop = (stop_after is not None and state.step >= stop_after) or (deadline is not None and time.time() > deadline)
        if stop or (c.save_every and state.step % c.save_every == 0) or state.step == total_steps:
            _save_checkpoint(session, state)
        if stop and state.step < total_steps:
            state.stopped_early = True
            break
    bar.close()


def finish(session: Session, state: RunState) -> None:
    """The final validation, then (main process) ``adapter/``, ``report.json`` and ``loss.png``."""
    state.val_loss = validate_run(session)
    if session.main:
        _log_val(session, state.step, state.val_loss)
        with atomic_dir(session.run_dir / "adapter") as tmp:
            session.peft_model.save_pretrained(tmp)
            session.tokenizer.save_pretrained(tmp)
        write_report(session.run_dir, state.bench, session.peft_model, session.examples, session.cuda,
                     session.world, session.precision, state.val_loss, state.last_loss,
                     bench_before=state.bench_before, segments=state.segments)
        try_plot(session.log_path, session.run_dir / "loss.png")
    session.accelerator.wait_for_everyone()
