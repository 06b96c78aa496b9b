"""Full and incremental passes of a live source, and the keyed state they keep (pure).

A live source that can ask its registry for what changed since a date reads a saved search
either whole (a *full* pass: its first, every ``full_pass_every`` cycles, and after a pass
that did not finish) or only what changed since its last success minus ``overlap_days`` (an
*incremental* pass); a search whose parameters changed starts over (a *baseline* pass: every
trial it finds is news). Its watched trials follow the same rhythm where the registry lets it.

What it remembers between cycles lives in its keyed state (:class:`KeyedState`: the store's
``RegistryState``, or :class:`DictState` over a plain mapping), under two scopes the sources
that use this module share (:class:`PassState`), next to their own::

    updates   "last_success" -> ISO time; "cycles_since_full" -> int   (the watched trials)
    queries   name -> {"params_hash", "last_success", "cycles_since_full", "members": [...]}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from monitor.models import RecordEvent

BASELINE, FULL, INCREMENTAL = "baseline", "full", "incremental"

# ---------------------------------------------------------------- the keyed state


class KeyedState(Protocol):
    """What a source needs of the core's keyed state of its registry."""

    def get(self, scope: str, key: str) -> Any | None: ...

    def put_many(self, scope: str, values: Mapping[str, Any]) -> None: ...


class DictState:
    """:class:`KeyedState` over a plain mapping ``{scope: {key: value}}`` (tests, or a core that
    stores one JSON document)."""

    def __init__(self, data: MutableMapping[str, Any] | None = None) -> None:
        self.data: MutableMapping[str, Any] = {} if data is None else data

    def get(self, scope: str, key: str) -> Any | None:
        section = self.data.get(scope)
        return section.get(key) if isinstance(section, dict) else None

    def put_many(self, scope: str, values: Mapping[str, Any]) -> None:
        section = self.data.get(scope)
        if not isinstance(section, dict):
            section = self.data[scope] = {}
        section.update(values)


class PassState:
    """Typed reads and writes of the ``updates`` and ``queries`` scopes (a registry's own
    state class adds its scopes)."""

    def __init__(self, state: KeyedState) -> None:
        self.state = state

    def last_success(self) -> str | None:
        value = self.state.get("updates", "last_success")
        return value if isinstance(value, str) else None

    def cycles_since_full(self) -> int | None:
        value = self.state.get("updates", "cycles_since_full")
        return value if isinstance(value, int) else None

    def set_updates(self, moment: str, cycles_since_full: int) -> None:
        values = {"last_success": moment, "cycles_since_full": cycles_since_full}
        self.state.put_many("updates", values)

    def query(self, name: str) -> dict[str, Any] | None:
        entry = self.state.get("queries", name)
        return entry if isinstance(entry, dict) else None

    def set_query(self, name: str, entry: dict[str, Any]) -> None:
        self.state.put_many("queries", {name: entry})


# ---------------------------------------------------------------- the passes


def params_hash(params: Any) -> str:
    """A short hash of a saved search's parameters (JSON; key order does not count)."""
    data = dict(params) if isinstance(params, Mapping) else params
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


@dataclass(frozen=True)
class SearchPass:
    """One saved search in one cycle: its stored entry and the kind of pass it gets."""

    name: str
    params_hash: str
    entry: dict[str, Any] | None
    mode: str  # BASELINE, FULL or INCREMENTAL

    @property
    def last_success(self) -> str | None:
        return (self.entry or {}).get("last_success")

    @property
    def members(self) -> set[str]:
        """The members last saved (none for a baseline pass: everything it finds is news)."""
        return set((self.entry or {}).get("members") or []) if self.mode != BASELINE else set()

    def read_all(self) -> SearchPass:
        """The same search read whole (its window of changes was too large to read)."""
        return replace(self, mode=FULL)

    def entry_after(self, found: Iterable[str], failed: Set[str], stamp: str) -> dict[str, Any]:
        """The entry to save: members whatever happened (no trial is news twice); a record that
        failed keeps the last success and asks for a full pass next time, so it is looked at
        again."""
        seen = set(found)
        missed = seen & failed
        old = set((self.entry or {}).get("members") or [])
        full = self.mode != INCREMENTAL
        members = (seen - missed) | (old & missed) if full else old | (seen - missed)
        cycles = 0 if full else int((self.entry or {}).get("cycles_since_full") or 0) + 1
        return {
            "params_hash": self.params_hash,
            "last_success": self.last_success if missed else stamp,
            "cycles_since_full": None if missed else cycles,
            "members": sorted(members),
        }


@dataclass(frozen=True)
class Passes:
    """One cycle's moment and the pass settings: when to read all, from when to read the rest."""

    now: datetime
    overlap_days: int = 2
    full_pass_every: int = 7
    force: bool = False  # read every watched trial, whatever changed

    @property
    def stamp(self) -> str:
        """The cycle's moment as saved in the state (``last_success``)."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def since(self, last: str | None) -> str:
        """The first day of an incremental window: the last success minus the overlap."""
        start = datetime.strptime(last[:10], "%Y-%m-%d") if last else self.now
        return (start - timedelta(days=self.overlap_days)).strftime("%Y-%m-%d")

    def watched_full(self, cycles_since_full: int | None) -> bool:
        """A full pass over the known watched trials: forced, or due (None: none saved yet,
        every trial then is new and read anyway)."""
        if self.force:
            return True
        return cycles_since_full is not None and cycles_since_full + 1 >= self.full_pass_every

    def search(self, name: str, params: Any, entry: dict[str, Any] | None) -> SearchPass:
        """A saved search's pass this cycle, from its stored entry."""
        digest = params_hash(params)
        if entry is None or entry.get("params_hash") != digest:
            return SearchPass(name, digest, entry, BASELINE)
        cycles = entry.get("cycles_since_full")
        if not isinstance(cycles, int) or cycles + 1 >= self.full_pass_every:
            return SearchPass(name, digest, entry, FULL)  # due, or the last pass did not finish
        return SearchPass(name, digest, entry, INCREMENTAL)


def news_events(news: Iterable[tuple[str, list[str]]], failed: Set[str]) -> Iterator[RecordEvent]:
    """``new_in_query`` for each search's new members, except those whose record failed."""
    for name, trial_ids in news:
        for trial_id in trial_ids:
            if trial_id not in failed:
                yield RecordEvent(trial_id, "new_in_query", query=name)
