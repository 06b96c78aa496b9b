"""`trialmon status` data: what counts as the last monitoring cycle."""

from __future__ import annotations

from monitor.models import RunReport
from monitor.status import last_cycle
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
