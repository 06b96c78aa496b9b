"""run_cycle in process: outcomes, error isolation, stop requests, events, re-baselining."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import ChangesConfig
from monitor.limits import MAX_RECORD_BYTES
from monitor.models import RawRecord, RecordEvent, StudyError, Unchanged
from monitor.pipeline import (
    BATCH,
    BATCH_BYTES,
    Cycle,
    batches,
    event_change,
    missing_watched,
    run_cycle,
    studies_of,
)
from monitor.sources.files import iter_records
from monitor.store import Store

from .conftest import ROOT

NOW = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
SEEDS = ROOT / "seeds"


def cycle(store: Store, should_stop: Callable[[], bool] = lambda: False) -> Cycle:
    return Cycle(store, ChangesConfig(), NOW, "files", should_stop=should_stop)


def seed_items(directory: Path) -> list[RawRecord | StudyError]:
    return list(iter_records(directory, ("NCT06009107",)))  # (seeds/ also holds a CTIS trial)


def test_baseline_then_change_then_unchanged(store: Store) -> None:
    first = run_cycle(cycle(store), seed_items(SEEDS / "earlier"))
    assert (first.new, first.changes, first.status) == (1, [], "ok")
    second = run_cycle(cycle(store), seed_items(SEEDS))
    assert second.changed == 1
    assert {c.category for _, c in second.changes} >= {"status", "dates"}
    third = run_cycle(cycle(store), seed_items(SEEDS))
    assert (third.unchanged, third.changes) == (1, [])


def test_a_bad_record_fails_alone(store: Store) -> None:
    bad = RawRecord("NCT00000001", {"protocolSection": "not a module"}, "files", "bad.json")
    report = run_cycle(cycle(store), [bad, *seed_items(SEEDS)])
    assert report.new == 1
    assert [e.trial_id for e in report.errors] == ["NCT00000001"]
    assert report.status == "partial"


def test_a_stop_request_ends_the_cycle_before_the_next_study(store: Store) -> None:
    pulled: list[str] = []

    def items() -> Iterator[RawRecord | StudyError]:
        for item in seed_items(SEEDS):
            pulled.append(item.trial_id or "")
            yield item
        pulled.append("second")
        yield StudyError("NCT00000002", "never reached")

    report = run_cycle(cycle(store, should_stop=lambda: bool(pulled)), items())
    assert report.status == "stopped"
    assert pulled == ["NCT06009107"]


def test_missing_watched_studies_are_reported() -> None:
    items = list(missing_watched(seed_items(SEEDS), ["NCT06009107", "NCT00000009"], "seeds"))
    assert isinstance(items[-1], StudyError) and items[-1].trial_id == "NCT00000009"


def test_a_run_of_unchanged_studies_is_each_of_them_unchanged(store: Store) -> None:
    """``Unchanged`` stands for ``RecordEvent(id, "unchanged")`` of each of its studies: counted,
    checked (failures cleared) at the cycle's time, progress counted in studies."""
    run_cycle(cycle(store), seed_items(SEEDS / "earlier"))
    store.record_failure("NCT06009107", "down", "2026-11-26T19:00:00Z")
    later = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    steps: list[int] = []
    run = Cycle(store, ChangesConfig(), later, "files", on_progress=steps.append)
    report = run_cycle(run, [Unchanged(("NCT06009107", "NCT00000404"))])
    assert (report.unchanged, report.changes, report.errors, sum(steps)) == (2, [], [], 2)
    row = store.db.execute(
        "select last_checked, consecutive_failures, last_error from studies"
    ).fetchall()
    assert row == [("2026-11-27T08:00:00Z", 0, None)]


def test_a_batch_counts_the_studies_of_an_unchanged_run() -> None:
    runs = [Unchanged(tuple(f"NCT{n:08d}" for n in range(k, k + 300))) for k in (0, 300, 600)]
    assert [len(b) for b in batches(runs, BATCH)] == [2, 1]
    assert [sum(map(studies_of, b)) for b in batches(runs, BATCH)] == [600, 300]


def test_a_watched_study_in_an_unchanged_run_is_not_missing() -> None:
    items = list(missing_watched([Unchanged(("NCT00000001",))], ["NCT00000001"], "d"))
    assert items == [Unchanged(("NCT00000001",))]


def test_record_events_take_the_record_category_override() -> None:
    rules = ChangesConfig(severity={"record": "minor"})
    change = event_change(RecordEvent("NCT00000001", "gone"), rules)
    assert change is not None and (change.category, change.severity) == ("record", "minor")
    assert event_change(RecordEvent("NCT00000001", "unchanged"), rules) is None


def test_a_record_of_an_older_format_is_rebaselined(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "h.db")
    records = tmp_path / "r"
    records.mkdir()
    shutil.copy(SEEDS / "earlier/NCT06009107.txt", records)
    run_cycle(cycle(store), seed_items(records))
    store.db.execute("update snapshots set content_hash = 'v0:old'")
    store.db.conn.commit()
    shutil.copy(SEEDS / "NCT06009107.txt", records)
    report = run_cycle(cycle(store), seed_items(records))
    assert report.changes == []
    assert store.db.execute("select count(*) from snapshots").fetchone()[0] == 2
    store.close()


def test_a_batch_holds_at_most_its_budget_of_record_bytes_plus_one_record() -> None:
    """500 files at the size limit would be 5 GB in one batch: the batch ends at its budget."""
    big = [RawRecord(f"NCT{n:08d}", {}, "files", "x.json", size=MAX_RECORD_BYTES) for n in range(5)]
    small = [RawRecord(f"NCT1{n:07d}", {}, "files", "y.json", size=18_000) for n in range(600)]
    cut = list(batches([*big, *small], BATCH))
    assert [len(b) for b in cut][:2] == [2, 2]  # 2 x 10 MB: over the 16 MB budget
    assert sum(len(b) for b in cut) == 605
    assert all(sum(r.size for r in b) < BATCH_BYTES + MAX_RECORD_BYTES for b in cut)
    assert [len(b) for b in batches(small, BATCH)] == [500, 100]  # 9 MB: the count ends it
