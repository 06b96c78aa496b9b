"""Run a command as a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One child process: wall and CPU seconds, peak resident set size in MB, exit status.

    CPU seconds (user + system) are what the program itself cost; on a shared machine the wall
    time also holds the time spent waiting for a core (see the load average in the report).
    """

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int


def run_child(argv: Sequence[str], log: Path, cwd: Path | None = None) -> Measured:
    """Run ``argv`` with stdout and stderr appended to ``log``; wait4 gives its own rusage.

    ``os.wait4`` reports the peak RSS of that one child (``ru_maxrss``, KB on Linux), unlike
    ``RUSAGE_CHILDREN``, which keeps the maximum over every child the harness ever waited for.
    """
    with log.open("ab") as out:
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), stdout=out, stderr=out, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, cpu, usage.ru_maxrss / 1024, child.returncode)


def check(measured: Measured, what: str, log: Path) -> Measured:
    if measured.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        sys.exit(f"benchmark: {what} exited with {measured.returncode}; end of {log}:\n{tail}")
    return measured
