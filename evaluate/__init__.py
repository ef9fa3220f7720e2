"""Evaluation on the EcomGPT held-out tasks: ``ecomlm eval`` (see ``runner.run_eval``).

- ``heldout``: reading the held-out folder layout;
- ``mapping``: how each held-out task is asked through the task catalog, and compared;
- ``metrics``: micro/macro-F1 over predicted sets and Rouge-L (word-level English, character-level Chinese);
- ``runner``: running models and scoring; ``report``: results.json, predictions, markdown, chart.
- ``realistic_eval``: ``ecomlm eval-realistic``, the hand-labelled shop inputs of ``realistic/``.
"""
