"""The two CTIS requests trialmon makes, over the polite HTTP layer (one rate limiter).

- ``POST /ctis-public-api/search`` with the portal's body: ``{"pagination": {"page": n,
  "size": s}, "sort": {"property": p, "direction": d}, "searchCriteria": {...}}``; pages are
  1-based. A body CTIS does not accept is answered 200 with ``showWarning: true`` and no rows:
  that is a refusal, never an empty result (:class:`RefusedSearch`).
- ``GET /ctis-public-api/retrieve/{ctNumber}``: the full record; 200 with ``{}`` for a number
  CTIS does not know (``None`` here: only a second source may confirm a trial is gone).

CTIS serves at most 10,000 rows of one search in one order (the true total is reported);
:mod:`.rows` reads a search within that window. Its firewall answers 403 or 429 in bursts
that clear on retry: the registry's :class:`~monitor.http.Http` retries them (backoff,
``Retry-After``, one rate limiter for every request of the registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.errors import PermanentFetchError
from monitor.http import Http, json_body
from monitor.registries.ctis import ids
from monitor.registries.ctis.config import MAX_PAGE_SIZE, WINDOW

SEARCH = "/ctis-public-api/search"
RETRIEVE = "/ctis-public-api/retrieve/{}"
__all__ = ["SEARCH", "WINDOW", "CtisApi", "Page", "RefusedSearch", "read_page", "search_body"]


class RefusedSearch(PermanentFetchError):
    """CTIS answered ``showWarning: true``: it did not run the search it was sent."""


@dataclass(frozen=True)
class Page:
    """One page of search rows and what CTIS says of the whole search."""

    rows: list[dict[str, Any]]
    total: int
    number: int
    more: bool


def search_body(
    criteria: Mapping[str, Any], page: int, size: int, sort: str, direction: str
) -> dict[str, Any]:
    return {
        "pagination": {"page": page, "size": size},
        "sort": {"property": sort, "direction": direction},
        "searchCriteria": dict(criteria),
    }


def read_page(body: Any, where: str) -> Page:
    """A page of a search answer; RefusedSearch for ``showWarning``; garbage is permanent."""
    if not isinstance(body, dict) or not isinstance(body.get("pagination"), dict):
        raise PermanentFetchError(f"{where}: not a CTIS search answer: {str(body)[:100]!r}")
    if body.get("showWarning") is True:
        raise RefusedSearch(
            f"{where}: CTIS refused the search (showWarning); check the saved search's criteria"
        )
    rows, paging = body.get("data"), body["pagination"]
    total = paging.get("totalRecords")
    if not isinstance(rows, list) or not isinstance(total, int):
        raise PermanentFetchError(f"{where}: a search answer without rows or total")
    if any(not isinstance(r, dict) for r in rows):
        raise PermanentFetchError(f"{where}: a search row that is not an object")
    current = paging.get("currentPage")
    return Page(
        rows, total, current if isinstance(current, int) else 0, paging.get("nextPage") is True
    )


class CtisApi:
    """``POST /search`` pages and ``GET /retrieve`` records."""

    def __init__(self, http: Http, page_size: int = MAX_PAGE_SIZE) -> None:
        if not 0 < page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"a CTIS page holds 1 to {MAX_PAGE_SIZE} rows, not {page_size}")
        self.http = http
        self.page_size = page_size

    def page(
        self, criteria: Mapping[str, Any], number: int, sort: str, direction: str = "DESC"
    ) -> Page:
        body = search_body(criteria, number, self.page_size, sort, direction)
        return read_page(self.http.post_json(SEARCH, body), f"POST {SEARCH} page {number}")

    def lookup(self, ct_number: str) -> Page:
        """The search rows of one number (``searchCriteria: {"number": ...}``)."""
        body = search_body({"number": ct_number}, 1, 10, "decisionDate", "DESC")
        return read_page(self.http.post_json(SEARCH, body), f"POST {SEARCH} number {ct_number}")

    def retrieve(self, ct_number: str) -> dict[str, Any] | None:
        """The full record, or None when CTIS answers ``{}`` (it does not know the number)."""
        path = RETRIEVE.format(ids.normalize_id(ct_number))
        body = json_body(self.http.get(path))
        if body == {}:
            return None
        if not isinstance(body, dict) or body.get("ctNumber") is None:
            raise PermanentFetchError(f"GET {path}: not a CTIS record: {str(body)[:100]!r}")
        return body

    def url(self, ct_number: str) -> str:
        return self.http.url(RETRIEVE.format(ct_number))
