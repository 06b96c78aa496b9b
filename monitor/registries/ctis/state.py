"""The registry's own state: JSON values under (scope, key), kept by the core between cycles.

The source reads it during a cycle and writes it only inside its checkpoint (after every item
before it was processed), so an interrupted cycle saves nothing it did not finish. It needs
two calls of the core's keyed state (:class:`KeyedState`); :class:`DictState` gives them over
a plain mapping ``{scope: {key: value}}`` (tests, or a core that stores one JSON document).
Scopes::

    fingerprints  ct_number -> fingerprint of its search row
    watched       watched id -> {"current": ct_number, "gone": bool}
    updates       "last_success" -> ISO time; "cycles_since_full" -> int   (the window of updates)
    queries       name -> {"params_hash", "last_success", "cycles_since_full", "members": [...]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol


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
class Watched:
    """A watched id, the number CTIS now files it under, whether it is known gone."""

    trial_id: str
    current: str
    gone: bool = False


class CtisState:
    """Typed reads and writes over the keyed state (see the module docstring)."""

    def __init__(self, state: KeyedState) -> None:
        self.state = state

    def fingerprint(self, ct_number: str) -> str | None:
        value = self.state.get("fingerprints", ct_number)
        return value if isinstance(value, str) else None

    def set_fingerprints(self, found: Iterable[tuple[str, str]]) -> None:
        values = dict(found)
        if values:
            self.state.put_many("fingerprints", values)

    def watched(self, trial_id: str) -> Watched | None:
        entry = self.state.get("watched", trial_id)
        if not isinstance(entry, dict) or not isinstance(entry.get("current"), str):
            return None
        return Watched(trial_id, entry["current"], bool(entry.get("gone")))

    def set_watched(self, found: Iterable[Watched]) -> None:
        values = {w.trial_id: {"current": w.current, "gone": w.gone} for w in found}
        if values:
            self.state.put_many("watched", values)

    def last_update_scan(self) -> str | None:
        value = self.state.get("updates", "last_success")
        return value if isinstance(value, str) else None

    def cycles_since_full(self) -> int | None:
        value = self.state.get("updates", "cycles_since_full")
        return value if isinstance(value, int) else None

    def set_update_scan(self, moment: str, cycles_since_full: int) -> None:
        values = {"last_success": moment, "cycles_since_full": cycles_since_full}
        self.state.put_many("updates", values)

    def query(self, name: str) -> dict[str, Any] | None:
        entry = self.state.get("queries", name)
        return entry if isinstance(entry, dict) else None

    def set_query(self, name: str, entry: dict[str, Any]) -> None:
        self.state.put_many("queries", {name: entry})
