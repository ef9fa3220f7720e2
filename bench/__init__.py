"""The speed and memory benchmark: ``ecomlm bench`` (see ``runner.run_bench``).

- ``titles.txt``: the fixed batch of 100 short product titles (NER);
- ``runner``: load time, peak RSS, tokens/s, items/s, API vs raw llama-cpp-python, prefix-cache reuse;
- ``batched``: greedy decoding of several sequences per ``llama_decode`` on llama.cpp.
"""
