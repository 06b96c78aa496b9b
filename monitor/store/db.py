"""The connection and the small SQL helpers every part of the store shares.

``WriterDatabase`` makes every outermost transaction take the write lock first; the helpers
build statements from constant column lists (values always travel as parameters) and run a
query for a long list of ids in batches.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlite_utils import Database

from monitor import private
from monitor.models import SEVERITIES

BATCH = 500  # ids per "in (...)" query: well below SQLite's limit of host parameters


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
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        db = WriterDatabase(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:  # a file that is no database: no connection left open
        conn.close()
        raise
    return db


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


def to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
