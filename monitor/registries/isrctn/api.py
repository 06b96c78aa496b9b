"""The one ISRCTN request trialmon makes: ``GET /api/query/format/default?q=...&limit=n``.

The answer is ``<allTrials totalCount="N">`` with up to ``limit`` full trials; ``limit=0``
answers the count alone. There is no paging (one answer holds every trial asked for), so a
pass counts first, then asks for exactly that many. The query language takes ``field:value``,
free text (an ISRCTN number finds its trial, as ctrdata relies on), ``AND``/``OR`` and
parentheses, and date comparisons as separate tokens: ``lastEdited GE 2026-09-01T00:00:00.000Z``.
Every request goes through the polite HTTP layer (one rate limiter, retries, ``Retry-After``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.errors import PermanentFetchError, RecordError
from monitor.http import Http
from monitor.registries.isrctn import xml

QUERY = "/api/query/format/default"
ACCEPT = {"Accept": "application/xml"}  # the API answers XML (the client asks JSON by default)
MAX_TRIALS = 10_000  # ctrdata's ceiling for one answer; the API has no paging


@dataclass(frozen=True)
class Answer:
    """The trials of one answer and the total the registry reported."""

    trials: list[ET.Element]
    total: int


def by_ids(trial_ids: Sequence[str]) -> str:
    """A query for these trials (their numbers as free text)."""
    return "(" + " OR ".join(trial_ids) + ")"


def edited_since(q: str, day: str) -> str:
    """``q`` narrowed to trials edited on or after ``day`` (``YYYY-MM-DD``)."""
    return f"({q}) AND lastEdited GE {day}T00:00:00.000Z"


class IsrctnApi:
    """Counts and trials of a query."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def ask(self, q: str, limit: int) -> Answer:
        response = self.http.get(QUERY, {"q": q, "limit": limit}, ACCEPT)
        where = f"GET {QUERY}?q={q[:80]}"
        try:
            root = xml.parse(response.content)
            trials = xml.trials(root)
        except RecordError as e:
            raise PermanentFetchError(f"{where}: not an ISRCTN answer: {e}") from e
        total = xml.total_count(root)
        if total is None:
            raise PermanentFetchError(f"{where}: an answer without totalCount")
        return Answer(trials, total)

    def count(self, q: str) -> int:
        return self.ask(q, 0).total

    def all_of(self, q: str, total: int | None = None) -> Answer:
        """Every trial of ``q`` (counted first unless ``total`` is known); refused beyond
        :data:`MAX_TRIALS`."""
        total = self.count(q) if total is None else total
        if total > MAX_TRIALS:
            raise PermanentFetchError(
                f"the search finds {total} trials; trialmon reads at most {MAX_TRIALS} of "
                "one ISRCTN search: narrow it"
            )
        return self.ask(q, total) if total else Answer([], 0)

    def url(self, trial_id: str) -> str:
        return self.http.url(QUERY, {"q": trial_id, "limit": 1})
