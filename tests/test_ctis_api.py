"""The CTIS client's reading of answers, and the search rows' helpers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from monitor.errors import PermanentFetchError, TransientFetchError
from monitor.http import Http, polite
from monitor.registries.ctis.api import CtisApi, RefusedSearch, read_page
from monitor.registries.ctis.config import CtisConfig
from monitor.registries.ctis.rows import fingerprint, older_than, published, row_day
from tests.fake_ctis import FakeCtis, real_record, real_rows
from tests.fakeapi import FakeClock, Fault


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeCtis]:
    with FakeCtis(clock=clock) as f:
        f.add_record(real_record(), published="19/02/2025")
        yield f


@pytest.fixture
def api(fake: FakeCtis, clock: FakeClock) -> Iterator[CtisApi]:
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        yield CtisApi(
            polite(client, CtisConfig(requests_per_minute=600, max_attempts=3), clock), page_size=10
        )


def test_a_real_page_is_read() -> None:
    import json

    from tests.registry_synthetic import CTIS

    body = json.loads((CTIS / "search_breast_cancer_page1.json").read_text())
    page = read_page(body, "here")
    assert (page.total, page.number, page.more, len(page.rows)) == (460, 1, True, 2)
    past = json.loads((CTIS / "search_breast_cancer_page1000.json").read_text())
    assert read_page(past, "here").rows == []  # past the last page: no rows, the real total


def test_the_refused_body_is_a_refusal() -> None:
    import json

    from tests.registry_synthetic import CTIS

    body = json.loads((CTIS / "search_refused_body.json").read_text())
    with pytest.raises(RefusedSearch, match="showWarning"):
        read_page(body, "here")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"data": []},
        {"pagination": {}, "data": 3},
        {"pagination": {"totalRecords": 1}, "data": [1]},
    ],
)
def test_garbage_is_permanent(body: object) -> None:
    with pytest.raises(PermanentFetchError):
        read_page(body, "here")


def test_retrieve_answers_none_for_an_unknown_number(api: CtisApi) -> None:
    assert api.retrieve("2024-599999-99-00") is None
    assert api.retrieve("2024-513060-26-00")["ctNumber"] == "2024-513060-26-00"  # type: ignore[index]


def test_a_malformed_number_is_refused_before_asking(api: CtisApi, fake: FakeCtis) -> None:
    with pytest.raises(ValueError, match="EU CT number"):
        api.retrieve("2024-13060-26-00")
    assert fake.count() == 0


def test_an_html_answer_to_a_search_is_permanent(api: CtisApi, fake: FakeCtis) -> None:
    fake.fault = lambda seen: Fault(status=200, body="<html>maintenance</html>")
    with pytest.raises(PermanentFetchError, match="not valid JSON"):
        api.page({}, 1, "lastPublicationUpdate")


def test_server_errors_are_retried_then_transient(api: CtisApi, fake: FakeCtis) -> None:
    fake.fault = lambda seen: Fault(status=503, body="Service Unavailable")
    with pytest.raises(TransientFetchError, match="gave up after 3 attempts"):
        api.page({}, 1, "lastPublicationUpdate")
    assert fake.count("POST") == 3


def test_a_dropped_connection_is_retried(api: CtisApi, fake: FakeCtis) -> None:
    left = [1]

    def drop_once(seen: object) -> Fault | None:
        left[0] -= 1
        return Fault(close=True) if left[0] >= 0 else None

    fake.fault = drop_once
    assert api.page({}, 1, "lastPublicationUpdate").total == 1


def test_the_search_sends_the_portal_s_body(api: CtisApi, fake: FakeCtis) -> None:
    api.page({"medicalCondition": "lung"}, 2, "lastPublicationUpdate", "ASC")
    assert fake.seen("POST")[0].body == {
        "pagination": {"page": 2, "size": 10},
        "sort": {"property": "lastPublicationUpdate", "direction": "ASC"},
        "searchCriteria": {"medicalCondition": "lung"},
    }


def test_a_get_of_the_search_is_forbidden_by_the_fake_as_by_ctis(fake: FakeCtis) -> None:
    assert httpx.get(f"{fake.url}/ctis-public-api/search").status_code == 403


def test_page_sizes_are_those_ctis_takes(fake: FakeCtis) -> None:
    with pytest.raises(ValueError, match="1 to 100"):
        CtisApi(Http(httpx.Client(), None), page_size=101)  # type: ignore[arg-type]


def test_row_helpers() -> None:
    row = real_rows("search_diabetes.json")[2]
    assert row_day("21/08/2026") == "2026-08-21"
    assert row_day("2026-08-21") is None and row_day(None) is None
    assert published(row) == "2026-08-22"
    assert published({"lastUpdated": "01/02/2026"}) == "2026-02-01"
    assert fingerprint(row) == fingerprint(dict(reversed(list(row.items()))))
    assert fingerprint(row) != fingerprint({**row, "ctStatus": 4})
    assert older_than([row], "2026-08-23") and not older_than([row], "2026-08-22")
    assert not older_than([], "2026-08-23")
