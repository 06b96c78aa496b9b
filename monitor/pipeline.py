"""One monitoring cycle: source -> normalize -> compare -> classify -> store -> notify.

``run_cycle`` drives a cycle over whatever a source yields; ``trialmon run`` and ``trialmon
daemon`` use it, and ``trialmon backfill`` opens and closes its run with the same
:func:`start` and :func:`finish` and turns each historic version into a snapshot with the same
:func:`next_snapshot` and the store's one write path. A record is normalized by its
registry (``monitor.registries``), and classified with that registry's status vocabulary.

Items go in batches: the batch's stored hashes and newest snapshots are read with one query
each, the records that moved go through :func:`next_snapshot` (pure: on worker processes when
the cycle has a :class:`Detector` that finds enough of them), then the batch is written in
its order, one transaction per study. A cycle may read ``ahead`` batches (and have them
detected) before it writes the one before, as long as their records' bytes stay within one
batch's budget (a daily cycle's batches hold a few changed records each: reading 8 ahead keeps
the workers busy while this process writes; a first cycle's hold hundreds: two at most, as
with one ahead): only for a source that reads nothing from the store while it yields, and
never for a batch that names a study of an unwritten one. A ``Deferred`` item (a record its
source left unread) is loaded where it is detected, and the items it gives are handled in
its place.
"""

from __future__ import annotations

import logging
import traceback
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Protocol

from monitor import normalize, registries
from monitor.classify import apply_severity, classify, record_change
from monitor.compare import compare
from monitor.configkit import ChangesConfig
from monitor.crosscheck import cross_check
from monitor.errors import RecordError
from monitor.models import (
    Change,
    Checkpoint,
    Deferred,
    Item,
    RawRecord,
    RecordEvent,
    RunReport,
    StudyError,
    Unchanged,
)
from monitor.normalize import Vocabulary
from monitor.notify.outbox import Outbox
from monitor.registries.base import Registry
from monitor.store import Latest, NewSnapshot, Store
from monitor.times import iso

log = logging.getLogger(__name__)

CHANGE_EVENTS = frozenset({"gone", "returned", "new_in_query", "left_query"})
BATCH = 500  # records read, then written, together: one query per kind for the batch
BATCH_BYTES = 16_000_000  # ... unless their bytes reach this first (500 average ones: 9 MB)


@dataclass(frozen=True)
class Failed:
    """What :func:`next_snapshot` raised for a record, as a value (it may come from a worker)."""

    text: str  # the error's words
    expected: bool  # a RecordError: the record cannot be normalized
    kind: str = ""  # the unexpected exception's type
    trace: str = ""  # ... and its traceback, for the debug log

    def message(self, origin: str) -> str:
        if self.expected:
            return f"{origin}: {self.text}"
        return f"{origin}: record of an unexpected shape ({self.kind}: {self.text})"


Verdict = tuple[str | None, bool]  # a record's source key, and whether it was seen before


@dataclass(frozen=True)
class Loaded:
    """What a ``Deferred`` item stood for, read and detected where it was loaded: each item
    it gave with, for a record, its verdict and what detection made of it."""

    items: list[tuple[Item, Verdict, Outcome]]


Outcome = NewSnapshot | None | Failed  # a record's detection: stored, unchanged, or failed
Detected = Outcome | Loaded
Job = tuple[RawRecord | Deferred, Latest | None, ChangesConfig, datetime, str | None]
"""What to detect: a record with its newest snapshot, the rules, ``now`` and its source key;
or a ``Deferred`` with the same, and the source key stored for its study."""


class Detector(Protocol):
    """Runs :func:`detect_record` for a batch's jobs, maybe elsewhere; ``start`` returns the
    call that waits for the results (in the jobs' order)."""

    def start(self, jobs: list[Job]) -> Callable[[], list[Detected]]: ...


@dataclass
class Cycle:
    """Everything one cycle needs, built by the composition root."""

    store: Store
    rules: ChangesConfig
    now: datetime
    source_name: str
    outbox: Outbox | None = None
    should_stop: Callable[[], bool] = field(default=lambda: False)
    on_progress: Callable[[int], None] = field(default=lambda n: None)
    detector: Detector | None = None  # None: every record detected here, as it is written
    ahead: int = 0  # batches read before the one before is written (see the module doc) ...
    # ... while their records' bytes stay within one batch's (``BATCH_BYTES``)


@dataclass
class Prepared:
    """A batch read from the store and sent for detection, not yet written."""

    batch: list[Item]
    verdicts: list[Verdict]
    latest: dict[str, Latest]
    results: Callable[[], dict[int, Detected]]  # by id() of the batch's records

    @cached_property  # asked for each batch read while this one waits (up to 8 ahead)
    def ids(self) -> set[str]:
        return item_ids(self.batch)

    @cached_property
    def weight(self) -> int:
        """Its records' bytes (what :func:`batches` bounds)."""
        return sum(i.size for i in self.batch if isinstance(i, RawRecord | Deferred))


def item_ids(batch: Iterable[Item]) -> set[str]:
    """The studies a batch names."""
    ids = {i.trial_id for i in batch if i.trial_id}
    for item in batch:
        if isinstance(item, Unchanged):
            ids.update(item.trial_ids)
    return ids


def studies_of(item: Item) -> int:
    """How many studies an item stands for (a batch's size and progress count studies)."""
    return len(item.trial_ids) if isinstance(item, Unchanged) else 1


def run_cycle(cycle: Cycle, items: Iterable[Item]) -> RunReport:
    """Run one cycle over ``items`` and return what it did."""
    with recorded(cycle) as report:
        pending: deque[Prepared] = deque()
        for batch in batches(until_stopped(items, cycle.should_stop), BATCH):
            names = item_ids(batch)
            while pending and any(names & p.ids for p in pending):  # read after it is written
                write_batch(cycle, pending.popleft(), report)
            pending.append(prepare_batch(cycle, batch))
            while too_far_ahead(cycle, pending):  # written before the source goes on
                write_batch(cycle, pending.popleft(), report)
        while pending:
            write_batch(cycle, pending.popleft(), report)
        if cycle.should_stop():
            report.status = "stopped"
        else:  # the newest records of every registry are in: where do they disagree?
            report.changes.extend(
                cross_check(cycle.store, iso(cycle.now), report.run_id, cycle.rules)
            )
    return report


def too_far_ahead(cycle: Cycle, pending: deque[Prepared]) -> bool:
    """More than ``ahead`` batches read, or more than one whose records' bytes together
    exceed a batch's budget: read ahead, memory stays that of two batches at most."""
    if len(pending) > cycle.ahead:
        return True
    return len(pending) > 1 and sum(p.weight for p in pending) > BATCH_BYTES


@contextmanager
def recorded(cycle: Cycle) -> Iterator[RunReport]:
    """A run from :func:`start` to :func:`finish`, whatever happens in between; a run cut
    short by an exception is ``interrupted``. Every driver (cycles, backfill) runs in one."""
    report = start(cycle)
    try:
        yield report
    except BaseException:
        report.status = "interrupted"
        raise
    finally:
        finish(cycle, report)


def start(cycle: Cycle) -> RunReport:
    """Open a run (after queueing what killed runs left for the outbox)."""
    now = iso(cycle.now)
    if cycle.outbox:
        cycle.outbox.recover(now)
    return RunReport(run_id=cycle.store.start_run(now, cycle.source_name), started_at=now)


def finish(cycle: Cycle, report: RunReport) -> None:
    """Close a run: its status, its digests queued, then delivered (every driver's one end)."""
    report.finished_at = iso(cycle.now)
    if report.status == "running":
        report.status = "ok" if not report.errors else "partial"
    if cycle.outbox:
        # Queue the digest while the run still reads ``running``: a crash before finish_run
        # leaves a run that recover() queues again (idempotent); a crash after it, none lost.
        cycle.outbox.enqueue(report.run_id, report.finished_at)
    cycle.store.finish_run(report)
    if cycle.outbox:
        report.deliveries_sent, report.deliveries_failed = cycle.outbox.deliver(report.finished_at)


def until_stopped(items: Iterable[Item], should_stop: Callable[[], bool]) -> Iterator[Item]:
    """Pass items on until a stop is requested; checked before each study is fetched."""
    iterator = iter(items)
    while not should_stop():
        item = next(iterator, None)
        if item is None:
            return
        yield item


def batches(items: Iterable[Item], size: int, budget: int = BATCH_BYTES) -> Iterator[list[Item]]:
    """Items in lists of ``size`` studies, each ended early once its records' bytes reach
    ``budget``.

    So a batch holds at most ``budget`` plus one record (``limits.MAX_RECORD_BYTES``) of
    records, whatever their sizes: 500 records at the size limit never sit in memory at once.
    """
    batch: list[Item] = []
    weight = studies = 0
    for item in items:
        batch.append(item)
        weight += item.size if isinstance(item, RawRecord | Deferred) else 0
        studies += studies_of(item)
        if studies >= size or weight >= budget:
            yield batch
            batch, weight, studies = [], 0, 0
    if batch:
        yield batch


def prepare_batch(cycle: Cycle, batch: list[Item]) -> Prepared:
    """The batch's stored hashes and newest snapshots read, its moved records (and deferred
    ones) sent to the cycle's detector; without one, the deferred ones are loaded here when
    the batch is written."""
    records = [i for i in batch if isinstance(i, RawRecord)]
    deferred = [i for i in batch if isinstance(i, Deferred)]
    found, latest, stored = sources_seen(cycle.store, records, cycle.now.date(), deferred)
    verdicts = list(found)
    unseen = [r for r, (_, seen) in zip(records, verdicts, strict=True) if not seen]
    moved: list[RawRecord | Deferred] = [*(unseen if cycle.detector else []), *deferred]
    keys = {id(r): key for r, (key, _) in zip(records, verdicts, strict=True)}
    keys.update((id(d), stored.get(d.trial_id)) for d in deferred)
    jobs = [(r, latest.get(r.trial_id), cycle.rules, cycle.now, keys[id(r)]) for r in moved]
    if not jobs:
        return Prepared(batch, verdicts, latest, dict)
    wait = cycle.detector.start(jobs) if cycle.detector else lambda: detect_all(jobs)
    return Prepared(batch, verdicts, latest, lambda: dict(zip(map(id, moved), wait(), strict=True)))


def write_batch(cycle: Cycle, prepared: Prepared, report: RunReport) -> None:
    """A prepared batch written in its order (the unchanged studies marked checked at once)."""
    detected = prepared.results()
    verdicts = iter(prepared.verdicts)
    unchanged: list[str] = []
    remember: list[tuple[str, str]] = []
    for item in prepared.batch:
        outcome = process_item(cycle, item, verdicts, prepared.latest, report, remember, detected)
        if isinstance(item, Unchanged):
            unchanged += item.trial_ids
        elif outcome == "unchanged" and item.trial_id:
            unchanged.append(item.trial_id)
    cycle.store.touch(unchanged, iso(cycle.now))
    cycle.store.remember_sources(remember)
    cycle.on_progress(sum(map(studies_of, prepared.batch)))


def process_item(
    cycle: Cycle,
    item: Item,
    verdicts: Iterator[tuple[str | None, bool]],
    latest: dict[str, Latest],
    report: RunReport,
    remember: list[tuple[str, str]],
    detected: dict[int, Detected] | None = None,
) -> str:
    """Whatever a source produced, handled by its kind; returns the outcome."""
    if isinstance(item, StudyError):
        note_error(cycle, report, item)
        return "failed"
    if isinstance(item, Checkpoint):
        with cycle.store.transaction():  # a source's progress is saved whole or not at all
            item.action()
        return "checkpoint"
    if isinstance(item, RecordEvent):
        return process_event(cycle, item, report)
    if isinstance(item, Unchanged):
        report.unchanged += len(item.trial_ids)
        return "unchanged"
    ready = (detected or {}).get(id(item), NOT_YET)
    if isinstance(item, Deferred):
        assert isinstance(ready, Loaded)  # prepare_batch loads every deferred item
        return process_loaded(cycle, ready, latest, report, remember)
    assert not isinstance(ready, Loaded)
    return check_record(cycle, item, next(verdicts), latest, report, remember, ready)


def process_loaded(
    cycle: Cycle,
    loaded: Loaded,
    latest: dict[str, Latest],
    report: RunReport,
    remember: list[tuple[str, str]],
) -> str:
    """The items a deferred record stood for, handled in their order; the outcome of its
    record (``failed`` when only errors came of it)."""
    outcome = "failed"
    for item, verdict, ready in loaded.items:
        if isinstance(item, RawRecord):
            outcome = check_record(cycle, item, verdict, latest, report, remember, ready)
        else:
            process_item(cycle, item, iter(()), latest, report, remember)
    return outcome


class _NotYet:
    """No result from a detector: detect the record here."""


NOT_YET = _NotYet()


def check_record(
    cycle: Cycle,
    raw: RawRecord,
    verdict: Verdict,
    latest: dict[str, Latest],
    report: RunReport,
    remember: list[tuple[str, str]],
    ready: Outcome | _NotYet = NOT_YET,
) -> str:
    """A record already seen from the same source is unchanged; the others are processed."""
    key, seen = verdict
    if seen:
        return seen_before(report)
    outcome = process_record(cycle, raw, latest.get(raw.trial_id), report, key, ready)
    if outcome == "unchanged" and key is not None:
        remember.append((raw.trial_id, key))  # other bytes, the same content
    return outcome


def sources_seen(
    store: Store, records: Sequence[RawRecord], today: date, deferred: Sequence[Deferred] = ()
) -> tuple[Iterator[Verdict], dict[str, Latest], dict[str, str]]:
    """Per record, its source hash and whether the newest snapshot came from the same source;
    the newest snapshots, and the source keys stored (the deferred records' studies too).

    Those need no normalizing, hashing or diffing (``Registry.source_hash``); the newest
    snapshots (with their records) are read only for the others and the deferred ones.
    """
    keys = [r.source_key or source_hash(r, today) for r in records]
    later = [d.trial_id for d in deferred]
    stored = store.source_hashes([r.trial_id for r in records] + later)
    pairs = zip(records, keys, strict=True)
    seen = [k is not None and stored.get(r.trial_id) == k for r, k in pairs]
    moved = [r.trial_id for r, s in zip(records, seen, strict=True) if not s]
    latest = store.latest(moved + later)
    return zip(keys, seen, strict=True), latest, stored


def registry_of(raw: RawRecord) -> Registry:
    """The registry whose normalizer reads a raw record."""
    return registries.get(raw.registry or registries.kind_of(raw.trial_id))


def source_hash(raw: RawRecord, today: date) -> str | None:
    return registry_of(raw).source_hash(raw.data, today)


def seen_before(report: RunReport) -> str:
    report.unchanged += 1
    return "unchanged"


def process_record(
    cycle: Cycle,
    raw: RawRecord,
    previous: Latest | None,
    report: RunReport,
    source_hash: str | None = None,
    ready: Outcome | _NotYet = NOT_YET,
) -> str:
    """Store one record when its content moved (detected here unless ``ready``)."""
    if isinstance(ready, _NotYet):
        ready = detect_record(raw, previous, cycle.rules, cycle.now, source_hash)
    if isinstance(ready, Failed):
        if not ready.expected:
            log.debug("%s: unexpected error\n%s", raw.origin, ready.trace)
        note_error(cycle, report, StudyError(raw.trial_id, ready.message(raw.origin), False))
        return "failed"
    if ready is None:
        report.unchanged += 1
        return "unchanged"
    cycle.store.save_snapshot(ready, previous, report.run_id)
    count_outcome(report, raw.trial_id, previous, list(ready.changes))
    return "new" if previous is None else "changed"


def detect_record(
    raw: RawRecord,
    previous: Latest | None,
    rules: ChangesConfig,
    now: datetime,
    source_hash: str | None = None,
) -> Outcome:
    """:func:`next_snapshot` with what it raises as a value: a record that cannot be
    normalized, or of a shape the pure core did not foresee, fails that record, not the cycle."""
    try:
        return next_snapshot(raw, previous, rules, now, source_hash)
    except RecordError as e:
        return Failed(str(e), expected=True)
    except Exception as e:
        return Failed(str(e), False, type(e).__name__, traceback.format_exc())


def detect_all(jobs: Sequence[Job]) -> list[Detected]:
    """:func:`detect_record` (or :func:`load_and_detect`) for each job (what a worker process
    runs)."""
    return [detect_job(*job) for job in jobs]


def detect_job(
    item: RawRecord | Deferred,
    previous: Latest | None,
    rules: ChangesConfig,
    now: datetime,
    key: str | None,
) -> Detected:
    if isinstance(item, Deferred):
        return load_and_detect(item, previous, rules, now, key)
    return detect_record(item, previous, rules, now, key)


def load_and_detect(
    deferred: Deferred,
    previous: Latest | None,
    rules: ChangesConfig,
    now: datetime,
    stored_key: str | None,
) -> Loaded:
    """A deferred record read, and detected as :func:`sources_seen` and :func:`detect_record`
    would have: seen before when its proven key is the one stored. Its record comes back
    without its data (what is stored is the snapshot), so it costs little to send."""
    out: list[tuple[Item, Verdict, Outcome]] = []
    for item in deferred.load():
        if not isinstance(item, RawRecord):
            out.append((item, (None, False), None))
            continue
        key = item.source_key or source_hash(item, now.date())  # as sources_seen keys it
        seen = key is not None and key == stored_key
        ready = None if seen else detect_record(item, previous, rules, now, key)
        out.append((replace(item, data={}), (key, seen), ready))
    return Loaded(out)


def next_snapshot(
    raw: RawRecord,
    previous: Latest | None,
    rules: ChangesConfig,
    now: datetime,
    source_hash: str | None = None,
) -> NewSnapshot | None:
    """normalize -> hash -> compare -> classify: the snapshot to store, or None if unchanged.

    The one path every driver (live cycles, record-history backfill) takes from a raw record
    to a classified snapshot, through the record's registry (its normalizer, and its status
    vocabulary for classify). Raises ``RecordError`` for a record that cannot be normalized.
    """
    registry = registry_of(raw)
    record = registry.normalize(raw.data, now.date())
    digest = normalize.content_hash(record)
    if previous is not None and previous.content_hash == digest:
        return None
    comparable = previous is not None and same_format(previous.content_hash, digest)
    changes = (
        detect(previous, record, rules, registry.vocabulary) if previous and comparable else []
    )
    return new_snapshot(raw, record, digest, changes, now, source_hash)


def same_format(old_hash: str, new_hash: str) -> bool:
    """A previous snapshot of another record format is re-baselined, never diffed: the
    migration upgraded every stored record it could read, and one it could not is compared
    with nothing rather than reported as changed in every field."""
    return normalize.format_of(old_hash) == normalize.format_of(new_hash)


def process_event(cycle: Cycle, event: RecordEvent, report: RunReport) -> str:
    """Count or store what a source learned without a new record; returns the outcome."""
    report.unchanged += event.kind == "unchanged"
    report.changed += event.kind == "gone"
    if event.kind == "unchanged":
        return "unchanged"
    change = event_change(event, cycle.rules)
    kind = registries.kind_of(event.trial_id)
    cycle.store.record_event(event, change, iso(cycle.now), report.run_id, kind)
    if change is not None:
        report.changes.append((event.trial_id, change))
    return event.kind


def event_change(event: RecordEvent, rules: ChangesConfig) -> Change | None:
    """The `record` change an event stands for (with the category's override), if any."""
    if event.kind not in CHANGE_EVENTS:
        return None
    return apply_severity(record_change(event.kind, query=event.query), rules)


def detect(
    previous: Latest, record: dict, rules: ChangesConfig, vocabulary: Vocabulary
) -> list[Change]:
    old = previous.parsed()
    views = (normalize.keyed(old), normalize.keyed(record))  # built once for both steps
    diffs = compare(old, record, rules.ignore, views)
    return classify(old, record, diffs, rules, views, vocabulary)


def new_snapshot(
    raw: RawRecord,
    record: dict,
    digest: str,
    changes: list[Change],
    now: datetime,
    source_hash: str | None = None,
) -> NewSnapshot:
    facts = normalize.facts(record)
    links = registries.links_of(record)
    return NewSnapshot(
        trial_id=raw.trial_id,
        registry=facts.registry,
        captured_at=raw.captured_at or iso(now),
        source=raw.source,
        content_hash=digest,
        last_update_posted=facts.last_update_posted,
        record=normalize.canonical_json(record),
        title=facts.title,
        overall_status=facts.overall_status,
        changes=changes,
        version=raw.version,
        source_hash=source_hash,
        links=links,
    )


def count_outcome(
    report: RunReport, trial_id: str, previous: Latest | None, changes: list[Change]
) -> None:
    if previous is None:
        report.new += 1
    elif changes:
        report.changed += 1
    else:
        report.unchanged += 1  # content moved but nothing meaningful (e.g. an ignored field)
    report.changes.extend((trial_id, c) for c in changes)


def note_error(cycle: Cycle, report: RunReport, error: StudyError) -> None:
    if not error.logged:
        log.warning("%s", error.message)
    report.errors.append(error)
    if error.trial_id:
        cycle.store.record_failure(error.trial_id, error.message, iso(cycle.now))


def missing_watched(items: Iterable[Item], watched: Collection[str], where: str) -> Iterator[Item]:
    """Pass items through, then report each watched study no item mentioned."""
    seen: set[str] = set()
    for item in items:
        if item.trial_id:
            seen.add(item.trial_id)
        elif isinstance(item, Unchanged):
            seen.update(item.trial_ids)
        yield item
    for trial_id in sorted(set(watched) - seen):
        yield StudyError(trial_id, f"{trial_id}: no record of this study in {where}")
