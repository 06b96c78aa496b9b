"""``python -m monitor`` and the ``trialmon`` command: the CLI, imported without the cyclic GC.

Start-up imports ~0.2 s of modules that live as long as the process; the collections they
would trigger find nothing to free (6% of the import time). The GC is on again before any
command runs, and each cycle freezes what start-up allocated (``cli.frozen``). ``run --source
DIR`` starts its first pass before these imports (:mod:`monitor.early`).
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    gc.disable()
    try:
        from monitor import early

        early.start(sys.argv[1:])  # ``run --source DIR``: its first pass while this imports
        from monitor.cli import main as run
    finally:
        gc.enable()
    try:
        run()
    finally:
        early.discard()


if __name__ == "__main__":
    main()
