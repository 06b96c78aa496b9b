"""The registry's own state: JSON values under (scope, key), kept by the core between cycles.

The source reads it during a cycle and writes it only inside its checkpoint (after every item
before it was processed), so an interrupted cycle saves nothing it did not finish. The
``updates`` and ``queries`` scopes are those every source with full and incremental passes
keeps (:mod:`monitor.registries.passes`). Scopes::

    trials    trial id -> {"version", "last_updated", "calendar": {...}, "status": words}
    gone      watched id -> true (a trial the registry no longer answers, told once)
    updates   "last_success" -> ISO time; "cycles_since_full" -> int   (the watched trials)
    queries   name -> {"params_hash", "last_success", "cycles_since_full", "members": [...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.registries.isrctn.status import Calendar
from monitor.registries.passes import PassState


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


class IsrctnState(PassState):
    """Typed reads and writes over the keyed state (see the module docstring)."""

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
