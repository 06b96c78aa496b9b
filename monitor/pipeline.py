"""One monitoring cycle: source -> normalize -> compare -> classify -> store -> notify.

``run_cycle`` is the only driver of the pipeline; ``trialmon run``, ``trialmon daemon`` and
``trialmon backfill`` all feed records through it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor import normalize
from monitor.classify import apply_severity, classify, record_change
from monitor.compare import compare
from monitor.config import ChangesConfig
from monitor.errors import RecordError
from monitor.models import Change, Checkpoint, RawRecord, RecordEvent, RunReport, StudyError
from monitor.notify.outbox import Outbox
from monitor.store import Latest, NewSnapshot, Store

log = logging.getLogger(__name__)

Item = RawRecord | StudyError | RecordEvent | Checkpoint
CHANGE_EVENTS = frozenset({"gone", "returned", "new_in_query", "left_query"})
BATCH = 500  # records read, then written, together: one query per kind for the batch
BATCH_BYTES = 16_000_000  # ... unless their bytes reach this first (500 average ones: 9 MB)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second: ``2026-11-26T20:03:14Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def run_cycle(cycle: Cycle, items: Iterable[Item]) -> RunReport:
    """Run one cycle over ``items`` and return what it did."""
    store, now = cycle.store, iso(cycle.now)
    if cycle.outbox:
        cycle.outbox.recover(now)
    report = RunReport(run_id=store.start_run(now, cycle.source_name), started_at=now)
    try:
        for batch in batches(until_stopped(items, cycle.should_stop), BATCH):
            process_batch(cycle, batch, report)
            cycle.on_progress(len(batch))
        if cycle.should_stop():
            report.status = "stopped"
    finally:
        finish(cycle, report)
    return report


def finish(cycle: Cycle, report: RunReport) -> None:
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
    """Items in lists of ``size``, each ended early once its records' bytes reach ``budget``.

    So a batch holds at most ``budget`` plus one record (``limits.MAX_RECORD_BYTES``) of
    records, whatever their sizes: 500 records at the size limit never sit in memory at once.
    """
    batch: list[Item] = []
    weight = 0
    for item in items:
        batch.append(item)
        weight += item.size if isinstance(item, RawRecord) else 0
        if len(batch) >= size or weight >= budget:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch


def process_batch(cycle: Cycle, batch: Sequence[Item], report: RunReport) -> None:
    """The batch's records, read with one query per kind; each study written atomically."""
    records = [i for i in batch if isinstance(i, RawRecord)]
    verdicts, latest = sources_seen(cycle.store, records)
    unchanged: list[str] = []
    remember: list[tuple[str, str]] = []
    for item in batch:
        outcome = process_item(cycle, item, verdicts, latest, report, remember)
        if outcome == "unchanged" and item.nct_id:
            unchanged.append(item.nct_id)
    cycle.store.touch(unchanged, iso(cycle.now))
    cycle.store.remember_sources(remember)


def process_item(
    cycle: Cycle,
    item: Item,
    verdicts: Iterator[tuple[str | None, bool]],
    latest: dict[str, Latest],
    report: RunReport,
    remember: list[tuple[str, str]],
) -> str:
    """Whatever a source produced, handled by its kind; returns the outcome."""
    if isinstance(item, StudyError):
        note_error(cycle, report, item)
        return "failed"
    if isinstance(item, Checkpoint):
        item.action()
        return "checkpoint"
    if isinstance(item, RecordEvent):
        return process_event(cycle, item, report)
    return check_record(cycle, item, next(verdicts), latest, report, remember)


def check_record(
    cycle: Cycle,
    raw: RawRecord,
    verdict: tuple[str | None, bool],
    latest: dict[str, Latest],
    report: RunReport,
    remember: list[tuple[str, str]],
) -> str:
    """A record already seen from the same source is unchanged; the others are processed."""
    key, seen = verdict
    if seen:
        return seen_before(report)
    outcome = process_record(cycle, raw, latest.get(raw.nct_id), report, key)
    if outcome == "unchanged" and key is not None:
        remember.append((raw.nct_id, key))  # other bytes, the same content
    return outcome


def sources_seen(
    store: Store, records: Sequence[RawRecord]
) -> tuple[Iterator[tuple[str | None, bool]], dict[str, Latest]]:
    """Per record, its source hash and whether the newest snapshot came from the same source.

    Those need no normalizing, hashing or diffing (``normalize.source_hash``); the newest
    snapshots (with their records) are read only for the others.
    """
    keys = [r.source_key or normalize.source_hash(r.data) for r in records]
    stored = store.source_hashes([r.nct_id for r in records])
    seen = [k is not None and stored.get(r.nct_id) == k for r, k in zip(records, keys, strict=True)]
    latest = store.latest([r.nct_id for r, s in zip(records, seen, strict=True) if not s])
    return zip(keys, seen, strict=True), latest


def seen_before(report: RunReport) -> str:
    report.checked += 1
    report.unchanged += 1
    return "unchanged"


def process_record(
    cycle: Cycle,
    raw: RawRecord,
    previous: Latest | None,
    report: RunReport,
    source_hash: str | None = None,
) -> str:
    """Normalize one record and store it when its content moved; returns the outcome."""
    report.checked += 1
    try:
        snap = next_snapshot(raw, previous, cycle.rules, cycle.now, source_hash)
    except RecordError as e:
        note_error(cycle, report, StudyError(raw.nct_id, f"{raw.origin}: {e}", transient=False))
        return "failed"
    except Exception as e:  # a shape the pure core did not foresee fails this record, not the cycle
        log.debug("%s: unexpected error", raw.origin, exc_info=True)
        message = f"{raw.origin}: record of an unexpected shape ({type(e).__name__}: {e})"
        note_error(cycle, report, StudyError(raw.nct_id, message, transient=False))
        return "failed"
    if snap is None:
        report.unchanged += 1
        return "unchanged"
    cycle.store.save_snapshot(snap, previous, report.run_id)
    count_outcome(report, raw.nct_id, previous, list(snap.changes))
    return "new" if previous is None else "changed"


def next_snapshot(
    raw: RawRecord,
    previous: Latest | None,
    rules: ChangesConfig,
    now: datetime,
    source_hash: str | None = None,
) -> NewSnapshot | None:
    """normalize -> hash -> compare -> classify: the snapshot to store, or None if unchanged.

    The one path every driver (live cycles, record-history backfill) takes from a raw record
    to a classified snapshot. Raises ``RecordError`` for a record that cannot be normalized.
    """
    record = normalize.normalize(raw.data)
    digest = normalize.content_hash(record)
    if previous is not None and previous.content_hash == digest:
        return None
    comparable = previous is not None and same_format(previous.content_hash, digest)
    changes = detect(previous, record, rules) if previous and comparable else []
    return new_snapshot(raw, record, digest, changes, now, source_hash)


def same_format(old_hash: str, new_hash: str) -> bool:
    """A previous snapshot of another record format is re-baselined, never diffed."""
    return old_hash.split(":")[0] == new_hash.split(":")[0]


def process_event(cycle: Cycle, event: RecordEvent, report: RunReport) -> str:
    """Count or store what a source learned without a new record; returns the outcome."""
    if event.kind in ("unchanged", "gone"):
        report.checked += 1
        report.unchanged += event.kind == "unchanged"
        report.changed += event.kind == "gone"
    if event.kind == "unchanged":
        return "unchanged"
    change = event_change(event, cycle.rules)
    cycle.store.record_event(event, change, iso(cycle.now), report.run_id)
    if change is not None:
        report.changes.append((event.nct_id, change))
    return event.kind


def event_change(event: RecordEvent, rules: ChangesConfig) -> Change | None:
    """The `record` change an event stands for (with the category's override), if any."""
    if event.kind not in CHANGE_EVENTS:
        return None
    return apply_severity(record_change(event.kind, query=event.query), rules)


def detect(previous: Latest, record: dict, rules: ChangesConfig) -> list[Change]:
    old = previous.parsed()
    views = (normalize.keyed(old), normalize.keyed(record))  # built once for both steps
    return classify(old, record, compare(old, record, rules.ignore, views), rules, views)


def new_snapshot(
    raw: RawRecord,
    record: dict,
    digest: str,
    changes: list[Change],
    now: datetime,
    source_hash: str | None = None,
) -> NewSnapshot:
    facts = normalize.facts(record)
    return NewSnapshot(
        nct_id=raw.nct_id,
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
    )


def count_outcome(
    report: RunReport, nct_id: str, previous: Latest | None, changes: list[Change]
) -> None:
    if previous is None:
        report.new += 1
    elif changes:
        report.changed += 1
    else:
        report.unchanged += 1  # content moved but nothing meaningful (e.g. an ignored field)
    report.changes.extend((nct_id, c) for c in changes)


def note_error(cycle: Cycle, report: RunReport, error: StudyError) -> None:
    log.warning("%s", error.message)
    report.errors.append(error)
    if error.nct_id:
        cycle.store.record_failure(error.nct_id, error.message, iso(cycle.now))


def missing_watched(items: Iterable[Item], watched: Collection[str], where: str) -> Iterator[Item]:
    """Pass items through, then report each watched study no item mentioned."""
    seen: set[str] = set()
    for item in items:
        if item.nct_id:
            seen.add(item.nct_id)
        yield item
    for nct_id in sorted(set(watched) - seen):
        yield StudyError(nct_id, f"{nct_id}: no record of this study in {where}")
