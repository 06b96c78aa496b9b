"""`trialmon daemon` as a real process: scheduled cycles, the shared run lock, a clean stop.

Records: ``tests/data/study_NCT02576665_terminated.json`` is a REAL copy of
``../shared/ctgov-samples/study_NCT02576665_terminated.json``; the "earlier" version the
tests write first is SYNTHETIC, derived from it (status RECRUITING, no whyStopped).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from monitor.config import ChangesConfig
from monitor.lock import RunLock, daemon_lock_path, run_lock_path
from monitor.models import RawRecord
from monitor.pipeline import Cycle, run_cycle
from monitor.store import Store

from .conftest import DATA
from .conftest import trialmon as run_trialmon

NCT = "NCT02576665"
REAL = DATA / "study_NCT02576665_terminated.json"
T = TypeVar("T")


def earlier_record() -> dict[str, Any]:
    """SYNTHETIC: the real record as it might have read before the study was terminated."""
    record = json.loads(REAL.read_text())
    status = record["protocolSection"]["statusModule"]
    status["overallStatus"] = "RECRUITING"
    status.pop("whyStopped", None)
    return record


def put_record(directory: Path, record: dict[str, Any]) -> None:
    """Replace the study's file atomically, so a cycle never reads half a file."""
    tmp = directory / f".{NCT}.json.tmp"  # hidden: the offline source skips it
    tmp.write_text(json.dumps(record))
    os.replace(tmp, directory / f"{NCT}.json")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "records").mkdir()
    put_record(tmp_path / "records", earlier_record())
    (tmp_path / "config.toml").write_text(
        'source = "records"\n'
        "[watch]\n"
        f'studies = ["{NCT}"]\n'
        "[schedule]\n"
        'every = "1s"\n'
        "[notify.log]\n"
        'file = "notify.log"\n'
    )
    return tmp_path


def trialmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_trialmon(*args, cwd=cwd, timeout=30)


def start_daemon(cwd: Path, procs: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    log = (cwd / "daemon.err").open("a")
    cmd = [sys.executable, "-m", "monitor", "daemon"]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log, text=True)
    log.close()
    procs.append(proc)
    return proc


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 10) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def query(cwd: Path, sql: str) -> list[tuple[Any, ...]]:
    path = cwd / "snapshots" / "history.db"
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        db.close()


def text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def status_json(cwd: Path) -> dict[str, Any]:
    result = trialmon("status", "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def db_files(db: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of the database and its WAL files (not the lock files)."""
    files = [db, *db.parent.glob(db.name + "-*")]
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def stop(proc: subprocess.Popen[str]) -> float:
    """SIGTERM; returns the seconds until the process exited."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=5)
    return time.monotonic() - sent


def test_daemon_stores_and_delivers_a_change_then_stops_on_sigterm(
    workdir: Path, procs: list[subprocess.Popen[str]]
) -> None:
    daemon = start_daemon(workdir, procs)
    wait_for(lambda: query(workdir, "select 1 from runs where studies_new = 1"), "the baseline")
    live = wait_for(
        lambda: (s := status_json(workdir))["daemon"]["next_cycle_at"] and s, "the next cycle"
    )
    assert live["daemon"]["running"] and live["daemon"]["pid"] == daemon.pid
    assert live["daemon"]["schedule"] == "every 1s (UTC)"

    put_record(workdir / "records", json.loads(REAL.read_text()))
    changes = wait_for(
        lambda: query(workdir, "select severity, summary from changes where category = 'status'"),
        "the status change",
    )
    assert ("critical", "Overall status: RECRUITING → TERMINATED") in changes
    wait_for(lambda: "RECRUITING → TERMINATED" in text_of(workdir / "notify.log"), "delivery")
    # the log channel writes and syncs a digest, then the row is marked sent: wait for both
    sent = wait_for(
        lambda: query(workdir, "select channel, status from deliveries where status = 'sent'"),
        "the delivery marked sent",
    )
    assert sent == [("log", "sent")]
    assert query(workdir, "select count(*) from deliveries") == [(1,)]

    second = trialmon("daemon", cwd=workdir)
    assert second.returncode == 1
    assert f"another trialmon daemon is running (pid {daemon.pid} (daemon)" in second.stderr

    assert stop(daemon) < 5
    assert daemon.returncode == 0
    err = text_of(workdir / "daemon.err")
    assert "SIGTERM received" in err and "daemon stopped" in err
    assert "Traceback" not in err
    assert query(workdir, "select count(*) from runs where status = 'running'") == [(0,)]
    after = status_json(workdir)
    assert not after["daemon"]["running"] and after["cycle_running"] is None
    assert after["last_cycle"]["status"] in ("ok", "stopped")
    assert after["deliveries"] == {"pending": [], "failed": []}


def test_run_is_refused_with_exit_0_while_a_cycle_holds_the_lock(workdir: Path) -> None:
    first = trialmon("run", cwd=workdir)
    assert first.returncode == 0, first.stderr
    db = workdir / "snapshots" / "history.db"
    before = db_files(db)

    with RunLock(run_lock_path(db), command="test"):
        refused = trialmon("run", cwd=workdir)
        quiet = trialmon("run", "--quiet", cwd=workdir)
        status = status_json(workdir)

    assert refused.returncode == 0
    assert refused.stdout == ""
    assert "skipped, nothing done: another trialmon cycle is running" in refused.stderr
    assert f"(pid {os.getpid()} (test)" in refused.stderr
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")  # cron mails nothing
    assert status["cycle_running"]["pid"] == os.getpid()
    assert db_files(db) == before  # the refused run did not touch the database
    assert query(workdir, "select count(*) from runs") == [(1,)]


def test_daemon_skips_a_cycle_while_a_cron_run_holds_the_lock(
    workdir: Path, procs: list[subprocess.Popen[str]]
) -> None:
    lock = RunLock(run_lock_path(workdir / "snapshots" / "history.db"), command="cron run")
    with lock:
        daemon = start_daemon(workdir, procs)
        wait_for(lambda: "cycle skipped" in text_of(workdir / "daemon.err"), "a skipped cycle")
        assert query(workdir, "select count(*) from runs") == [(0,)]
    wait_for(lambda: query(workdir, "select 1 from runs where status = 'ok'"), "a cycle")
    assert stop(daemon) < 5
    assert daemon.returncode == 0
    assert "another trialmon cycle is running (pid" in text_of(workdir / "daemon.err")


def test_locks_of_a_sigkilled_daemon_are_taken_over(
    workdir: Path, procs: list[subprocess.Popen[str]]
) -> None:
    killed = start_daemon(workdir, procs)
    db = workdir / "snapshots" / "history.db"
    wait_for(lambda: query(workdir, "select 1 from runs"), "the first cycle")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=5)
    assert daemon_lock_path(db).read_text()  # the lock file still names the dead daemon

    assert not status_json(workdir)["daemon"]["running"]
    run = trialmon("-v", "run", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "unchanged" in run.stdout
    again = start_daemon(workdir, procs)
    wait_for(lambda: status_json(workdir)["daemon"]["running"], "the new daemon")
    assert stop(again) < 5
    assert again.returncode == 0


def test_a_stop_ends_the_cycle_at_a_study_boundary() -> None:
    """In process: the stop is seen before the next study is fetched; what is done is kept."""
    base = json.loads(REAL.read_text())
    pulled: list[str] = []
    stop_after = 2

    def records() -> Iterator[RawRecord]:
        for n in range(5):
            nct = f"NCT9000000{n}"
            data = json.loads(json.dumps(base))
            data["protocolSection"]["identificationModule"]["nctId"] = nct
            pulled.append(nct)
            yield RawRecord(nct, data, "files", f"test #{n}")

    store = Store.memory()
    cycle = Cycle(
        store=store,
        rules=ChangesConfig(),
        now=datetime(2026, 11, 26, 20, 0, tzinfo=UTC),
        source_name="files",
        should_stop=lambda: len(pulled) >= stop_after,
    )
    report = run_cycle(cycle, records())
    assert pulled == ["NCT90000000", "NCT90000001"]  # the third was never fetched
    assert (report.status, report.checked, report.new) == ("stopped", 2, 2)
    assert store.known_studies() == pulled
    row = store.db.execute("select status, studies_checked from runs").fetchone()
    assert row == ("stopped", 2)
    store.close()


def test_status_without_a_database(tmp_path: Path) -> None:
    shutil.copy(REAL, tmp_path / "unused.json")
    (tmp_path / "config.toml").write_text(f'[watch]\nstudies = ["{NCT}"]\n')
    result = trialmon("status", cwd=tmp_path)
    assert result.returncode == 1  # a query command never creates a database (CONTRACT)
    assert "no database at 'snapshots/history.db'" in result.stderr
    assert not (tmp_path / "snapshots").exists()


def test_status_before_the_first_cycle(tmp_path: Path, procs: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "records").mkdir()
    (tmp_path / "config.toml").write_text(
        f'source = "records"\n[watch]\nstudies = ["{NCT}"]\n[schedule]\nrun_at_start = false\n'
    )
    daemon = start_daemon(tmp_path, procs)
    wait_for(lambda: "daemon started" in (tmp_path / "daemon.err").read_text(), "the start")
    result = trialmon("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Config: config.toml\nDatabase: snapshots/history.db\n")
    assert "Daemon: running" in result.stdout
    assert "Last cycle: none yet" in result.stdout
    assert f"Watched: 1 study ({NCT})" in result.stdout
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
