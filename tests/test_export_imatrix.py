"""Importance-matrix quantization (``ecomlm export gguf --imatrix``) and the corpus parity check, on a
tiny random Llama: the matrix names every weight llama.cpp quantizes, really weights its rounding,
survives a save and load, is refused for another model; the check finds an F32 file equal to PyTorch."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.slow

RECORDS = [
    ("Named entity recognition: find the entities of a product title.",
     "List the entities, one per line as type: text.\nText: Lenovo ThinkPad X1 Carbon 14 inch laptop",
     "Brand: Lenovo\nProduct: ThinkPad X1 Carbon"),
    ("Sentiment: say how a review feels.", "Candidate labels: positive, negative\nText: Broke in a week.",
     "negative"),
    ("Question answering: answer from the context.",
     "Question: How long does the battery last?\nContext: The battery lasts 10 hours.", "10 hours"),
    ("Title writing: write a product title.", "Specs: brand: Nike; type: running shoe; size: 10",
     "Nike running shoe, size 10"),
]


def _corpus(path):
    with path.open("w", encoding="utf-8") as f:
        for i in range(12):
            system, user, answer = RECORDS[i % len(RECORDS)]
            f.write(json.dumps({"task": "t", "lang": "en", "messages": [
                {"role": "system", "content": system}, {"role": "user", "content": f"{user} ({i})"},
                {"role": "assistant", "content": answer}]}) + "\n")
    return path


@pytest.fixture(scope="module")
def exported(tiny_dir, tmp_path_factory):
    from ecomlm.quantize.export import ExportOptions, export_gguf

    root = tmp_path_factory.mktemp("imatrix")
    corpus = _corpus(root / "corpus.jsonl")
    out = root / "out"
    opts = ExportOptions(parity_prompts=2, parity_tokens=8, progress=False, imatrix=corpus, imatrix_records=8)
    data = export_gguf(str(tiny_dir), out, ["f32", "q5_0"], opts)
    return out, data, corpus


def _weights(path):
    from gguf import GGUFReader
    return {t.name: t for t in GGUFReader(str(path)).tensors if len(t.shape) == 2}


def test_the_matrix_names_every_weight_llama_cpp_quantizes_with_its_input_width(exported):
    from ecomlm.quantize.imatrix import ImportanceMatrix, missing_tensors

    out, data, _ = exported
    matrix = ImportanceMatrix.load(out / "imatrix.gguf")
    f32 = out / next(a["files"][0]["path"] for a in data["artifacts"] if a["name"] == "F32")
    assert missing_tensors(matrix, f32) == []
    for name, tensor in _weights(f32).items():
        if name != "token_embd.weight":
            assert matrix.entries[name].shape == (int(tensor.shape[0]),)  # gguf-py: shape[0] is the row width
            assert (matrix.entries[name] > 0).all()
    assert matrix.n_tokens > 8 * 10
    assert data["imatrix"]["tensors"] == len(matrix.entries)
    assert data["imatrix"]["sha256"] == matrix.sha256()
    q5 = next(a for a in data["artifacts"] if a["name"] == "Q5_0")
    assert q5["quantization"]["imatrix"]["sha256"] == matrix.sha256()
    assert next(a for a in data["artifacts"] if a["name"] == "F32")["quantization"]["imatrix"] is None


def test_a_saved_matrix_loads_back_equal(exported, tmp_path):
    from ecomlm.quantize.imatrix import ImportanceMatrix

    out, _, _ = exported
    matrix = ImportanceMatrix.load(out / "imatrix.gguf")
    matrix.save(tmp_path / "again.gguf")
    again = ImportanceMatrix.load(tmp_path / "again.gguf")
    assert again.sha256() == matrix.sha256() and again.n_tokens == matrix.n_tokens
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_matrix_lowers_the_rounding_error_it_weights(exported, tmp_path):
    """Quantized with a matrix that makes a few columns matter most, Q5_0 rounds those columns more
    finely: the error weighted by the matrix is lower than without it, on every weight tensor."""
    from ecomlm.quantize.gguf_export import quantize
    from ecomlm.quantize.imatrix import ImportanceMatrix
    from gguf import dequantize

    out, data, _ = exported
    f32 = out / next(a["files"][0]["path"] for a in data["artifacts"] if a["name"] == "F32")
    weights = {n: t for n, t in _weights(f32).items() if n != "token_embd.weight"}
    rng = np.random.default_rng(0)
    skewed = ImportanceMatrix.from_means({n: np.exp(3 * rng.standard_normal(int(t.shape[0])))
                                          for n, t in weights.items()}, dataset="skewed")
    quantize(f32, tmp_path / "plain.gguf", "q5_0")
    quantize(f32, tmp_path / "weighted.gguf", "q5_0", imatrix=skewed)
    plain, weighted = _weights(tmp_path / "plain.gguf"), _weights(tmp_path / "weighted.gguf")
    for name, tensor in weights.items():
        w = np.array(tensor.data, dtype=np.float32)
        errors = [(skewed.entries[name] * (dequantize(q[name].data, q[name].tensor_type) - w) ** 2).sum()
                  for q in (plain, weighted)]
        assert errors[1] < errors[0], name


def test_a_matrix_of_another_model_is_refused_by_name(tiny_dir, tmp_path):
    from ecomlm.quantize.export import ExportOptions, export_gguf
    from ecomlm.quantize.imatrix import ImportanceMatrix
    from ecomlm.runtime.errors import InvalidInputError

    other = tmp_path / "other.gguf"
    ImportanceMatrix.from_means({"blk.0.attn_q.weight": np.ones(32)}, dataset="x").save(other)
    opts = ExportOptions(parity=False, progress=False, imatrix=str(other))  # a str, as Python callers pass
    with pytest.raises(InvalidInputError, match="made for another model"):
        export_gguf(str(tiny_dir), tmp_path / "out", ["f16", "q8_0"], opts)
    assert not (tmp_path / "out").exists()


def test_corpus_parity_finds_f32_equal_to_pytorch_and_q5_0_further(exported, tiny_dir):
    from ecomlm.quantize.corpus_parity import compare_files
    from ecomlm.source.corpus import sample_corpus

    out, data, corpus = exported
    files = [out / next(a["files"][0]["path"] for a in data["artifacts"] if a["name"] == n) for n in ("F32", "Q5_0")]
    reference, f32, q5 = compare_files(tiny_dir, files, sample_corpus(corpus, 6, "en"), progress=False)
    assert reference.positions == f32.positions == q5.positions > 6
    assert f32.top1_vs_reference == 1.0 and f32.mean_kl < 1e-4
    assert f32.answer_token_accuracy == reference.answer_token_accuracy
    assert q5.mean_kl > f32.mean_kl


def test_the_command_line_names_a_missing_matrix_file_and_writes_nothing(tiny_dir, tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ecomlm.cli", "export", "gguf", str(tiny_dir), "--out",
                          str(tmp_path / "out"), "--quant", "q8_0", "--imatrix", str(tmp_path / "nope.jsonl")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "--imatrix" in out.stderr and "no such file" in out.stderr
    assert not (tmp_path / "out").exists()
