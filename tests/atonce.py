"""Start processes that begin their work at one moment (concurrency tests only).

    python -m tests.atonce READY GO trialmon ARGS...    # the trialmon CLI
    python -m tests.atonce READY GO open DATABASE       # Store.open, as every command opens

Each process imports what it needs, writes one byte to the pipe descriptor READY, then blocks
reading one byte from the descriptor GO. The test waits for every READY byte, then writes one
GO byte per process: they all leave the barrier together, with their imports behind them, so
their first touches of the database fall within the same few milliseconds.
"""

from __future__ import annotations

import os
import sys

from monitor import registries
from monitor.cli import main
from monitor.store import Store


def barrier(ready: int, go: int) -> None:
    os.write(ready, b"r")
    os.close(ready)
    os.read(go, 1)
    os.close(go)


def open_store(path: str) -> None:
    Store.open(path, registries.upgrades()).close()


if __name__ == "__main__":
    ready, go, what, *args = sys.argv[1:]
    barrier(int(ready), int(go))
    if what == "open":
        open_store(args[0])
    else:
        sys.argv = ["trialmon", *args]
        main()
