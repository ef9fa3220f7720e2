"""Checkpoints load without pickle: a crafted pickle is never executed; a torn log line and the
resume of a finished run are handled. Real training runs on a tiny random Llama (CPU)."""
from __future__ import annotations

import json
import os
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from ecomlm.runtime.errors import InvalidInputError  # noqa: E402
from ecomlm.train.checkpoint import latest_checkpoint  # noqa: E402
from ecomlm.train.config import LoraSettings, TrainConfig  # noqa: E402
from ecomlm.train.safe_state import load_state, save_state  # noqa: E402
from ecomlm.train.trainer import train  # noqa: E402
from corpus_fixtures import write_number_corpus  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402
from tiny_runs import tiny_training  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    with tiny_training(root):
        corpus = write_number_corpus(root / "train.jsonl", 64, 0)
        yield {"base": str(tiny_model_dir(root / "tiny")), "train": str(corpus)}


def config(**kw):
    return TrainConfig(**dict(lora=LoraSettings(r=4, alpha=8, dropout=0.0), max_seq_len=64, rows_per_device=2,
                              grad_accum=1, lr=1e-2, warmup_steps=1, eval_every=0, save_every=2,
                              log_every=1, seed=3, **kw))


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_optimizer_scheduler_and_rng_state_round_trip_exactly(tmp_path):
    import numpy as np

    layer = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(layer.parameters(), lr=0.1, betas=(0.8, 0.9))
    layer(torch.randn(5, 4)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5)
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "python": random.getstate(),
             "numpy": np.random.get_state(), "torch": torch.get_rng_state(), "inf": float("inf")}
    save_state(state, tmp_path, "s")
    assert not list(tmp_path.glob("*.pt")) and (tmp_path / "s.json").exists()
    back = load_state(tmp_path, "s")
    assert back["python"] == state["python"] and back["inf"] == float("inf")
    assert back["numpy"][0] == "MT19937" and (back["numpy"][1] == state["numpy"][1]).all()
    assert torch.equal(back["torch"], state["torch"])
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    for k, v in state["optimizer"]["state"].items():  # int keys survive
        for name, t in v.items():
            assert torch.equal(back["optimizer"]["state"][k][name], t)
    opt2 = torch.optim.AdamW(layer.parameters(), lr=0.1)
    opt2.load_state_dict(back["optimizer"])


def _crafted_checkpoint(run, marker) -> None:
    """Turn the run's latest checkpoint into an old-style one whose optimizer.pt is a crafted pickle."""
    ckpt = latest_checkpoint(run)
    for f in ckpt.glob("optimizer.*"):
        f.unlink()
    torch.save({"state": Payload(str(marker)), "param_groups": []}, ckpt / "optimizer.pt")


def test_a_crafted_pickle_in_a_checkpoint_is_not_executed(setup, tmp_path):
    run, marker = tmp_path / "run", tmp_path / "pwned"
    first = train(setup["base"], setup["train"], run, config=config(max_steps=4), stop_after=2, progress=False)
    assert not first.finished and not list(latest_checkpoint(run).glob("*.pt"))  # no pickle written
    _crafted_checkpoint(run, marker)
    with pytest.raises(InvalidInputError, match="not loaded"):
        train(setup["base"], setup["train"], run, resume=True, progress=False)
    assert not marker.exists()


def test_a_torn_log_line_does_not_block_resume(setup, tmp_path):
    run = tmp_path / "run"
    train(setup["base"], setup["train"], run, config=config(max_steps=4), stop_after=2, progress=False)
    with open(run / "log.jsonl", "a") as f:
        f.write('{"step": 3, "loss": 1.2')  # killed in the middle of a write
    result = train(setup["base"], setup["train"], run, resume=True, progress=False)
    assert result.finished and result.step == 4
    steps = [json.loads(x)["step"] for x in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_resume_of_a_finished_run_says_so_and_changes_nothing(setup, tmp_path, capsys):
    run = tmp_path / "run"
    train(setup["base"], setup["train"], run, config=config(max_steps=2), progress=False)
    adapter = run / "adapter" / "adapter_model.safetensors"
    before = (adapter.stat().st_mtime_ns, adapter.read_bytes())
    result = train(setup["base"], setup["train"], run, resume=True, progress=False)
    assert result.finished and result.already_finished and result.step == 2
    assert "finished already" in capsys.readouterr().out
    assert (adapter.stat().st_mtime_ns, adapter.read_bytes()) == before


def test_checkpoints_of_older_versions_still_load_without_unpickling_code(tmp_path):
    import numpy as np

    from ecomlm.train.checkpoint import _read_state, rng_state

    layer = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(layer.parameters())
    layer(torch.randn(2, 3)).sum().backward()
    opt.step()
    rng = rng_state()
    torch.save(opt.state_dict(), tmp_path / "optimizer.pt")  # how older versions wrote them
    torch.save(rng, tmp_path / "rng_0.pt")
    assert _read_state(tmp_path, "optimizer")["param_groups"] == opt.state_dict()["param_groups"]
    back = _read_state(tmp_path, "rng_0")
    assert back["python"] == rng["python"] and (np.asarray(back["numpy"][1]) == rng["numpy"][1]).all()


def test_saving_a_checkpoint_again_never_leaves_the_step_without_one(tmp_path, monkeypatch):
    """A checkpoint of the same step (a resume that reaches it again) is replaced by renames: after
    every deletion during the save a complete checkpoint-NNNNNNN is in place, and a failed save
    leaves the old one as it was and no temp folder behind."""
    import shutil

    from ecomlm.train import checkpoint as ckpt_module
    from ecomlm.train.checkpoint import rng_state, save_checkpoint

    layer = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(layer.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    final = tmp_path / "checkpoint-0000004"

    def save(epoch):
        return save_checkpoint(tmp_path, 4, model=layer, optimizer=opt, scheduler=sched, state={"epoch": epoch},
                               rank_rng={0: rng_state()}, keep=2)

    save(0)
    real_rmtree, seen = shutil.rmtree, []

    def rmtree_then_check(path, *a, **kw):
        real_rmtree(path, *a, **kw)
        seen.append(path)
        assert (final / "state.json").exists() and (final / "trainable.safetensors").exists(), path

    monkeypatch.setattr(shutil, "rmtree", rmtree_then_check)
    save(1)
    assert seen and json.loads((final / "state.json").read_text())["epoch"] == 1

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_module, "save_state", broken)
    with pytest.raises(OSError, match="disk full"):
        save(2)
    assert json.loads((final / "state.json").read_text())["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-0000004"]
