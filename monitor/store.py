"""SQLite storage through sqlite-utils: schema, migrations, reads and writes.

Shaped like git-history: ``studies`` holds the latest state per study, ``snapshots`` one row
per distinct version, ``changes`` one row per changed field. ``runs`` and ``deliveries`` record
the cycles and the notification outbox. Every write of one study is one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from monitor import sqlviews
from monitor.errors import StoreError
from monitor.models import Change, RecordEvent, RunReport

log = logging.getLogger(__name__)

migrations = Migrations("trialmon")
BATCH = 500


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


@dataclass(frozen=True)
class Latest:
    """What the store knows of a study's newest snapshot."""

    nct_id: str
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

    nct_id: str
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


class WriterDatabase(Database):
    """A Database whose outermost ``atomic()`` is ``BEGIN IMMEDIATE``.

    sqlite-utils opens a deferred ``BEGIN``: a transaction that reads (the table's schema)
    before it writes then fails at once with "database is locked", without waiting out
    ``busy_timeout``, when another process committed in between (a daemon and a cron run, a
    reader tool). Taking the write lock first makes every writer wait its turn instead.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:
            with super().atomic() as db:
                yield db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


# The writes of a new version by plain SQL (sqlite-utils' insert costs more than the write),
# built once from these constant column lists.
SNAPSHOT_COLUMNS = (
    "nct_id",
    "captured_at",
    "source",
    "content_hash",
    "last_update_posted",
    "record",
    "run_id",
    "version",
)
CHANGE_COLUMNS = (
    "nct_id",
    "from_snapshot_id",
    "to_snapshot_id",
    "detected_at",
    "category",
    "field",
    "severity",
    "old_value",
    "new_value",
    "summary",
    "run_id",
)
STUDY_COLUMNS = (
    "title",
    "overall_status",
    "latest_snapshot_id",
    "last_update_posted",
    "content_hash",
    "last_checked",
    "consecutive_failures",
    "last_error",
)


def insert_sql(table: str, columns: Sequence[str], verb: str = "insert") -> str:
    """An INSERT statement of constant column names, with one placeholder per column."""
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    return " ".join((verb, "into", table, "(" + names + ")", "values", "(" + marks + ")"))


def update_study_sql(columns: Sequence[str]) -> str:
    return "update studies set " + ", ".join(c + " = ?" for c in columns) + " where nct_id = ?"


INSERT_SNAPSHOT = insert_sql("snapshots", SNAPSHOT_COLUMNS)
INSERT_CHANGES = insert_sql("changes", CHANGE_COLUMNS)
INSERT_STUDY = insert_sql(
    "studies", ("nct_id", *STUDY_COLUMNS, "last_changed", "first_seen"), "insert or replace"
)
UPDATE_STUDY = update_study_sql(STUDY_COLUMNS)
UPDATE_STUDY_CHANGED = update_study_sql((*STUDY_COLUMNS, "last_changed"))


def to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class Store:
    """The database of one trialmon installation."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating folder and file if missing), enable WAL, apply migrations."""
        path = Path(path)
        conn: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30)
            db = WriterDatabase(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(db)
        except (OSError, sqlite3.Error) as e:
            if conn is not None:  # a file that is not a database: no connection left open
                conn.close()
            raise StoreError(f"database {str(path)!r} is unusable: {e}") from e
        return cls(db)

    @classmethod
    def open_existing(cls, path: Path | str) -> Store:
        """Open a database that must exist: query commands never create one (a mistyped
        ``--db`` is an error, not a new empty database)."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(
                f"no database at {str(path)!r} (check --db or `database`; "
                "`trialmon run` creates it)"
            )
        return cls.open(path)

    @classmethod
    def memory(cls) -> Store:
        db = Database(memory=True)
        migrations.apply(db)
        return cls(db)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ reads

    def _rows_for(self, sql: str, nct_ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (with ``{ids}`` for the placeholders) for the ids, a batch a query."""
        for start in range(0, len(nct_ids), BATCH):
            chunk = list(nct_ids[start : start + BATCH])
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(sql.format(ids=marks), chunk).fetchall()

    def latest(self, nct_ids: Sequence[str]) -> dict[str, Latest]:
        """The newest snapshot of each given study, in one query per batch."""
        sql = (
            "select s.nct_id, s.id, s.content_hash, s.record, s.captured_at from studies t "
            "join snapshots s on s.id = t.latest_snapshot_id where t.nct_id in ({ids})"
        )
        return {row[0]: Latest(*row) for row in self._rows_for(sql, nct_ids)}

    def source_hashes(self, nct_ids: Sequence[str]) -> dict[str, str]:
        """The source key known for each given study's newest snapshot, where one is known."""
        sql = (
            "select k.nct_id, k.source_key from source_keys k join studies t "
            "on t.nct_id = k.nct_id and t.latest_snapshot_id = k.snapshot_id "
            "where k.nct_id in ({ids})"
        )
        return dict(self._rows_for(sql, nct_ids))

    def known_studies(self) -> list[str]:
        return [r[0] for r in self.db.execute("select nct_id from studies order by nct_id")]

    def snapshots_of(self, nct_id: str) -> list[dict[str, Any]]:
        """A study's snapshots in timeline order: by capture time (a version's date for
        record-history snapshots), then by id."""
        return list(
            self.db.table("snapshots").rows_where(
                "nct_id = ?", [nct_id], order_by="captured_at, id"
            )
        )

    def snapshot(self, snapshot_id: int) -> dict[str, Any] | None:
        rows = list(self.db.table("snapshots").rows_where("id = ?", [snapshot_id]))
        return rows[0] if rows else None

    def changes_between(self, from_id: int | None, to_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.table("changes").rows_where(
                "to_snapshot_id = ? and from_snapshot_id is ?", [to_id, from_id], order_by="id"
            )
        )

    def run_changes(self, run_id: int) -> list[dict[str, Any]]:
        return list(self.db.table("changes").rows_where("run_id = ?", [run_id], order_by="id"))

    def study(self, nct_id: str) -> dict[str, Any] | None:
        rows = list(self.db.table("studies").rows_where("nct_id = ?", [nct_id]))
        return rows[0] if rows else None

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------ writes

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        pk = self.db.table(table).insert(row).last_pk
        assert isinstance(pk, int)
        return pk

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic():
            self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    def start_run(self, now: str, source: str) -> int:
        with self.db.atomic():
            row = {"started_at": now, "status": "running", "source": source}
            return self._insert("runs", row)

    def finish_run(self, report: RunReport) -> None:
        details = [{"nct_id": e.nct_id, "message": e.message} for e in report.errors]
        row = {
            "finished_at": report.finished_at,
            "status": report.status,
            "studies_checked": report.checked,
            "studies_new": report.new,
            "studies_changed": report.changed,
            "studies_unchanged": report.unchanged,
            "changes_found": len(report.changes),
            "errors": len(report.errors),
            "error_details": to_json(details),
        }
        with self.db.atomic():
            self.db.table("runs").update(report.run_id, row)

    def mark_interrupted_runs(self, now: str) -> list[int]:
        """Runs left ``running`` by a killed process become ``interrupted``."""
        ids = [r[0] for r in self.db.execute("select id from runs where status = 'running'")]
        with self.db.atomic():
            for run_id in ids:
                self.db.table("runs").update(run_id, {"status": "interrupted", "finished_at": now})
        return ids

    def save_snapshot(self, snap: NewSnapshot, previous: Latest | None, run_id: int | None) -> int:
        """Store one new version of a study with its changes, atomically."""
        with self.db.atomic():
            snapshot_id = self._insert_snapshot(snap, run_id)
            self._insert_changes(snap, previous, snapshot_id, run_id)
            self._upsert_study(snap, snapshot_id, is_new=previous is None)
            if snap.source_hash:
                self.db.conn.execute(
                    "insert or replace into source_keys (nct_id, snapshot_id, source_key) "
                    "values (?, ?, ?)",
                    (snap.nct_id, snapshot_id, snap.source_hash),
                )
        return snapshot_id

    def _insert_snapshot(self, snap: NewSnapshot, run_id: int | None) -> int:
        values = (
            snap.nct_id,
            snap.captured_at,
            snap.source,
            snap.content_hash,
            snap.last_update_posted,
            snap.record,
            run_id,
            snap.version,
        )
        rowid = self.db.conn.execute(INSERT_SNAPSHOT, values).lastrowid
        assert isinstance(rowid, int)
        return rowid

    def _insert_changes(
        self, snap: NewSnapshot, previous: Latest | None, to_id: int, run_id: int | None
    ) -> None:
        from_id = previous.snapshot_id if previous else None
        rows = (
            change_row(snap.nct_id, c, from_id, to_id, snap.captured_at, run_id)
            for c in snap.changes
        )
        self.db.conn.executemany(INSERT_CHANGES, [[r[c] for c in CHANGE_COLUMNS] for r in rows])

    def _upsert_study(self, snap: NewSnapshot, snapshot_id: int, *, is_new: bool) -> None:
        values: list[Any] = [
            snap.title,
            snap.overall_status,
            snapshot_id,
            snap.last_update_posted,
            snap.content_hash,
            snap.captured_at,  # last_checked
            0,  # consecutive_failures
            None,  # last_error
        ]
        if is_new:
            values = [snap.nct_id, *values, snap.captured_at, snap.captured_at]
            self.db.conn.execute(INSERT_STUDY, values)
        elif snap.changes:
            self.db.conn.execute(UPDATE_STUDY_CHANGED, [*values, snap.captured_at, snap.nct_id])
        else:
            self.db.conn.execute(UPDATE_STUDY, [*values, snap.nct_id])

    def record_change(self, nct_id: str, change: Change, now: str, run_id: int | None) -> None:
        """A change without a new snapshot (a study gone, or found by a query)."""
        study = self.study(nct_id)
        snapshot_id = study["latest_snapshot_id"] if study else None
        with self.db.atomic():
            row = change_row(nct_id, change, snapshot_id, snapshot_id, now, run_id)
            self.db.table("changes").insert(row)
            if study:
                self.db.table("studies").update(nct_id, {"last_changed": now})

    def record_event(
        self, event: RecordEvent, change: Change | None, now: str, run_id: int | None
    ) -> None:
        """Store a source's event (gone, alias, query membership) and its change, atomically."""
        with self.db.atomic():
            if change is not None:
                self.record_change(event.nct_id, change, now, run_id)
            self._apply_event(event, now)

    def _apply_event(self, event: RecordEvent, now: str) -> None:
        nct, studies = event.nct_id, self.db.table("ctgov_studies")
        if event.kind in ("gone", "returned"):
            gone = now if event.kind == "gone" else None
            studies.upsert({"nct_id": nct, "gone_since": gone, "updated_at": now}, pk="nct_id")
        elif event.kind == "alias":
            row = {"nct_id": nct, "current_id": event.detail, "updated_at": now}
            studies.upsert(row, pk="nct_id")
        elif event.kind == "new_in_query":
            self.add_query_members(str(event.query), [nct], now)
        elif event.kind == "left_query":
            self.db.execute(
                "delete from ctgov_query_members where query = ? and nct_id = ?",
                [event.query, nct],
            )

    def ctgov_studies(self) -> dict[str, dict[str, Any]]:
        """Alias and gone state of every study the live source has an opinion on."""
        return {r["nct_id"]: r for r in self.db.table("ctgov_studies").rows}

    def last_update_posted(self, nct_ids: Sequence[str]) -> dict[str, str | None]:
        """The stored last-update date of each given study that has a snapshot."""
        sql = (
            "select nct_id, last_update_posted from studies "
            "where latest_snapshot_id is not null and nct_id in ({ids})"
        )
        return dict(self._rows_for(sql, nct_ids))

    def query_state(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("ctgov_queries").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def query_members(self, name: str) -> set[str]:
        sql = "select nct_id from ctgov_query_members where query = ?"
        return {r[0] for r in self.db.execute(sql, [name])}

    def add_query_members(self, name: str, nct_ids: Iterable[str], now: str) -> None:
        rows = ({"query": name, "nct_id": n, "first_seen": now} for n in nct_ids)
        self.db.table("ctgov_query_members").insert_all(rows, pk=("query", "nct_id"), ignore=True)

    def save_query_state(
        self, state: dict[str, Any], baseline: Iterable[str] | None = None
    ) -> None:
        """A saved search's progress; on its first pass also its members (the baseline)."""
        with self.db.atomic():
            self.db.table("ctgov_queries").upsert(state, pk="name")
            if baseline is not None:
                sql = "delete from ctgov_query_members where query = ?"
                self.db.execute(sql, [state["name"]])
                self.add_query_members(state["name"], baseline, str(state["last_success"]))

    def touch(self, nct_ids: Iterable[str], now: str) -> None:
        """Mark unchanged studies as checked, in one statement per batch."""
        ids = list(nct_ids)
        with self.db.atomic():
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    "update studies set last_checked = ?, consecutive_failures = 0, "
                    f"last_error = null where nct_id in ({marks})",
                    [now, *chunk],
                )

    def remember_sources(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Record source keys that normalize to their studies' newest snapshots' content."""
        if not pairs:
            return
        with self.db.atomic():
            self.db.conn.executemany(
                "insert or replace into source_keys (nct_id, snapshot_id, source_key) "
                "select nct_id, latest_snapshot_id, ? from studies "
                "where nct_id = ? and latest_snapshot_id is not null",
                [(key, nct_id) for nct_id, key in pairs],
            )

    def record_failure(self, nct_id: str, message: str, now: str) -> int:
        """Count a failed check of a known study; returns the consecutive failures."""
        with self.db.atomic():
            self.db.execute(
                "update studies set consecutive_failures = consecutive_failures + 1, "
                "last_error = ? where nct_id = ?",
                [message, nct_id],
            )
        study = self.study(nct_id)
        return int(study["consecutive_failures"]) if study else 0

    # ------------------------------------------------------------ record-history backfill

    def done_versions(self, nct_id: str) -> dict[int, DoneVersion]:
        """The versions of a study a backfill already processed, by version number."""
        rows = self.db.table("backfill_versions").rows_where("nct_id = ?", [nct_id])
        return {
            r["version"]: DoneVersion(
                r["nct_id"], r["version"], r["captured_at"], r["snapshot_id"], bool(r["stored"])
            )
            for r in rows
        }

    def snapshot_as_latest(self, snapshot_id: int) -> Latest:
        row = self.db.execute(
            "select nct_id, id, content_hash, record, captured_at from snapshots where id = ?",
            [snapshot_id],
        ).fetchone()
        if row is None:
            raise StoreError(f"snapshot {snapshot_id} is missing from the database")
        return Latest(*row)

    def first_live(self, nct_id: str) -> Latest | None:
        """The study's earliest snapshot that is not from the record history."""
        row = self.db.execute(
            "select nct_id, id, content_hash, record, captured_at from snapshots "
            "where nct_id = ? and source != 'history' order by captured_at, id limit 1",
            [nct_id],
        ).fetchone()
        return None if row is None else Latest(*row)

    def first_history_id(self, nct_id: str) -> int | None:
        """The smallest id of the study's record-history snapshots (None if it has none)."""
        row = self.db.execute(
            "select min(id) from snapshots where nct_id = ? and source = 'history'", [nct_id]
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def save_version(
        self,
        done: DoneVersion,
        snap: NewSnapshot | None,
        previous: Latest | None,
        run: BackfillRun,
    ) -> int:
        """Mark one version done, storing its snapshot and changes when it is new content.

        One transaction, so an interrupted backfill resumes after the last version done.
        The study's latest snapshot moves only when ``run.advance`` (no live snapshot follows).
        Returns the id of the snapshot holding the version's content.
        """
        with self.db.atomic():
            if snap is not None:
                snapshot_id = self._insert_snapshot(snap, run.run_id)
                self._insert_changes(snap, previous, snapshot_id, run.run_id)
                if run.advance:
                    self._advance_study(snap, snapshot_id, previous is None, run.now)
            elif previous is not None:
                snapshot_id = previous.snapshot_id
            else:
                raise ValueError("a version without a snapshot of its own needs a previous one")
            row = {**done.__dict__, "snapshot_id": snapshot_id, "stored": snap is not None}
            self.db.table("backfill_versions").insert(
                {**row, "run_id": run.run_id, "done_at": run.now}
            )
        return snapshot_id

    def _advance_study(self, snap: NewSnapshot, snapshot_id: int, is_new: bool, now: str) -> None:
        """Point the study at a record-history snapshot; ``last_checked`` stays the live
        monitor's (a backfill does not check the live record)."""
        row: dict[str, Any] = {
            "title": snap.title,
            "overall_status": snap.overall_status,
            "latest_snapshot_id": snapshot_id,
            "last_update_posted": snap.last_update_posted,
            "content_hash": snap.content_hash,
        }
        if snap.changes or is_new:
            row["last_changed"] = snap.captured_at
        if is_new:
            self.db.table("studies").insert({"nct_id": snap.nct_id, **row, "first_seen": now})
        else:
            self.db.table("studies").update(snap.nct_id, row)

    def add_changes(
        self,
        nct_id: str,
        changes: Sequence[Change],
        between: tuple[int, int],
        detected_at: str,
        run_id: int | None,
    ) -> None:
        """Changes between two snapshots already stored (a backfill joining a live snapshot)."""
        rows = [change_row(nct_id, c, *between, detected_at, run_id) for c in changes]
        with self.db.atomic():
            self.db.table("changes").insert_all(rows)

    def has_changes_between(self, from_id: int, to_id: int) -> bool:
        row = self.db.execute(
            "select 1 from changes where from_snapshot_id = ? and to_snapshot_id = ? limit 1",
            [from_id, to_id],
        ).fetchone()
        return row is not None


@dataclass(frozen=True)
class DoneVersion:
    """A record-history version a backfill has processed (a row of ``backfill_versions``)."""

    nct_id: str
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
    nct_id: str,
    change: Change,
    from_id: int | None,
    to_id: int | None,
    detected_at: str,
    run_id: int | None,
) -> dict[str, Any]:
    return {
        "nct_id": nct_id,
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


def iter_rows(store: Store, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
    """Rows of a query as dicts (for the CLI views)."""
    cursor = store.db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))
