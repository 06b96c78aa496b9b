"""Search rows: their dates, a fingerprint each, and reading a search within CTIS's window.

A row is CTIS's overview of a trial (status, countries with their statuses, planned subjects,
start and end in the EU, titles, last update and last publication). CTIS has no version number
and no history: a row whose fingerprint moved since the last cycle is a trial to retrieve.

Rows are read newest first by ``lastPublicationUpdate``: the public record changes only when
CTIS publishes it, and ``lastUpdated`` does not follow the trial's events (a real row starts and
ends in the EU weeks after its ``lastUpdated``, REGISTRIES.md C7). The order is not strictly
monotonic (a third party saw it), so an incremental read goes on until a whole page is older
than the window's start, which is itself the last success minus an overlap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from monitor.errors import PermanentFetchError
from monitor.registries.ctis import ids
from monitor.registries.ctis.api import WINDOW, CtisApi

SORT = "lastPublicationUpdate"


def row_day(value: Any) -> str | None:
    """``02/10/2026`` -> ``2026-10-02`` (search rows write dates day first)."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        return None
    return f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"


def row_number(row: Mapping[str, Any]) -> str | None:
    number = row.get("ctNumber")
    if isinstance(number, str) and ids.is_ct_number(number.strip()):
        return number.strip()
    return None


def published(row: Mapping[str, Any]) -> str | None:
    """The day CTIS last published the trial (its last update when that is missing)."""
    return row_day(row.get("lastPublicationUpdate")) or row_day(row.get("lastUpdated"))


def fingerprint(row: Mapping[str, Any]) -> str:
    """A short hash of everything a row says (key order does not count)."""
    return hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class WindowExceeded(Exception):
    """More rows moved since the window's start than CTIS serves in one order."""


@dataclass
class Scan:
    """The rows a search returned, by EU CT number, and its reported total."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    total: int = 0
    pages: int = 0

    def add(self, rows: list[dict[str, Any]], since: str | None = None) -> None:
        """Keep the rows (only those published on or after ``since``, when given)."""
        for row in rows:
            number, day = row_number(row), published(row)
            if number is not None and (since is None or day is None or day >= since):
                self.rows.setdefault(number, row)


def older_than(rows: list[dict[str, Any]], since: str) -> bool:
    """Every row of a page was published before ``since``."""
    days = [published(r) for r in rows]
    return bool(rows) and all(d is not None and d < since for d in days)


def read_since(api: CtisApi, criteria: Mapping[str, Any], since: str, window: int = WINDOW) -> Scan:
    """The rows published on or after ``since``, newest first, until a page is all older."""
    scan = Scan()
    last = window // api.page_size
    for number in range(1, last + 1):
        page = api.page(criteria, number, SORT, "DESC")
        scan.add(page.rows, since)
        scan.total, scan.pages = page.total, number
        if not page.rows or not page.more or older_than(page.rows, since):
            return scan
    raise WindowExceeded(f"more than {window} rows published since {since}")


def read_all(api: CtisApi, criteria: Mapping[str, Any], limit: int, window: int = WINDOW) -> Scan:
    """Every row of a search: newest first up to the window, then oldest first for the rest.

    A search of more than ``limit`` rows (at most twice the window) is refused, naming both.
    """
    scan = Scan()
    first = api.page(criteria, 1, SORT, "DESC")
    scan.add(first.rows)
    scan.total, scan.pages = first.total, 1
    if first.total > limit:
        raise PermanentFetchError(
            f"the search finds {first.total} trials; CTIS serves {window} rows per order and "
            f"trialmon reads at most {limit}: narrow the saved search"
        )
    _pages(api, criteria, scan, "DESC", 2, min(first.total, window), first.more)
    if first.total > window:
        rest = first.total - window + api.page_size  # one page of overlap
        _pages(api, criteria, scan, "ASC", 1, rest, True)
    return scan


def _pages(
    api: CtisApi,
    criteria: Mapping[str, Any],
    scan: Scan,
    direction: str,
    start: int,
    rows: int,
    more: bool,
) -> None:
    number = start
    while more and (number - 1) * api.page_size < rows:
        page = api.page(criteria, number, SORT, direction)
        scan.add(page.rows)
        scan.pages += 1
        more = page.more and bool(page.rows)
        number += 1
