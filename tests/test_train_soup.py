"""`ecomlm soup`: the soup's update is exactly the weighted sum of the runs' updates; bad inputs refused."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from ecomlm.runtime.errors import InvalidInputError  # noqa: E402
from ecomlm.train.soup import soup_runs  # noqa: E402
from ecomlm.train.trainer import train  # noqa: E402
from corpus_fixtures import write_corpus  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402
from tiny_runs import tiny_config, tiny_training  # noqa: E402


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny runs on one base that learned different updates (other data, seed and rank)."""
    root = tmp_path_factory.mktemp("soup")
    with tiny_training(root):
        base = tiny_model_dir(root / "tiny")
        for name, r, seed in (("a", 8, 1), ("b", 4, 2)):
            train(str(base), write_corpus(root / f"{name}.jsonl", 48, seed), root / name,
                  config=tiny_config(r, max_steps=4, seed=seed), progress=False)
        yield root / "a", root / "b"


def _merged_weights(run):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    info = json.loads((run / "run.json").read_text())
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(info["base_dir"]), run / "adapter")
    return {k: v.detach().clone() for k, v in model.merge_and_unload().state_dict().items()}


def test_soup_update_is_the_weighted_sum_of_the_runs_updates(two_runs, tmp_path):
    from transformers import AutoModelForCausalLM

    from ecomlm.cli.main import main

    a, b = two_runs
    out = tmp_path / "soup"
    assert main(["soup", str(a), str(b), "--weights", "0.7", "0.3", "--out", str(out)]) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["soup"]["weights"] == [0.7, 0.3] and info["soup"]["r"] == 12  # ranks 8 + 4 concatenated
    base = AutoModelForCausalLM.from_pretrained(info["base_dir"]).state_dict()
    wa, wb, ws = _merged_weights(a), _merged_weights(b), _merged_weights(out)
    changed = 0
    for name, w0 in base.items():
        expected = w0 + 0.7 * (wa[name] - w0) + 0.3 * (wb[name] - w0)
        torch.testing.assert_close(ws[name], expected, rtol=0, atol=1e-6)
        changed += int(not torch.equal(wa[name], w0))
    assert changed > 0  # the runs really moved the weights, so the check above has something to check


def test_soup_of_one_run_with_weight_one_and_another_with_zero_is_that_run(two_runs, tmp_path):
    a, b = two_runs
    out = soup_runs([a, b], tmp_path / "soup", weights=[1.0, 0.0])
    wa, ws = _merged_weights(a), _merged_weights(out)
    for name, w in wa.items():
        torch.testing.assert_close(ws[name], w, rtol=0, atol=1e-6)


def test_soup_ships_as_a_gguf_lora(two_runs, tmp_path):
    from gguf import GGUFReader

    from ecomlm.train.ship import ship_run

    soup = soup_runs(list(two_runs), tmp_path / "soup")
    dest = ship_run(soup, tmp_path / "shipped")
    reader = GGUFReader(str(dest / "adapter.gguf"))
    ranks = {int(t.shape[1]) for t in reader.tensors if t.name.endswith(".lora_a")}
    assert ranks == {12}, ranks  # gguf-py's shape is (ne0, ne1): lora_a is (n_in, r)


def test_soup_refuses_bad_inputs(two_runs, tmp_path):
    a, b = two_runs
    with pytest.raises(InvalidInputError, match="at least two runs"):
        soup_runs([a], tmp_path / "x")
    with pytest.raises(InvalidInputError, match="one weight per run"):
        soup_runs([a, b], tmp_path / "x", weights=[1.0])
    with pytest.raises(InvalidInputError, match="finite"):
        soup_runs([a, b], tmp_path / "x", weights=[float("nan"), 1.0])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no finished adapter"):
        soup_runs([a, tmp_path / "empty"], tmp_path / "x")
    other = tmp_path / "other"
    other.mkdir()
    (other / "adapter").symlink_to(b / "adapter")
    info = json.loads((b / "run.json").read_text())
    (other / "run.json").write_text(json.dumps(dict(info, base_sha256="0" * 64)))
    with pytest.raises(InvalidInputError, match="different bases"):
        soup_runs([a, other], tmp_path / "x")
    (tmp_path / "taken").mkdir()
    with pytest.raises(InvalidInputError, match="exists"):
        soup_runs([a, b], tmp_path / "taken")
