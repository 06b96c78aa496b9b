"""The schema, as the ordered migrations that build it (sqlite-utils ``Migrations``).

A migration, once released, never changes: a later schema is a new migration. Applied
migrations are recorded in ``_sqlite_migrations``; :func:`apply` runs the missing ones, each
in its own transaction, when a store is opened: first trialmon's own set, then each
registry's state upgrades (a set per registry, ``trialmon.<kind>``).

Migrations that rewrite stored rows need to know the registries (which registry a stored
trial id belongs to, how a registry's old bookkeeping moves into the keyed state): the
composition root hands that in as :class:`Upgrades`; the store never imports a registry.
A database whose rows need it, opened without it, is refused.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from monitor.crossref import Link
from monitor.errors import RecordError, StoreError
from monitor.normalize import V1_PATHS, content_hash, format_of, upgrade_v1
from monitor.store import sqlviews
from monitor.store.db import BATCH, exclusive, marks
from monitor.store.state import StateUpgrade, apply_upgrade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upgrades:
    """What the registries tell the store's migrations (built by ``monitor.registries``)."""

    registry_of: Callable[[str], str] | None = None  # a stored trial id -> its registry
    state: Mapping[str, Sequence[StateUpgrade]] = field(default_factory=dict)
    # a stored canonical record -> the ids it names in other registries (and its aliases)
    links_of: Callable[[dict[str, Any]], Sequence[Link]] | None = None


migrations = Migrations("trialmon")
_upgrades = Upgrades()  # the Upgrades of the apply() running now (a migration takes only db)


@migrations(name="0001_initial")
def _initial(db: Database) -> None:
    db.table("studies").create(
        {
            "nct_id": str,
            "title": str,
            "overall_status": str,
            "first_seen": str,
            "last_checked": str,
            "last_changed": str,
            "latest_snapshot_id": int,
            "last_update_posted": str,
            "content_hash": str,
            "consecutive_failures": int,
            "last_error": str,
        },
        pk="nct_id",
        not_null={"first_seen"},
        defaults={"consecutive_failures": 0},
    )
    db.table("snapshots").create(
        {
            "id": int,
            "nct_id": str,
            "captured_at": str,
            "source": str,
            "content_hash": str,
            "last_update_posted": str,
            "record": str,
            "run_id": int,
            "version": int,
        },
        pk="id",
        not_null={"nct_id", "captured_at", "source", "content_hash", "record"},
    )
    db.table("snapshots").create_index(["nct_id", "captured_at"])
    db.table("changes").create(
        {
            "id": int,
            "nct_id": str,
            "from_snapshot_id": int,
            "to_snapshot_id": int,
            "detected_at": str,
            "category": str,
            "field": str,
            "severity": str,
            "old_value": str,
            "new_value": str,
            "summary": str,
            "run_id": int,
        },
        pk="id",
        not_null={"nct_id", "detected_at", "category", "field", "severity", "summary"},
    )
    db.table("changes").create_index(["nct_id"])
    db.table("changes").create_index(["detected_at"])
    db.table("changes").create_index(["run_id"])
    db.table("runs").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "source": str,
            "studies_checked": int,
            "studies_new": int,
            "studies_changed": int,
            "studies_unchanged": int,
            "changes_found": int,
            "errors": int,
            "error_details": str,
        },
        pk="id",
        not_null={"started_at", "status"},
    )
    db.table("deliveries").create(
        {
            "id": int,
            "run_id": int,
            "channel": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
            "payload": str,
        },
        pk="id",
        not_null={"channel", "status", "created_at"},
        defaults={"attempts": 0},
    )
    db.table("deliveries").create_index(["status"])
    db.table("meta").create({"key": str, "value": str}, pk="key")


# 0002 made the first registry's own state tables; they are that registry's business now
# (moved into the keyed state of 0006 by its StateUpgrade), so a new database never has them.


@migrations(name="0003_views")
def _views(db: Database) -> None:
    """SQL views for the common questions: created now when the store is opened (``apply``
    recreates every view whose definition is not today's), since today's views read columns
    0007 names."""


@migrations(name="0004_backfill")
def _backfill(db: Database) -> None:
    """Record-history backfill: which versions are done (to resume), one snapshot per version."""
    db.table("backfill_versions").create(
        {
            "nct_id": str,
            "version": int,
            "captured_at": str,
            "snapshot_id": int,
            "stored": int,
            "run_id": int,
            "done_at": str,
        },
        pk=("nct_id", "version"),
        not_null={"nct_id", "version", "captured_at", "snapshot_id", "stored", "done_at"},
    )
    db.execute(
        "create unique index if not exists idx_snapshots_history_version "
        "on snapshots (nct_id, version) where source = 'history'"
    )


@migrations(name="0005_source_keys")
def _source_keys(db: Database) -> None:
    """Per study, the key of a raw record known to normalize to one snapshot's content.

    Valid only while that snapshot is the study's newest (``Store.source_hashes`` joins on
    it); a source or the pipeline then skips a record with the same key. Snapshots themselves
    are never rewritten.
    """
    db.table("source_keys").create(
        {"nct_id": str, "snapshot_id": int, "source_key": str},
        pk="nct_id",
        not_null={"snapshot_id", "source_key"},
    )


@migrations(name="0006_registry_state")
def _registry_state(db: Database) -> None:
    """Each registry's own bookkeeping as JSON values under (registry, scope, key)."""
    db.table("registry_state").create(
        {"registry": str, "scope": str, "key": str, "value": str},
        pk=("registry", "scope", "key"),
        not_null={"value"},
    )


def apply(db: Database, upgrades: Upgrades | None = None) -> None:
    """Every pending migration: trialmon's own, then each registry's state upgrades.

    All in one write transaction (:func:`~monitor.store.db.exclusive`), taken only when
    something is pending: two processes creating a new database at once take turns, and the
    second finds the schema made (a reader waits for it the same way). A migration that fails
    leaves the database as it was.
    """
    global _upgrades
    _upgrades = upgrades or Upgrades()
    try:
        sets = [migrations, *(registry_set(k, s) for k, s in _upgrades.state.items())]
        if not any(found.pending(db) for found in sets):
            refresh_views(db)
            return
        with exclusive(db):
            for found in sets:
                found.apply(db)  # each migration a savepoint of the one transaction
            sqlviews.create_views(db, sqlviews.stale_views(db))
    finally:
        _upgrades = Upgrades()


def refresh_views(db: Database) -> None:
    """Views whose definition changed since the database last saw this trialmon, recreated.

    On a database this process cannot write (a read-only copy) they are left as they are,
    with a warning: the commands read tables, not views.
    """
    if not sqlviews.stale_views(db):
        return
    try:
        with exclusive(db):
            sqlviews.create_views(db, sqlviews.stale_views(db))
    except sqlite3.OperationalError as e:
        if "readonly" not in str(e):
            raise
        log.warning("the SQL views of this read-only database are out of date (%s)", e)


def registry_set(kind: str, steps: Sequence[StateUpgrade]) -> Migrations:
    """One registry's state upgrades as a migration set of its own."""
    found = Migrations(f"trialmon.{kind}")
    for step in steps:
        found(name=step.name)(_state_step(kind, step))
    return found


def _state_step(kind: str, step: StateUpgrade) -> Callable[[Database], None]:
    def migrate(db: Database) -> None:
        apply_upgrade(db, kind, step)

    migrate.__name__ = step.name
    return migrate


# ---------------------------------------------------------------- several registries

ID_TABLES = ("studies", "snapshots", "changes", "backfill_versions", "source_keys")
REGISTRY_TABLES = ("studies", "snapshots", "changes")
FILL_REGISTRY = (
    "update studies set registry = (select m.registry from temp.registry_of m "
    "where m.trial_id = studies.trial_id)",
    "update snapshots set registry = (select m.registry from temp.registry_of m "
    "where m.trial_id = snapshots.trial_id)",
    "update changes set registry = (select m.registry from temp.registry_of m "
    "where m.trial_id = changes.trial_id)",
)
KNOWN_IDS = "select trial_id from studies union select trial_id from snapshots " + (
    "union select trial_id from changes"
)


@migrations(name="0007_trial_ids")
def _trial_ids(db: Database) -> None:
    """``trial_id`` replaces ``nct_id``, with the trial's ``registry`` beside it, in place."""
    sqlviews.drop_views(db)  # they read the renamed column; apply() recreates them at the end
    for table in ID_TABLES:
        db.execute(f"alter table {table} rename column nct_id to trial_id")
    for table in REGISTRY_TABLES:
        db.execute(f"alter table {table} add column registry text")
    _fill_registries(db)


def _fill_registries(db: Database) -> None:
    ids = [row[0] for row in db.execute(KNOWN_IDS).fetchall()]
    if not ids:
        return
    registry_of = _needs_registries("a registry for each stored trial")
    db.execute("create temp table registry_of (trial_id text primary key, registry text)")
    rows = [(trial_id, registry_of(trial_id)) for trial_id in ids]
    db.conn.executemany("insert into temp.registry_of values (?, ?)", rows)
    for statement in FILL_REGISTRY:
        db.execute(statement)
    db.execute("drop table temp.registry_of")


def _needs_registries(what: str) -> Callable[[str], str]:
    if _upgrades.registry_of is None:
        raise StoreError(
            f"this database was made by an older trialmon; upgrading it needs {what}: "
            "open it with the trialmon command"
        )
    return _upgrades.registry_of


@migrations(name="0008_canonical_v2")
def _canonical_v2(db: Database) -> None:
    """Stored records of format v1 rewritten to v2 (``upgrade_v1``) with their new content
    hashes, so the first cycle after an upgrade compares like with like; the source keys of
    the old format are dropped (a record is normalized once more, and found unchanged)."""
    ids = [row[0] for row in db.execute(V1_SNAPSHOTS).fetchall()]
    for start in range(0, len(ids), BATCH):
        _upgrade_batch(db, ids[start : start + BATCH])
    db.execute(STUDY_HASHES)
    for old, new in V1_PATHS.items():
        db.execute("update changes set field = ? where field = ?", [new, old])
    db.execute("delete from source_keys")


V1_SNAPSHOTS = "select id from snapshots where content_hash like 'v1:%' order by id"
V1_RECORDS = "select id, registry, record from snapshots where id in ({ids})"
STUDY_HASHES = (
    "update studies set content_hash = (select s.content_hash from snapshots s "
    "where s.id = studies.latest_snapshot_id) where latest_snapshot_id is not null"
)


def _upgrade_batch(db: Database, ids: list[int]) -> None:
    rows = db.execute(V1_RECORDS.format(ids=marks(len(ids))), ids).fetchall()
    updates = []
    for snapshot_id, registry, text in rows:
        record = _upgraded(snapshot_id, registry, text)
        if record is not None:
            updates.append((record[0], record[1], snapshot_id))
    db.conn.executemany("update snapshots set record = ?, content_hash = ? where id = ?", updates)


def _upgraded(snapshot_id: int, registry: str | None, text: str) -> tuple[str, str] | None:
    """The v2 record and hash of a v1 snapshot; None (kept as it is: it will be re-baselined,
    never diffed) when it cannot be read."""
    try:
        if not registry:
            raise RecordError("no registry")
        record = upgrade_v1(orjson.loads(text), registry)
        data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
        digest = content_hash(record)
    except (orjson.JSONDecodeError, RecordError, AttributeError, TypeError) as e:
        log.warning("snapshot %s: its record stays in format v1 (%s)", snapshot_id, e)
        return None
    assert format_of(digest) != "v1"
    return data, digest


@migrations(name="0009_watch_failures")
def _watch_failures(db: Database) -> None:
    """Watched ids that fail before any version is stored (an id the registry never knew):
    a failing watch for ``studies --failing``, ``status`` and the failure notices.

    A database made on the branch where this was drafted (as ``0006_watch_failures``, before
    0007) has the table, with the id column's old name: it is renamed instead."""
    if _drafted(db, "watch_failures"):
        if "nct_id" in db.table("watch_failures").columns_dict:
            db.execute("alter table watch_failures rename column nct_id to trial_id")
        return
    db.table("watch_failures").create(
        {
            "trial_id": str,
            "consecutive_failures": int,
            "last_error": str,
            "first_failed": str,
            "last_failed": str,
        },
        pk="trial_id",
        not_null={"consecutive_failures", "last_failed"},
    )


# ---------------------------------------------------------------- across registries

LATEST_RECORDS = (
    "select t.trial_id, t.registry, s.record from studies t "
    "join snapshots s on s.id = t.latest_snapshot_id"
)
INSERT_LINK = (
    "insert or ignore into trial_links (trial_id, registry, linked_id, kind) values (?, ?, ?, ?)"
)


@migrations(name="0010_across_registries")
def _across_registries(db: Database) -> None:
    """Each trial's ids in other registries (and its older ids in its own), filled from the
    stored records; the disagreements between registries about one trial, open and resolved.

    A database made on the branch where this was drafted (as ``0009_across_registries``) has
    both tables: the links are filled in again (they are kept, missing ones added)."""
    if not _drafted(db, "trial_links"):
        _create_links(db)
    if not _drafted(db, "disagreements"):
        _create_disagreements(db)
    _fill_links(db)


def _drafted(db: Database, table: str) -> bool:
    """Whether a draft of the migration creating ``table`` ran on a branch (under another
    name): the table exists already."""
    return db.table(table).exists()


def _create_links(db: Database) -> None:
    db.table("trial_links").create(
        {"trial_id": str, "registry": str, "linked_id": str, "kind": str},
        pk=("trial_id", "linked_id"),
        not_null={"kind"},
    )
    db.table("trial_links").create_index(["linked_id"])


def _create_disagreements(db: Database) -> None:
    db.table("disagreements").create(
        {
            "id": int,
            "trial_id": str,
            "other_id": str,
            "kind": str,
            "opened_at": str,
            "opened_values": str,
            "resolved_at": str,
            "resolved_values": str,
        },
        pk="id",
        not_null={"trial_id", "other_id", "kind", "opened_at"},
    )
    db.execute(
        "create unique index idx_disagreements_open on disagreements (trial_id, other_id, kind) "
        "where resolved_at is null"
    )


def _fill_links(db: Database) -> None:
    rows = db.execute(LATEST_RECORDS).fetchall()
    if not rows:
        return
    if _upgrades.links_of is None:
        raise StoreError(
            "this database was made by an older trialmon; upgrading it needs the registries' "
            "id forms: open it with the trialmon command"
        )
    links_of = _upgrades.links_of
    for trial_id, registry, text in rows:
        try:
            found = links_of(orjson.loads(text))
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            continue  # an unreadable record names nothing; its next snapshot will
        db.conn.executemany(INSERT_LINK, [(trial_id, registry, k.linked_id, k.kind) for k in found])
