"""The store: schema, one transaction per study, batched reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.models import Change, RunReport
from monitor.store import NewSnapshot, Store

STATUS = Change("status", "status.overall_status", "critical", "RECRUITING", "WITHDRAWN", "s")


def snap(
    nct: str, digest: str, changes: tuple[Change, ...] = (), at: str = "2026-01-01T00:00:00Z"
) -> NewSnapshot:
    return NewSnapshot(
        trial_id=nct,
        captured_at=at,
        source="files",
        content_hash=digest,
        last_update_posted="2025-08-08",
        record='{"a":1}',
        title="T",
        overall_status="WITHDRAWN",
        changes=changes,
    )


def test_open_creates_folder_tables_and_wal(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "deep" / "h.db")
    assert {"studies", "snapshots", "changes", "runs", "deliveries"} <= set(store.db.table_names())
    assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    store.close()
    Store.open(tmp_path / "deep" / "h.db").close()  # migrations are idempotent


def test_unusable_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(StoreError, match="unusable"):
        Store.open(path)


def test_snapshot_changes_and_latest(store: Store) -> None:
    first = store.save_snapshot(snap("NCT00000001", "h1"), None, None)
    latest = store.latest(["NCT00000001", "NCT00000002"])
    assert list(latest) == ["NCT00000001"]
    second = store.save_snapshot(snap("NCT00000001", "h2", (STATUS,)), latest["NCT00000001"], 7)
    row = store.changes_between(first, second)[0]
    assert (row["category"], row["old_value"], row["new_value"], row["run_id"]) == (
        "status",
        '"RECRUITING"',
        '"WITHDRAWN"',
        7,
    )
    study = store.study("NCT00000001")
    assert study is not None
    assert study["latest_snapshot_id"] == second
    assert study["first_seen"] == "2026-01-01T00:00:00Z"


def test_latest_reads_in_batches(store: Store) -> None:
    ids = [f"NCT{n:08d}" for n in range(1200)]
    for nct in ids[::100]:
        store.save_snapshot(snap(nct, "h"), None, None)
    assert sorted(store.latest(ids)) == ids[::100]


def test_failures_count_and_touch_resets(store: Store) -> None:
    store.save_snapshot(snap("NCT00000001", "h"), None, None)
    assert store.record_failure("NCT00000001", "boom", "t") == 1
    assert store.record_failure("NCT00000001", "boom", "t") == 2
    store.touch(["NCT00000001"], "2026-02-02T00:00:00Z")
    study = store.study("NCT00000001")
    assert study is not None
    assert (study["consecutive_failures"], study["last_checked"]) == (0, "2026-02-02T00:00:00Z")


def test_runs_and_interrupted_runs(store: Store) -> None:
    run_id = store.start_run("t0", "files")
    crashed = store.start_run("t1", "files")
    report = RunReport(run_id=run_id, started_at="t0", finished_at="t2", status="ok", unchanged=3)
    store.finish_run(report)
    assert store.mark_interrupted_runs("t3") == [crashed]
    rows = {r["id"]: r for r in store.db["runs"].rows}
    assert rows[run_id]["studies_checked"] == 3
    assert rows[crashed]["status"] == "interrupted"


def test_the_schema_lock_waits_for_another_writer_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``exclusive`` (around migrations) waits for a write lock another process holds, says
    once that it waits, and gives up after its limit; once the lock is free it proceeds."""
    import sqlite3

    from monitor.store.db import connect, exclusive

    holder, opener = connect(tmp_path / "h.db"), connect(tmp_path / "h.db")
    try:
        opener.execute("PRAGMA busy_timeout = 20")
        holder.conn.execute("BEGIN IMMEDIATE")
        refused = pytest.raises(sqlite3.OperationalError, match="held its write lock")
        with refused, exclusive(opener, wait=0.3):
            pass
        assert caplog.text.count("waiting for another trialmon process") == 1
        holder.conn.execute("COMMIT")
        with exclusive(opener, wait=0.3):
            opener.execute("create table made (x)")
        assert holder.table("made").exists()
    finally:
        holder.close()
        opener.close()
