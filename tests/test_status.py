"""`trialmon status` data: what counts as the last monitoring cycle."""

from __future__ import annotations

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
