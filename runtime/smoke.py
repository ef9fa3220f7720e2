"""Set-up check: the installed llama.cpp build runs the bundled model on one real prompt.

``python -m ecomlm.runtime.smoke`` loads ``default`` and extracts the entities of one title, in a child
process, so that a llama.cpp build that crashes on this CPU (a segmentation fault in ``llama_decode``
cannot be caught in Python) is reported by ``scripts/setup.sh`` with the fix, instead of surfacing
later as a bare crash of the first ``ecomlm run``. Exit status 0 and the entities on success.
"""
from __future__ import annotations

import subprocess
import sys

TITLE = "Lenovo ThinkPad X1 Carbon Gen 11, 14 inch, Intel Core i7"
TYPES = ("Brand", "Product", "Attribute")


def _run_in_this_process() -> None:
    from ecomlm.runtime import EcomModel

    with EcomModel.load("default", n_threads=1) as model:
        result = model.extract_entities(TITLE, TYPES)
    print(result)


def main() -> int:
    """Run the check in a child process; 0 when it answered, else the child's exit status."""
    child = subprocess.run([sys.executable, "-c", "from ecomlm.runtime.smoke import _run_in_this_process as r; r()"],
                           capture_output=True, text=True)
    sys.stdout.write(child.stdout)
    sys.stderr.write(child.stderr)
    if child.returncode != 0:
        how = f"killed by signal {-child.returncode}" if child.returncode < 0 else f"exit status {child.returncode}"
        print(f"ecomlm smoke check: the bundled model did not answer ({how})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
