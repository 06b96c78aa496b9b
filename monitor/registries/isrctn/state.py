"""The registry's own state: JSON values under (scope, key), kept by the core between cycles.

The source reads it during a cycle and writes it only inside its checkpoint (after every item
before it was processed), so an interrupted cycle saves nothing it did not finish. It needs
two calls of the core's keyed state (:class:`KeyedState`); :class:`DictState` gives them over
a plain mapping ``{scope: {key: value}}`` (tests, or a core that stores one JSON document).
Scopes::

    trials    trial id -> {"version", "last_updated", "calendar": {...}, "status": words}
    gone      watched id -> true (a trial the registry no longer answers, told once)
    updates   "last_success" -> ISO time; "cycles_since_full" -> int   (the watched trials)
    queries   name -> {"params_hash", "last_success", "cycles_since_full", "members": [...]}
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.registries.isrctn.status import Calendar


class KeyedState(Protocol):
    """What the source needs of the core's keyed state of this registry."""

    def get(self, scope: str, key: str) -> Any | None: ...

    def put_many(self, scope: str, values: Mapping[str, Any]) -> None: ...


class DictState:
    """:class:`KeyedState` over a plain mapping ``{scope: {key: value}}``."""

    def __init__(self, data: MutableMapping[str, Any] | None = None) -> None:
        self.data: MutableMapping[str, Any] = {} if data is None else data

    def get(self, scope: str, key: str) -> Any | None:
        section = self.data.get(scope)
        return section.get(key) if isinstance(section, dict) else None

    def scope(self, scope: str) -> dict[str, Any]:
        section = self.data.get(scope)
        return dict(section) if isinstance(section, dict) else {}

    def put_many(self, scope: str, values: Mapping[str, Any]) -> None:
        section = self.data.get(scope)
        if not isinstance(section, dict):
            section = self.data[scope] = {}
        section.update(values)


@dataclass(frozen=True)
class Seen:
    """What trialmon last took of a trial: its version and what its status depends on."""

    version: int | None
    last_updated: str | None
    calendar: Calendar
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "last_updated": self.last_updated,
            "calendar": self.calendar.as_dict(),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Seen | None:
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        version = data.get("version")
        updated = data.get("last_updated")
        return cls(
            version if isinstance(version, int) else None,
            updated if isinstance(updated, str) else None,
            Calendar.from_dict(data.get("calendar")),
            data["status"],
        )


class IsrctnState:
    """Typed reads and writes over the keyed state (see the module docstring)."""

    def __init__(self, state: KeyedState) -> None:
        self.state = state

    def seen(self, trial_id: str) -> Seen | None:
        return Seen.from_dict(self.state.get("trials", trial_id))

    def set_seen(self, found: Mapping[str, Seen]) -> None:
        if found:
            self.state.put_many("trials", {k: v.as_dict() for k, v in found.items()})

    def gone(self, trial_id: str) -> bool:
        return self.state.get("gone", trial_id) is True

    def set_gone(self, found: Mapping[str, bool]) -> None:
        if found:
            self.state.put_many("gone", dict(found))

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
