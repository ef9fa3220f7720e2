"""A Hugging Face tokenizer that tokenizes exactly as llama.cpp does, for a GGUF SentencePiece vocabulary.

transformers 4.57 reads a GGUF ``llama``-type (SentencePiece) vocabulary such as Gemma 3's as a
*Unigram* model scored by the GGUF's scores. Gemma's vocabulary is SentencePiece *BPE* (its scores
are minus the merge rank), and llama.cpp merges by those scores: the two disagree on ordinary text
("The capital of France is": 5 tokens in llama.cpp, 10 from transformers' rebuild).

So the GGUF vocabulary is written back as the SentencePiece model it came from (pieces, scores,
types; BPE; byte fallback; whitespace escaped, no dummy prefix as the GGUF's ``add_space_prefix``
says), and the fast tokenizer is built from it with the ``tokenizers`` library (merges from
transformers' ``generate_merges``) the way transformers 4.57's ``GemmaConverter`` builds Gemma's own
(the same path the original Hugging Face tokenizer took). The build is written out here rather than
called: transformers 5 dropped that conversion (its ``GemmaTokenizerFast(vocab_file=...)`` ignores
the file and gives a 5-token vocabulary), and the GPU box runs transformers 5. Checked against llama.cpp on the corpus and against 4.57's
converter (tests/test_gemma_base.py).
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


def backend_tokenizer_from_proto(model: bytes) -> Any:
    """A ``tokenizers.Tokenizer`` for a serialized Gemma-style SentencePiece BPE ``ModelProto``:
    BPE with byte fallback over the pieces, spaces as ``▁``, split after each space, no special
    tokens added around a text; control and user-defined pieces as added tokens
    (``<start_of_turn>``/``<end_of_turn>`` special)."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import generate_merges  # in 4.57 and 5.x alike

    proto = pb.ModelProto()
    proto.ParseFromString(model)
    if proto.trainer_spec.model_type != pb.TrainerSpec.BPE:
        raise ModelLoadError("not a SentencePiece BPE vocabulary")
    scores = [(p.piece, p.score) for p in proto.pieces]
    if not any(piece == "\t" for piece, _ in scores):  # older Gemma vocabularies lack a tab piece
        tab = next((i for i, (piece, _) in enumerate(scores) if piece == "<0x09>"), None)
        if tab is not None:
            scores[tab] = ("\t", 0.0)
    vocab = {piece: i for i, (piece, _) in enumerate(scores)}
    # every split of a piece into two pieces, ranked by the piece's score (higher first)
    tok = Tokenizer(BPE(vocab, generate_merges(vocab, scores), unk_token=proto.trainer_spec.unk_piece,
                        fuse_unk=True, byte_fallback=True, dropout=None))
    special = {"<start_of_turn>", "<end_of_turn>"}
    tok.add_tokens([AddedToken(p.piece, normalized=False, special=p.type == 3 or p.piece in special)
                    for p in proto.pieces if p.type in (3, 4)])
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.post_processor = processors.TemplateProcessing(single="$A:0", pair="$A:0 $B:1", special_tokens=[])
    return tok


def fast_tokenizer_from_proto(model: bytes) -> Any:
    """``backend_tokenizer_from_proto`` as a transformers fast tokenizer with Gemma's special tokens
    (``<bos>``, ``<eos>``, ``<unk>``, ``<pad>``; nothing added around a text)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=backend_tokenizer_from_proto(model),
                                   bos_token="<bos>", eos_token="<eos>", unk_token="<unk>",
                                   pad_token="<pad>", clean_up_tokenization_spaces=False)


def fast_tokenizer_from_gguf(gguf: str | Path, workdir: str | Path) -> Any:
    """A fast tokenizer built from the GGUF's SentencePiece vocabulary (no automatic BOS: the chat
    template writes it). The SentencePiece model is left in ``workdir/tokenizer.model``: llama.cpp's
    converter reads a Gemma folder's vocabulary from it, as from Google's own folders."""
    from gguf import GGUFReader

    if bool(_field(GGUFReader(str(gguf)), "tokenizer.ggml.add_space_prefix") or False):
        raise ModelLoadError(f"{gguf}: a SentencePiece vocabulary with a dummy prefix (Llama-2 style) "
                             f"is not supported yet; only Gemma-style vocabularies are")
    model = sentencepiece_model_from_gguf(gguf)
    (Path(workdir) / "tokenizer.model").write_bytes(model)
    return fast_tokenizer_from_proto(model)


__all__ = ["is_sentencepiece_gguf", "sentencepiece_model_from_gguf", "backend_tokenizer_from_proto",
           "fast_tokenizer_from_proto", "fast_tokenizer_from_gguf"]
