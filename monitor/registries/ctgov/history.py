"""The registry's record history: the version list and each version of one study.

These are the site's own, undocumented endpoints (``/api/int/...``), so every answer is
validated and a different shape is a :class:`HistoryFormatError` that names the endpoint::

    GET /api/int/studies/{id}/history            {changes[], originalData, lastUpdateVersions,
                                                  outcomesUpdateCount}
    GET /api/int/studies/{id}?history=true       {study, topics, history: {changes[], ...}}
    GET /api/int/studies/{id}/history/{version}  {"studyVersion": N, "study": {...API v2...}}

``changes[]`` items carry ``version`` (from 0), ``date`` (``yyyy-MM-dd``), ``status`` and
``moduleLabels``. Fetching goes through anything with ``get_json(path, params)`` (the shared
HTTP client, with its rate limiter and retries); a study the registry has no history for
(404, or an empty list) has no versions, which is not an error.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from monitor.errors import NotFoundError, PermanentFetchError
from monitor.models import HISTORY_SOURCE, RawRecord
from monitor.registries.base import JsonGetter, VersionInfo
from monitor.registries.ctgov.ids import KIND

log = logging.getLogger(__name__)

SOURCE = HISTORY_SOURCE


class HistoryFormatError(PermanentFetchError):
    """A record-history answer does not have the shape trialmon expects."""

    def __init__(self, endpoint: str, problem: str) -> None:
        super().__init__(
            f"GET {endpoint}: unexpected record-history format: {problem} "
            "(the registry's internal endpoint may have changed)"
        )
        self.endpoint = endpoint


def history_path(nct_id: str) -> str:
    return f"/api/int/studies/{nct_id}/history"


def version_path(nct_id: str, version: int) -> str:
    return f"/api/int/studies/{nct_id}/history/{version}"


# ---------------------------------------------------------------- fetching


def fetch_versions(client: JsonGetter, nct_id: str) -> list[VersionInfo]:
    """The study's versions, ordered by date then number; ``[]`` when it has no history."""
    endpoint = history_path(nct_id)
    try:
        body = client.get_json(endpoint, None)
    except NotFoundError:
        log.info("%s: the registry has no record history for this study", nct_id)
        return []
    return parse_version_list(body, endpoint)


def fetch_version(client: JsonGetter, nct_id: str, info: VersionInfo) -> RawRecord:
    """One version of the study as a raw record dated by the version's date."""
    endpoint = version_path(nct_id, info.version)
    study = parse_version(client.get_json(endpoint, None), endpoint, info.version, nct_id)
    return RawRecord(
        trial_id=nct_id,
        data=study,
        source=SOURCE,
        origin=endpoint,
        captured_at=info.captured_at,
        version=info.version,
        registry=KIND,
    )


# ---------------------------------------------------------------- validation


def parse_version_list(body: Any, endpoint: str) -> list[VersionInfo]:
    """Validate a version list (either form) and order it by date, then version number."""
    summary = _history_object(body, endpoint)
    changes = summary.get("changes")
    if changes is None:
        raise HistoryFormatError(endpoint, "no 'changes' list")
    if not isinstance(changes, list):
        raise HistoryFormatError(endpoint, f"'changes' is {_kind(changes)}, not a list")
    versions = [_version_info(item, endpoint, i) for i, item in enumerate(changes)]
    _refuse_duplicates(versions, endpoint)
    return sorted(versions, key=lambda v: (v.date, v.version))


def _history_object(body: Any, endpoint: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HistoryFormatError(endpoint, f"expected a JSON object, got {_kind(body)}")
    if "changes" not in body and "history" in body:  # the {study, topics, history} form
        inner = body["history"]
        if not isinstance(inner, dict):
            raise HistoryFormatError(endpoint, f"'history' is {_kind(inner)}, not an object")
        return inner
    if "changes" not in body:
        keys = ", ".join(sorted(map(str, body))) or "none"
        raise HistoryFormatError(endpoint, f"neither 'changes' nor 'history' (keys: {keys})")
    return body


def _version_info(item: Any, endpoint: str, index: int) -> VersionInfo:
    where = f"changes[{index}]"
    if not isinstance(item, dict):
        raise HistoryFormatError(endpoint, f"{where} is {_kind(item)}, not an object")
    number = item.get("version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise HistoryFormatError(endpoint, f"{where}.version is {number!r}, not a number >= 0")
    status = item.get("status")
    if status is not None and not isinstance(status, str):
        raise HistoryFormatError(endpoint, f"{where}.status is {status!r}, not text")
    return VersionInfo(number, _day(item.get("date"), endpoint, f"{where}.date"), status)


def _day(value: Any, endpoint: str, where: str) -> str:
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise HistoryFormatError(endpoint, f"{where} is {value!r}, not a yyyy-MM-dd date")


def _refuse_duplicates(versions: list[VersionInfo], endpoint: str) -> None:
    seen: set[int] = set()
    for v in versions:
        if v.version in seen:
            raise HistoryFormatError(endpoint, f"version {v.version} is listed twice")
        seen.add(v.version)


def parse_version(body: Any, endpoint: str, version: int, nct_id: str) -> dict[str, Any]:
    """Validate ``{"studyVersion": N, "study": {...}}`` and return the study (API v2 shape)."""
    if not isinstance(body, dict):
        raise HistoryFormatError(endpoint, f"expected a JSON object, got {_kind(body)}")
    number = body.get("studyVersion")
    if number != version or isinstance(number, bool):
        raise HistoryFormatError(endpoint, f"studyVersion is {number!r}, expected {version}")
    study = body.get("study")
    if not isinstance(study, dict):
        raise HistoryFormatError(endpoint, f"'study' is {_kind(study)}, not an object")
    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        raise HistoryFormatError(endpoint, "'study' has no protocolSection object")
    _check_identity(protocol, endpoint, nct_id)
    return study


def _check_identity(protocol: dict[str, Any], endpoint: str, nct_id: str) -> None:
    ident = protocol.get("identificationModule")
    ident = ident if isinstance(ident, dict) else {}
    found = ident.get("nctId")
    aliases = ident.get("nctIdAliases") or []
    if found != nct_id and nct_id not in aliases:
        raise HistoryFormatError(endpoint, f"the version is of {found!r}, not of {nct_id}")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class CtgovHistory:
    """The record history of ClinicalTrials.gov (``Registry.history``)."""

    def versions(self, http: JsonGetter, trial_id: str) -> list[VersionInfo]:
        return fetch_versions(http, trial_id)

    def version(self, http: JsonGetter, trial_id: str, info: VersionInfo) -> RawRecord:
        return fetch_version(http, trial_id, info)
