"""Record-history backfill: a study's earlier versions fed through the pipeline's one path.

For each study: fetch the version list, then walk the versions oldest first (by date, then
number). Each version goes through :func:`monitor.pipeline.next_snapshot` (normalize ->
compare -> classify) against the version before it, exactly like a live record against the
study's latest snapshot; it becomes a ``history`` snapshot dated by the version's date when
its content differs, and is marked done either way, in one transaction. So:

* running it again fetches only the version list and stores nothing new;
* an interrupted backfill resumes after the last version done, without refetching;
* a study without history (404 or an empty list) is a normal case, counted, not an error.

How it merges with what the live monitor stored (its ``ctgov``/``files`` snapshots):

* no live snapshot: every version is imported and the newest becomes the study's latest, so
  the next ``trialmon run`` finds the record unchanged; once a live run has checked the study,
  versions newer than what is stored are left to it (so that their changes are notified);
* a live snapshot that was the study's first (a baseline): the versions dated before it are
  imported, then it is compared with the last of them: identical is not a change, otherwise
  the changes are recorded into it;
* a live snapshot that already follows a history snapshot: the live monitor owns the
  timeline from there; nothing is imported.

Historic changes are stored (``changes`` rows of a run with source ``history``) but never
notified: they are the study's past, not news.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.config import ChangesConfig
from monitor.errors import FetchError, RecordError, TransientFetchError
from monitor.models import RunReport, StudyError
from monitor.pipeline import detect, iso, next_snapshot, same_format
from monitor.sources.history import (
    SOURCE,
    JsonGetter,
    VersionInfo,
    fetch_version,
    fetch_versions,
)
from monitor.store import BackfillRun, DoneVersion, Latest, NewSnapshot, Store

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (nct_id, versions done, versions in the list)


def _no_progress(nct_id: str, done: int, total: int) -> None:
    return None


@dataclass
class Backfill:
    """Everything a backfill needs, built by the composition root."""

    store: Store
    client: JsonGetter
    rules: ChangesConfig
    now: datetime
    on_progress: Progress = _no_progress
    should_stop: Callable[[], bool] = field(default=lambda: False)


@dataclass
class StudyResult:
    """What the backfill of one study did."""

    nct_id: str
    versions: int = 0  # in the registry's version list
    stored: int = 0  # new history snapshots
    same: int = 0  # versions identical to the one before (no snapshot of their own)
    already: int = 0  # done by an earlier backfill
    left: int = 0  # left to the live monitor (dated after its first snapshot)
    changes: int = 0
    error: StudyError | None = None


@dataclass
class BackfillReport:
    run: RunReport
    studies: list[StudyResult] = field(default_factory=list)


@dataclass(frozen=True)
class Frontier:
    """Which versions of a study the backfill may import, and how they meet live snapshots."""

    limit: str | None  # import versions captured before this (None: all of them)
    join: Latest | None = None  # the live baseline to compare the last version with
    advance: bool = True  # imported versions become the study's latest
    closed: bool = False  # the live monitor owns the whole timeline after what is stored

    def admits(self, info: VersionInfo) -> bool:
        if self.closed:
            return False
        return self.limit is None or info.captured_at < self.limit


def frontier(store: Store, nct_id: str) -> Frontier:
    live = store.first_live(nct_id)
    if live is None:
        study = store.study(nct_id)
        checked = study is not None and study.get("last_checked") is not None
        return Frontier(limit=None, closed=checked)
    first_history = store.first_history_id(nct_id)
    if first_history is not None and first_history < live.snapshot_id:
        return Frontier(limit=live.captured_at, advance=False, closed=True)
    return Frontier(limit=live.captured_at, join=live, advance=False)


# ---------------------------------------------------------------- driver


def run_backfill(bf: Backfill, nct_ids: Iterable[str]) -> BackfillReport:
    """Backfill each study in turn; one study's failure does not stop the others."""
    now = iso(bf.now)
    report = BackfillReport(RunReport(run_id=bf.store.start_run(now, SOURCE), started_at=now))
    try:
        for nct_id in nct_ids:
            result = backfill_study(bf, nct_id, report.run)
            report.studies.append(result)
            if bf.should_stop():
                report.run.status = "stopped"
                break
    except BaseException:
        report.run.status = "interrupted"
        raise
    finally:
        finish(bf, report)
    return report


def finish(bf: Backfill, report: BackfillReport) -> None:
    run = report.run
    run.finished_at = iso(bf.now)
    if run.status == "running":
        run.status = "ok" if not run.errors else "partial"
    bf.store.finish_run(run)


def backfill_study(bf: Backfill, nct_id: str, run: RunReport) -> StudyResult:
    """Import one study's versions; a fetch or record error ends this study only."""
    result = StudyResult(nct_id)
    try:
        walk(bf, nct_id, result, run)
    except (FetchError, RecordError) as e:
        transient = isinstance(e, TransientFetchError)
        result.error = StudyError(nct_id, f"{nct_id}: {e}", transient=transient)
        run.errors.append(result.error)
        log.warning("%s: backfill stopped: %s", nct_id, e)
    count(run, result)
    return result


def count(run: RunReport, result: StudyResult) -> None:
    if result.error is not None:
        return  # a failed study is counted once, as failed
    if result.changes:
        run.changed += 1
    elif result.stored:
        run.new += 1
    else:
        run.unchanged += 1


class _Chain:
    """The snapshot the next version is compared with, loaded only when needed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.snapshot_id: int | None = None
        self._latest: Latest | None = None

    def point_at(self, snapshot_id: int | None, latest: Latest | None = None) -> None:
        self.snapshot_id, self._latest = snapshot_id, latest

    def latest(self) -> Latest | None:
        if self._latest is None and self.snapshot_id is not None:
            self._latest = self.store.snapshot_as_latest(self.snapshot_id)
        return self._latest


def walk(bf: Backfill, nct_id: str, result: StudyResult, run: RunReport) -> None:
    versions = fetch_versions(bf.client, nct_id)
    result.versions = len(versions)
    bf.on_progress(nct_id, 0, len(versions))
    if not versions:
        return
    edge, done = frontier(bf.store, nct_id), bf.store.done_versions(nct_id)
    chain = _Chain(bf.store)
    for number, info in enumerate(versions, start=1):
        if bf.should_stop():
            return  # what is done stays done; the next backfill resumes here
        if info.version in done:
            result.already += 1
            chain.point_at(done[info.version].snapshot_id)
        elif not edge.admits(info):
            result.left += 1
        else:
            import_version(bf, info, chain, edge, result, run)
        bf.on_progress(nct_id, number, len(versions))
    if edge.join is not None:
        join_live(bf, edge.join, chain, result, run)


def import_version(
    bf: Backfill,
    info: VersionInfo,
    chain: _Chain,
    edge: Frontier,
    result: StudyResult,
    run: RunReport,
) -> None:
    raw = fetch_version(bf.client, result.nct_id, info)
    previous = chain.latest()
    try:
        snap = next_snapshot(raw, previous, bf.rules, bf.now)
    except RecordError as e:
        raise RecordError(f"GET {raw.origin}: {e}") from e
    done = DoneVersion(result.nct_id, info.version, info.captured_at, None)
    target = BackfillRun(run.run_id, iso(bf.now), edge.advance)
    snapshot_id = bf.store.save_version(done, snap, previous, target)
    if snap is None:
        result.same += 1
        return
    chain.point_at(snapshot_id, as_latest(snap, snapshot_id))
    result.stored += 1
    result.changes += len(snap.changes)
    run.changes.extend((result.nct_id, c) for c in snap.changes)


def as_latest(snap: NewSnapshot, snapshot_id: int) -> Latest:
    return Latest(snap.nct_id, snapshot_id, snap.content_hash, snap.record, snap.captured_at)


def join_live(
    bf: Backfill, live: Latest, chain: _Chain, result: StudyResult, run: RunReport
) -> None:
    """Compare the live baseline with the last version before it; record what differs."""
    last = chain.latest()
    if last is None or last.snapshot_id == live.snapshot_id:
        return
    if last.content_hash == live.content_hash:
        return  # the live snapshot is that version: not a change
    if not same_format(last.content_hash, live.content_hash):
        return  # records of two formats are not diffed (as in live cycles)
    if bf.store.has_changes_between(last.snapshot_id, live.snapshot_id):
        return  # joined by an earlier backfill
    changes = detect(last, live.parsed(), bf.rules)
    between = (last.snapshot_id, live.snapshot_id)
    bf.store.add_changes(live.nct_id, changes, between, live.captured_at, run.run_id)
    result.changes += len(changes)
    run.changes.extend((live.nct_id, c) for c in changes)
