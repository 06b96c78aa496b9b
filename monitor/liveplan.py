"""How a live cycle finds what changed among the watched records, at the fewest requests (pure).

A registry that can list its updates since a date (for example with
``filter.advanced=AREA[LastUpdatePostDate]RANGE[since,MAX]`` with ``fields=NCTId,NCTIdAlias,
LastUpdatePostDate``) offers two ways to learn which watched records moved since the last
cycle:

- **by id**: the watermarks of every watched record, ``ceil(watched / ids per request)``
  requests (a URL of 8 KB holds about 540 ids of 11 characters), whatever changed;
- **by updates**: every record updated registry-wide since the last release,
  ``ceil(updates / page size)`` requests, whatever the watch list.

Which is cheaper depends on the day: the first page of the updates carries ``totalCount``,
so a cycle asks for it (unless the watch list fits in one request by id, which no listing can
beat), then pages on or switches (:func:`way_after_first_page`). Listing updates cannot see a
record that disappeared, or an id that became another record's alias without an update, so a
full pass by id still runs every ``full_pass_every`` cycles (:func:`full_pass_due`), and on the
first cycle. Nothing here does I/O; the live source calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Way = Literal["ids", "updates"]


@dataclass(frozen=True)
class Costs:
    """Requests each way would still make, from what the first page said."""

    by_ids: int
    by_updates: int  # pages after the first

    @property
    def cheaper(self) -> Way:
        return "updates" if self.by_updates <= self.by_ids else "ids"


def requests_by_ids(watched: int, ids_per_request: int) -> int:
    return math.ceil(watched / ids_per_request) if watched else 0


def requests_by_updates(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))


def full_pass_due(cycles_since_full: int | None, full_pass_every: int) -> bool:
    """The first cycle (no full pass yet) and every ``full_pass_every``-th one."""
    return cycles_since_full is None or cycles_since_full + 1 >= full_pass_every


def ask_updates_first(watched: int, ids_per_request: int) -> bool:
    """Whether to ask for the first page of updates at all: by id in one request is cheapest."""
    return requests_by_ids(watched, ids_per_request) > 1


def way_after_first_page(total: int, page_size: int, watched: int, ids_per_request: int) -> Costs:
    """The costs of going on after the first page of ``total`` updates (already paid for)."""
    rest = requests_by_updates(total, page_size) - 1
    return Costs(by_ids=requests_by_ids(watched, ids_per_request), by_updates=rest)


def updates_since(last_release_day: date, overlap_days: int = 1) -> str:
    """The first last-update date to list: the last release seen, minus an overlap.

    A record updated on the day of the last release seen may or may not have been in it;
    ``overlap_days`` of 1 lists that day again (its records are then skipped by their stored
    last-update date, at the cost of a day's updates in requests); 0 trusts the dates.
    """
    return (last_release_day + timedelta(days=1 - overlap_days)).isoformat()
