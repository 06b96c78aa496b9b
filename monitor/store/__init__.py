"""SQLite storage through sqlite-utils: the one package that holds SQL.

Shaped like git-history: ``studies`` holds the latest state per study, ``snapshots`` one row
per distinct version, ``changes`` one row per changed field. ``runs`` and ``deliveries`` record
the cycles and the notification outbox. Every write of one study is one transaction.

The package, by what each part does (every SQL string of trialmon is in one of them)::

    db.py          the connection (BEGIN IMMEDIATE writers), batching and SQL helpers
    migrations.py  the schema as ordered migrations, and the registries' upgrades
    sqlviews.py    the SQL views for sqlite-utils and Datasette (created by a migration)
    rows.py        the values read and written (Latest, NewSnapshot, ...), no SQL
    live.py        writes of a cycle: runs, snapshots with their changes, checks, failures
    backfill.py    the record-history backfill's bookkeeping
    outbox.py      the deliveries rows of the notification outbox
    reads.py       read queries: what a cycle reads, what the query commands show
    crossref.py    across registries: trials' ids in other registries, their disagreements
    state.py       each registry's own bookkeeping, as keyed JSON values
    health.py      whether the file is sound (``PRAGMA quick_check``), the way back if not
    owner.py       which config keeps the database (one database serves one config)

:class:`Store` is all of them over one connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store import health
from monitor.store.backfill import BackfillWrites
from monitor.store.crossref import CrossRows, Moment, OpenDisagreement
from monitor.store.db import connect, to_json
from monitor.store.migrations import Upgrades, apply
from monitor.store.outbox import OutboxRows
from monitor.store.owner import Owner, Ownership
from monitor.store.reads import Reads
from monitor.store.rows import BackfillRun, DoneVersion, Latest, NewSnapshot, change_row
from monitor.store.state import RegistryState, StateUpgrade

__all__ = [
    "BackfillRun",
    "DoneVersion",
    "Latest",
    "Moment",
    "NewSnapshot",
    "OpenDisagreement",
    "Owner",
    "RegistryState",
    "StateUpgrade",
    "Store",
    "Upgrades",
    "change_row",
    "to_json",
]


class Store(BackfillWrites, OutboxRows, Reads, CrossRows, Ownership):
    """The database of one trialmon installation."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path: Path | None = None  # None: in memory

    def check(self) -> None:
        """Refuse a damaged file (``PRAGMA quick_check``) with the way back; a command that
        writes asks first (see :mod:`monitor.store.health`)."""
        health.check(self.db, self.path or ":memory:")

    @classmethod
    def open(cls, path: Path | str, upgrades: Upgrades | None = None) -> Store:
        """Open (creating folder and file if missing), enable WAL, apply migrations.

        ``upgrades`` (``monitor.registries.upgrades()``) lets the migrations rewrite what an
        older trialmon stored; the CLI always passes it.
        """
        path = Path(path)
        db: Database | None = None
        try:
            db = connect(path)
            apply(db, upgrades)
        except BaseException as e:
            if db is not None:  # refused or unusable: no connection left open
                db.close()
            if health.is_damage(e):
                raise StoreError(health.damaged(path, str(e))) from e
            if isinstance(e, (OSError, sqlite3.Error)):
                raise StoreError(f"database {str(path)!r} is unusable: {e}") from e
            raise
        store = cls(db)
        store.path = path
        return store

    @classmethod
    def open_existing(cls, path: Path | str, upgrades: Upgrades | None = None) -> Store:
        """Open a database that must exist: query commands never create one (a mistyped
        ``--db`` is an error, not a new empty database)."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(
                f"no database at {str(path)!r} (check --db or `database`; "
                "`trialmon run` creates it)"
            )
        return cls.open(path, upgrades)

    @classmethod
    def memory(cls, upgrades: Upgrades | None = None) -> Store:
        db = Database(memory=True)
        apply(db, upgrades)
        return cls(db)

    def state(self, registry: str) -> RegistryState:
        """A registry's keyed bookkeeping (see :mod:`monitor.store.state`)."""
        return RegistryState(self.db, registry)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is one transaction (nested: a savepoint of the outer one)."""
        with self.db.atomic():
            yield
