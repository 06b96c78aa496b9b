"""The connection and the small SQL helpers every part of the store shares.

``WriterDatabase`` makes every outermost transaction take the write lock first; the helpers
build statements from constant column lists (values always travel as parameters) and run a
query for a long list of ids in batches.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlite_utils import Database

from monitor import private
from monitor.models import SEVERITIES

log = logging.getLogger(__name__)
BATCH = 500  # ids per "in (...)" query: well below SQLite's limit of host parameters
BUSY_TIMEOUT = 30  # seconds a statement waits for another process's write lock
SCHEMA_WAIT = 600  # seconds an opener waits for another one creating or upgrading the schema
PAUSE = 0.05  # seconds between two tries of a lock SQLite refused at once


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


def connect(path: Path) -> Database:
    """A writer connection in WAL mode that waits up to 30 s for another writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private.create(path)  # 0600: SQLite gives the WAL and -shm files the same mode
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT)
    try:
        db = WriterDatabase(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
        enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:  # a file that is no database: no connection left open
        conn.close()
        raise
    return db


def enable_wal(db: Database) -> None:
    """WAL mode, once per database file. Two processes switching a new file at the same moment
    can get "database is locked" at once, without the busy handler (SQLite's deadlock
    avoidance: both hold the shared lock the switch starts from): the one refused tries again.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(PAUSE)


@contextlib.contextmanager
def exclusive(db: Database, wait: float = SCHEMA_WAIT) -> Iterator[None]:
    """One write transaction (``BEGIN IMMEDIATE``) around everything inside, waiting up to
    ``wait`` seconds for the write lock (an upgrade of a large database takes minutes).

    The schema is created and upgraded in one such transaction: processes opening a new
    database at the same moment (``run``, ``daemon``, a query command) take turns, and the
    ones after the first find nothing left to do, where each used to create the tables too.
    """
    if db.conn.in_transaction:
        raise sqlite3.OperationalError("exclusive(): a transaction is already open")
    deadline = time.monotonic() + wait
    warned = False
    while not _begin_immediate(db):
        if time.monotonic() >= deadline:
            raise sqlite3.OperationalError(
                f"database is locked: another process held its write lock for over {wait:.0f} s"
            )
        if not warned:
            log.warning("waiting for another trialmon process creating or upgrading the database")
            warned = True
        time.sleep(PAUSE)  # SQLite may refuse at once, without its busy handler: no hot loop
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.conn.execute("COMMIT")


def _begin_immediate(db: Database) -> bool:
    """Take the write lock (waiting ``busy_timeout``); False if another process kept it."""
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            return False
        raise
    return True


class Part:
    """A part of the store (writes of one kind, reads of one kind) over the one connection."""

    db: Database

    def _rows_for(
        self, sql: str, ids: Sequence[str], before: Sequence[Any] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (with ``{ids}`` for the placeholders) for the ids, a batch a query;
        ``before`` are the values of the placeholders ahead of ``{ids}``."""
        for start in range(0, len(ids), BATCH):
            chunk = list(ids[start : start + BATCH])
            params = [*before, *chunk]
            yield from self.db.execute(sql.format(ids=marks(len(chunk))), params).fetchall()

    def _dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        cursor = self.db.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._dicts(sql, params)
        return rows[0] if rows else None


def marks(count: int) -> str:
    """``?,?,?``: one placeholder per value."""
    return ",".join("?" * count)


def insert_sql(table: str, columns: Sequence[str], verb: str = "insert") -> str:
    """An INSERT statement of constant column names, with one placeholder per column."""
    names, values = ", ".join(columns), marks(len(columns))
    return " ".join((verb, "into", table, "(" + names + ")", "values", "(" + values + ")"))


def severity_rank_sql(column: str) -> str:
    """The SQL expression ranking a severity column 0 (info) to 3 (critical), from SEVERITIES."""
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(SEVERITIES))
    return f"CASE {column} {cases} ELSE 0 END"


def historic_sql(run: str, snapshot: str) -> str:
    """1 for a change imported from a record history (stored by a backfill, or, without a
    run, into a history snapshot), else 0; ``run`` and ``snapshot`` are the aliases of its
    ``runs`` row and its to-snapshot."""
    return f"coalesce(coalesce({run}.source, {snapshot}.source) = 'history', 0)"


def newest_first_sql(change: str, run: str, snapshot: str, last: str = "desc") -> str:
    """The order of changes across studies, newest first, never by the clock's times: live
    changes by the cycle that stored them (run id), most severe first within a cycle; then
    those imported from record histories (the studies' past, before live monitoring), by the
    registry's version dates. Ties by change id (``last``: its direction)."""
    historic = historic_sql(run, snapshot)
    rank = severity_rank_sql(f"{change}.severity")
    return (
        f"{historic}, CASE WHEN {historic} THEN {change}.detected_at END DESC, "
        f"{change}.run_id DESC, {rank} DESC, {change}.id {last}"
    )


def to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
