"""LoRA fine-tuning loop: peft + accelerate, packed rows, chunked loss, exact resume.

``train(...)`` is what ``ecomlm train`` runs. One process trains on CPU or one GPU; the same command
under ``accelerate launch`` or ``torchrun`` trains data-parallel (accelerate's DDP): every process
builds the same step plan and runs its own share of each step's rows.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from ecomlm.runtime.atomic_io import atomic_dir, atomic_write
from ecomlm.runtime.errors import InvalidInputError

from .config import TrainConfig, config_from_dict, config_to_dict, load_config

# Dense bf16 tensor-core peak of common cards (FLOP/s), for MFU. Matched on the device name.
PEAK_BF16_FLOPS = {"H200": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
                   "L40S": 362e12, "A10G": 125e12, "L4": 121e12, "RTX 4090": 165e12}


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    total_steps: int
    finished: bool
    last_loss: Optional[float]
    val_loss: Optional[float]
    already_finished: bool = False  # --resume of a complete run: nothing was done


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


def check_packing_isolation(model: Any, examples: List[Any], device: Any, tol: float) -> float:
    """Hidden states of examples packed in one row vs each alone; raise if they differ beyond ``tol``.

    Returns the largest relative difference (0 up to float noise when isolation holds).
    """
    import torch

    from .loss import causal_lm_parts
    from .packing import collate

    decoder, _ = causal_lm_parts(model)
    was_training = model.training
    model.eval()
    worst = 0.0
    with torch.no_grad():
        packed = collate(examples, [list(range(len(examples)))], 0)
        hidden = decoder(input_ids=packed["input_ids"].to(device), position_ids=packed["position_ids"].to(device),
                         attention_mask=None, use_cache=False).last_hidden_state[0].float()
        at = 0
        for i, e in enumerate(examples):
            alone = collate(examples, [[i]], 0)
            h = decoder(input_ids=alone["input_ids"].to(device), position_ids=alone["position_ids"].to(device),
                        attention_mask=None, use_cache=False).last_hidden_state[0].float()
            part = hidden[at:at + len(e)]
            worst = max(worst, ((part - h).norm(dim=-1) / h.norm(dim=-1).clamp_min(1e-6)).max().item())
            at += len(e)
    model.train(was_training)
    if worst > tol:
        raise RuntimeError(f"packed examples influence each other (relative hidden-state difference "
                           f"{worst:.3g} > {tol}): this transformers version / attention kernel does not "
                           f"honour position-id resets; set attn_implementation to sdpa or flash_attention_2")
    return worst


def _flops_per_token(config_hf: Any, mean_len: float) -> float:
    """Model FLOPs per trained token (PaLM convention): 6 x matmul params + attention."""
    h, layers = config_hf.hidden_size, config_hf.num_hidden_layers
    heads, kv = config_hf.num_attention_heads, getattr(config_hf, "num_key_value_heads", config_hf.num_attention_heads)
    head_dim = getattr(config_hf, "head_dim", None) or h // heads
    inter, vocab = config_hf.intermediate_size, config_hf.vocab_size
    per_layer = h * heads * head_dim * 2 + h * kv * head_dim * 2 + 3 * h * inter
    matmul_params = layers * per_layer + vocab * h
    return 6 * matmul_params + 6 * layers * heads * head_dim * mean_len  # causal: half of 12*L*d*T


def _peak_flops(device_name: str) -> Optional[float]:
    for key, value in PEAK_BF16_FLOPS.items():
        if key in device_name:
            return value
    return None


def _peak_memory_gb(cuda: bool) -> float:
    import torch
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def init_adapter_dir(ref: str) -> Path:
    """The peft adapter folder a warm start reads: ``default`` (the shipped adapter) or a folder
    (a run folder's ``adapter/`` is found too)."""
    if ref == "default":
        from ecomlm.runtime.model_ref import DEFAULT_ADAPTER
        path = DEFAULT_ADAPTER.parent / "adapter"
    else:
        path = Path(ref)
        if (path / "adapter" / "adapter_model.safetensors").exists():
            path = path / "adapter"
    if not (path / "adapter_model.safetensors").exists():
        raise InvalidInputError(f"init_adapter: {str(path)!r} holds no adapter_model.safetensors; give a "
                                f"peft adapter folder, a run folder, or 'default'")
    return path


def load_init_adapter(model: Any, ref: str) -> int:
    """Copy a saved LoRA adapter's weights into ``model`` (a fresh peft model of the same shape);
    return how many tensors were loaded. Raises when a tensor is missing or has another shape."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = init_adapter_dir(ref)
    state = load_file(str(path / "adapter_model.safetensors"))
    own = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    try:
        result = set_peft_model_state_dict(model, {k: v.to(torch.float32) for k, v in state.items()})
    except RuntimeError as e:  # a tensor of another shape (another r)
        raise InvalidInputError(f"init_adapter {str(path)!r} does not fit this LoRA (r, targets): "
                                f"{str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e}") from None
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    unexpected = list(getattr(result, "unexpected_keys", []))
    if missing or unexpected or len(state) != len(own):
        raise InvalidInputError(f"init_adapter {str(path)!r} does not fit this LoRA (r, targets): "
                                f"{len(missing)} tensors missing, {len(unexpected)} unexpected")
    return len(state)


def _log(path: Path, record: Dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _log_step(line: str) -> Optional[int]:
    """The step of a log line, or ``None`` for a torn line (a kill in the middle of its write)."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def _truncate_log(path: Path, step: int) -> None:
    if not path.exists():
        return
    keep = [line for line in path.read_text(errors="replace").splitlines()
            if (s := _log_step(line)) is not None and s <= step]
    with atomic_write(path) as f:
        f.write("".join(line + "\n" for line in keep))


def train(base: str, data: str | os.PathLike[str], out: str | os.PathLike[str], *,
          val: str | os.PathLike[str] | None = None, config: TrainConfig | None = None,
          resume: bool = False, stop_after: Optional[int] = None, time_limit_s: Optional[float] = None,
          limit_examples: Optional[int] = None, progress: bool = True) -> TrainResult:
    """Fine-tune ``base`` with LoRA on the JSONL corpus ``data``; write the run to ``out``.

    ``resume`` continues from the run's latest checkpoint (with its saved config). ``stop_after``
    (steps) and ``time_limit_s`` end the process early with a checkpoint, as an interruption would,
    without changing the schedule; a later ``resume`` carries on.
    """
    import torch
    import yaml
    from accelerate import Accelerator
    from accelerate.utils import gather_object, set_seed
    from peft import LoraConfig, get_peft_model
    from tqdm.auto import tqdm
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    from .base_model import load_base_model, materialize_base, source_hash, _source_path
    from .chat_tokens import check_task_weights, load_corpus
    from .checkpoint import finished_state, latest_checkpoint, load_checkpoint, rng_state, save_checkpoint
    from .loss import PackedCausalLMLoss
    from .packing import collate, plan_epoch

    started = time.time()
    run_dir = Path(out)
    cuda = torch.cuda.is_available()
    if resume:
        saved = run_dir / "config.yaml"
        if not saved.exists():
            raise InvalidInputError(f"--resume: {run_dir} holds no run (no config.yaml); start it without --resume")
        config = config_from_dict(yaml.safe_load(saved.read_text()))
        done = finished_state(run_dir)
        if done is not None:
            print(f"[train] {run_dir} is finished already (step {done['step']} of {done['total_steps']}, "
                  f"adapter in {run_dir / 'adapter'}); nothing to resume")
            return TrainResult(run_dir, done["step"], done["total_steps"], True, None, None, True)
    else:
        config = config or load_config()
        if latest_checkpoint(run_dir) is not None:
            raise InvalidInputError(f"{run_dir} already holds a run; continue it with --resume or choose "
                                    f"another --out")
    check_task_weights(config.task_weights)
    precision = _precision(config, cuda)
    accelerator = Accelerator(mixed_precision="bf16" if precision == "bf16" else "no", cpu=not cuda)
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index
    set_seed(config.seed)

    with accelerator.main_process_first():
        base_dir = materialize_base(base)
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

    train_set = load_corpus(tokenizer, data, config.max_seq_len, limit=limit_examples, progress=progress and main,
                            task_weights=config.task_weights, seed=config.seed)
    val_set = load_corpus(tokenizer, val, config.max_seq_len, limit=config.val_max_examples,
                          progress=False) if val else None
    examples = train_set.examples

    def epoch_plan(epoch: int):
        return plan_epoch(examples, config.max_seq_len, seed=config.seed, epoch=epoch,
                          rows_per_device=config.rows_per_device, grad_accum=config.grad_accum,
                          world_size=world, window=config.pack_window)

    plan = epoch_plan(0)
    steps_per_epoch = len(plan)
    total_steps = config.max_steps or max(1, round(config.epochs * steps_per_epoch))
    warmup = config.warmup_steps if config.warmup_steps is not None else round(config.warmup_ratio * total_steps)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, betas=tuple(config.betas),
                                  weight_decay=config.weight_decay, fused=cuda or None)
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(optimizer, warmup, total_steps,
                                                            min_lr_rate=config.min_lr_ratio)
    wrapper = PackedCausalLMLoss(model, config.loss_chunk)
    wrapper, optimizer = accelerator.prepare(wrapper, optimizer)
    peft_model = accelerator.unwrap_model(wrapper).model
    if config.compile:
        wrapper = torch.compile(wrapper)
    device = accelerator.device

    log_path = run_dir / "log.jsonl"
    step, epoch, index = 0, 0, 0
    tokens_seen = 0
    if resume:
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            raise InvalidInputError(f"--resume: {run_dir} has no checkpoint yet; start it again without --resume")
        state = load_checkpoint(ckpt, model=peft_model, optimizer=optimizer, scheduler=scheduler, rank=rank)
        step, epoch, index, tokens_seen = state["step"], state["epoch"], state["index"], state["tokens_seen"]
        if state.get("n_examples") != len(examples):
            raise InvalidInputError(f"--resume: the corpus changed ({len(examples)} usable examples, "
                                    f"the run had {state.get('n_examples')}); resume with the same data")
        if main:
            _truncate_log(log_path, step)
    elif main:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(run_dir / "config.yaml") as f:
            yaml.safe_dump(config_to_dict(config), f, sort_keys=False)
        src = _source_path(base)
        info = {"base": str(base), "base_source": str(src), "base_sha256": source_hash(src),
                "base_dir": str(base_dir), "data": str(data), "val": str(val) if val else None,
                "examples": len(examples), "dropped_too_long": train_set.dropped_too_long,
                "dropped_no_answer": train_set.dropped_no_answer, "train_tokens": train_set.n_tokens,
                "examples_per_task": dict(sorted(train_set.per_task.items())),
                "steps_per_epoch": steps_per_epoch, "total_steps": total_steps, "world_size": world,
                "precision": precision, "attn_implementation": attn,
                "trainable_params": sum(p.numel() for p in trainable),
                "device": torch.cuda.get_device_name() if cuda else "cpu"}
        with atomic_write(run_dir / "run.json") as f:
            json.dump(info, f, indent=2)
        if log_path.exists():
            log_path.unlink()
    if epoch != 0:
        plan = epoch_plan(epoch)

    if step == 0:  # fail loudly if packed examples could see each other
        probe = sorted(range(len(examples)), key=lambda i: len(examples[i]))[:3]
        check_packing_isolation(peft_model, [examples[i] for i in probe], device,
                                tol=1e-3 if precision == "fp32" else 5e-2)

    def run_rows(rows, n_targets_step: int, backward: bool):
        batch = {k: v.to(device) for k, v in collate(examples, rows, tokenizer.pad_token_id).items()}
        loss_sum, n = wrapper(**batch)
        if backward:
            # normalised by the step's target tokens over all devices; DDP averages over devices
            accelerator.backward(loss_sum * world / max(n_targets_step, 1))
        return loss_sum.detach()

    def validate() -> Optional[float]:
        if val_set is None:
            return None
        vplan = plan_epoch(val_set.examples, config.max_seq_len, seed=0, epoch=0,
                           rows_per_device=config.rows_per_device, grad_accum=1, world_size=world,
                           drop_last=False, window=config.pack_window)
        wrapper.eval()
        total = torch.zeros(2, device=device, dtype=torch.float64)
        with torch.no_grad(), accelerator.autocast():
            for s in vplan:
                rows = s.micro[0][rank]
                if rows:
                    batch = {k: v.to(device) for k, v in collate(val_set.examples, rows, tokenizer.pad_token_id).items()}
                    loss_sum, n = wrapper(**batch)
                    total += torch.stack([loss_sum.double(), n.double()])
        wrapper.train()
        total = accelerator.reduce(total, reduction="sum")
        return (total[0] / total[1]).item()

    def checkpoint_now() -> None:
        rngs = gather_object([rng_state()]) if world > 1 else [rng_state()]
        if main:
            state = {"epoch": epoch, "index": index, "tokens_seen": tokens_seen, "n_examples": len(examples),
                     "total_steps": total_steps}
            save_checkpoint(run_dir, step, model=peft_model, optimizer=optimizer, scheduler=scheduler,
                            state=state, rank_rng=dict(enumerate(rngs)), keep=config.keep_checkpoints)
        accelerator.wait_for_everyone()

    if step == 0 and config.eval_every:  # the starting point of the val curve
        start_val = validate()
        if main and start_val is not None:
            _log(log_path, {"step": 0, "val_loss": round(start_val, 5)})
    wrapper.train()
    bar = tqdm(total=total_steps, initial=step, desc="training", unit="step", disable=not (progress and main),
               dynamic_ncols=True)
    last_loss = val_loss = None
    window_tokens, window_start = 0, time.time()
    bench: List[tuple] = []  # (seconds, tokens) per step, for the report
    stopped_early = False
    while step < total_steps:
        if index >= len(plan):
            epoch, index = epoch + 1, 0
            plan = epoch_plan(epoch)
        s = plan[index]
        t0 = time.time()
        loss_total = torch.zeros((), device=device)
        for k, per_rank in enumerate(s.micro):
            rows = per_rank[rank]
            sync = k == len(s.micro) - 1
            with (nullcontext() if sync or world == 1 else accelerator.no_sync(wrapper)):
                loss_total += run_rows(rows, s.n_targets, backward=True)
        grad_norm = accelerator.clip_grad_norm_(trainable, config.max_grad_norm) if config.max_grad_norm else None
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step, index = step + 1, index + 1
        tokens_seen += s.n_tokens
        loss_total = accelerator.reduce(loss_total, reduction="sum")
        last_loss = loss_total.item() / max(s.n_targets, 1)
        if cuda:
            torch.cuda.synchronize()
        dt = time.time() - t0
        bench.append((dt, s.n_tokens))
        window_tokens += s.n_tokens
        bar.update(1)
        if main and (step % config.log_every == 0 or step == total_steps):
            now = time.time()
            tps = window_tokens / max(now - window_start, 1e-9)
            window_tokens, window_start = 0, now
            record = {"step": step, "epoch": epoch + index / max(len(plan), 1), "loss": round(last_loss, 5),
                      "lr": lr, "tokens_per_s": round(tps, 1), "tokens_seen": tokens_seen,
                      "grad_norm": None if grad_norm is None else round(float(grad_norm), 4)}
            _log(log_path, record)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tps:.0f}")
        if config.eval_every and step % config.eval_every == 0 and step < total_steps:
            val_loss = validate()
            if main and val_loss is not None:
                _log(log_path, {"step": step, "val_loss": round(val_loss, 5)})
                bar.write(f"step {step}: val_loss {val_loss:.4f}")
        out_of_time = time_limit_s is not None and time.time() - started > time_limit_s
        stop = (stop_after is not None and step >= stop_after) or out_of_time
        if stop or (config.save_every and step % config.save_every == 0) or step == total_steps:
            checkpoint_now()
        if stop and step < total_steps:
            stopped_early = True
            break
    bar.close()

    if not stopped_early:
        val_loss = validate()
        if main:
            if val_loss is not None:
                _log(log_path, {"step": step, "val_loss": round(val_loss, 5)})
            with atomic_dir(run_dir / "adapter") as tmp:
                peft_model.save_pretrained(tmp)
                tokenizer.save_pretrained(tmp)
            _write_report(run_dir, bench, peft_model, examples, cuda, world, precision, val_loss, last_loss)
            _try_plot(log_path, run_dir / "loss.png")
        accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(run_dir, step, total_steps, not stopped_early, last_loss, val_loss)


def _try_plot(log_path: Path, out_png: Path) -> None:
    """The loss curve, unless matplotlib is missing (a bare GPU box): the run is done either way, and
    ``python -m ecomlm.train.ship`` (or ``train.report.plot_loss``) draws it later from ``log.jsonl``."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        print(f"[train] matplotlib is not installed: {out_png.name} not drawn (ship draws it from log.jsonl)")
        return
    from .report import plot_loss
    plot_loss(log_path, out_png)


def _write_report(run_dir: Path, bench: List[tuple], model: Any, examples: List[Any], cuda: bool, world: int,
                  precision: str, val_loss: Optional[float], last_loss: Optional[float]) -> Dict[str, Any]:
    """report.json: real tokens/s (after 3 warm-up steps), peak memory, MFU where the card is known."""
    import torch

    measured = bench[3:] if len(bench) > 6 else bench
    seconds = sum(b[0] for b in measured)
    tokens = sum(b[1] for b in measured)
    tps = tokens / seconds if seconds else None
    device = torch.cuda.get_device_name() if cuda else "cpu"
    mean_len = sum(len(e) for e in examples) / max(len(examples), 1)
    fpt = _flops_per_token(model.get_base_model().config, mean_len)
    peak = _peak_flops(device) if cuda and precision == "bf16" else None
    report = {"device": device, "processes": world, "precision": precision,
              "steps_measured": len(measured), "tokens_per_s": round(tps, 1) if tps else None,
              "tokens_per_s_per_device": round(tps / world, 1) if tps else None,
              "peak_memory_gb": round(_peak_memory_gb(cuda), 2),
              "peak_memory_kind": "torch.cuda.max_memory_allocated" if cuda else "process max RSS",
              "model_flops_per_token": fpt,
              "mfu": round(tps * fpt / (peak * world), 4) if tps and peak else None,
              "mfu_note": "6 x matmul params + causal attention per token (PaLM convention), over the "
                          "card's dense bf16 peak; LoRA skips base weight gradients, so hardware FLOPs are ~2/3",
              "final_train_loss": last_loss, "final_val_loss": val_loss}
    with atomic_write(run_dir / "report.json") as f:
        json.dump(report, f, indent=2)
    return report
