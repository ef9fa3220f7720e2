"""GGUF models on llama.cpp (llama-cpp-python): the default backend, and the fastest on a CPU.

Every answer is decoded greedily by one loop (``llama_decoding.py``) under the byte automaton of the
task's constraint (``automaton.py``: closed label sets, typed lines, spans copied from the input);
``draft_tokens`` > 0 turns on drafts copied from the prompt, checked several tokens a pass (off by
default: see ``llama_decoding.py``). Option sets are still parsed once as a
GBNF grammar by libllama, which refuses what llama.cpp cannot take. Consecutive calls that share a
prompt prefix (same task, same options) reuse its KV cache: only the new suffix is evaluated.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from ..chat_formats import for_architecture
from ..constraints import ChoiceLines, Constraint, CopyLines, FreeLines, PrefixedLines, to_gbnf
from ..errors import BackendUnavailableError, ModelLoadError
from .automaton import ConstrainedDecoder, DecoderCache
from .base import Backend
from .chat_segments import render_segmented, tokenize_segments
from .llama_decoding import LlamaDecodeStats, LlamaGreedy, LlamaVocabulary, drop_last_line, repeated_line
from .llama_guards import checked_grammar, control_token_texts, deadline_llama_class
from .llama_parallel import LlamaParallel
from .sampling import GREEDY, Picker

GGUF_MAGIC = b"GGUF"
#: KV cells of the context that decodes a vote's samples side by side (``LlamaParallel``)
PARALLEL_CELLS = 2048


def check_gguf_file(path: Path) -> None:
    """Raise ``ModelLoadError`` unless ``path`` is an existing file that starts like a GGUF file."""
    if not path.exists():
        raise ModelLoadError(f"model file {str(path)!r} does not exist; give the path of a .gguf file, "
                             f"or 'default' / 'base' for the bundled model")
    if not path.is_file():
        raise ModelLoadError(f"{str(path)!r} is not a file")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"{str(path)!r} is not a GGUF file (it starts with {magic!r}, not b'GGUF'); "
                             f"convert a Hugging Face model with `ecomlm export gguf`")


def _prefer_passive_threads() -> None:
    """Let llama.cpp's OpenMP threads sleep instead of spin while they wait.

    With spinning threads, every other busy process on the machine (a web server, a test suite, a
    second model) slows generation many times over; sleeping threads cost little when the machine
    is idle. Only a default: a value already in the environment is kept. It takes effect when the
    llama.cpp library is first loaded.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def thread_counts(n_threads: Optional[int] = None, n_threads_decode: Optional[int] = None) -> tuple[int, int]:
    """(decode threads, prompt threads) for llama.cpp.

    The prompt (one large batch) uses ``n_threads`` (default: every CPU). Decoding, one token at a
    time, uses ``n_threads_decode``; by default one thread while threads sleep between work
    (``OMP_WAIT_POLICY=PASSIVE``, see ``_prefer_passive_threads``): each token is many small
    operations, and waking sleeping threads for each of them made the shipped model decode 4.8x
    slower on two threads than on one (idle 2-core machine: 19 vs 92 tokens/s), while its prompt ran
    1.7x faster on two (``python -m ecomlm.bench.threads``, bench/BENCH.md). With spinning threads
    every decode thread is kept.
    """
    batch = max(1, n_threads or os.cpu_count() or 1)
    if n_threads_decode:
        return max(1, min(n_threads_decode, batch)), batch
    passive = os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
    return (1 if passive else batch), batch


class RepeatedLineStop:
    """Ends a list answer once the model repeats a line it already wrote (a small model otherwise
    loops on one line until the token limit); ``trim`` then drops the repeated line. For
    llama-cpp-python's own ``create_completion`` (the bench's raw path); the runtime's loop uses the
    same ``repeated_line`` rule."""

    def __init__(self, llm: object, n_prompt: int) -> None:
        self.llm = llm
        self.n_prompt = n_prompt
        self.fired = False

    def __call__(self, input_ids, _logits) -> bool:
        text = self.llm.detokenize(list(input_ids[self.n_prompt:]))
        if text.endswith(b"\n"):
            self.fired = repeated_line(text)
        return self.fired

    def criteria(self) -> object:
        from llama_cpp import StoppingCriteriaList
        return StoppingCriteriaList([self])

    def trim(self, text: str) -> str:
        if not self.fired:
            return text
        return drop_last_line(text.encode("utf-8")).decode("utf-8", errors="replace")


class LlamaCppBackend(Backend):
    """A GGUF model on llama.cpp, optionally with a GGUF LoRA adapter applied at load time."""

    name = "llama.cpp"

    def __init__(self, model_path: str | os.PathLike[str], *, lora_path: Optional[str] = None,
                 n_ctx: int = 4096, n_threads: Optional[int] = None, n_threads_decode: Optional[int] = None,
                 n_batch: int = 512, seed: int = 0, draft_tokens: int = 0,
                 parallel_samples: bool = True) -> None:
        _prefer_passive_threads()
        try:
            from llama_cpp import Llama
        except ImportError as e:  # pragma: no cover - llama-cpp-python is a core dependency
            raise BackendUnavailableError("llama-cpp-python is not installed: pip install ecomlm") from e
        path = Path(model_path)
        check_gguf_file(path)
        if lora_path is not None:
            check_gguf_file(Path(lora_path))
        try:
            from llama_cpp._utils import suppress_stdout_stderr

            decode, batch = thread_counts(n_threads, n_threads_decode)
            # llama.cpp writes load notes to stderr even when not verbose (Gemma 3: the sliding-window
            # cache, the LoRA's buffer fallback): kept off the user's terminal
            with suppress_stdout_stderr(disable=os.environ.get("ECOMLM_LLAMA_LOG") == "1"):
                self.llm = deadline_llama_class(Llama)(  # its eval stops at the caller's deadline
                    model_path=str(path), lora_path=lora_path, n_ctx=n_ctx, n_threads=decode,
                    n_threads_batch=batch, n_batch=n_batch, seed=seed, verbose=False)
        except (ValueError, RuntimeError) as e:
            raise ModelLoadError(f"llama.cpp could not load {str(path)!r} (truncated or unsupported "
                                 f"GGUF?): {e}") from e
        self.n_ctx = self.llm.n_ctx()
        self.source = str(path)
        self.lora_path = lora_path
        meta = self.llm.metadata
        template = meta.get("tokenizer.chat_template")
        declared = None if template else for_architecture(meta.get("general.architecture"))
        if declared is not None:  # a template-less base (Gemma 3 pretrained): ecomlm's declared format
            template = declared.template
        if not template:
            raise ModelLoadError(f"{str(path)!r} has no chat template (tokenizer.chat_template); "
                                 f"export it with `ecomlm export gguf`, which keeps the template")
        self._eos = (declared.end_of_turn if declared is not None else
                     self._token_text(int(meta.get("tokenizer.ggml.eos_token_id", self.llm.token_eos()))))
        bos_id = meta.get("tokenizer.ggml.bos_token_id")
        self._bos = self._token_text(int(bos_id)) if bos_id is not None else ""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=self._eos,
                                              bos_token=self._bos, add_generation_prompt=True)
        self._grammars: dict[str, object] = {}
        self._decoders: Optional[DecoderCache] = None
        self.draft_tokens = draft_tokens
        self._threads = (decode, batch)
        self._parallel: Optional[LlamaParallel] = None
        self.parallel_samples = parallel_samples

    @property
    def end_of_turn_id(self) -> int:
        """The token that closes a model turn (the chat format's, e.g. Gemma's ``<end_of_turn>``)."""
        ids = self.llm.tokenize(self._eos.encode("utf-8"), add_bos=False, special=True)
        return int(ids[0]) if len(ids) == 1 else int(self.llm.token_eos())

    def _token_text(self, token_id: int) -> str:
        return self.llm.detokenize([token_id], special=True).decode("utf-8", errors="replace")

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        return render_segmented(lambda m: self._formatter(messages=m).prompt, messages)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of a prompt: control tokens from the chat template, message contents (of a
        prompt from ``chat_prompt``) as plain text, never as control tokens."""
        return tokenize_segments(
            text, lambda part, special: self.llm.tokenize(part.encode("utf-8"), add_bos=False,
                                                          special=special),
            lambda: control_token_texts(self.llm))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _grammar(self, constraint: Constraint) -> object:
        from llama_cpp import LlamaGrammar
        gbnf = to_gbnf(constraint)
        grammar = self._grammars.get(gbnf)
        if grammar is None:
            if len(self._grammars) > 256:
                self._grammars.clear()
            grammar = self._grammars[gbnf] = checked_grammar(self.llm, LlamaGrammar, gbnf)
        return grammar

    @property
    def decoders(self) -> DecoderCache:
        """The constraint automata over this model's vocabulary (built on first use)."""
        if self._decoders is None:
            eos = [self.llm.token_eos(), *self.llm.tokenize(self._eos.encode("utf-8"), add_bos=False,
                                                            special=True)[:1]]
            self._decoders = DecoderCache(LlamaVocabulary(self.llm, eos))
        return self._decoders

    def _greedy(self) -> LlamaGreedy:
        return LlamaGreedy(self.llm, self.decoders.tokenizer.eos_ids, self.decoders.vocab.bytes_of)

    def _decoding(self, constraint: Optional[Constraint]) -> tuple[Optional[ConstrainedDecoder], bool]:
        """The decoder of ``constraint`` (``None``: unconstrained) and whether a repeated line ends
        the answer (list answers)."""
        if constraint is not None and not isinstance(constraint, CopyLines):
            self._grammar(constraint)  # refuses options llama.cpp cannot take (NUL, control tokens)
        decoder = self.decoders.get(constraint) if constraint is not None else None
        return decoder, isinstance(constraint, (ChoiceLines, PrefixedLines, FreeLines, CopyLines))

    def generate(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                 no_repeat_ngram: int = 0, pick: Picker = GREEDY) -> str:
        return self.generate_bytes(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram,
                                   pick=pick).decode("utf-8", errors="replace")

    def generate_bytes(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None,
                       stats: Optional[LlamaDecodeStats] = None, *, no_repeat_ngram: int = 0,
                       pick: Picker = GREEDY) -> bytes:
        """The greedy answer as bytes (``stats`` counts passes and drafts, for the benchmark)."""
        tokens = self.tokenize(prompt)
        decoder, stop_on_repeat = self._decoding(constraint)
        return self._greedy().greedy(tokens, max_tokens, decoder, draft=self.draft_tokens, stats=stats,
                                     no_repeat_ngram=no_repeat_ngram, stop_on_repeat=stop_on_repeat,
                                     pick=pick)

    def generate_many(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                      picks: Sequence[Picker], no_repeat_ngram: int = 0) -> list[str]:
        """One answer per picker (seeded samples of a vote), decoded side by side in one batch a step
        (``llama_parallel.py``) when ``parallel_samples`` is on and they fit its context; else one
        after another."""
        tokens = self.tokenize(prompt)
        budget = max(0, min(max_tokens, self.llm.n_ctx() - len(tokens)))
        if not self.parallel_samples or len(picks) < 2 or not self._sampler(len(picks)).fits(
                len(tokens), len(picks), budget):
            return super().generate_many(prompt, max_tokens, constraint, picks=picks,
                                         no_repeat_ngram=no_repeat_ngram)
        decoder, stop_on_repeat = self._decoding(constraint)
        texts = self._sampler(len(picks)).sample(tokens, budget, decoder, picks, stop_on_repeat=stop_on_repeat,
                                                 no_repeat_ngram=no_repeat_ngram)
        return [t.decode("utf-8", errors="replace") for t in texts]

    def generate_beam(self, prompt: str, max_tokens: int, constraint: Optional[Constraint] = None, *,
                      width: int, length_normalized: bool = False, no_repeat_ngram: int = 0) -> str:
        """The answer of a ``width``-wide beam search (``beam.py``), its partial answers decoded side by
        side in the multi-sequence context; the greedy answer where the beam does not fit there."""
        if width < 2:
            return self.generate(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram)
        tokens = self.tokenize(prompt)
        budget = max(0, min(max_tokens, self.llm.n_ctx() - len(tokens)))
        sampler = self._sampler(width)
        if not sampler.fits(len(tokens), width, budget):
            return self.generate(prompt, max_tokens, constraint, no_repeat_ngram=no_repeat_ngram)
        decoder, stop_on_repeat = self._decoding(constraint)
        text = sampler.beam(tokens, budget, decoder, width, length_normalized=length_normalized,
                            stop_on_repeat=stop_on_repeat, no_repeat_ngram=no_repeat_ngram)
        return text.decode("utf-8", errors="replace")

    def _sampler(self, n: int) -> LlamaParallel:
        """The multi-sequence context for ``n`` samples (made on first use, again for more)."""
        if self._parallel is None or self._parallel.n_seq < n:
            if self._parallel is not None:
                self._parallel.close()
            # its steps are a few rows each: decoding's thread count, not the prompt's (with sleeping
            # threads, two threads made these steps slower than one on the 2-core dev machine)
            decode, _ = self._threads
            # cells for the prompt and every sample: up to 2048 (a title's or a short text's NER vote
            # of 8 needs about 1,000), so that it costs about half the memory of the model's own
            # context; a vote that does not fit is decoded one sample after another
            self._parallel = LlamaParallel(self.llm, self.decoders.tokenizer.eos_ids,
                                           self.decoders.vocab.bytes_of, n_seq=max(n, 7),
                                           n_ctx=min(self.n_ctx, PARALLEL_CELLS), n_threads=decode,
                                           n_threads_batch=decode)
        return self._parallel

    def option_logprobs(self, prompt: str, options: Sequence[str]) -> list[float]:
        """Each option's tokens + end of turn, scored after ``prompt``; the prompt's KV cache is kept
        (and reused from the previous call where the prompts share a prefix)."""
        greedy = self._greedy()
        tokens = self.tokenize(prompt)
        first = greedy.prefill(tokens)
        eos = self.end_of_turn_id
        return [greedy.continuation_logprob(first, len(tokens),
                                            self.llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) + [eos])
                for o in options]

    def close(self) -> None:
        if self._parallel is not None:
            self._parallel.close()
            self._parallel = None
        self.llm.close()

