"""The registry's own state: JSON values under (scope, key), kept by the core between cycles.

The source reads it during a cycle and writes it only inside its checkpoint (after every item
before it was processed), so an interrupted cycle saves nothing it did not finish. The
``updates`` and ``queries`` scopes are those every source with full and incremental passes
keeps (:mod:`monitor.registries.passes`). Scopes::

    fingerprints  ct_number -> fingerprint of its search row
    watched       watched id (or a search's trial filed under an older number) ->
                  {"current": ct_number, "gone": bool}
    updates       "last_success" -> ISO time; "cycles_since_full" -> int   (the window of updates)
    queries       name -> {"params_hash", "last_success", "cycles_since_full", "members": [...]}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.registries.passes import PassState


@dataclass(frozen=True)
class Watched:
    """A watched id, the number CTIS now files it under, whether it is known gone."""

    trial_id: str
    current: str
    gone: bool = False


class CtisState(PassState):
    """Typed reads and writes over the keyed state (see the module docstring)."""

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
