"""Every ``python -m`` entry point is its ``ecomlm`` subcommand, and ``--backend`` offers the backend table."""
from __future__ import annotations

import argparse
import importlib

import pytest

from ecomlm.cli.main import build_parser
from ecomlm.runtime.backends import BACKENDS

SCRIPTS = {  # subcommand -> module that is also `python -m MODULE`
    "val-loss": "ecomlm.train.val_loss", "ship": "ecomlm.train.ship", "loadtest": "ecomlm.demo.loadtest",
    "bench-threads": "ecomlm.bench.threads", "bench-prompt-tokens": "ecomlm.bench.prompt_tokens",
    "bench-export-chain": "ecomlm.bench.export_chain", "bench-http-batch": "ecomlm.bench.http_batch",
    "bench-decode-rows": "ecomlm.bench.decode_rows",
}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def _options(parser: argparse.ArgumentParser) -> dict[str, tuple]:
    return {a.dest: (tuple(a.option_strings), a.default, a.choices, a.required) for a in parser._actions
            if a.dest != "help"}


@pytest.mark.parametrize("command,module", sorted(SCRIPTS.items()))
def test_a_python_m_entry_point_takes_its_subcommands_options(command, module, capsys):
    sub = _subcommands()[command]
    with pytest.raises(SystemExit) as done:
        importlib.import_module(module).main(["--help"])
    assert done.value.code == 0
    assert f"python -m {module}" in capsys.readouterr().out
    wrapper = argparse.ArgumentParser()
    (getattr(importlib.import_module(module), "add_arguments", None)
     or importlib.import_module("ecomlm.train.cli").add_ship_arguments)(wrapper)
    assert _options(wrapper) == _options(sub)


@pytest.mark.parametrize("command", ["run", "serve", "eval", "bench"])
def test_backend_choices_are_the_backend_table(command):
    (backend,) = [a for a in _subcommands()[command]._actions if a.dest == "backend"]
    assert tuple(backend.choices) == BACKENDS
