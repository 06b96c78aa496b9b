"""`trialmon status` data: what counts as the last monitoring cycle."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.lock import daemon_lock_path, run_lock_path
from monitor.models import RunReport
from monitor.status import last_cycle, unhealthy
from monitor.store import Store


def finished(store: Store, source: str, at: str) -> int:
    run_id = store.start_run(at, source)
    store.finish_run(RunReport(run_id=run_id, started_at=at, finished_at=at, status="ok"))
    return run_id


def test_a_backfill_is_not_the_last_cycle(store: Store) -> None:
    cycle = finished(store, "ctgov", "2026-11-26T06:00:00Z")
    finished(store, "history", "2026-11-26T07:00:00Z")
    last = last_cycle(store, running=False)
    assert last is not None and last["id"] == cycle


def test_a_run_left_running_by_a_dead_process_shows_as_interrupted(store: Store) -> None:
    finished(store, "files", "2026-11-26T06:00:00Z")
    store.start_run("2026-11-26T07:00:00Z", "files")
    last = last_cycle(store, running=False)
    assert last is not None and last["status"] == "interrupted"


def health(running: bool, run: dict | None) -> str | None:
    return unhealthy({"daemon": {"running": running}, "last_cycle": run})


def test_healthy_means_a_daemon_runs_and_its_last_cycle_checked_something() -> None:
    assert health(True, None) is None  # the first cycle is still to come
    assert health(True, {"id": 3, "errors": 2, "studies_checked": 10}) is None  # partial is fine
    assert health(False, None) == "the daemon is not running"
    assert health(True, {"id": 4, "errors": 12, "studies_checked": 0}) == (
        "the last cycle (run 4) could check nothing: 12 failed"
    )


def test_status_asks_the_lock_not_the_pid_left_in_it(tmp_path: Path) -> None:
    """After a daemon was SIGKILLed its pid was reused by a live process (here: this one):
    the lock files still name it, but nobody holds the locks, so nothing is running."""
    db = tmp_path / "history.db"
    Store.open(db).close()
    stale = f'{{"pid": {os.getpid()}, "started_at": "2026-01-01T00:00:00Z", "command": "daemon"}}'
    for path in (daemon_lock_path(db), run_lock_path(db)):
        path.write_text(stale)
    result = CliRunner().invoke(cli, ["--db", str(db), "status", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["daemon"]["running"] is False and data["cycle_running"] is None
    text = CliRunner().invoke(cli, ["--db", str(db), "status"]).stdout
    assert "Daemon: not running" in text and "Cycle running now" not in text
