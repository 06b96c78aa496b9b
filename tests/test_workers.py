"""Worker processes end with the process that started them (monitor.workers), even when it is
killed with SIGKILL: otherwise they wait forever for work, holding its stdout and stderr."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from monitor import workers

KILLED_WITH_WORKERS = """
import os, signal, sys, time
from monitor import workers

with_threads = sys.argv[1] == "spawn"
if with_threads:
    import threading
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
pool = workers.pool(2)
pids = {f.result() for f in [pool.submit(os.getpid) for _ in range(40)]}
print(" ".join(map(str, pids)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["fork", "spawn"])
def test_workers_end_when_their_caller_is_killed(how: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WITH_WORKERS, how],
        capture_output=True,
        text=True,
        timeout=60,  # the pipes close only when the workers are gone too
        check=False,
    )
    assert done.returncode == -9, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)


def test_the_watch_without_prctl_ends_an_orphan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where prctl is not there, a thread looks for the parent (here: it is alive)."""
    monkeypatch.setattr(workers, "_parent_death_signal", lambda: False)
    started: list[tuple[object, tuple[int]]] = []

    class Recorded:
        def __init__(self, target: object, args: tuple[int], daemon: bool) -> None:
            started.append((target, args))

        def start(self) -> None:
            pass

    monkeypatch.setattr(workers.threading, "Thread", Recorded)
    workers.end_with(12345)
    assert started == [(workers._watch, (12345,))]
