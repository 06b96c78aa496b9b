"""The loopback fake of the registry answers like the real API (shapes from SOURCES.md).

Studies are SYNTHETIC copies of tests/data/study_NCT02576665_terminated.json (a real record).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DATA
from tests.fakeapi import FakeApi, Fault, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())


@pytest.fixture
def client(fake_api: FakeApi) -> Iterator[httpx.Client]:
    fake_api.add(
        synthetic_study(TEMPLATE, "NCT00000001", posted="2026-01-01"),
        synthetic_study(TEMPLATE, "NCT00000002", posted="2026-09-01", aliases=["NCT00000009"]),
    )
    with httpx.Client(base_url=fake_api.url) as client:
        yield client


def test_version_and_single_studies(client: httpx.Client) -> None:
    assert client.get("/api/v2/version").json()["dataTimestamp"] == "2026-09-04T09:00:06"
    study = client.get("/api/v2/studies/nct00000001").json()
    assert study["protocolSection"]["identificationModule"]["nctId"] == "NCT00000001"
    moved = client.get("/api/v2/studies/NCT00000009")
    assert (moved.status_code, moved.headers["location"]) == (301, "/api/v2/studies/NCT00000002")
    missing = client.get("/api/v2/studies/NCT00000003")
    assert (missing.status_code, missing.headers["content-type"]) == (404, "text/plain")
    assert client.get("/api/v2/studies/NCT1").status_code == 400


def test_search_with_fields_ranges_and_pages(client: httpx.Client) -> None:
    params = {
        "filter.ids": "NCT00000001|NCT00000009",
        "fields": "NCTId,LastUpdatePostDate",
        "pageSize": "1",
        "countTotal": "true",
    }
    page1 = client.get("/api/v2/studies", params=params).json()
    assert page1["totalCount"] == 2
    assert page1["studies"] == [
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT00000001"},
                "statusModule": {
                    "lastUpdatePostDateStruct": {"date": "2026-01-01", "type": "ACTUAL"}
                },
            }
        }
    ]
    page2 = client.get("/api/v2/studies", params={**params, "pageToken": page1["nextPageToken"]})
    assert "totalCount" not in page2.json() and "nextPageToken" not in page2.json()
    changed = {**params, "pageSize": "2", "pageToken": page1["nextPageToken"]}
    assert client.get("/api/v2/studies", params=changed).status_code == 400
    recent = {"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2026-08-30,MAX]"}
    found = client.get("/api/v2/studies", params=recent).json()["studies"]
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in found] == ["NCT00000002"]


@pytest.mark.parametrize(
    "params",
    [{"pageSize": "1001"}, {"fields": "NoSuchField"}, {"pageToken": "garbage"}],
)
def test_bad_search_parameters_are_400(client: httpx.Client, params: dict[str, str]) -> None:
    assert client.get("/api/v2/studies", params=params).status_code == 400


def test_record_history_endpoints(fake_api: FakeApi, client: httpx.Client) -> None:
    old = synthetic_study(TEMPLATE, "NCT00000001", status="RECRUITING")
    new = synthetic_study(TEMPLATE, "NCT00000001", status="TERMINATED")
    fake_api.add_history("NCT00000001", [("2020-01-01", old), ("2021-01-01", new)])
    history = client.get("/api/int/studies/NCT00000001/history").json()
    assert set(history) == {"changes", "originalData", "lastUpdateVersions", "outcomesUpdateCount"}
    assert [(c["version"], c["date"], c["status"]) for c in history["changes"]] == [
        (0, "2020-01-01", "RECRUITING"),
        (1, "2021-01-01", "TERMINATED"),
    ]
    version = client.get("/api/int/studies/NCT00000001/history/0").json()
    assert version == {"studyVersion": 0, "study": old}
    both = client.get("/api/int/studies/NCT00000001", params={"history": "true"}).json()
    assert set(both) == {"study", "topics", "history"}
    assert client.get("/api/int/studies/NCT00000001/history/7").status_code == 404
    assert client.get("/api/int/studies/NCT00000002/history").status_code == 404


def test_faults_and_the_request_log(fake_api: FakeApi, client: httpx.Client) -> None:
    fake_api.fault = lambda seen: Fault(503, "down") if seen.path.endswith("version") else None
    assert client.get("/api/v2/version").status_code == 503
    fake_api.fault = lambda seen: Fault(close=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/api/v2/version")
    assert [r.path for r in fake_api.seen()] == ["/api/v2/version"] * 2
    assert fake_api.requests[0].headers["User-Agent"].startswith("python-httpx")
