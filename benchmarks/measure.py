"""Run a command as a child process and measure it: wall time and the child's own peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SYNC = [True]  # run.py --smoke: no os.sync (seconds on a busy disk, for figures nobody reads)


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
    """Run ``argv`` through ``launch.py`` with stdout and stderr appended to ``log``.

    The launcher waits for the command with ``os.wait4``, which reports the peak RSS of that
    one process (``ru_maxrss``), and writes it with the wall and CPU times to a JSON file.
    Dirty pages are flushed first (``os.sync``, not timed): otherwise the write-back of what
    the program before wrote (git-history's 700 MB database, a release's files) lands in this
    one's time; that made trialmon's second cycle ~1 s slower than its third.
    """
    if SYNC[0]:
        os.sync()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "measured.json"
        launcher = [sys.executable, str(Path(__file__).parent / "launch.py"), str(out)]
        with log.open("ab") as sink:
            subprocess.run([*launcher, *argv], stdout=sink, stderr=sink, cwd=cwd, check=False)
        if not out.exists():
            return Measured(0.0, 0.0, 0.0, -1)
        data = json.loads(out.read_text())
    return Measured(data["seconds"], data["cpu_seconds"], data["peak_rss_mb"], data["returncode"])


def check(measured: Measured, what: str, log: Path) -> Measured:
    if measured.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        sys.exit(f"benchmark: {what} exited with {measured.returncode}; end of {log}:\n{tail}")
    return measured
