"""Across registries: each trial's ids in other registries, and the disagreements between
registries about one trial (which the cycle finds with the pure :mod:`monitor.crossref`).

``trial_links`` holds, per trial, the ids its newest record names (rewritten with each new
newest snapshot, in the snapshot's transaction: :meth:`monitor.store.live.Writes.save_snapshot`);
``disagreements`` one row per disagreement,
open until resolved, each opening and resolution written with its ``record`` change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.crossref import Link, Named
from monitor.models import Change
from monitor.store.db import to_json
from monitor.store.live import Writes

ALL_LINKS = "select trial_id, registry, linked_id, kind from trial_links order by trial_id"
LINKS_OF = (
    "select trial_id, linked_id, kind from trial_links where trial_id in ({ids}) "
    "order by trial_id, kind, linked_id"
)
REGISTRIES = "select trial_id, coalesce(registry, '') from studies"
REGISTRIES_OF = "select trial_id, coalesce(registry, '') from studies where trial_id in ({ids})"
# The registries of the trials ``crossref.same_trials`` groups: every stored trial's, and
# none (NULL) for a trial with links but no study row.
GROUPS = (
    "select count(*) from (select coalesce(registry, '') from studies union "
    "select null from trial_links where trial_id not in (select trial_id from studies))"
)
OPEN = (
    "select id, trial_id, other_id, kind, opened_at, opened_values from disagreements "
    "where resolved_at is null order by id"
)
OPEN_ONE = (
    "insert into disagreements (trial_id, other_id, kind, opened_at, opened_values) "
    "values (?, ?, ?, ?, ?)"
)
RESOLVE = "update disagreements set resolved_at = ?, resolved_values = ? where id = ?"


@dataclass(frozen=True)
class OpenDisagreement:
    """A disagreement found in an earlier cycle and not resolved since."""

    id: int
    trial_id: str
    other_id: str
    kind: str
    opened_at: str
    values: Any


class CrossRows(Writes):
    """Links between registries and disagreements between them."""

    def all_links(self) -> list[Named]:
        return [Named(*row) for row in self.db.execute(ALL_LINKS).fetchall()]

    def registries_of(self, trial_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Every stored trial's registry (or those of ``trial_ids`` that are stored)."""
        if trial_ids is not None:
            return dict(self._rows_for(REGISTRIES_OF, trial_ids))
        return dict(self.db.execute(REGISTRIES).fetchall())

    def one_registry(self) -> bool:
        """Whether the stored trials are all of one registry, so that no two can be one trial
        of two registries (``crossref.same_trials`` pairs none): a query instead of reading
        every trial's registry and every link."""
        return int(self.db.execute(GROUPS).fetchone()[0]) < 2

    def links_of(self, trial_ids: Sequence[str]) -> dict[str, list[Link]]:
        """The ids each of these trials' newest records name (aliases included)."""
        found: dict[str, list[Link]] = {}
        for trial_id, linked_id, kind in self._rows_for(LINKS_OF, trial_ids):
            found.setdefault(trial_id, []).append(Link(linked_id, kind))
        return found

    def open_disagreements(self) -> list[OpenDisagreement]:
        rows = self.db.execute(OPEN).fetchall()
        return [OpenDisagreement(i, t, o, k, at, orjson.loads(v)) for i, t, o, k, at, v in rows]

    def open_disagreement(
        self, trial_id: str, other_id: str, kind: str, values: Any, change: Change, at: Moment
    ) -> None:
        """A new disagreement and its change (on ``trial_id``), in one transaction."""
        with self.db.atomic():
            self.db.execute(OPEN_ONE, [trial_id, other_id, kind, at.now, to_json(values)])
            self.record_change(trial_id, change, at.now, at.run_id, at.registry)

    def resolve_disagreement(
        self, found: OpenDisagreement, values: Any, change: Change, at: Moment
    ) -> None:
        """A disagreement that ended, and its change, in one transaction."""
        with self.db.atomic():
            self.db.execute(RESOLVE, [at.now, to_json(values), found.id])
            self.record_change(found.trial_id, change, at.now, at.run_id, at.registry)


@dataclass(frozen=True)
class Moment:
    """When and in which run a change across registries is written, and its trial's registry."""

    now: str
    run_id: int | None
    registry: str = ""
