"""Free text generation for the OpenAI-compatible routes, on a borrowed ``EcomModel``, answered in
OpenAI's text-completion format (a dict, or an iterator of stream chunks).

On llama.cpp this is llama-cpp-python's own ``create_completion`` (its samplers: temperature, top-p,
top-k, min-p, penalties, stop strings, seed) fed with token ids: chat prompts are rendered and
tokenized by the backend, so text inside a message is never a control token. The ONNX Runtime and
PyTorch backends have no sampler here: they decode greedily (the sampling fields are ignored) and
stream the answer as one chunk.
"""
from __future__ import annotations

import random
import time
import uuid
from typing import Any, Iterator, Optional, Union

from ecomlm.runtime.errors import ContextOverflowError

from .openai_schemas import Sampling

DEFAULT_MAX_TOKENS = 512


def completion_id() -> str:
    return f"cmpl-{uuid.uuid4().hex[:24]}"


def completion_dict(cid: str, model_id: str, text: str, finish_reason: Optional[str], n_prompt: int,
                    n_completion: int, created: Optional[int] = None) -> dict[str, Any]:
    """A whole answer in OpenAI's text-completion format."""
    return {"id": cid, "object": "text_completion", "created": created or int(time.time()),
            "model": model_id,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_completion,
                      "total_tokens": n_prompt + n_completion}}


def as_chunks(completion: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A whole answer as stream chunks: the text, then the finish reason (as llama-cpp-python
    streams)."""
    choice = completion["choices"][0]
    head = {k: completion[k] for k in ("id", "object", "created", "model")}
    yield {**head, "choices": [{"text": choice["text"], "index": 0, "logprobs": None,
                                "finish_reason": None}]}
    yield {**head, "choices": [{"text": "", "index": 0, "logprobs": None,
                                "finish_reason": choice["finish_reason"]}]}


def _budget(n_prompt: int, n_ctx: int, params: Sampling) -> int:
    room = n_ctx - n_prompt
    if room < 1:
        raise ContextOverflowError(f"the prompt has {n_prompt} tokens but the model's context holds "
                                   f"{n_ctx}; shorten the messages, or start the server with a "
                                   f"larger --n-ctx")
    return min(params.limit() or DEFAULT_MAX_TOKENS, room)


def generate(model: Any, prompt: str, params: Sampling, model_id: str, *, chat: bool
             ) -> Union[dict[str, Any], Iterator[dict[str, Any]]]:
    """Continue ``prompt`` (rendered chat prompt when ``chat``, else raw text whose control tokens
    count as such); a completion dict, or stream chunks when ``params.stream``."""
    backend = model.backend
    llm = getattr(backend, "llm", None)
    if llm is None or backend.name != "llama.cpp":
        return _greedy(model, prompt, params, model_id)
    tokens = backend.tokenize(prompt) if chat else llm.tokenize(prompt.encode("utf-8"), add_bos=False,
                                                                 special=True)
    max_tokens = _budget(len(tokens), backend.n_ctx, params)
    stop = [params.stop] if isinstance(params.stop, str) else list(params.stop or [])
    if params.seed is not None:
        # a reused KV-cache prefix gives slightly different logits than a whole prompt evaluated in
        # one batch, which changes samples: with a seed the prompt is evaluated afresh, reproducibly
        llm.n_tokens = 0
    out = llm.create_completion(
        prompt=tokens, max_tokens=max_tokens, temperature=params.temperature, top_p=params.top_p,
        top_k=params.top_k, min_p=params.min_p, repeat_penalty=params.repeat_penalty,
        presence_penalty=params.presence_penalty, frequency_penalty=params.frequency_penalty,
        stop=stop, seed=params.seed if params.seed is not None else random.getrandbits(31),
        stream=params.stream, model=model_id)
    if not params.stream:
        return out
    return _counted(out, llm, len(tokens))


def _counted(chunks: Iterator[dict[str, Any]], llm: Any, n_prompt: int) -> Iterator[dict[str, Any]]:
    """llama-cpp-python's stream chunks, then a usage-only chunk (``choices`` empty) that the route
    sends when the client asked for ``stream_options.include_usage``."""
    text = []
    last: dict[str, Any] = {}
    for chunk in chunks:
        text.append(chunk["choices"][0]["text"])
        last = chunk
        yield chunk
    n = len(llm.tokenize("".join(text).encode("utf-8"), add_bos=False, special=True))
    yield {**{k: last.get(k) for k in ("id", "object", "created", "model")}, "choices": [],
           "usage": {"prompt_tokens": n_prompt, "completion_tokens": n,
                     "total_tokens": n_prompt + n}}


def _greedy(model: Any, prompt: str, params: Sampling, model_id: str
            ) -> Union[dict[str, Any], Iterator[dict[str, Any]]]:
    backend = model.backend
    n_prompt = backend.count_tokens(prompt)
    max_tokens = _budget(n_prompt, backend.n_ctx, params)
    text = backend.generate(prompt, max_tokens)
    stop = [params.stop] if isinstance(params.stop, str) else list(params.stop or [])
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    text = text[:cut] if cut >= 0 else text
    n = backend.count_tokens(text) if text else 0
    done = completion_dict(completion_id(), model_id, text, "stop" if n < max_tokens else "length",
                           n_prompt, n)
    if not params.stream:
        return done
    return iter([*as_chunks(done), usage_chunk(done)])


def usage_chunk(completion: dict[str, Any]) -> dict[str, Any]:
    """The final usage-only stream chunk of a whole answer."""
    return {**{k: completion[k] for k in ("id", "object", "created", "model")}, "choices": [],
            "usage": completion["usage"]}


__all__ = ["DEFAULT_MAX_TOKENS", "as_chunks", "completion_dict", "completion_id", "generate",
           "usage_chunk"]
