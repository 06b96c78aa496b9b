"""The run lock: exclusive across processes, freed by the OS when its holder dies."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import lock as lock_module
from monitor.errors import LockHeldError
from monitor.lock import (
    Holder,
    RunLock,
    current_holder,
    daemon_lock_path,
    probe,
    read_holder,
    run_lock_path,
)

HOLD_SCRIPT = """
import sys, time
from pathlib import Path
from monitor.lock import RunLock
RunLock(Path(sys.argv[1]), command="holder").acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_paths_sit_next_to_the_database() -> None:
    db = Path("snapshots/history.db")
    assert run_lock_path(db) == Path("snapshots/history.db.lock")
    assert daemon_lock_path(db) == Path("snapshots/history.db.daemon.lock")


def test_second_holder_is_refused_with_the_first_named(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.db.lock"
    with RunLock(path, command="daemon"):
        with pytest.raises(LockHeldError) as info:
            RunLock(path).acquire()
        message = str(info.value)
        assert f"pid {os.getpid()} (daemon)" in message
        assert str(path) in message
        holder = current_holder(path)
        assert holder is not None and holder.pid == os.getpid()
    assert current_holder(path) is None


def test_release_empties_the_file_and_lets_the_next_one_in(tmp_path: Path) -> None:
    path = tmp_path / "history.db.lock"
    lock = RunLock(path).acquire()
    assert lock.held
    lock.release()
    assert not lock.held
    assert path.read_bytes() == b""
    lock.release()  # idempotent
    with RunLock(path) as again:
        assert again.held


def test_stale_file_of_a_dead_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db.lock"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(dead.stdout)
    path.write_text(f'{{"pid": {pid}, "started_at": "2026-01-01T00:00:00Z"}}')
    assert read_holder(path) == Holder(pid, "2026-01-01T00:00:00Z")
    assert current_holder(path) is None  # the file says pid, but that process is gone
    with caplog.at_level(logging.INFO, logger="monitor.lock"), RunLock(path):
        holder = read_holder(path)
        assert holder is not None and holder.pid == os.getpid()
    assert f"left by pid {pid}" in caplog.text


def test_lock_of_a_sigkilled_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "history.db.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeldError, match=r"\(holder\)"):
            RunLock(path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
    with RunLock(path):
        holder = read_holder(path)
        assert holder is not None and holder.pid == os.getpid()


def test_garbled_lock_file_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "history.db.lock"
    path.write_text("not json")
    assert read_holder(path) is None
    with RunLock(path) as lock:
        assert lock.held


# ---------------------------------------------------------------- asking the lock, not the pid


def test_a_pid_reused_after_a_kill_is_not_taken_for_the_holder(tmp_path: Path) -> None:
    """The file still names a killed daemon's pid, now another live process (here: this one);
    nobody holds the lock, so nobody is running."""
    path = tmp_path / "history.db.daemon.lock"
    path.write_text(f'{{"pid": {os.getpid()}, "started_at": "2026-01-01T00:00:00Z"}}')
    assert read_holder(path) is not None  # what the file says ...
    assert current_holder(path) is None  # ... is not what the lock says
    assert probe(path) is False


def test_a_held_lock_is_reported_even_when_its_file_says_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.db.lock"
    with RunLock(path):
        path.write_bytes(b"")  # a holder that has not written its name yet
        assert probe(path) is True
        holder = current_holder(path)
        assert holder is not None and holder.pid == 0 and holder.describe() == "pid unknown"
    assert probe(path) is False


def test_a_missing_lock_file_is_free_and_the_probe_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.db.lock"
    assert probe(path) is False and current_holder(path) is None
    assert not path.exists()


def test_a_probe_never_makes_a_cycle_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle starting while `trialmon status` probes (a shared lock for a moment) waits for
    the probe instead of being refused: the probe lets go at the cycle's first pause."""
    path = tmp_path / "history.db.lock"
    path.write_bytes(b"")
    prober = os.open(path, os.O_RDONLY)
    fcntl.flock(prober, fcntl.LOCK_SH | fcntl.LOCK_NB)  # what probe() holds for a moment
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        os.close(prober)  # the probe is done

    monkeypatch.setattr(lock_module, "pause", pause)
    with RunLock(path) as lock:
        assert lock.held
    assert len(pauses) == 1
