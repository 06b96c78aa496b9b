"""The schema, as the ordered migrations that build it (sqlite-utils ``Migrations``).

A migration, once released, never changes: a later schema is a new migration. Applied
migrations are recorded in ``_sqlite_migrations``; ``apply`` runs the missing ones, each in
its own transaction, when a store is opened.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from monitor.store import sqlviews

migrations = Migrations("trialmon")


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


@migrations(name="0002_ctgov_state")
def _ctgov_state(db: Database) -> None:
    """What the live source remembers: aliases and gone studies, saved-search membership."""
    db.table("ctgov_studies").create(
        {"nct_id": str, "current_id": str, "gone_since": str, "updated_at": str}, pk="nct_id"
    )
    db.table("ctgov_queries").create(
        {
            "name": str,
            "params_hash": str,
            "last_success": str,
            "last_full_pass": str,
            "cycles_since_full": int,
        },
        pk="name",
    )
    db.table("ctgov_query_members").create(
        {"query": str, "nct_id": str, "first_seen": str}, pk=("query", "nct_id")
    )


@migrations(name="0003_views")
def _views(db: Database) -> None:
    """SQL views for the common questions (see monitor/sqlviews.py)."""
    sqlviews.create_views(db)


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
