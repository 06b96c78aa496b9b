"""A registry's own bookkeeping, as JSON values under (registry, scope, key).

What a live source remembers between cycles (the data release it saw, which ids moved or
went, each saved search's passes and members, fingerprints of search rows) is its own
business: it reads and writes it here through :class:`RegistryState`, inside the store's
transactions (a record event's state writes commit with its change row), and the store never
knows what the values mean.

A registry that kept its bookkeeping in tables of its own before moves it here once, with a
:class:`StateUpgrade` (applied when the store is opened with the registry's upgrades).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database

from monitor.models import StateWrite
from monitor.store.db import to_json

GET = "select value from registry_state where registry = ? and scope = ? and key = ?"
SCOPE = "select key, value from registry_state where registry = ? and scope = ? order by key"
PUT = "insert or replace into registry_state (registry, scope, key, value) values (?, ?, ?, ?)"
DELETE = "delete from registry_state where registry = ? and scope = ? and key = ?"
CLEAR = "delete from registry_state where registry = ? and scope = ?"

Values = Mapping[str, Mapping[str, Any]]  # scope -> key -> value


class RegistryState:
    """One registry's keyed state. Each write is atomic, and part of an enclosing
    transaction of the store when there is one."""

    def __init__(self, db: Database, registry: str) -> None:
        self.db = db
        self.registry = registry

    def get(self, scope: str, key: str) -> Any | None:
        row = self.db.execute(GET, [self.registry, scope, key]).fetchone()
        return None if row is None else orjson.loads(row[0])

    def scope(self, scope: str) -> dict[str, Any]:
        """Every key of a scope with its value."""
        rows = self.db.execute(SCOPE, [self.registry, scope]).fetchall()
        return {key: orjson.loads(value) for key, value in rows}

    def put(self, scope: str, key: str, value: Any) -> None:
        self.put_many(scope, {key: value})

    def put_many(self, scope: str, values: Mapping[str, Any]) -> None:
        rows = [(self.registry, scope, k, to_json(v)) for k, v in values.items()]
        with self.db.atomic():
            self.db.conn.executemany(PUT, rows)

    def delete(self, scope: str, key: str) -> None:
        with self.db.atomic():
            self.db.execute(DELETE, [self.registry, scope, key])

    def replace(self, scope: str, values: Mapping[str, Any]) -> None:
        """The scope holds exactly ``values`` afterwards."""
        with self.db.atomic():
            self.db.execute(CLEAR, [self.registry, scope])
            self.put_many(scope, values)

    def apply(self, writes: Iterable[StateWrite]) -> None:
        """Writes a source asked for with an event (a value of None deletes the key)."""
        with self.db.atomic():
            for w in writes:
                if w.value is None:
                    self.delete(w.scope, w.key)
                else:
                    self.put(w.scope, w.key, w.value)


@dataclass(frozen=True)
class StateUpgrade:
    """A registry's bookkeeping from before the keyed state, moved into it once.

    The rows of ``tables`` (those that exist) and the values of ``meta`` keys are handed to
    ``convert``, which returns the keyed state (scope -> key -> value); the tables are then
    dropped and the meta keys deleted, in the same transaction.
    """

    name: str  # recorded as applied, per registry
    tables: tuple[str, ...]
    meta: tuple[str, ...]
    convert: Callable[[Mapping[str, list[dict[str, Any]]], Mapping[str, str]], Values]


def apply_upgrade(db: Database, registry: str, upgrade: StateUpgrade) -> None:
    """Move one registry's old tables and meta keys into its keyed state (one transaction)."""
    tables = {t: list(db.table(t).rows) for t in upgrade.tables if db.table(t).exists()}
    meta = {key: _meta(db, key) for key in upgrade.meta}
    state = RegistryState(db, registry)
    for scope, values in upgrade.convert(tables, {k: v for k, v in meta.items() if v}).items():
        state.put_many(scope, values)
    for table in tables:
        db.table(table).drop()
    for key in upgrade.meta:
        db.execute("delete from meta where key = ?", [key])


def _meta(db: Database, key: str) -> str | None:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return None if row is None else str(row[0])
