"""A fake of the EU CTIS public API as a real HTTP server on 127.0.0.1 (an OS-chosen port).

Built from the real captures in ``tests/data/ctis`` (the retrieve record and the search rows).
Start it with ``FakeCtis().start()`` (or as a context manager), point a client at ``.url`` and
change it between cycles:

- ``records``: ``{ct_number: retrieve record}``; ``GET /ctis-public-api/retrieve/{n}`` answers
  the record, ``{}`` for a number it does not know (as CTIS does) and 400 for a malformed one.
- ``rows``: ``{ct_number: search row}``; ``POST /ctis-public-api/search`` filters them by
  ``number`` (exact), ``medicalCondition``, ``sponsor``, ``containAll`` (case-insensitive
  substrings), ``status`` (codes); unknown keys are ignored, as CTIS does. It sorts by
  ``decisionDate``, ``lastUpdated`` or ``lastPublicationUpdate`` (dd/mm/yyyy, ties by number),
  pages 1-based, answers a page past the last with no rows and the real total, and refuses
  (200, ``showWarning: true``) a body without ``searchCriteria`` or a page beyond ``window``
  rows (10,000 by default: set it lower to test the cap). ``GET`` of the search path is 403.
- ``add_scenario()``: the real record and a trial for each real search row (breast cancer
  and diabetes; :func:`scenario_numbers`).
- ``add_record(record, published=...)`` derives a trial's row from its record;
  ``update(n, change, published=...)`` changes a record as the registry would (its row and its
  publication date follow); ``add_row_trial(row)`` adds a trial from a real row with a
  synthetic record made from the real one (number, status and titles of the row).
- ``storm(n, status, retry_after=None)``: the next ``n`` requests answer 429 (or 403, the
  firewall's HTML page), with ``Retry-After`` when given; ``fault`` takes any hook of
  :class:`tests.servers.Fault` for other misbehaviour.
- ``requests``: every request received (method, path, JSON body, clock time); ``count(...)``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from tests.servers import LoopbackApi, LoopbackHandler

DATA = Path(__file__).parent / "data" / "ctis"
SEARCH = "/ctis-public-api/search"
RETRIEVE = re.compile(r"^/ctis-public-api/retrieve/([^/]+)$")
CT_NUMBER = re.compile(r"^\d{4}-\d{6}-\d{2}-\d{2}$")
STATUS_WORDS = {
    1: "Under evaluation",
    2: "Authorised, recruitment pending",
    3: "Authorised, recruiting",
    4: "Ongoing, recruiting",
    5: "Ongoing, recruitment ended",
    8: "Ended",
}
SCENARIO_SEARCHES = ("search_breast_cancer_page1.json", "search_diabetes.json")
WAF_PAGE = "<html><head><title>403 Forbidden</title></head><body>Request blocked.</body></html>"


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    body: Any
    at: float


def real_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "retrieve_2024-513060-26-00.json").read_text())
    return data


def real_rows(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((DATA / name).read_text())["data"]
    return rows


def iso_to_row_day(value: str | None) -> str | None:
    """``2024-09-17`` -> ``17/09/2024``."""
    if not value:
        return None
    year, month, day = value[:10].split("-")
    return f"{day}/{month}/{year}"


def row_day_key(value: Any) -> str:
    if not isinstance(value, str) or value.count("/") != 2:
        return ""
    day, month, year = value.split("/")
    return f"{year}-{month}-{day}"


def row_of(record: dict[str, Any], published: str, updated: str | None = None) -> dict[str, Any]:
    """The search row CTIS would show for a retrieve record (the fields trialmon reads)."""
    part1 = record["authorizedApplication"]["authorizedPartI"]
    idents = part1["trialDetails"]["clinicalTrialIdentifiers"]
    parts2 = record["authorizedApplication"].get("authorizedPartsII", [])
    states = record["authorizedApplication"].get("memberStatesConcerned", [])
    planned = sum(p.get("recruitmentSubjectCount") or 0 for p in parts2)
    row = {
        "ctNumber": record["ctNumber"],
        "ctStatus": record.get("ctPublicStatusCode"),
        "ctTitle": idents.get("fullTitle"),
        "shortTitle": idents.get("shortTitle"),
        "startDateEU": iso_to_row_day(record.get("startDateEU")),
        "endDateEU": iso_to_row_day(record.get("endDateEU")),
        "conditions": ", ".join(c["medicalCondition"] for c in part1.get("medicalConditions", [])),
        "trialCountries": [f"{m['mscName']}:{m['mscPublicStatusCode']}" for m in states],
        "sponsor": next((s["organisation"]["name"] for s in part1.get("sponsors", [])), ""),
        "totalNumberEnrolled": str(planned + (part1.get("rowSubjectCount") or 0)),
        "lastUpdated": updated or published,
        "lastPublicationUpdate": published,
    }
    return {k: v for k, v in row.items() if v is not None}


def record_for_row(row: dict[str, Any]) -> dict[str, Any]:
    """SYNTHETIC: the real record with a real row's number, status and titles."""
    record = real_record()
    record["ctNumber"] = row["ctNumber"]
    record["ctPublicStatusCode"] = row["ctStatus"]
    record["ctStatus"] = STATUS_WORDS.get(row["ctStatus"], "Authorised")
    idents = record["authorizedApplication"]["authorizedPartI"]["trialDetails"]
    idents["clinicalTrialIdentifiers"]["fullTitle"] = row["ctTitle"]
    idents["clinicalTrialIdentifiers"]["shortTitle"] = row["shortTitle"]
    for msc in record["authorizedApplication"]["memberStatesConcerned"]:
        msc["mscPublicStatusCode"] = row["ctStatus"]
    return record


class HttpAnswer(Exception):
    def __init__(self, status: int, body: Any, kind: str = "application/json") -> None:
        super().__init__(str(status))
        self.status, self.body, self.kind = status, body, kind


def refused() -> dict[str, Any]:
    paging = {"totalRecords": 0, "currentPage": 0, "totalPages": 0}
    return {
        "showWarning": True,
        "pagination": {**paging, "nextPage": False, "prevPage": False},
        "data": [],
    }


def matches(criteria: dict[str, Any], row: dict[str, Any]) -> bool:
    text = orjson.dumps(row).decode().casefold()
    for key, value in criteria.items():
        if key == "number" and row["ctNumber"] != value:
            return False
        if key == "status" and row.get("ctStatus") not in (value or []):
            return False
        if key in ("medicalCondition", "sponsor"):
            field = "conditions" if key == "medicalCondition" else "sponsor"
            if str(value).casefold() not in str(row.get(field, "")).casefold():
                return False
        if key == "containAll" and not all(w in text for w in str(value).casefold().split()):
            return False
    return True


class FakeCtis(LoopbackApi[Seen]):
    """The fake registry; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(CtisHandler, clock, "the fake CTIS")
        self.records: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        self.window = 10_000

    # ------------------------------------------------------------ state

    def add_record(self, record: dict[str, Any], published: str = "02/10/2026") -> None:
        with self.lock:
            self.records[record["ctNumber"]] = record
            self.rows[record["ctNumber"]] = row_of(record, published)

    def add_scenario(self) -> FakeCtis:
        self.add_record(real_record(), published="19/02/2025")
        for name in SCENARIO_SEARCHES:
            for row in real_rows(name):
                self.add_row_trial(row)
        return self

    def add_row_trial(self, row: dict[str, Any]) -> None:
        with self.lock:
            self.rows[row["ctNumber"]] = copy.deepcopy(row)
            self.records[row["ctNumber"]] = record_for_row(row)

    def update(
        self, ct_number: str, change: Callable[[dict[str, Any]], None], published: str
    ) -> None:
        """Change a record as the registry would: its row follows, published on ``published``."""
        with self.lock:
            record = self.records[ct_number]
            old = self.rows[ct_number]
            before = row_of(record, published, old.get("lastUpdated"))
            change(record)
            after = row_of(record, published, old.get("lastUpdated"))
            moved = {k: v for k, v in after.items() if before.get(k) != v}
            self.rows[ct_number] = {**old, **moved, "lastPublicationUpdate": published}

    def remove(self, ct_number: str) -> None:
        with self.lock:
            self.records.pop(ct_number, None)
            self.rows.pop(ct_number, None)

    def throttled_body(self, status: int) -> str:
        """A throttled answer's body (403: the firewall's HTML page)."""
        return WAF_PAGE if status == 403 else super().throttled_body(status)

    def seen(self, method: str | None = None, path_prefix: str = "/ctis-public-api/") -> list[Seen]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            ]

    def count(self, method: str | None = None, path_prefix: str = "/ctis-public-api/") -> int:
        return len(self.seen(method, path_prefix))

    # ------------------------------------------------------------ answers

    def retrieve(self, number: str) -> Any:
        if not CT_NUMBER.match(number):
            raise HttpAnswer(400, f"Invalid CT number: {number}", "text/plain")
        return copy.deepcopy(self.records.get(number, {}))

    def search(self, body: Any) -> Any:
        if not isinstance(body, dict):
            raise HttpAnswer(400, "Bad Request", "text/plain")
        criteria = body.get("searchCriteria")
        paging = body.get("pagination") or {}
        page, size = paging.get("page"), paging.get("size")
        if not isinstance(criteria, dict) or not isinstance(page, int) or not isinstance(size, int):
            return refused()
        if page < 1 or not 0 < size <= 100 or (page - 1) * size >= self.window:
            return refused()
        found = self.sorted_rows(criteria, body.get("sort") or {})
        served = found[: self.window]
        rows = served[(page - 1) * size : page * size]
        pages = -(-len(found) // size)
        return {
            "showWarning": False,
            "pagination": {
                "totalRecords": len(found),
                "currentPage": page,
                "totalPages": pages,
                "nextPage": page < pages,
                "prevPage": page > 1,
            },
            "data": copy.deepcopy(rows),
        }

    def sorted_rows(self, criteria: dict[str, Any], sort: dict[str, Any]) -> list[dict[str, Any]]:
        field = sort.get("property") or "decisionDate"
        if field == "decisionDate":
            field = "decisionDateOverall"
        rows = [r for r in self.rows.values() if matches(criteria, r)]
        rows.sort(key=lambda r: (row_day_key(r.get(field)), r["ctNumber"]))
        return rows if sort.get("direction") == "ASC" else rows[::-1]


class CtisHandler(LoopbackHandler):
    """Answers the fake's requests; faults and sending come from the loopback handler."""

    api: FakeCtis

    def do_GET(self) -> None:
        self.answer("GET", None)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        self.answer("POST", body)

    def answer(self, method: str, body: Any) -> None:
        path = urlsplit(self.path).path
        fault = self.api.arrived(Seen(method, path, body, self.api.clock()))
        if fault is not None:
            self.send_fault(fault)
            return
        try:
            with self.api.lock:
                answer = self.route(method, path, body)
        except HttpAnswer as e:
            data = e.body.encode() if isinstance(e.body, str) else orjson.dumps(e.body)
            self.send(e.status, data, e.kind)
            return
        self.send(200, orjson.dumps(answer), "application/json")

    def route(self, method: str, path: str, body: Any) -> Any:
        if path == SEARCH:
            if method != "POST":
                raise HttpAnswer(403, WAF_PAGE, "text/html")
            return self.api.search(body)
        match = RETRIEVE.match(path)
        if match and method == "GET":
            return self.api.retrieve(match.group(1))
        raise HttpAnswer(404, f"Not found: {path}", "text/plain")


def scenario_numbers() -> Iterator[str]:
    """The numbers of the real search rows (C3 and C7), in file order."""
    for name in SCENARIO_SEARCHES:
        for row in real_rows(name):
            yield row["ctNumber"]
