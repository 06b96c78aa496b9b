"""Record-history backfill: a study's earlier versions fed through the pipeline's one path.

A backfill is a run of the pipeline (:func:`monitor.pipeline.recorded`: the same start and
finish as a cycle, without notifications). For each study, its registry's record history
(``Registry.history``; a registry without one has no versions) gives the version list, then
the versions are walked oldest first (by date, then number). Each version goes through
:func:`monitor.pipeline.next_snapshot` (normalize -> compare -> classify) against the version
before it, exactly like a live record against the study's latest snapshot; it becomes a
``history`` snapshot dated by the version's date when its content differs (written by the
store's one write path), and is marked done either way, in one transaction. So:

* running it again fetches only the version list and stores nothing new;
* an interrupted backfill resumes after the last version done, without refetching;
* a study without history (404 or an empty list) is a normal case, counted, not an error.

How it merges with what the live monitor stored (its live or ``files`` snapshots):

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor import registries
from monitor.configkit import ChangesConfig
from monitor.errors import FetchError, RecordError, TransientFetchError
from monitor.models import HISTORY_SOURCE, RawRecord, RunReport, StudyError
from monitor.pipeline import Cycle, detect, next_snapshot, recorded, same_format
from monitor.registries.base import JsonGetter, RecordHistory, VersionInfo
from monitor.store import BackfillRun, DoneVersion, Latest, NewSnapshot, Store
from monitor.times import iso

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (trial_id, versions done, versions in the list)


def _no_progress(trial_id: str, done: int, total: int) -> None:
    return None


@dataclass
class Backfill:
    """Everything a backfill needs, built by the composition root.

    ``client`` asks the record history of a trial's registry; ``clients`` (by registry kind)
    when the trials are of several registries, each with its own polite HTTP layer.
    """

    store: Store
    client: JsonGetter | None
    rules: ChangesConfig
    now: datetime
    on_progress: Progress = _no_progress
    should_stop: Callable[[], bool] = field(default=lambda: False)
    clients: Mapping[str, JsonGetter] = field(default_factory=dict)

    def http_for(self, kind: str) -> JsonGetter:
        http = self.clients.get(kind, self.client)
        if http is None:
            raise FetchError(f"no connection to the {registries.get(kind).title} record history")
        return http

    def cycle(self) -> Cycle:
        """The run of the backfill, as the pipeline opens and closes it (never notified)."""
        source = HISTORY_SOURCE
        return Cycle(self.store, self.rules, self.now, source, should_stop=self.should_stop)


@dataclass
class StudyResult:
    """What the backfill of one study did."""

    trial_id: str
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


def frontier(store: Store, trial_id: str) -> Frontier:
    live = store.first_live(trial_id)
    if live is None:
        study = store.study(trial_id)
        checked = study is not None and study.get("last_checked") is not None
        return Frontier(limit=None, closed=checked)
    first_history = store.first_history_id(trial_id)
    if first_history is not None and first_history < live.snapshot_id:
        return Frontier(limit=live.captured_at, advance=False, closed=True)
    return Frontier(limit=live.captured_at, join=live, advance=False)


# ---------------------------------------------------------------- driver


def run_backfill(bf: Backfill, trial_ids: Iterable[str]) -> BackfillReport:
    """Backfill each study in turn; one study's failure does not stop the others."""
    with recorded(bf.cycle()) as run:
        report = BackfillReport(run)
        for trial_id in trial_ids:
            report.studies.append(backfill_study(bf, trial_id, run))
            if bf.should_stop():
                run.status = "stopped"
                break
    return report


def backfill_study(bf: Backfill, trial_id: str, run: RunReport) -> StudyResult:
    """Import one study's versions; a fetch or record error ends this study only."""
    result = StudyResult(trial_id)
    try:
        walk(bf, trial_id, result, run)
    except (FetchError, RecordError) as e:
        transient = isinstance(e, TransientFetchError)
        result.error = StudyError(trial_id, f"{trial_id}: {e}", transient=transient)
        run.errors.append(result.error)
        log.warning("%s: backfill stopped: %s", trial_id, e)
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


@dataclass(frozen=True)
class _History:
    """A trial's record history: its registry's, through that registry's HTTP layer."""

    trial_id: str
    history: RecordHistory
    http: JsonGetter

    def versions(self) -> list[VersionInfo]:
        return self.history.versions(self.http, self.trial_id)

    def version(self, info: VersionInfo) -> RawRecord:
        return self.history.version(self.http, self.trial_id, info)


def history_of(bf: Backfill, trial_id: str) -> _History | None:
    """None for a registry that keeps no record history."""
    kind = registries.kind_of(trial_id)
    history = registries.get(kind).history()
    return None if history is None else _History(trial_id, history, bf.http_for(kind))


def walk(bf: Backfill, trial_id: str, result: StudyResult, run: RunReport) -> None:
    history = history_of(bf, trial_id)
    versions = history.versions() if history is not None else []
    result.versions = len(versions)
    bf.on_progress(trial_id, 0, len(versions))
    if history is None or not versions:
        return
    edge, done = frontier(bf.store, trial_id), bf.store.done_versions(trial_id)
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
            import_version(bf, history.version(info), chain, edge, result, run)
        bf.on_progress(trial_id, number, len(versions))
    if edge.join is not None:
        join_live(bf, edge.join, chain, result, run)


def import_version(
    bf: Backfill,
    raw: RawRecord,
    chain: _Chain,
    edge: Frontier,
    result: StudyResult,
    run: RunReport,
) -> None:
    previous = chain.latest()
    try:
        snap = next_snapshot(raw, previous, bf.rules, bf.now)
    except RecordError as e:
        raise RecordError(f"GET {raw.origin}: {e}") from e
    assert raw.version is not None and raw.captured_at is not None  # a history version
    if snap is not None:  # a version of the history: not a check of the live record
        snap = replace(snap, checked=False, first_seen=iso(bf.now))
    done = DoneVersion(result.trial_id, raw.version, raw.captured_at, None)
    target = BackfillRun(run.run_id, iso(bf.now), edge.advance)
    snapshot_id = bf.store.save_version(done, snap, previous, target)
    if snap is None:
        result.same += 1
        return
    chain.point_at(snapshot_id, as_latest(snap, snapshot_id))
    result.stored += 1
    result.changes += len(snap.changes)
    run.changes.extend((result.trial_id, c) for c in snap.changes)


def as_latest(snap: NewSnapshot, snapshot_id: int) -> Latest:
    return Latest(snap.trial_id, snapshot_id, snap.content_hash, snap.record, snap.captured_at)


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
    vocabulary = registries.get(registries.kind_of(live.trial_id)).vocabulary
    changes = detect(last, live.parsed(), bf.rules, vocabulary)
    between = (last.snapshot_id, live.snapshot_id)
    bf.store.add_changes(live.trial_id, changes, between, live.captured_at, run.run_id)
    result.changes += len(changes)
    run.changes.extend((live.trial_id, c) for c in changes)
