"""Plain, frozen data passed between the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CATEGORIES: tuple[str, ...] = (
    "status",
    "dates",
    "enrollment",
    "outcomes",
    "eligibility",
    "design",
    "arms_interventions",
    "sponsor",
    "locations",
    "contacts",
    "conditions",
    "description",
    "identification",
    "references",
    "results",
    "administrative",
    "record",
    "other",
)

SEVERITIES: tuple[str, ...] = ("info", "minor", "major", "critical")
# Where a snapshot came from: a registry's live API (its kind), an offline directory, or the
# registry's record history.
FILES_SOURCE = "files"
HISTORY_SOURCE = "history"


def severity_rank(severity: str) -> int:
    """0 for info up to 3 for critical."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class RawRecord:
    """One record of one trial as a source produced it, in its registry's own shape.

    ``registry`` is the kind of the registry whose normalizer reads ``data`` (empty: the one
    whose ids have the form of ``trial_id``); ``source`` is where it came from (a registry's
    kind for its live API, ``files``, ``history``); ``origin`` says where exactly (a file path
    or a URL) for messages; ``captured_at`` is set for record-history versions (the version's
    date) and left ``None`` for live captures. ``source_key``, when a source sets it, is a
    version-prefixed hash of the record's input that changes whenever what the normalizer
    reads changes (the offline source hashes the file's bytes); the pipeline stores it with
    the snapshot, and a source that finds it unchanged may skip the record. ``size`` is the
    record's size in bytes as read, when the source knows it (0 otherwise): the pipeline holds
    a batch of records up to a budget of bytes.
    """

    trial_id: str
    data: dict[str, Any]
    source: str
    origin: str
    captured_at: str | None = None
    version: int | None = None
    source_key: str | None = None
    registry: str = ""
    size: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Change:
    """One meaningful, classified difference between two snapshots of a study."""

    category: str
    field: str
    severity: str
    old_value: Any
    new_value: Any
    summary: str


@dataclass(frozen=True)
class StudyError:
    """A study (or a request) that failed in a cycle; the others go on."""

    trial_id: str | None
    message: str
    transient: bool = True
    logged: bool = False  # the source already said it (once for a request of many studies)


RECORD_EVENTS: tuple[str, ...] = (
    "unchanged",
    "alias",
    "gone",
    "returned",
    "new_in_query",
    "left_query",
)


@dataclass(frozen=True)
class StateWrite:
    """A write to a registry's keyed state (see ``monitor.store.state``) that a source asks
    for with an event, so that it commits together with the event's change."""

    registry: str
    scope: str
    key: str
    value: Any  # None deletes the key


@dataclass(frozen=True)
class RecordEvent:
    """What a source learned about a study without a new record to compare.

    ``unchanged``: checked cheaply (its last-update date did not move); ``alias``: the registry
    answers the watched id under ``detail``; ``gone`` / ``returned``: the registry stopped / started
    again returning it; ``new_in_query`` / ``left_query``: it entered / left the saved search
    named ``query``. ``writes`` is what the source's own state learns with it.
    """

    trial_id: str
    kind: str
    query: str | None = None
    detail: str | None = None
    writes: tuple[StateWrite, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """Runs ``action`` once every item a source produced before it has been processed.

    A source saves its own progress this way (e.g. the registry's data release it has seen),
    so a cycle interrupted half-way never marks unprocessed records as done.
    """

    action: Callable[[], None]
    trial_id: None = None


@dataclass(frozen=True)
class Unchanged:
    """Studies a source found unchanged without reading their records (the keys of their
    bytes did not move): handled as one item, as ``RecordEvent(trial_id, "unchanged")`` each
    would be (counted unchanged, marked checked with the batch), without a step per study."""

    trial_ids: tuple[str, ...]
    trial_id: None = None


@dataclass(frozen=True)
class Deferred:
    """A record its source has not read yet: ``load()`` gives the items it stands for (its
    record, or the errors that kept it from being read), exactly those the source would have
    yielded in its place. The pipeline calls it where the record is detected (a worker
    process), so the process that writes never parses it. ``trial_id`` is the one study the
    source proved its bytes name; ``size`` their length when the source saw them."""

    trial_id: str
    size: int
    load: Callable[[], list[Item]]  # picklable: it is sent to a worker


Item = RawRecord | StudyError | RecordEvent | Checkpoint | Unchanged | Deferred
"""Whatever a source yields, one cycle's stream: records, errors, events and checkpoints."""


@dataclass
class RunReport:
    """What one cycle did: counts, the changes it found and the errors it met.

    The counts add up: every study checked is new, changed, unchanged or failed.
    """

    run_id: int
    started_at: str
    finished_at: str | None = None
    status: str = "running"
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[tuple[str, Change]] = field(default_factory=list)
    errors: list[StudyError] = field(default_factory=list)
    deliveries_sent: int = 0
    deliveries_failed: int = 0

    @property
    def failed(self) -> int:
        """Studies that failed (a study failing twice in a cycle is one)."""
        return len({e.trial_id for e in self.errors if e.trial_id})

    @property
    def failed_requests(self) -> int:
        """Failures of no single study: a saved search, a record without an id."""
        return sum(e.trial_id is None for e in self.errors)

    @property
    def checked(self) -> int:
        return self.new + self.changed + self.unchanged + self.failed
