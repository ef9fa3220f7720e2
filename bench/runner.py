"""The speed and memory benchmark behind ``ecomlm bench``.

For each model (and backend) given, in a fresh subprocess so that its peak RSS is its own:

- load time and peak RSS;
- prompt tokens/s (a ~400-token prompt evaluated from an empty cache) and generation tokens/s
  (unconstrained greedy continuation of an ad-copy prompt);
- items/s of NER over a fixed batch of short product titles (``titles.txt``) through our API
  (``EcomModel.run``), with the KV cache of the shared instruction prefix reused (llama-cpp-python
  keeps the longest common token prefix of consecutive prompts) and without (cache reset per item);
- on llama.cpp: the same prompts, grammar and sampling through raw llama-cpp-python
  (``Llama.create_completion`` on the same model file), and the API/raw ratio (goal >= 0.9).
  The three paths run on separate copies of the model and take turns item by item, so a machine
  whose load changes during the run slows them alike;
- on llama.cpp: NER's default call (a vote of 8 answers) on the first ``vote_items`` titles, its
  samples decoded side by side vs one after another (``vote.py``);
- on llama.cpp: unconstrained greedy decoding of the same prompts one at a time vs ``n`` sequences
  per ``llama_decode`` (``batched.py``), to see whether batched decoding raises items/s on a CPU.

Ratios against the first model are added for every figure. Numbers depend on the machine and on what
else runs on it: report the machine with them.
"""
from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

TITLES_FILE = Path(__file__).resolve().parent / "titles.txt"
NER_TYPES = ("Brand", "Product", "Component", "Attribute")
AD_SPECS = {"brand": "Anker", "type": "power bank", "capacity": "20000mAh", "ports": "2 USB-C, 1 USB-A",
            "weight": "350 g", "color": "black"}


@dataclass
class BenchConfig:
    """What ``ecomlm bench`` measures."""

    models: list[str]
    backend: Optional[str] = None
    n_items: int = 100
    n_threads: Optional[int] = None
    n_ctx: int = 2048
    gen_tokens: int = 64
    batch_sizes: tuple[int, ...] = (1, 8)
    batch_max_tokens: int = 32
    compare_raw: bool = True
    vote_items: int = 30       # titles for NER's vote, samples side by side vs one after another (0: off)
    isolate: bool = True       # each model in its own subprocess (clean peak RSS)
    progress: bool = True


def load_titles(n: Optional[int] = None) -> list[str]:
    """The benchmark's fixed product titles (first ``n``)."""
    titles = [t.strip() for t in TITLES_FILE.read_text(encoding="utf-8").splitlines() if t.strip()]
    return titles[:n] if n else titles


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _reset_cache(backend: Any) -> bool:
    """Forget the KV cache of previous prompts (llama.cpp); False when the backend keeps none."""
    llm = getattr(backend, "llm", None)
    if llm is not None and hasattr(llm, "reset"):
        llm.reset()
        return True
    return False


def _timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="item")


def measure_model(ref: str, cfg: BenchConfig) -> dict[str, Any]:
    """Measure one model in this process; see the module docstring for each figure."""
    from ecomlm.runtime import EcomModel, catalog
    from ecomlm.runtime.constraints import to_gbnf

    options: dict[str, Any] = {"n_ctx": cfg.n_ctx}
    if cfg.n_threads:
        options["n_threads"] = cfg.n_threads
    model, load_s = _timed(EcomModel.load, ref, backend=cfg.backend, **options)
    backend = model.backend
    titles = load_titles(cfg.n_items)
    types = list(NER_TYPES)
    # peak RSS once the model is loaded (later figures hold extra copies of the model: see below)
    out: dict[str, Any] = {"model": ref, "backend": backend.name, "n_items": len(titles),
                           "load_s": load_s, "loaded_rss_mb": _peak_rss_mb()}
    try:
        # prompt tokens/s: one prompt of ~400 tokens from an empty cache, best of 3
        long_prompt = model.prompt_for("ner", {"text": "; ".join(load_titles(12)), "types": types})
        n_prompt = backend.count_tokens(long_prompt)
        times = []
        for _ in range(3):
            _reset_cache(backend)
            times.append(_timed(backend.generate, long_prompt, 1)[1])
        out["prompt_tokens"] = n_prompt
        out["prompt_tok_s"] = n_prompt / min(times)

        # generation tokens/s: free greedy continuation, minus the time of its prompt
        gen_prompt = model.prompt_for("ad_copy", {"specs": AD_SPECS})
        _reset_cache(backend)
        _, t_first = _timed(backend.generate, gen_prompt, 1)
        _reset_cache(backend)
        text, t_all = _timed(backend.generate, gen_prompt, cfg.gen_tokens)
        n_gen = backend.count_tokens(text)
        out["gen_tokens"] = n_gen
        out["gen_tok_s"] = (n_gen - 1) / (t_all - t_first) if n_gen > 1 and t_all > t_first else None

        # items/s: our API reusing the shared prefix (the normal path), our API with the cache reset
        # before each item, and raw llama-cpp-python. Each path has its own loaded copy of the model
        # (so each keeps its own KV cache) and the paths take turns item by item, in rotating order,
        # so that a busy machine slows them alike.
        task = catalog.get_task("ner")
        # item 0 is a warm-up, not timed
        fields = [catalog.normalize_fields(task, {"text": t, "types": types})
                  for t in ["Acme phone X1", *titles]]
        out["ner_prompt_tokens"] = backend.count_tokens(model.prompt_for(task, fields[1]))
        no_reuse = EcomModel.load(ref, backend=cfg.backend, **options)
        llm = getattr(backend, "llm", None)
        can_reset = _reset_cache(no_reuse.backend)
        # greedy answers (consensus_of=1, not NER's default vote of 8): the decoding plain
        # llama-cpp-python reproduces, so the paths compare speed on the same answers
        paths: dict[str, Any] = {"api": lambda i: model.run("ner", consensus_of=1, **fields[i]).raw}
        if can_reset:
            def run_no_reuse(i: int) -> str:
                _reset_cache(no_reuse.backend)
                return no_reuse.run("ner", consensus_of=1, **fields[i]).raw
            paths["no_reuse"] = run_no_reuse
        raw_llm = None
        if cfg.compare_raw and llm is not None:
            from llama_cpp import Llama, LlamaGrammar

            from ecomlm.runtime.backends.llama_cpp_backend import RepeatedLineStop
            raw_llm = Llama(model_path=backend.source, lora_path=getattr(backend, "lora_path", None),
                            n_ctx=cfg.n_ctx, n_threads=llm.context_params.n_threads,
                            n_threads_batch=llm.context_params.n_threads_batch, n_batch=llm.n_batch,
                            seed=0, verbose=False)
            grammar = LlamaGrammar.from_string(to_gbnf(catalog.constraint_for(task, fields[0])), verbose=False)
            eos = getattr(backend, "_eos", "") or None
            prompts = [model.prompt_for(task, f) for f in fields]

            def run_raw(i: int) -> str:
                # the same decoding as the API: token prompt, grammar, and its stop on a repeated line
                tokens = raw_llm.tokenize(prompts[i].encode("utf-8"), add_bos=False, special=True)
                stop = RepeatedLineStop(raw_llm, len(tokens))
                r = raw_llm.create_completion(prompt=tokens, max_tokens=task.kind.max_tokens(task, fields[i]),
                                              temperature=0.0, top_k=1, repeat_penalty=1.0, grammar=grammar,
                                              stop=[eos] if eos else None, stopping_criteria=stop.criteria())
                return stop.trim(r["choices"][0]["text"])
            paths["raw"] = run_raw
        names = list(paths)
        for name in names:
            paths[name](0)
        seconds = {name: 0.0 for name in names}
        answers: dict[str, list[str]] = {name: [] for name in names}
        bar = _bar(len(titles) * len(names), f"bench {ref}", cfg.progress)
        for i in range(1, len(fields)):
            for k in range(len(names)):
                name = names[(i + k) % len(names)]
                answer, dt = _timed(paths[name], i)
                seconds[name] += dt
                answers[name].append(answer)
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        no_reuse.close()
        out["api_items_s"] = len(titles) / seconds["api"]
        out["api_ms_per_item"] = 1000.0 * seconds["api"] / len(titles)
        out["no_reuse_items_s"] = len(titles) / seconds["no_reuse"] if "no_reuse" in seconds else None
        out["prefix_reuse_gain"] = seconds["no_reuse"] / seconds["api"] if "no_reuse" in seconds else None
        out.update(raw_items_s=None, api_vs_raw=None, raw_same_output=None, raw_same_output_nocopy=None,
                   copy_changed=None)
        if "raw" in seconds:
            out["raw_items_s"] = len(titles) / seconds["raw"]
            out["api_vs_raw"] = out["api_items_s"] / out["raw_items_s"]
            out["raw_same_output"] = sum(a == b for a, b in zip(answers["api"], answers["raw"])) / len(titles)
            # The API copies spans from the input by construction; raw llama-cpp-python with the
            # grammar cannot. With copying off, the API decodes exactly like the raw path.
            plain = EcomModel.load(ref, backend=cfg.backend, copy_spans=False, **options)
            same = [plain.run("ner", consensus_of=1, **fields[i]).raw == answers["raw"][i - 1]
                    for i in range(1, len(fields))]
            plain.close()
            out["raw_same_output_nocopy"] = sum(same) / len(titles)
            out["copy_changed"] = sum(a != b for a, b in zip(answers["api"], answers["raw"])) / len(titles)
            raw_llm.close()

        # NER's default call, the vote of 8: samples side by side vs one after another (vote.py)
        out["vote"] = None
        if cfg.vote_items and llm is not None:
            from .vote import compare_vote
            vote_fields = fields[:1 + cfg.vote_items]
            bar = _bar(2 * (len(vote_fields) - 1), f"vote {ref}", cfg.progress)
            out["vote"] = compare_vote(lambda **o: EcomModel.load(ref, backend=cfg.backend, **options, **o),
                                       vote_fields, bar.update if bar is not None else None)
            if bar is not None:
                bar.close()

        # batched decoding (llama.cpp): the same NER prompts, unconstrained greedy, chunk by chunk,
        # every batch size on each chunk in rotating order
        out["batched"] = None
        if llm is not None and cfg.batch_sizes:
            from .batched import batched_greedy
            token_prompts = [backend.tokenize(model.prompt_for(task, f)) for f in fields[1:]]
            threads = cfg.n_threads or llm.context_params.n_threads
            chunk = max(cfg.batch_sizes)
            totals = {n: [0.0, 0] for n in cfg.batch_sizes}
            for j, start in enumerate(range(0, len(token_prompts), chunk)):
                part = token_prompts[start:start + chunk]
                for k in range(len(cfg.batch_sizes)):
                    n = cfg.batch_sizes[(j + k) % len(cfg.batch_sizes)]
                    _, run = batched_greedy(llm, part, cfg.batch_max_tokens, n, threads)
                    totals[n][0] += run.seconds
                    totals[n][1] += run.generated_tokens
            runs = {str(n): {"items_s": len(token_prompts) / sec, "gen_tok_s": gen / sec, "seconds": sec}
                    for n, (sec, gen) in totals.items()}
            out["batched"] = {"max_tokens": cfg.batch_max_tokens, "runs": runs}
            if "1" in runs:
                out["batched"]["best_gain"] = max(r["items_s"] for r in runs.values()) / runs["1"]["items_s"]
    finally:
        model.close()
    out["peak_rss_mb"] = _peak_rss_mb()  # whole run: two more copies of the model, batched contexts
    return out


def _ratios(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Optional[float]]:
    keys = ("load_s", "loaded_rss_mb", "prompt_tok_s", "gen_tok_s", "api_items_s", "api_ms_per_item")
    return {k: (other[k] / first[k] if other.get(k) and first.get(k) else None) for k in keys}


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Measure every model of ``cfg`` (each in its own subprocess unless ``isolate`` is off) and add
    ratios against the first one."""
    results = []
    for ref in cfg.models:
        if cfg.isolate:
            import multiprocessing as mp
            with mp.get_context("spawn").Pool(1) as pool:
                results.append(pool.apply(measure_model, (ref, cfg)))
        else:
            results.append(measure_model(ref, cfg))
    for r in results:
        r["vs_first"] = _ratios(results[0], r)
    return {"config": {k: v for k, v in asdict(cfg).items() if k not in ("progress", "isolate")},
            "models": results}


def _f(x: Any, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def render_markdown(report: dict[str, Any], command: Optional[str] = None,
                    machine: Optional[str] = None) -> str:
    """The bench tables: one row per model, then the prefix-reuse, raw and batching comparisons."""
    models = report["models"]
    n = models[0]["n_items"] if models else 0
    lines = ["# ecomlm bench", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    if machine:
        lines += [f"Machine: {machine}.", ""]
    lines += [f"NER over {n} short product titles (`bench/titles.txt`), types {', '.join(NER_TYPES)}.", "",
              "| model | backend | load s | RSS after load MB | prompt tok/s | gen tok/s | items/s | ms/item | "
              "items/s vs first |", "|---|---|---|---|---|---|---|---|---|"]
    for m in models:
        lines.append(f"| {m['model']} | {m['backend']} | {_f(m['load_s'], 2)} | {_f(m['loaded_rss_mb'], 0)} | "
                     f"{_f(m['prompt_tok_s'], 0)} | {_f(m['gen_tok_s'])} | {_f(m['api_items_s'], 2)} | "
                     f"{_f(m['api_ms_per_item'], 0)} | {_f(m['vs_first']['api_items_s'], 2)}x |")
    lines += ["", "| model | items/s API | items/s raw llama-cpp-python | API / raw | same output | "
              "items/s without prefix reuse | prefix-reuse gain |", "|---|---|---|---|---|---|---|"]
    for m in models:
        same = None if m.get("raw_same_output") is None else 100 * m["raw_same_output"]
        lines.append(f"| {m['model']} | {_f(m['api_items_s'], 2)} | {_f(m['raw_items_s'], 2)} | "
                     f"{_f(m['api_vs_raw'], 3)} | {_f(same, 0)}% | {_f(m['no_reuse_items_s'], 2)} | "
                     f"{_f(m['prefix_reuse_gain'], 2)}x |")
    voted = [m for m in models if m.get("vote")]
    if voted:
        v0 = voted[0]["vote"]
        lines += ["", f"NER's default call, the vote of {v0['answers']} answers (the greedy one and seeded samples), "
                      f"on the first {v0['items']} titles: the samples decoded side by side (one llama_decode a "
                      "step for all) vs one after another:", "",
                  "| model | items/s side by side | items/s one after another | gain | same kept spans | "
                  "same greedy answer | same answers, all |", "|---|---|---|---|---|---|---|"]
        for m in voted:
            v = m["vote"]
            lines.append(f"| {m['model']} | {_f(v['parallel_items_s'], 2)} | {_f(v['sequential_items_s'], 2)} | "
                         f"{_f(v['gain'], 2)}x | {v['same_kept']}/{v['items']} | {v['same_greedy']}/{v['items']} | "
                         f"{v['same_written']}/{v['items']} |")
    batched = [m for m in models if m.get("batched")]
    if batched:
        sizes = list(batched[0]["batched"]["runs"])
        lines += ["", f"Batched greedy decoding (unconstrained, {batched[0]['batched']['max_tokens']} new "
                      f"tokens max, sequences per llama_decode):", "",
                  "| model | " + " | ".join(f"items/s n={s}" for s in sizes) + " | best gain |",
                  "|---|" + "---|" * (len(sizes) + 1)]
        for m in batched:
            runs = m["batched"]["runs"]
            lines.append(f"| {m['model']} | " + " | ".join(_f(runs[s]['items_s'], 2) for s in sizes) +
                         f" | {_f(m['batched'].get('best_gain'), 2)}x |")
    return "\n".join(lines) + "\n"


__all__ = ["BenchConfig", "load_titles", "measure_model", "run_bench", "render_markdown", "TITLES_FILE"]
