"""The values the store reads and writes: plain frozen dataclasses, no SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.crossref import Link
from monitor.models import Change
from monitor.store.db import to_json


@dataclass(frozen=True)
class Latest:
    """What the store knows of a study's newest snapshot."""

    trial_id: str
    snapshot_id: int
    content_hash: str
    record: str
    captured_at: str

    def parsed(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.record)
        return value


@dataclass(frozen=True)
class NewSnapshot:
    """A snapshot to write, with the changes that lead to it (none for a baseline)."""

    trial_id: str
    captured_at: str
    source: str
    content_hash: str
    last_update_posted: str | None
    record: str
    title: str | None
    overall_status: str | None
    changes: Sequence[Change]
    version: int | None = None
    source_hash: str | None = None
    registry: str = ""  # the kind of the trial's registry
    checked: bool = True  # a check of the live record (False: a version of its history)
    first_seen: str | None = None  # of a new study: when trialmon saw it (default captured_at)
    links: Sequence[Link] | None = None  # the ids its record names elsewhere (None: keep them)


@dataclass(frozen=True)
class DoneVersion:
    """A record-history version a backfill has processed (a row of ``backfill_versions``)."""

    trial_id: str
    version: int
    captured_at: str
    snapshot_id: int | None  # the snapshot holding its content (None until stored)
    stored: bool = False  # True when this version made a snapshot of its own


@dataclass(frozen=True)
class BackfillRun:
    """Where a backfill's writes go: its run, its time, and whether the study's latest moves."""

    run_id: int | None
    now: str
    advance: bool


def change_row(
    trial_id: str,
    change: Change,
    from_id: int | None,
    to_id: int | None,
    detected_at: str,
    run_id: int | None,
    registry: str | None = None,
) -> dict[str, Any]:
    return {
        "trial_id": trial_id,
        "registry": registry or None,
        "from_snapshot_id": from_id,
        "to_snapshot_id": to_id,
        "detected_at": detected_at,
        "category": change.category,
        "field": change.field,
        "severity": change.severity,
        "old_value": to_json(change.old_value),
        "new_value": to_json(change.new_value),
        "summary": change.summary,
        "run_id": run_id,
    }
