"""The LoRA training loop on a tiny random Llama (CPU): the loss falls, and resume is exact."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from ecomlm.train.config import LoraSettings, TrainConfig  # noqa: E402
from ecomlm.train.trainer import train  # noqa: E402
from corpus_fixtures import write_corpus  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402

@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    mp = pytest.MonkeyPatch()
    mp.setenv("ECOMLM_CACHE", str(root / "cache"))  # materialized bases go here, not to ~/.cache
    yield {"base": str(tiny_model_dir(root / "tiny")), "train": write_corpus(root / "train.jsonl", 160, 0),
           "val": write_corpus(root / "val.jsonl", 24, 1)}
    mp.undo()


def config(**kw):
    base = dict(lora=LoraSettings(r=8, alpha=16, dropout=0.1), max_seq_len=128, rows_per_device=2,
                grad_accum=2, lr=2e-2, warmup_steps=1, eval_every=0, save_every=3, log_every=1, seed=7)
    base.update(kw)
    return TrainConfig(**base)


def losses(run):
    return [r["loss"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if "loss" in r]


def test_tiny_llama_loss_falls(setup, tmp_path):
    run = tmp_path / "run"
    result = train(setup["base"], setup["train"], run, val=setup["val"], config=config(max_steps=16),
                   progress=False)
    assert result.finished and result.step == 16
    curve = losses(run)
    assert len(curve) == 16
    assert sum(curve[-3:]) / 3 < 0.8 * curve[0], curve
    assert result.val_loss < curve[0]
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    # `ecomlm val-loss` on the run's adapter is the very number the run logged last (same computation)
    from ecomlm.train.val_loss import val_loss
    assert val_loss(setup["base"], setup["val"], run=run, max_seq_len=128, rows=2) == result.val_loss
    report = json.loads((run / "report.json").read_text())
    assert report["tokens_per_s"] > 0 and report["device"] == "cpu"
    import importlib.util
    if importlib.util.find_spec("matplotlib") is not None:
        assert (run / "loss.png").stat().st_size > 1000
    else:  # a bare GPU box: the run still finishes; ship draws the curve later
        assert not (run / "loss.png").exists()


def test_resume_after_interruption_matches_uninterrupted_run(setup, tmp_path):
    from safetensors.torch import load_file

    cfg = config(max_steps=6)
    straight = tmp_path / "straight"
    train(setup["base"], setup["train"], straight, config=cfg, progress=False)

    split = tmp_path / "split"
    first = train(setup["base"], setup["train"], split, config=cfg, stop_after=4, progress=False)
    assert not first.finished and first.step == 4
    assert (split / "checkpoint-0000004").is_dir() and not (split / "adapter").exists()
    # an interruption after step 4: the log may hold steps the checkpoint does not; resume drops them
    with open(split / "log.jsonl", "a") as f:
        f.write(json.dumps({"step": 5, "loss": 123.0}) + "\n")
    second = train(setup["base"], setup["train"], split, resume=True, progress=False)
    assert second.finished and second.step == 6

    assert losses(split) == losses(straight)
    a = load_file(str(straight / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(split / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6)
    assert any(a[n].abs().sum() > 0 for n in a if "lora_B" in n)  # the adapter really trained
    # report.json measures the whole run, both processes, not only the steps after the resume
    straight_report = json.loads((straight / "report.json").read_text())
    split_report = json.loads((split / "report.json").read_text())
    assert (straight_report["steps_measured"], straight_report["segments"]) == (6, 1)
    assert (split_report["steps_measured"], split_report["segments"]) == (6, 2)


def test_a_first_run_that_materialises_the_base_equals_a_rerun(setup, tmp_path, monkeypatch):
    """Materialising a base on first use builds a model and so draws from torch's RNG; the seed is set
    after it, so a machine's first run and every rerun of the recipe start from the same LoRA init."""
    monkeypatch.setenv("ECOMLM_CACHE", str(tmp_path / "fresh-cache"))  # nothing materialised yet
    cfg = config(max_steps=3)
    first = tmp_path / "first"
    train(setup["base"], setup["train"], first, config=cfg, progress=False)
    assert any((tmp_path / "fresh-cache").rglob("*.safetensors"))  # this run did materialise it
    rerun = tmp_path / "rerun"
    train(setup["base"], setup["train"], rerun, config=cfg, progress=False)
    assert losses(first) == losses(rerun)


def test_warm_start_begins_where_the_given_adapter_ended(setup, tmp_path):
    """init_adapter loads a trained adapter before step 1: the warm run's first loss is the trained
    run's level, not a fresh adapter's, and an adapter of another shape is refused."""
    from ecomlm.runtime.errors import InvalidInputError

    first = tmp_path / "first"
    train(setup["base"], setup["train"], first, config=config(max_steps=12), progress=False)
    warm = tmp_path / "warm"
    train(setup["base"], setup["train"], warm, config=config(max_steps=1, init_adapter=str(first)),
          progress=False)
    cold = tmp_path / "cold"
    train(setup["base"], setup["train"], cold, config=config(max_steps=1), progress=False)
    assert losses(warm)[0] < 0.5 * losses(cold)[0], (losses(warm), losses(cold))
    assert losses(warm)[0] <= 1.5 * losses(first)[-1]
    with pytest.raises(InvalidInputError, match="does not fit"):
        train(setup["base"], setup["train"], tmp_path / "other", progress=False,
              config=config(max_steps=1, init_adapter=str(first), lora=LoraSettings(r=4, alpha=8)))
