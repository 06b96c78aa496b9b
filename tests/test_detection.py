"""The changed records' detection on worker processes (monitor.detection), and batches read
ahead of the one being written (pipeline ``ahead``): the same outcome as in one process.

The records are SYNTHETIC: the corpus of the reliability tests (tests/corpus.py, real records
under made-up ids, changed from cycle to cycle).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor import pipeline
from monitor.config import ChangesConfig
from monitor.detection import PoolDetector
from monitor.models import Deferred, Item, RawRecord, RunReport
from monitor.pipeline import Cycle, Detector, Failed, detect_record, run_cycle
from monitor.registries.ctgov.byteshape import KEY_PREFIX
from monitor.sources.files import iter_records
from monitor.store import Store

from .corpus import write_cycles

NOW = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_cycles(tmp_path_factory.mktemp("detection"), 3, 120)


def outcome(store: Store, report: RunReport) -> tuple[Any, ...]:
    snapshots = store.db.execute("select trial_id, content_hash from snapshots order by id")
    changes = store.db.execute(
        "select trial_id, category, field, old_value, new_value from changes order by id"
    )
    counts = (report.new, report.changed, report.unchanged, len(report.errors), report.status)
    return counts, snapshots.fetchall(), changes.fetchall()


def cycles(
    path: Path, releases: list[Path], detector: Detector | None, ahead: int, defer: bool = False
) -> list[tuple[Any, ...]]:
    found = []
    store = Store.open(path)
    try:
        for release in releases:
            cycle = Cycle(store, ChangesConfig(), NOW, "files", detector=detector, ahead=ahead)
            items = iter_records(release, (), store.source_hashes, defer=defer)
            found.append(outcome(store, run_cycle(cycle, items)))
    finally:
        store.close()
    return found


def test_workers_and_reading_ahead_record_what_one_process_records(
    tmp_path: Path, releases: list[Path]
) -> None:
    alone = cycles(tmp_path / "alone.db", releases, None, 0)
    pool = PoolDetector(processes=2, threshold=1)
    try:
        assert cycles(tmp_path / "pool.db", releases, pool, 1) == alone
        assert pool.pool is not None  # the workers did the work
        assert cycles(tmp_path / "deep.db", releases, pool, 8) == alone
    finally:
        pool.close()
    assert sum(len(c[2]) for c in alone) > 100  # the corpus really changes


def test_records_read_where_they_are_detected_record_what_one_process_records(
    tmp_path: Path, releases: list[Path]
) -> None:
    """``Deferred`` records (read on the workers, or here without a detector) against the
    records read by the source in this process."""
    alone = cycles(tmp_path / "alone.db", releases, None, 0)
    assert cycles(tmp_path / "here.db", releases, None, 0, defer=True) == alone
    pool = PoolDetector(processes=2, threshold=1)
    try:
        assert cycles(tmp_path / "pool.db", releases, pool, 8, defer=True) == alone
        assert pool.pool is not None
    finally:
        pool.close()


@pytest.mark.parametrize("threshold", [0, 10_000])  # read on the workers; read here
def test_a_deferred_file_that_does_not_parse_is_its_error_as_if_read_by_the_source(
    tmp_path: Path, releases: list[Path], threshold: int
) -> None:
    second = Path(shutil.copytree(releases[1], tmp_path / "second"))
    broken = sorted(second.glob("NCT*.json"))[3]
    broken.write_bytes(broken.read_bytes()[:-40])  # cut short: its one id is still there
    found = []
    for defer in (False, True):
        store = Store.open(tmp_path / f"{defer}.db")
        pool = PoolDetector(processes=2, threshold=threshold)
        try:
            run_cycle(Cycle(store, ChangesConfig(), NOW, "files"), iter_records(releases[0], ()))
            items = list(iter_records(second, (), store.source_hashes, defer=defer))
            assert defer == any(
                isinstance(i, Deferred) and i.trial_id == broken.stem for i in items
            )
            report = run_cycle(Cycle(store, ChangesConfig(), NOW, "files", detector=pool), items)
            found.append((outcome(store, report), [(e.trial_id, e.message) for e in report.errors]))
        finally:
            pool.close()
            store.close()
    assert found[1] == found[0]
    said = [(trial_id, m) for trial_id, m in found[1][1] if m.startswith(f"{broken}: ")]
    assert len(said) == 1 and said[0][0] is None and "not valid JSON" in said[0][1]


def test_deferred_files_without_a_file_key_are_keyed_as_the_source_keys_them(
    tmp_path: Path, releases: list[Path]
) -> None:
    """A file whose daily stamp is ambiguous has no file key: its record is keyed by its
    registry's source hash, read here or on a worker, and stored with it alike."""
    changed = []
    for n, release in enumerate(releases[:2]):
        copy = Path(shutil.copytree(release, tmp_path / f"r{n}"))
        for path in sorted(copy.glob("NCT*.json"))[:12]:  # a second stamp key: ambiguous
            doc = orjson.loads(path.read_bytes())
            doc["derivedSection"] = {"miscInfoModule": {"versionHolder": "2026-11-26"}}
            path.write_bytes(orjson.dumps({**doc, "versionHolder": "x"}))
        changed.append(copy)
    found = []
    for defer in (False, True):
        store = Store.open(tmp_path / f"{defer}.db")
        pool = PoolDetector(processes=2, threshold=1)
        try:
            for release in changed:
                items = iter_records(release, (), store.source_hashes, defer=defer)
                cycle = Cycle(store, ChangesConfig(), NOW, "files", detector=pool)
                report = run_cycle(cycle, items)
            keys = store.db.execute("select trial_id, source_key from source_keys order by 1")
            found.append((outcome(store, report), keys.fetchall()))
        finally:
            pool.close()
            store.close()
    assert found[1] == found[0]
    assert sum(not k.startswith(KEY_PREFIX) for _, k in found[1][1]) >= 12  # source hashes


def test_the_pool_starts_only_once_enough_records_are_to_be_detected(
    tmp_path: Path, releases: list[Path]
) -> None:
    pool = PoolDetector(processes=2, threshold=10_000)
    try:
        cycles(tmp_path / "few.db", releases[:1], pool, 1)
        assert pool.pool is None and pool.seen > 100
    finally:
        pool.close()


def test_what_a_worker_raised_is_the_records_error_as_in_one_process(tmp_path: Path) -> None:
    bad = RawRecord("NCT00000001", {"protocolSection": "not a module"}, "files", "bad.json")
    worse = RawRecord("NCT00000002", {"protocolSection": {"statusModule": 5}}, "files", "x.json")
    here = [detect_record(r, None, ChangesConfig(), NOW) for r in (bad, worse)]
    assert all(isinstance(f, Failed) for f in here)
    pool = PoolDetector(processes=2, threshold=0)
    try:
        jobs: list[pipeline.Job] = [(r, None, ChangesConfig(), NOW, None) for r in (bad, worse)]
        there = pool.start(jobs)()
    finally:
        pool.close()
    assert [(f.text, f.expected, f.kind) for f in there if isinstance(f, Failed)] == [
        (f.text, f.expected, f.kind) for f in here if isinstance(f, Failed)
    ]


def die(*args: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


def test_records_of_a_worker_that_died_are_detected_here(
    tmp_path: Path, releases: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [i for i in iter_records(releases[0], ()) if isinstance(i, RawRecord)][:6]
    jobs: list[pipeline.Job] = [(r, None, ChangesConfig(), NOW, None) for r in records]
    pool = PoolDetector(processes=2, threshold=0)
    try:
        monkeypatch.setattr("monitor.detection.detect_all", die)  # forked workers inherit it
        wait = pool.start(jobs)
        monkeypatch.undo()
        results = wait()
    finally:
        pool.close()
    assert results == [detect_record(*job) for job in jobs]


def test_a_batch_naming_a_study_of_an_unwritten_one_waits_for_it(tmp_path: Path) -> None:
    """Read ahead, a batch's stored snapshots would be those before the unwritten batch."""
    store = Store.open(tmp_path / "h.db")
    seeds = Path(__file__).parent.parent / "seeds"
    earlier = [i for i in iter_records(seeds / "earlier", ()) if isinstance(i, RawRecord)]
    later = [i for i in iter_records(seeds, ()) if isinstance(i, RawRecord)]

    def items() -> Iterator[Item]:
        yield from earlier
        yield from [pipeline.StudyError(None, "filler")] * (pipeline.BATCH - len(earlier))
        yield from later  # the same studies, the next batch

    cycle = Cycle(store, ChangesConfig(), NOW, "files", ahead=1)
    try:
        report = run_cycle(cycle, items())
    finally:
        store.close()
    assert (report.new, report.changed) == (len(earlier), len(later))


def prepared(weights: list[int]) -> deque[pipeline.Prepared]:
    def batch(size: int) -> list[Item]:
        return [RawRecord(f"NCT{n:08d}", {}, "files", "f.json", size=size // 4) for n in range(4)]

    return deque(pipeline.Prepared(batch(w), [], {}, dict) for w in weights)


def test_reading_ahead_is_bounded_by_batches_and_by_their_bytes(tmp_path: Path) -> None:
    """Small batches (a daily cycle's) are read ``ahead`` deep; large ones (a first cycle's)
    two at most, whatever ``ahead`` says: memory as with one batch ahead."""
    store = Store.open(tmp_path / "h.db")
    try:
        cycle = Cycle(store, ChangesConfig(), NOW, "files", ahead=8)
        small, large = pipeline.BATCH_BYTES // 100, pipeline.BATCH_BYTES // 2 + 4
        assert not pipeline.too_far_ahead(cycle, prepared([small] * 8))
        assert pipeline.too_far_ahead(cycle, prepared([small] * 9))
        assert not pipeline.too_far_ahead(cycle, prepared([large]))
        assert pipeline.too_far_ahead(cycle, prepared([large, large]))
        assert not pipeline.too_far_ahead(cycle, prepared([pipeline.BATCH_BYTES * 2]))
    finally:
        store.close()
