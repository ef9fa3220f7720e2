"""The model-source layer: where the weights that training and export start from come from.

Both ``ecomlm.train`` and ``ecomlm.quantize`` import this layer; it imports only
``ecomlm.runtime`` (the model registry, ``runtime/models.py``; the cache root, ``runtime/cache.py``).

- ``base.py``: a base reference (``base``, ``gemma3-270m``, a ``.gguf`` file, a Hugging Face folder)
  materialised as a plain Hugging Face folder (cached by content hash), ``load_base_model``;
- ``hf_tokenizer.py``: the tokenizer finished as the GGUF declares it (special tokens, chat template,
  end-of-turn EOS); ``spm_tokenizer.py``: a SentencePiece GGUF vocabulary (Gemma) rebuilt;
  ``tokenizer_repair.py``: a byte-level GGUF vocabulary (SmolLM2) repaired;
- ``merge.py``: a run's (or a shipped) adapter merged into its base, or converted to a GGUF LoRA;
- ``hf_folder.py``: any model reference as a Hugging Face folder (export's starting point);
- ``converter.py``: llama.cpp's HF -> GGUF converter from the pinned llama-cpp-python sdist.

Heavy packages (torch, transformers, peft, gguf) are imported inside the functions that need them.
"""
