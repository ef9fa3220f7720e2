"""A Hugging Face tokenizer that tokenizes exactly as llama.cpp does, for a GGUF SentencePiece vocabulary.

transformers 4.57 reads a GGUF ``llama``-type (SentencePiece) vocabulary such as Gemma 3's as a
*Unigram* model scored by the GGUF's scores. Gemma's vocabulary is SentencePiece *BPE* (its scores
are minus the merge rank), and llama.cpp merges by those scores: the two disagree on ordinary text
("The capital of France is": 5 tokens in llama.cpp, 10 from transformers' rebuild).

So the GGUF vocabulary is written back as the SentencePiece model it came from (pieces, scores,
types; BPE; byte fallback; whitespace escaped, no dummy prefix as the GGUF's ``add_space_prefix``
says), and transformers' own SentencePiece converter builds the fast tokenizer from it: the same
path the original Hugging Face tokenizer took. Checked against llama.cpp on the corpus
(tests/test_gemma_base.py holds the parity test).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ecomlm.runtime.errors import ModelLoadError


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def is_sentencepiece_gguf(gguf: str | Path) -> bool:
    """Whether a GGUF file's vocabulary is SentencePiece (``tokenizer.ggml.model == 'llama'``)."""
    from gguf import GGUFReader

    return _field(GGUFReader(str(gguf)), "tokenizer.ggml.model") == "llama"


def sentencepiece_model_from_gguf(gguf: str | Path) -> bytes:
    """The serialized SentencePiece ``ModelProto`` of a GGUF file's ``llama``-type vocabulary."""
    from gguf import GGUFReader
    from sentencepiece import sentencepiece_model_pb2 as pb

    reader = GGUFReader(str(gguf))
    if _field(reader, "tokenizer.ggml.model") != "llama":
        raise ModelLoadError(f"{gguf}: not a SentencePiece vocabulary (tokenizer.ggml.model != 'llama')")
    tokens = reader.fields["tokenizer.ggml.tokens"]
    scores = reader.fields["tokenizer.ggml.scores"]
    types = reader.fields["tokenizer.ggml.token_type"]
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.BPE
    proto.trainer_spec.byte_fallback = True
    for key, attr in (("unknown_token_id", "unk_id"), ("bos_token_id", "bos_id"),
                      ("eos_token_id", "eos_id"), ("padding_token_id", "pad_id")):
        value = _field(reader, f"tokenizer.ggml.{key}")
        setattr(proto.trainer_spec, attr, -1 if value is None else int(value))
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = bool(_field(reader, "tokenizer.ggml.add_space_prefix") or False)
    proto.normalizer_spec.escape_whitespaces = True
    proto.normalizer_spec.remove_extra_whitespaces = False
    for t, s, k in zip(tokens.data, scores.data, types.data):
        piece = proto.pieces.add()
        piece.piece = bytes(tokens.parts[t]).decode("utf-8")
        piece.score = float(scores.parts[s][0])
        piece.type = int(types.parts[k][0])
    return proto.SerializeToString()


def fast_tokenizer_from_gguf(gguf: str | Path, workdir: str | Path) -> Any:
    """A ``GemmaTokenizerFast`` built from the GGUF's SentencePiece vocabulary (no automatic BOS:
    the chat template writes it). The SentencePiece model is left in ``workdir/tokenizer.model``:
    llama.cpp's converter reads a Gemma folder's vocabulary from it, as from Google's own folders."""
    from gguf import GGUFReader
    from transformers import GemmaTokenizerFast

    if bool(_field(GGUFReader(str(gguf)), "tokenizer.ggml.add_space_prefix") or False):
        raise ModelLoadError(f"{gguf}: a SentencePiece vocabulary with a dummy prefix (Llama-2 style) "
                             f"is not supported yet; only Gemma-style vocabularies are")
    path = Path(workdir) / "tokenizer.model"
    path.write_bytes(sentencepiece_model_from_gguf(gguf))
    return GemmaTokenizerFast(vocab_file=str(path), add_bos_token=False, add_eos_token=False)


__all__ = ["is_sentencepiece_gguf", "sentencepiece_model_from_gguf", "fast_tokenizer_from_gguf"]
