"""The registry's own state, kept in a plain mapping the core persists (JSON values only).

The source reads it at the start of a cycle and changes it only inside its checkpoint (after
every item before it was processed), so an interrupted cycle saves nothing it did not finish.
Layout (every key optional)::

    {"fingerprints": {ct_number: row fingerprint},
     "watched": {watched id: {"current": ct_number, "gone": bool}},
     "updates": {"last_success": ISO time},            # the registry-wide window of updates
     "queries": {name: {"params_hash": str, "last_success": ISO time,
                        "cycles_since_full": int, "members": [ct_number, ...]}}}
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

StateMapping = MutableMapping[str, Any]


@dataclass(frozen=True)
class Watched:
    """A watched id, the number CTIS now files it under, whether it is known gone."""

    trial_id: str
    current: str
    gone: bool = False


class CtisState:
    """Typed reads and writes over the mapping (see the module docstring)."""

    def __init__(self, data: StateMapping) -> None:
        self.data = data

    def _section(self, name: str) -> dict[str, Any]:
        section = self.data.get(name)
        if not isinstance(section, dict):
            section = {}
            self.data[name] = section
        return section

    # fingerprints of search rows

    def fingerprint(self, ct_number: str) -> str | None:
        value = self._section("fingerprints").get(ct_number)
        return value if isinstance(value, str) else None

    def set_fingerprints(self, found: Iterable[tuple[str, str]]) -> None:
        self._section("fingerprints").update(found)

    # watched ids

    def watched(self, trial_id: str) -> Watched | None:
        entry = self._section("watched").get(trial_id)
        if not isinstance(entry, dict) or not isinstance(entry.get("current"), str):
            return None
        return Watched(trial_id, entry["current"], bool(entry.get("gone")))

    def set_watched(self, w: Watched) -> None:
        self._section("watched")[w.trial_id] = {"current": w.current, "gone": w.gone}

    # the registry-wide window of updates

    def last_update_scan(self) -> str | None:
        value = self._section("updates").get("last_success")
        return value if isinstance(value, str) else None

    def set_last_update_scan(self, moment: str) -> None:
        self._section("updates")["last_success"] = moment

    # saved searches

    def query(self, name: str) -> dict[str, Any] | None:
        entry = self._section("queries").get(name)
        return entry if isinstance(entry, dict) else None

    def set_query(self, name: str, entry: dict[str, Any]) -> None:
        self._section("queries")[name] = entry
