"""Where a training instance's tokens go, per task, under the real chat template; before and after
the compact prompts (task description as the system turn, short format hints).

    ecomlm bench-prompt-tokens --data corpus/train_en.jsonl [--limit 12000] [--tokens-per-s 200]

Each corpus line is rendered with the training tokenizer's chat template, as the trainer does. The
split counts the tokens of each part on its own (so the parts add up to the total only roughly):
``system`` (the system turn's text), ``instruction`` (command and format hint), ``options`` (label,
type, attribute or candidate lists), ``input`` (the item's fields), ``answer``, and ``template``
(what the chat template adds: role headers, end-of-turn tokens, and the default system prompt where
the conversation has none). "before" re-renders the same instances in the layout of the previous
catalog (no system turn, so SmolLM2's template injects its default system prompt; the description
as the first user line; the longer format hints of ``LEGACY_FORMAT_HINTS``).

Typed span answers (one "type: text" per line) are also counted as they would be with the types
grouped ("type: a; b", one line per type), the denser answer format of issue 18: ``answer_grouped``.

Instances per hour = training tokens/s x 3600 / mean tokens per instance (``--tokens-per-s``: the
idle 2-core CPU figure of train/TRAINING.md unless measured otherwise).
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional, Sequence

from ecomlm.runtime import catalog
from ecomlm.runtime.fields import FIELDS, ITEM_FIELDS, OPTION_FIELDS
from ecomlm.runtime.kinds import ANSWER_SPAN, CHOICE, LABEL, LABELS, SPANS, TEXT, TYPED_SPANS, YES_NO

#: The format hints of the catalog before the compact prompts (git history: runtime/catalog.py at c5751f8).
LEGACY_FORMAT_HINTS: dict[str, str] = {
    TYPED_SPANS: 'Write one "type: text" pair per line, the text copied exactly from the input. '
                 'Write "None" if there is nothing to extract.',
    SPANS: 'Write one item per line, copied exactly from the input. Write "None" if there is none.',
    LABEL: "Answer with exactly one of the candidates.",
    LABELS: 'Answer with every candidate that applies, one per line, or "None" if none applies.',
    YES_NO: 'Answer "Yes" or "No".',
    ANSWER_SPAN: 'Answer with a span copied exactly from the context, or "None" if the context '
                 'does not answer the question.',
    CHOICE: "Answer with one of the candidates, copied exactly.",
    TEXT: "",
}
PARTS = ("template", "system", "instruction", "options", "input", "answer")
_OPTION_CAPTIONS = tuple(FIELDS[f].caption + ": " for f in OPTION_FIELDS)
_ITEM_CAPTIONS = tuple(FIELDS[f].caption + ": " for f in ITEM_FIELDS)


def legacy_messages(record: dict) -> list[dict[str, str]]:
    """The same instance in the previous catalog's layout (see the module docstring)."""
    task = catalog.get_task(record["task"])
    system, user, *rest = record["messages"]
    content = user["content"]
    hint = task.kind.hint
    if hint:
        content = content.replace("\n" + hint + "\n", "\n" + LEGACY_FORMAT_HINTS[task.output] + "\n", 1)
    return [{"role": "user", "content": system["content"] + "\n" + content}, *rest]


def split_user(content: str, has_description: bool) -> dict[str, str]:
    """The user message's text by part: description (legacy layout), instruction, options, input."""
    parts: dict[str, list[str]] = defaultdict(list)
    current = "instruction"
    for i, line in enumerate(content.split("\n")):
        if i == 0 and has_description:
            parts["system"].append(line)
            continue
        if current == "input":  # the item's fields come last; their values may span lines
            pass
        elif line.startswith(_OPTION_CAPTIONS):
            current = "options"
        elif line.startswith(_ITEM_CAPTIONS):
            current = "input"
        elif not line.startswith("- "):  # "- item" lines continue a list field
            current = "instruction"
        parts[current].append(line)
    return {k: "\n".join(v) for k, v in parts.items()}


def grouped_answer(answer: str) -> str:
    """A typed span answer with one line per type ("Brand: a\nBrand: b" -> "Brand: a; b")."""
    groups: dict[str, list[str]] = {}
    for line in answer.split("\n"):
        type_, _, text = line.partition(": ")
        groups.setdefault(type_, []).append(text)
    return "\n".join(f"{t}: {'; '.join(texts)}" if texts != [""] else t for t, texts in groups.items())


def token_split(tokenizer: Any, messages: Sequence[dict[str, str]]) -> dict[str, int]:
    """Tokens of each part of one conversation (see the module docstring)."""
    count: Callable[[str], int] = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0
    total = count(tokenizer.apply_chat_template(list(messages), tokenize=False))
    out = dict.fromkeys(PARTS, 0)
    legacy = messages[0]["role"] != "system"
    for m in messages:
        if m["role"] == "system":
            out["system"] += count(m["content"])
        elif m["role"] == "assistant":
            out["answer"] += count(m["content"])
        else:
            for part, text in split_user(m["content"], has_description=legacy).items():
                out[part] += count(text)
    out["template"] = total - sum(out.values())
    out["total"] = total
    return out


def measure(tokenizer: Any, records: Iterable[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """{layout: {task: {part: mean tokens, "n": instances}}}, with an "all" row per layout."""
    sums: dict[str, dict[str, dict[str, float]]] = {"before": {}, "after": {}}
    for record in records:
        if not record["messages"] or record["messages"][0]["role"] != "system":
            raise SystemExit("this corpus was built before the compact prompts; rebuild it with `ecomlm data build`")
        typed = catalog.get_task(record["task"]).output == TYPED_SPANS
        for layout, messages in (("after", record["messages"]), ("before", legacy_messages(record))):
            split = token_split(tokenizer, messages)
            if typed and layout == "after":  # the one assistant turn, regrouped
                grouped = grouped_answer(messages[-1]["content"])
                split["answer_grouped"] = len(tokenizer(grouped, add_special_tokens=False)["input_ids"])
            for key in (record["task"], "all"):
                row = sums[layout].setdefault(key, defaultdict(float))
                row["n"] += 1
                for part, n in split.items():
                    row[part] += n
    return {layout: {task: {k: (v / row["n"] if k != "n" else v) for k, v in row.items()}
                     for task, row in rows.items()} for layout, rows in sums.items()}


def report(means: dict, tokens_per_s: float) -> str:
    """A Markdown table per task (after, with its split; before) and the instances/hour lines."""
    lines = ["| task | n | before | after | " + " | ".join(PARTS) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(PARTS)]
    tasks = sorted(t for t in means["after"] if t != "all") + ["all"]
    for t in tasks:
        a, b = means["after"][t], means["before"][t]
        name = "**all**" if t == "all" else t
        lines.append(f"| {name} | {int(a['n'])} | {b['total']:.1f} | {a['total']:.1f} | "
                     + " | ".join(f"{a[p]:.1f}" for p in PARTS) + " |")
    lines.append("")
    for layout in ("before", "after"):
        row = means[layout]["all"]
        per_hour = tokens_per_s * 3600 / row["total"]
        lines.append(f"- {layout}: {row['total']:.1f} tokens an instance ({row['answer']:.1f} answer tokens) -> "
                     f"{per_hour:,.0f} instances/hour, {per_hour * row['answer']:,.0f} answer tokens/hour "
                     f"at {tokens_per_s:g} training tokens/s")
    ratio = means["before"]["all"]["total"] / means["after"]["all"]["total"]
    lines.append(f"- instances/hour after / before: {ratio:.2f}x")
    for t in tasks:
        row = means["after"][t]
        if t != "all" and row.get("answer_grouped"):
            lines.append(f"- {t}: {row['answer']:.1f} answer tokens, {row['answer_grouped']:.1f} with the types grouped "
                         f"(one line per type): {row['answer'] / row['answer_grouped']:.2f}x fewer")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ecomlm bench-prompt-tokens`` (and ``python -m ecomlm.bench.prompt_tokens``)."""
    p.add_argument("--data", required=True, help="a corpus JSONL file from `ecomlm data build`")
    p.add_argument("--base", default="base", help="the model whose tokenizer and chat template count")
    p.add_argument("--limit", type=int, default=12000, help="first N instances (default 12000)")
    p.add_argument("--tokens-per-s", type=float, default=200.0,
                   help="training tokens/s for the instances/hour line (default: idle 2-core CPU, 200)")
    p.add_argument("--json", help="also write the means as JSON to this file")


def cmd_bench_prompt_tokens(args: argparse.Namespace) -> int:
    """Count the corpus's tokens per part and print the report."""
    from itertools import islice

    from transformers import AutoTokenizer

    from ecomlm.source.base import materialize_base
    from ecomlm.train.corpus_file import read_corpus

    tokenizer = AutoTokenizer.from_pretrained(materialize_base(args.base))
    means = measure(tokenizer, islice(read_corpus(args.data), args.limit))
    print(report(means, args.tokens_per_s))
    if args.json:
        from ecomlm.runtime.atomic_io import atomic_write
        with atomic_write(args.json) as f:
            json.dump(means, f, indent=1)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ecomlm.bench.prompt_tokens``: the same as ``ecomlm bench-prompt-tokens``."""
    from ecomlm.runtime.cli import script_main
    return script_main("python -m ecomlm.bench.prompt_tokens", __doc__.split("\n\n")[0], add_arguments,
                       cmd_bench_prompt_tokens, argv)


if __name__ == "__main__":
    raise SystemExit(main())
