"""The run lock: exclusive across processes, freed by the OS when its holder dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import LockHeldError
from monitor.lock import (
    Holder,
    RunLock,
    current_holder,
    daemon_lock_path,
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
