"""Packing isolation, assistant-only targets and the chunked loss (tiny model, no training)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from ecomlm.runtime.errors import InvalidInputError  # noqa: E402
from ecomlm.train.chat_tokens import IGNORE, tokenize_corpus, tokenize_messages  # noqa: E402
from ecomlm.train.loss import PackedCausalLMLoss, chunked_cross_entropy  # noqa: E402
from ecomlm.train.packing import collate, pack_rows, plan_epoch  # noqa: E402
from ecomlm.train.trainer import check_packing_isolation  # noqa: E402
from tiny_models import tiny_model_dir  # noqa: E402

CONVERSATIONS = [
    [{"role": "user", "content": "Extract the brand: Apple iPhone 13 Pro"}, {"role": "assistant", "content": "Brand: Apple"}],
    [{"role": "system", "content": "You label reviews."}, {"role": "user", "content": "The battery is great!"},
     {"role": "assistant", "content": "positive"}, {"role": "user", "content": "Why?"},
     {"role": "assistant", "content": "It praises the battery."}],
    [{"role": "user", "content": "Is the query relevant? Query: red shoes"}, {"role": "assistant", "content": "Yes"}],
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(1)
    path = tiny_model_dir(tmp_path_factory.mktemp("pack") / "m")
    return AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa").eval(), \
        AutoTokenizer.from_pretrained(path)


def test_only_assistant_tokens_carry_loss(tiny):
    _, tok = tiny
    example = tokenize_messages(tok, CONVERSATIONS[1])
    assert len(example.targets) == len(example.input_ids)
    targets = [t for t in example.targets if t != IGNORE]
    # the targeted tokens are exactly the two answers, each closed by the end-of-turn token
    assert tok.decode(targets) == "positive<|im_end|>It praises the battery.<|im_end|>"
    # every target is the next input token (shifted inside the example)
    for t, target in enumerate(example.targets):
        if target != IGNORE:
            assert example.input_ids[t + 1] == target
    assert example.targets[-1] == IGNORE


def test_task_weights_repeat_and_thin_examples_deterministically(tiny):
    _, tok = tiny
    records = [{"task": task, "messages": CONVERSATIONS[i % 3]}
               for i, task in enumerate(["qa", "sentiment", "ner"] * 20)]
    plain = tokenize_corpus(tok, records, 512, progress=False)
    assert plain.per_task == {"qa": 20, "sentiment": 20, "ner": 20}
    weights = {"qa": 3, "sentiment": 0, "ner": 1.5}
    weighted = tokenize_corpus(tok, records, 512, progress=False, task_weights=weights, seed=7)
    assert weighted.per_task["qa"] == 60 and weighted.per_task["sentiment"] == 0
    assert 20 < weighted.per_task["ner"] < 40          # 1 or 2 copies each, drawn per example
    assert len(weighted.examples) == sum(weighted.per_task.values())
    again = tokenize_corpus(tok, records, 512, progress=False, task_weights=weights, seed=7)
    assert again.per_task == weighted.per_task and \
        [e.input_ids for e in again.examples] == [e.input_ids for e in weighted.examples]
    # limit counts the records read, not the copies
    assert tokenize_corpus(tok, records, 512, progress=False, task_weights=weights, limit=3).per_task["qa"] == 3
    with pytest.raises(InvalidInputError, match="unknown task 'qaa'"):
        tokenize_corpus(tok, records, 512, progress=False, task_weights={"qaa": 2})
    with pytest.raises(InvalidInputError, match=">= 0"):
        tokenize_corpus(tok, records, 512, progress=False, task_weights={"qa": -1})


def test_language_weights_multiply_the_task_weights(tiny):
    _, tok = tiny
    records = [{"task": "qa", "lang": lang, "messages": CONVERSATIONS[i % 3]}
               for i, lang in enumerate(["en", "zh"] * 20)]
    out = tokenize_corpus(tok, records, 512, progress=False, language_weights={"en": 0, "zh": 2},
                          task_weights={"qa": 1.5})
    assert out.per_task["qa"] == 60  # 20 zh records x 3 copies (2 x 1.5), no en
    with pytest.raises(InvalidInputError, match=">= 0"):
        tokenize_corpus(tok, records, 512, progress=False, language_weights={"zh": -1})


def test_dataset_weights_multiply_the_task_and_language_weights(tiny):
    _, tok = tiny
    records = [{"task": "qa", "lang": "en", "dataset": name, "messages": CONVERSATIONS[i % 3]}
               for i, name in enumerate(["laptops", "titles"] * 10)]
    out = tokenize_corpus(tok, records, 512, progress=False, dataset_weights={"laptops": 3, "titles": 0},
                          language_weights={"en": 2}, task_weights={"qa": 0.5})
    assert out.per_task["qa"] == 30  # 10 laptop records x 3 copies (3 x 2 x 0.5), no title records
    with pytest.raises(InvalidInputError, match="dataset_weights: titles: .*>= 0"):
        tokenize_corpus(tok, records, 512, progress=False, dataset_weights={"titles": -1})


def test_tasks_keep_only_a_specialists_records(tiny):
    _, tok = tiny
    records = [{"task": task, "messages": CONVERSATIONS[i % 3]}
               for i, task in enumerate(["qa", "sentiment", "ner"] * 5)]
    out = tokenize_corpus(tok, records, 512, progress=False, tasks=["ner", "qa"], task_weights={"qa": 2})
    assert out.per_task == {"qa": 10, "ner": 5}
    # limit counts the kept records only
    assert tokenize_corpus(tok, records, 512, progress=False, tasks=["ner"], limit=2).per_task == {"ner": 2}
    with pytest.raises(InvalidInputError, match="unknown task.*'nerr'"):
        tokenize_corpus(tok, records, 512, progress=False, tasks=["nerr"])


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_logits_alone(tiny, attn):
    model, tok = tiny
    model.set_attn_implementation(attn)
    examples = [tokenize_messages(tok, c) for c in CONVERSATIONS]
    batch = collate(examples, [[0, 1, 2], [2]], tok.pad_token_id)  # second row is padded
    with torch.no_grad():
        # use_cache=False matters: with a KV cache transformers ignores the position-id resets
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        at = 0
        for i, e in enumerate(examples):
            alone = model(input_ids=torch.tensor([e.input_ids])).logits[0]
            torch.testing.assert_close(packed[0, at:at + len(e)], alone, rtol=1e-4, atol=1e-4)
            at += len(e)
        torch.testing.assert_close(packed[1, :len(examples[2])], model(input_ids=torch.tensor(
            [examples[2].input_ids])).logits[0], rtol=1e-4, atol=1e-4)
    assert check_packing_isolation(model, examples, "cpu", tol=1e-3) < 1e-4
    # contamination would be visible: the same rows with one plain position range differ
    flat = torch.arange(batch["input_ids"].shape[1]).expand_as(batch["input_ids"])
    with torch.no_grad():
        leaky = model(input_ids=batch["input_ids"], position_ids=flat, use_cache=False).logits
    n0 = len(examples[0])
    assert (leaky[0, n0:n0 + len(examples[1])] - packed[0, n0:n0 + len(examples[1])]).abs().max() > 1e-2


def test_packed_loss_equals_sum_of_losses_alone(tiny):
    model, tok = tiny
    model.set_attn_implementation("sdpa")
    examples = [tokenize_messages(tok, c) for c in CONVERSATIONS]
    wrapper = PackedCausalLMLoss(model, chunk=3)  # small chunks: several per call
    with torch.no_grad():
        packed, n = wrapper(**collate(examples, [[0, 1, 2]], tok.pad_token_id))
        alone = [wrapper(**collate(examples, [[i]], tok.pad_token_id)) for i in range(3)]
    assert n.item() == sum(e.n_targets for e in examples) == sum(a[1].item() for a in alone)
    torch.testing.assert_close(packed, sum(a[0] for a in alone), rtol=1e-5, atol=1e-4)
    # and equal to the plain HF loss (mean over targets) of each example
    for e, (loss_sum, count) in zip(examples, alone):
        ids = torch.tensor([e.input_ids])
        labels = torch.tensor([[-100] + e.targets[:-1]])  # HF shifts labels itself
        with torch.no_grad():
            ref = model(input_ids=ids, labels=labels).loss
        torch.testing.assert_close(loss_sum / count, ref, rtol=1e-5, atol=1e-5)


def test_chunked_cross_entropy_matches_full_with_gradients():
    torch.manual_seed(0)
    hidden = torch.randn(37, 16, requires_grad=True)
    weight = torch.randn(50, 16, requires_grad=True)
    targets = torch.randint(0, 50, (37,))
    full = torch.nn.functional.cross_entropy(hidden @ weight.T, targets, reduction="sum")
    g_full = torch.autograd.grad(full, [hidden, weight])
    chunked = chunked_cross_entropy(hidden, weight, targets, chunk=8)
    g_chunk = torch.autograd.grad(chunked, [hidden, weight])
    torch.testing.assert_close(chunked, full)
    for a, b in zip(g_chunk, g_full):
        torch.testing.assert_close(a, b)


def test_packing_plan_is_deterministic_and_fits():
    lengths = [5, 17, 3, 30, 12, 8, 25, 1, 9, 14] * 5
    rows = pack_rows(lengths, 32, seed=3, window=20)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= 32 for row in rows)
    assert rows == pack_rows(lengths, 32, seed=3, window=20)
    assert rows != pack_rows(lengths, 32, seed=4, window=20)
    examples = [type("E", (), {"__len__": lambda self, n=n: n, "n_targets": 1})() for n in lengths]
    steps = plan_epoch(examples, 32, seed=3, epoch=0, rows_per_device=2, grad_accum=2, world_size=2)
    for step in steps:
        assert len(step.micro) == 2 and all(len(per_rank) == 2 for per_rank in step.micro)
        assert all(len(rows) == 2 for per_rank in step.micro for rows in per_rank)
