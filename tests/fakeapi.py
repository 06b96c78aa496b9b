"""A fake of the ClinicalTrials.gov API as a real HTTP server on 127.0.0.1 (OS-chosen port).

Reusable by any test that needs the registry: start it with the ``fake_api`` fixture of
``tests/conftest.py`` (or ``FakeApi().start()`` / ``.stop()``), point ``[ctgov] base_url`` at
``fake_api.url`` and change its state between cycles:

- ``studies``: ``{nct_id: API v2 study dict}`` served by ``/api/v2/studies`` (``filter.ids``,
  ``query.*``, ``filter.overallStatus``, ``filter.advanced`` with ``AREA[...]RANGE[a,b]`` on
  dates, ``fields`` by piece name, ``pageSize`` up to 1000, opaque ``pageToken`` bound to the
  other parameters, ``countTotal`` on page 1) and ``/api/v2/studies/{id}`` (200, 301 for an
  id in ``aliases`` or in a study's ``nctIdAliases``, 400 for a malformed id, 404).
- ``data_timestamp`` / ``api_version``: served by ``/api/v2/version``.
- ``histories``: ``{nct_id: {"changes": [...], "originalData": {...}, "lastUpdateVersions":
  {...}, "outcomesUpdateCount": n, "versions": {n: study}}}`` served by the site's internal
  ``/api/int/studies/{id}/history`` (everything but ``versions``),
  ``/api/int/studies/{id}/history/{n}`` (``{"studyVersion": n, "study": versions[n]}``) and
  ``/api/int/studies/{id}?history=true`` (``{study, topics, history}``). ``add_history`` builds
  one from a list of versions.
- ``requests``: every request received, in order (path, params, headers, ``clock()`` time).
- ``fault``: ``None`` or a callable given each :class:`Seen` request, returning ``None`` (answer
  normally) or a :class:`Fault` (a status, body, headers, a delay, or a dropped connection).
- ``clock``: where request times come from; pass a :class:`FakeClock` shared with the client's
  rate limiter to test backoff over minutes in milliseconds.

Error bodies are plain text, like the real API's.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from tests.servers import Fault, LoopbackApi, LoopbackHandler

NCT_RE = re.compile(r"^NCT\d{8}$")
RANGE_RE = re.compile(r"AREA\[(\w+)\]RANGE\[([^,\]]*),([^\]]*)\]")
PIECES: dict[str, tuple[str, ...]] = {
    "NCTId": ("protocolSection", "identificationModule", "nctId"),
    "NCTIdAlias": ("protocolSection", "identificationModule", "nctIdAliases"),
    "BriefTitle": ("protocolSection", "identificationModule", "briefTitle"),
    "OfficialTitle": ("protocolSection", "identificationModule", "officialTitle"),
    "OverallStatus": ("protocolSection", "statusModule", "overallStatus"),
    "LastUpdatePostDate": ("protocolSection", "statusModule", "lastUpdatePostDateStruct"),
    "StudyFirstPostDate": ("protocolSection", "statusModule", "studyFirstPostDateStruct"),
    "Condition": ("protocolSection", "conditionsModule", "conditions"),
}
DATE_AREAS = {name: PIECES[name] for name in ("LastUpdatePostDate", "StudyFirstPostDate")}
QUERY_MODULES = {
    "query.cond": ("conditionsModule",),
    "query.intr": ("armsInterventionsModule",),
    "query.titles": ("identificationModule",),
    "query.spons": ("sponsorCollaboratorsModule",),
    "query.locn": ("contactsLocationsModule",),
    "query.outc": ("outcomesModule",),
    "query.id": ("identificationModule",),
}


class FakeClock:
    """A monotonic clock whose ``sleep`` only moves time forward (thread-safe)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)

    def __call__(self) -> float:
        return self.monotonic()


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float
    target: str  # path and query string as sent


FaultHook = Callable[[Seen], Fault | None]


class HttpAnswer(Exception):
    """Raised inside the fake to answer with an error status and a plain-text body."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.headers = headers or {}


def dig(study: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = study
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def study_nct(study: dict[str, Any]) -> str:
    return str(dig(study, PIECES["NCTId"]))


def synthetic_study(
    template: dict[str, Any],
    nct_id: str,
    *,
    posted: str = "2026-01-05",
    status: str | None = None,
    title: str | None = None,
    aliases: Iterable[str] = (),
) -> dict[str, Any]:
    """A synthetic study made from a real one: new id, last-update date, status, title."""
    study = copy.deepcopy(template)
    ident = study["protocolSection"]["identificationModule"]
    ident["nctId"] = nct_id
    ident.pop("nctIdAliases", None)
    if aliases:
        ident["nctIdAliases"] = list(aliases)
    if title is not None:
        ident["briefTitle"] = title
    put(study, PIECES["LastUpdatePostDate"], {"date": posted, "type": "ACTUAL"})
    if status is not None:
        study["protocolSection"]["statusModule"]["overallStatus"] = status
    return study


def encode_token(offset: int, signature: str) -> str:
    raw = orjson.dumps({"o": offset, "s": signature})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, signature: str) -> int:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, sig = int(data["o"]), str(data["s"])
    except (ValueError, KeyError, TypeError) as e:
        raise HttpAnswer(400, f"Invalid pageToken: {token}") from e
    if sig != signature:
        raise HttpAnswer(400, "pageToken was issued for different parameters")
    return offset


def signature(params: dict[str, str]) -> str:
    rest = {k: v for k, v in params.items() if k != "pageToken"}
    return hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def default_matcher(params: dict[str, str], study: dict[str, Any]) -> bool:
    """``query.*`` as case-insensitive substring search in the matching modules."""
    protocol = study.get("protocolSection", {})
    for key, value in params.items():
        if not key.startswith("query."):
            continue
        modules = QUERY_MODULES.get(key)
        scope = [protocol.get(m, {}) for m in modules] if modules else [study]
        text = orjson.dumps(scope).decode().lower()
        if value.lower() not in text:
            return False
    return True


def in_ranges(expression: str, study: dict[str, Any]) -> bool:
    """``AREA[Date]RANGE[a,b]`` terms of ``filter.advanced`` (others are not evaluated)."""
    for area, low, high in RANGE_RE.findall(expression):
        if area not in DATE_AREAS:
            raise HttpAnswer(400, f"unsupported AREA in the fake: {area}")
        date = (dig(study, DATE_AREAS[area]) or {}).get("date")
        if date is None:
            return False
        if low not in ("", "MIN") and date < low:
            return False
        if high not in ("", "MAX") and date > high:
            return False
    return True


def project(study: dict[str, Any], fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for piece in (f.strip() for f in re.split(r"[,|]", fields) if f.strip()):
        if piece not in PIECES:
            raise HttpAnswer(400, f"Unknown field in fields: {piece}")
        value = dig(study, PIECES[piece])
        if value is not None:
            put(out, PIECES[piece], copy.deepcopy(value))
    return out


class FakeApi(LoopbackApi[Seen]):
    """The fake registry; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(FakeHandler, clock, "the fake API")
        self.studies: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.histories: dict[str, dict[str, Any]] = {}
        self.data_timestamp = "2026-09-04T09:00:06"
        self.api_version = "2.0.5"
        self.matcher: Callable[[dict[str, str], dict[str, Any]], bool] = default_matcher

    # ------------------------------------------------------------ state

    def add(self, *studies: dict[str, Any]) -> None:
        with self.lock:
            for study in studies:
                self.studies[study_nct(study)] = study

    def update(self, nct_id: str, posted: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change a study as the registry would: apply ``change``, move its last-update date."""
        with self.lock:
            study = self.studies[nct_id]
            change(study)
            put(study, PIECES["LastUpdatePostDate"], {"date": posted, "type": "ACTUAL"})

    def add_history(self, nct_id: str, versions: list[tuple[str, dict[str, Any]]]) -> None:
        """Record history from ``[(date, study), ...]``, oldest first (version 0 first)."""
        changes = [
            {
                "version": n,
                "date": date,
                "status": dig(study, PIECES["OverallStatus"]),
                "moduleLabels": [],
            }
            for n, (date, study) in enumerate(versions)
        ]
        self.histories[nct_id] = {
            "changes": changes,
            "originalData": {},
            "lastUpdateVersions": {},
            "outcomesUpdateCount": 0,
            "versions": {n: study for n, (_, study) in enumerate(versions)},
        }

    def seen(self, path_prefix: str = "/api/") -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def count(self, path_prefix: str = "/api/") -> int:
        return len(self.seen(path_prefix))

    # ------------------------------------------------------------ answers

    def answer(self, path: str, params: dict[str, str]) -> Any:
        """The JSON body for a GET, or raise :class:`HttpAnswer`."""
        with self.lock:
            if path == "/api/v2/version":
                return {"apiVersion": self.api_version, "dataTimestamp": self.data_timestamp}
            if path == "/api/v2/studies":
                return self.search(params)
            if match := re.fullmatch(r"/api/v2/studies/([^/]+)", path):
                return self.one_study(match.group(1))
            if match := re.fullmatch(r"/api/int/studies/([^/]+)(/history(?:/(\d+))?)?", path):
                return self.history(match.group(1), match.group(2), match.group(3), params)
            raise HttpAnswer(404, f"Not found: {path}")

    def resolve(self, nct_id: str) -> str | None:
        """The id a study is served under, following aliases."""
        if nct_id in self.studies:
            return nct_id
        if nct_id in self.aliases:
            return self.aliases[nct_id]
        for current, study in self.studies.items():
            if nct_id in (dig(study, PIECES["NCTIdAlias"]) or ()):
                return current
        return None

    def one_study(self, raw_id: str) -> Any:
        nct_id = raw_id.upper()
        if not NCT_RE.match(nct_id):
            raise HttpAnswer(400, f"Invalid NCT number: {raw_id}")
        current = self.resolve(nct_id)
        if current is None:
            raise HttpAnswer(404, f"Study {nct_id} not found")
        if current != nct_id:
            raise HttpAnswer(301, "Moved", {"Location": f"/api/v2/studies/{current}"})
        return self.studies[current]

    def select(self, params: dict[str, str]) -> list[dict[str, Any]]:
        chosen = sorted(self.studies)
        if "filter.ids" in params:
            wanted = set()
            for raw in re.split(r"[,|]", params["filter.ids"]):
                if raw.strip() and not NCT_RE.match(raw.strip().upper()):
                    raise HttpAnswer(400, f"Invalid NCT number in filter.ids: {raw}")
                wanted.add(self.resolve(raw.strip().upper()))
            chosen = [n for n in chosen if n in wanted]
        studies = [self.studies[n] for n in chosen]
        if "filter.overallStatus" in params:
            allowed = set(re.split(r"[,|]", params["filter.overallStatus"]))
            studies = [s for s in studies if dig(s, PIECES["OverallStatus"]) in allowed]
        if "filter.advanced" in params:
            studies = [s for s in studies if in_ranges(params["filter.advanced"], s)]
        return [s for s in studies if self.matcher(params, s)]

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        size = page_size(params)
        found = self.select(params)
        token = params.get("pageToken")
        offset = decode_token(token, signature(params)) if token else 0
        page = found[offset : offset + size]
        if "fields" in params:
            page = [project(s, params["fields"]) for s in page]
        body: dict[str, Any] = {"studies": page}
        if offset == 0 and params.get("countTotal") == "true":
            body["totalCount"] = len(found)
        if offset + size < len(found):
            body["nextPageToken"] = encode_token(offset + size, signature(params))
        return body

    def history(
        self, nct_id: str, history_part: str | None, version: str | None, params: dict[str, str]
    ) -> Any:
        known = self.histories.get(nct_id.upper())
        if known is None:
            raise HttpAnswer(404, f"Study {nct_id} not found")
        summary = {k: v for k, v in known.items() if k != "versions"}
        if version is not None:
            if int(version) not in known["versions"]:
                raise HttpAnswer(404, f"Version {version} of {nct_id} not found")
            return {"studyVersion": int(version), "study": known["versions"][int(version)]}
        if history_part:
            return summary
        latest = known["versions"][max(known["versions"])]
        body: dict[str, Any] = {"study": latest, "topics": []}
        if params.get("history") == "true":
            body["history"] = summary
        return body


def page_size(params: dict[str, str]) -> int:
    raw = params.get("pageSize", "10")
    if not raw.isdigit() or not 0 < int(raw) <= 1000:
        raise HttpAnswer(400, f"pageSize must be between 1 and 1000, got {raw}")
    return int(raw)


class FakeHandler(LoopbackHandler):
    """Answers GETs from the :class:`FakeApi` in ``api``."""

    api: FakeApi

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        seen = Seen("GET", parts.path, params, dict(self.headers), self.api.clock(), self.path)
        fault = self.api.arrived(seen)
        if fault is not None:
            self.send_fault(fault)
            return
        try:
            body = self.api.answer(parts.path, params)
        except HttpAnswer as e:
            self.send(e.status, e.text.encode(), "text/plain", e.headers)
            return
        self.send(200, orjson.dumps(body), "application/json")


def studies_range(first: int, count: int) -> Iterator[str]:
    """``count`` consecutive synthetic NCT ids starting at ``NCT{first:08d}``."""
    return (f"NCT{n:08d}" for n in range(first, first + count))
