"""The live source against the loopback fake API: batching, paging, incremental cycles,
aliases, gone studies, saved searches and bad answers.

Studies are SYNTHETIC: copies of the real record tests/data/study_NCT02576665_terminated.json
(from ../shared/ctgov-samples/) with another id, status and last-update date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import monitor.registries.ctgov.live as ctgov
from monitor.config import Config, QueryWatch, WatchConfig, parse_config
from monitor.errors import ConfigError
from monitor.models import RunReport
from monitor.pipeline import Cycle, run_cycle
from monitor.registries.ctgov import REGISTRY
from monitor.registries.ctgov.api import Api, Page
from monitor.registries.ctgov.config import CtgovConfig
from monitor.sources import live
from monitor.store import Store
from tests.conftest import DATA
from tests.fakeapi import FakeApi, FakeClock, Fault, Seen, encode_token, signature, studies_range
from tests.fakeapi import synthetic_study as synthetic

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
DAY0 = datetime(2026, 9, 5, 12, 0, tzinfo=UTC)
WATERMARK = "NCTId,NCTIdAlias,LastUpdatePostDate"


def study(nct: str, posted: str = "2026-01-05", **kw: Any) -> dict[str, Any]:
    return synthetic(TEMPLATE, nct, posted=posted, status=kw.pop("status", "RECRUITING"), **kw)


def members(store: Store, query: str) -> set[str]:
    """The studies the live source counts as found by a saved search (its keyed state)."""
    return set(store.state("ctgov").scope(f"query:{query}"))


def tiny(nct: str) -> dict[str, Any]:
    """A SYNTHETIC minimal study (id, title, status, last update), for tests of volume."""
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct, "briefTitle": f"Study {nct}"},
            "statusModule": {
                "overallStatus": "RECRUITING",
                "lastUpdatePostDateStruct": {"date": "2026-01-05", "type": "ACTUAL"},
            },
        }
    }


def make_config(
    api: FakeApi, studies: tuple[str, ...] = (), queries: tuple[QueryWatch, ...] = (), **kw: Any
) -> Config:
    ctgov_cfg = CtgovConfig(base_url=api.url, requests_per_minute=50, **kw)
    return Config(
        registries={"ctgov": ctgov_cfg}, watch=WatchConfig(studies=studies, queries=queries)
    )


class Runner:
    """Runs cycles of the live source through the real pipeline, one day apart."""

    def __init__(self, api: FakeApi, store: Store, config: Config) -> None:
        self.api, self.store, self.config = api, store, config
        self.clock = FakeClock()
        self.day = 0

    def cycle(self, *, force: bool = False, release: bool = True) -> RunReport:
        if release:
            self.api.data_timestamp = f"2026-09-{5 + self.day:02d}T09:00:06"
        now = DAY0 + timedelta(days=self.day)
        self.day += 1
        self.api.clear_log()
        with httpx.Client(base_url=self.api.url) as client:
            source = live.build(
                REGISTRY, self.config, client, self.store, now=now, force=force, clock=self.clock
            )
            cycle = Cycle(store=self.store, rules=self.config.changes, now=now, source_name="ctgov")
            return run_cycle(cycle, source.items())

    def summaries(self, run: RunReport) -> list[tuple[str, str, str]]:
        return [(nct, c.severity, c.summary) for nct, c in run.changes]


@pytest.fixture
def runner(fake_api: FakeApi, store: Store) -> Callable[..., Runner]:
    def make(*studies: str, queries: tuple[QueryWatch, ...] = (), **kw: Any) -> Runner:
        return Runner(fake_api, store, make_config(fake_api, studies, queries, **kw))

    return make


def paths(api: FakeApi) -> list[str]:
    return [r.path for r in api.seen()]


# ---------------------------------------------------------------- plain helpers


def test_id_batches_keep_urls_short() -> None:
    ids = list(studies_range(1, 1500))
    batches = list(ctgov.id_batches(ids, room=7000, most=1000))
    assert [n for b in batches for n in b] == ids
    assert all(len(",".join(b).replace(",", "%2C")) <= 7000 for b in batches)
    assert len(batches) == 3


def test_id_batches_respect_the_page_size() -> None:
    batches = list(ctgov.id_batches(list(studies_range(1, 10)), room=7000, most=4))
    assert [len(b) for b in batches] == [4, 4, 2]


def test_updated_since_keeps_the_users_own_advanced_filter() -> None:
    params = {"query.cond": "x", "filter.advanced": "AREA[Phase]PHASE2"}
    narrowed = ctgov.with_updated_since(params, "2026-09-03")
    assert narrowed["filter.advanced"] == (
        "(AREA[Phase]PHASE2) AND AREA[LastUpdatePostDate]RANGE[2026-09-03,MAX]"
    )
    assert ctgov.with_updated_since({"query.cond": "x"}, "2026-09-03")["filter.advanced"] == (
        "AREA[LastUpdatePostDate]RANGE[2026-09-03,MAX]"
    )


def test_marks_of_a_fields_subset() -> None:
    mark = ctgov.to_mark(study("NCT00000001", "2026-02-01", aliases=["nct00000009"]))
    assert mark == ctgov.Mark("NCT00000001", "2026-02-01", ("NCT00000009",))
    assert ctgov.to_mark({"protocolSection": {}}) is None
    assert ctgov.study_id({"protocolSection": {"identificationModule": {"nctId": "x"}}}) is None


@pytest.mark.parametrize(
    ("ctgov_table", "message"),
    [
        ({"page_size": 1001}, "[ctgov] page_size: 1001 is above the API's 1000"),
        ({"full_pass_every": 0}, "[ctgov] full_pass_every: must be greater than 0, got 0"),
        ({"max_attempts": 2.5}, "[ctgov] max_attempts: expected an integer, got 2.5"),
        ({"base_url": "http://example.org"}, "must use https (plain http only for loopback)"),
    ],
)
def test_ctgov_settings_are_validated(ctgov_table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"ctgov": ctgov_table})
    assert message in str(caught.value)


def test_ctgov_defaults_are_polite() -> None:
    cfg = parse_config({"ctgov": {"base_url": "http://127.0.0.1:8080"}}).registries["ctgov"]
    assert (cfg.requests_per_minute, cfg.page_size, cfg.max_attempts) == (50, 1000, 6)


# ---------------------------------------------------------------- incremental cycles


def test_first_cycle_stores_baselines_in_two_requests(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    """Never stored: their whole records are asked at once (a watermark would only say to)."""
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    run = runner("NCT00000001", "NCT00000002").cycle()
    assert (run.new, run.failed, run.changes) == (2, 0, [])
    assert paths(fake_api) == ["/api/v2/version", "/api/v2/studies"]
    (full,) = fake_api.seen("/api/v2/studies")
    assert "fields" not in full.params
    assert full.params["filter.ids"] == "NCT00000001,NCT00000002"
    assert all(r.headers["User-Agent"].startswith("trialmon/") for r in fake_api.seen())


def test_same_release_costs_one_request_and_checks_every_study(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    r = runner("NCT00000001", "NCT00000002")
    r.cycle()
    run = r.cycle(release=False)
    assert paths(fake_api) == ["/api/v2/version"]
    assert (run.checked, run.unchanged, run.failed) == (2, 2, 0)


def test_force_checks_even_without_a_new_release(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"))
    r = runner("NCT00000001")
    r.cycle()
    r.cycle(force=True, release=False)
    assert paths(fake_api) == ["/api/v2/version", "/api/v2/studies"]


def test_a_newly_watched_study_is_fetched_despite_the_same_release(
    fake_api: FakeApi, store: Store
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    Runner(fake_api, store, make_config(fake_api, ("NCT00000001",))).cycle()
    run = Runner(fake_api, store, make_config(fake_api, ("NCT00000001", "NCT00000002"))).cycle(
        release=False
    )
    assert run.new == 1 and run.unchanged == 1


def test_only_moved_studies_are_fetched_in_full(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(*(study(n) for n in studies_range(1, 5)))
    r = runner(*studies_range(1, 5))
    r.cycle()
    fake_api.update("NCT00000003", "2026-09-06", lambda s: put_status(s, "WITHDRAWN"))
    run = r.cycle()
    full = [s for s in fake_api.seen("/api/v2/studies") if "fields" not in s.params]
    assert [s.params["filter.ids"] for s in full] == ["NCT00000003"]
    assert len(fake_api.seen()) == 3
    assert (run.checked, run.changed, run.unchanged) == (5, 1, 4)
    assert ("NCT00000003", "critical", "Overall status: RECRUITING → WITHDRAWN") in r.summaries(run)


def put_status(s: dict[str, Any], status: str) -> None:
    s["protocolSection"]["statusModule"]["overallStatus"] = status


def test_a_new_release_without_moved_studies_fetches_no_record(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"))
    r = runner("NCT00000001")
    r.cycle()
    run = r.cycle()
    assert paths(fake_api) == ["/api/v2/version", "/api/v2/studies"]
    assert run.unchanged == 1


# ---------------------------------------------------------------- batching and paging


def test_thousands_of_ids_are_batched_under_8_kb(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = tuple(studies_range(1, 1500))
    fake_api.add(*(tiny(n) for n in ids))
    r = runner(*ids, full_pass_every=1)  # every cycle a pass by id
    r.cycle()
    run = r.cycle()
    marks = fake_api.seen("/api/v2/studies")
    assert len(marks) == 3
    assert all(len(fake_api.url + s.target) < 8000 for s in marks)
    asked = [n for s in marks for n in s.params["filter.ids"].split(",")]
    assert sorted(asked) == list(ids)
    assert run.unchanged == 1500


def test_pages_are_followed_with_every_other_parameter_unchanged(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(*(leukemia(n) for n in studies_range(1, 5)))
    run = runner(queries=(CART,), page_size=2).cycle()  # a first pass: whole records
    assert run.new == 5
    pages = fake_api.seen("/api/v2/studies")
    assert len(pages) == 3 and all("fields" not in p.params for p in pages)
    first = pages[0].params
    assert "pageToken" not in first and first["pageSize"] == "2"
    for later in pages[1:]:
        assert {k: v for k, v in later.params.items() if k != "pageToken"} == first
        assert later.params["pageToken"]


def test_an_empty_page_is_tolerated(fake_api: FakeApi, runner: Callable[..., Runner]) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))

    def empty_first_page(seen: Seen) -> Fault | None:
        if seen.path == "/api/v2/studies" and "pageToken" not in seen.params:
            token = encode_token(0, signature(seen.params))
            return Fault(body={"studies": [], "nextPageToken": token})
        return None

    fake_api.fault = empty_first_page
    run = runner("NCT00000001", "NCT00000002").cycle()
    assert (run.new, run.failed) == (2, 0)


def test_a_repeating_page_token_is_an_error_not_a_loop(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"))

    def same_token(seen: Seen) -> Fault | None:
        if seen.path == "/api/v2/studies":
            return Fault(body={"studies": [], "nextPageToken": "again"})
        return None

    fake_api.fault = same_token
    run = runner("NCT00000001").cycle()
    assert run.failed == 1 and "repeated a page token" in run.errors[0].message
    assert fake_api.count("/api/v2/studies") == 2


# ---------------------------------------------------------------- by the registry's updates


def tiny_posted(nct: str, posted: str) -> dict[str, Any]:
    s = tiny(nct)
    s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = posted
    return s


def watched_and_others(api: FakeApi, watched: int, others: int) -> tuple[str, ...]:
    """``watched`` studies to watch (NCT00000001...) and ``others`` nobody watches."""
    ids = tuple(studies_range(1, watched))
    api.add(*(tiny(n) for n in ids))
    api.add(*(tiny(n) for n in studies_range(50_000_001, others)))
    return ids


def withdraw_on(api: FakeApi, day: str, *ids: str) -> None:
    for nct in ids:
        api.update(nct, day, lambda s: put_status(s, "WITHDRAWN"))


def test_between_full_passes_the_watch_list_is_checked_by_the_registrys_updates(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = watched_and_others(fake_api, 1500, 400)
    r = runner(*ids, full_pass_every=2)
    first = r.cycle()  # a full pass by id: 1 version + 3 id batches + record batches
    assert first.new == 1500
    withdraw_on(
        fake_api, "2026-09-05", "NCT00000007", "NCT00000700", *studies_range(50_000_001, 300)
    )
    second = r.cycle()
    assert (second.changed, second.unchanged, second.failed) == (2, 1498, 0)
    _, updates, records = fake_api.seen()
    assert updates.params == {
        "filter.advanced": "AREA[LastUpdatePostDate]RANGE[2026-09-05,MAX]",
        "fields": WATERMARK,
        "pageSize": "1000",
        "countTotal": "true",
    }
    assert records.params["filter.ids"] == "NCT00000007,NCT00000700"
    third = r.cycle()  # the third cycle: a full pass by id again
    assert (third.unchanged, len(fake_api.seen())) == (1500, 4)
    assert all("filter.ids" in s.params for s in fake_api.seen("/api/v2/studies"))


def test_more_updates_than_asking_by_id_costs_make_the_cycle_ask_by_id(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = watched_and_others(fake_api, 1100, 4500)
    r = runner(*ids)
    r.cycle()
    withdraw_on(fake_api, "2026-09-05", "NCT00000007", *studies_range(50_000_001, 4500))
    run = r.cycle()  # 4,501 updates: 4 more pages; by id: 3 requests
    assert (run.changed, run.unchanged) == (1, 1099)
    searches = fake_api.seen("/api/v2/studies")
    assert searches[0].params["countTotal"] == "true"
    assert [len(s.params["filter.ids"].split(",")) for s in searches[1:-1]] == [544, 544, 12]
    assert searches[-1].params["filter.ids"] == "NCT00000007"


def test_a_watch_list_that_fits_in_one_request_is_always_asked_by_id(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = watched_and_others(fake_api, 100, 10)
    r = runner(*ids)
    r.cycle()
    r.cycle()
    (marks,) = fake_api.seen("/api/v2/studies")
    assert marks.params["filter.ids"].startswith("NCT00000001,")


def test_a_study_gone_between_full_passes_is_found_gone_at_the_next_one(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = watched_and_others(fake_api, 1500, 0)
    r = runner(*ids, full_pass_every=2)
    r.cycle()
    fake_api.studies.pop("NCT00000042")
    quiet = r.cycle()  # by updates: absent from them is not missing
    assert (quiet.unchanged, quiet.changes) == (1500, [])
    full = r.cycle()
    assert r.summaries(full) == [
        ("NCT00000042", "critical", "Study no longer returned by the registry")
    ]


def test_a_newly_watched_id_is_asked_by_id_between_full_passes(
    fake_api: FakeApi, store: Store
) -> None:
    ids = watched_and_others(fake_api, 1500, 0)
    fake_api.add(tiny("NCT00099999"))
    Runner(fake_api, store, make_config(fake_api, ids)).cycle()
    more = Runner(fake_api, store, make_config(fake_api, (*ids, "NCT00099999", "NCT00088888")))
    more.day = 1
    run = more.cycle()
    assert (run.new, run.unchanged, run.failed) == (1, 1500, 1)
    assert "NCT00088888: not found in the registry" in run.errors[0].message
    asked = [s.params.get("filter.ids") for s in fake_api.seen("/api/v2/studies")]
    # the updates, the new ids' records, the probe of the id not returned
    assert asked == [None, "NCT00088888,NCT00099999", None]


def test_when_the_updates_cannot_be_listed_the_cycle_asks_by_id(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = watched_and_others(fake_api, 1500, 0)
    r = runner(*ids)
    r.cycle()
    withdraw_on(fake_api, "2026-09-05", "NCT00000003")
    fake_api.fault = lambda seen: (
        Fault(400, "no advanced filter today") if "filter.advanced" in seen.params else None
    )
    run = r.cycle()
    assert (run.changed, run.unchanged, run.failed) == (1, 1499, 0)
    assert len(fake_api.seen("/api/v2/studies")) == 1 + 3 + 1


# ---------------------------------------------------------------- answers under the size limit


class Sized:
    """An Api fed answers of a given size, to see how it sizes its batches."""

    def __init__(self) -> None:
        self.api = Api(None, 1000)  # type: ignore[arg-type]  # no request is sent

    def answer(self, records: int, size: int) -> None:
        self.api.learn(Page([{}] * records, None, None, size))


def test_batches_of_whole_records_are_sized_by_the_bytes_seen() -> None:
    sized = Sized()
    assert sized.api.records_per_answer() == 200  # 40 KB a record until answers tell
    sized.answer(200, 200 * 16_000)
    assert sized.api.records_per_answer() == 500
    sized.api.too_large(400)  # an answer of 400 was over 10 MB: their mean is at least 25 KB
    assert sized.api.records_per_answer() == 320
    sized.answer(10, 10 * 800_000)  # a few large ones: the mean of every answer so far
    assert sized.api.records_per_answer() == 8_000_000 * 210 // (3_200_000 + 8_000_000)


# ---------------------------------------------------------------- identity


def test_an_alias_in_nct_id_aliases_is_recorded_and_followed(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000002", aliases=["NCT00000001"]))
    r = runner("NCT00000001")
    run = r.cycle()
    assert run.new == 1 and run.failed == 0
    assert store.study("NCT00000001") is not None
    assert store.state("ctgov").scope("studies")["NCT00000001"]["current_id"] == "NCT00000002"
    r.cycle(force=True)
    marks = fake_api.seen("/api/v2/studies")[0]
    assert marks.params["filter.ids"] == "NCT00000002"


def test_a_301_is_recorded_and_followed(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000002"))
    fake_api.aliases["NCT00000001"] = "NCT00000002"
    fake_api.matcher = lambda params, s: (
        "filter.ids" not in params or "NCT00000001" not in (params["filter.ids"])
    )
    run = runner("NCT00000001").cycle()
    assert [p for p in paths(fake_api) if "/studies/" in p] == [
        "/api/v2/studies/NCT00000001",
        "/api/v2/studies/NCT00000002",
    ]
    assert run.new == 1
    assert store.state("ctgov").scope("studies")["NCT00000001"]["current_id"] == "NCT00000002"


def test_a_gone_study_is_one_critical_change_once_then_returns(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    r = runner("NCT00000001", "NCT00000002")
    r.cycle()
    gone = fake_api.studies.pop("NCT00000002")
    run = r.cycle()
    assert "/api/v2/studies/NCT00000002" in paths(fake_api)
    assert r.summaries(run) == [
        ("NCT00000002", "critical", "Study no longer returned by the registry")
    ]
    again = r.cycle()
    assert again.changes == [] and again.failed == 0
    assert "/api/v2/studies/NCT00000002" not in paths(fake_api)
    fake_api.add(gone)
    back = r.cycle()
    assert r.summaries(back) == [("NCT00000002", "major", "Study returned by the registry again")]
    assert len(store.db.execute("select * from changes").fetchall()) == 2


# ---------------------------------------------------------------- bad answers


def test_html_instead_of_a_record_fails_that_study_only(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    r = runner("NCT00000001", "NCT00000002")
    r.cycle()
    before = store.snapshots_of("NCT00000002")
    fake_api.update("NCT00000002", "2026-09-06", lambda s: put_status(s, "SUSPENDED"))
    fake_api.fault = lambda seen: (
        Fault(body="<html><body>Service maintenance</body></html>")
        if "fields" not in seen.params and seen.path == "/api/v2/studies"
        else None
    )
    run = r.cycle()
    assert run.failed == 1 and run.changes == []
    message = run.errors[0].message
    assert message.startswith("NCT00000002: registry request failed: GET /api/v2/studies: ")
    assert "not valid JSON" in message and "127.0.0.1" not in message
    assert not run.errors[0].transient
    assert store.snapshots_of("NCT00000002") == before
    fake_api.fault = None
    retry = r.cycle(release=False)
    assert [c.summary for _, c in retry.changes][:1] == ["Overall status: RECRUITING → SUSPENDED"]


def test_truncated_json_on_the_watermarks_fails_the_batch_and_is_retried(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"))
    r = runner("NCT00000001")
    r.cycle()
    fake_api.fault = lambda seen: (
        Fault(body='{"studies": [{"protocolSe', content_type="application/json")
        if seen.path == "/api/v2/studies"
        else None
    )
    run = r.cycle()
    assert run.failed == 1 and "not valid JSON" in run.errors[0].message
    fake_api.fault = None
    r.cycle(release=False)
    assert paths(fake_api) == ["/api/v2/version", "/api/v2/studies"]  # not short-circuited


def test_a_record_of_the_wrong_shape_is_an_error_for_that_record(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    r = runner("NCT00000001", "NCT00000002")
    r.cycle()
    for nct in ("NCT00000001", "NCT00000002"):
        fake_api.update(nct, "2026-09-06", lambda s: put_status(s, "SUSPENDED"))
    fake_api.fault = lambda seen: (
        Fault(body={"studies": [{"protocolSection": {"oops": 1}}, study("NCT00000001")]})
        if seen.path == "/api/v2/studies" and "fields" not in seen.params
        else None
    )
    run = r.cycle()
    assert (run.unchanged, run.failed) == (1, 1)  # NCT00000001 as the fault's answer has it
    messages = [e.message for e in run.errors]
    assert any("wrong shape" in m for m in messages)
    assert any(m.startswith("NCT00000002: not in the registry's answer") for m in messages)


def test_a_first_record_of_the_wrong_shape_is_an_error_and_the_missing_one_is_probed(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    fake_api.fault = lambda seen: (
        Fault(body={"studies": [{"protocolSection": {"oops": 1}}, study("NCT00000001")]})
        if seen.path == "/api/v2/studies"
        else None
    )
    run = runner("NCT00000001", "NCT00000002").cycle()
    assert run.new == 2  # NCT00000002 by GET /api/v2/studies/NCT00000002
    assert [e.message for e in run.errors] == ["/api/v2/studies: a record of the wrong shape"]


def test_a_400_in_a_batch_is_narrowed_to_the_refused_id(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    ids = tuple(studies_range(1, 8))
    fake_api.add(*(study(n) for n in ids))
    fake_api.fault = lambda seen: (
        Fault(400, "Invalid id: NCT00000005")
        if "NCT00000005" in seen.params.get("filter.ids", "")
        else None
    )
    run = runner(*ids).cycle()
    assert run.new == 7
    assert [(e.trial_id, e.transient) for e in run.errors] == [("NCT00000005", False)]


def test_a_timeout_is_retried(fake_api: FakeApi, store: Store) -> None:
    fake_api.add(study("NCT00000001"))
    fake_api.fault = lambda seen: Fault(delay=0.3) if len(fake_api.requests) == 1 else None
    config = make_config(fake_api, ("NCT00000001",))
    with httpx.Client(base_url=fake_api.url, timeout=0.1) as client:
        source = live.build(REGISTRY, config, client, store, now=DAY0, clock=FakeClock())
        cycle = Cycle(store=store, rules=config.changes, now=DAY0, source_name="ctgov")
        run = run_cycle(cycle, source.items())
    assert (run.new, run.failed) == (1, 0)
    assert [r.path for r in fake_api.requests[:2]] == ["/api/v2/version"] * 2


def test_an_unreachable_registry_fails_every_study_after_bounded_retries(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"), study("NCT00000002"))
    fake_api.fault = lambda seen: Fault(503, "Service Unavailable")
    r = runner("NCT00000001", "NCT00000002", max_attempts=3)
    run = r.cycle()
    assert run.checked == 2 and run.failed == 2  # the counts add up
    assert fake_api.count() == 3
    assert "registry unreachable" in run.errors[0].message
    assert all(e.transient for e in run.errors)


def test_a_broken_version_answer_does_not_stop_the_cycle(
    fake_api: FakeApi, runner: Callable[..., Runner]
) -> None:
    fake_api.add(study("NCT00000001"))
    fake_api.fault = lambda seen: (
        Fault(body={"apiVersion": "2.0.5"}) if seen.path == "/api/v2/version" else None
    )
    run = runner("NCT00000001").cycle()
    assert run.new == 1


# ---------------------------------------------------------------- saved searches

CART = QueryWatch(name="CAR-T", params={"query.cond": "leukemia"})


def leukemia(nct: str, posted: str = "2026-01-05") -> dict[str, Any]:
    s = study(nct, posted)
    s["protocolSection"]["conditionsModule"] = {"conditions": ["Acute Lymphoblastic Leukemia"]}
    return s


def test_a_search_baseline_then_a_new_match_then_one_that_leaves(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(leukemia("NCT00000001"), study("NCT00000009"))
    r = runner(queries=(CART,), full_pass_every=2)  # full, incremental, full, ...
    first = r.cycle()
    assert first.new == 1
    assert r.summaries(first) == [("NCT00000001", "major", 'New study matching query "CAR-T"')]
    assert members(store, "CAR-T") == {"NCT00000001"}

    fake_api.add(leukemia("NCT00000002", "2026-09-06"))
    second = r.cycle()
    assert r.summaries(second) == [("NCT00000002", "major", 'New study matching query "CAR-T"')]
    (search,) = (s.params for s in fake_api.seen("/api/v2/studies"))  # whole records at once
    assert search["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-09-05,MAX]"
    assert search["query.cond"] == "leukemia" and "fields" not in search

    fake_api.update(
        "NCT00000001",
        "2026-09-07",
        lambda s: s["protocolSection"].update(conditionsModule={"conditions": ["Lymphoma"]}),
    )
    third = r.cycle()
    assert "filter.advanced" not in fake_api.seen("/api/v2/studies")[0].params
    assert r.summaries(third) == [("NCT00000001", "minor", 'No longer matches query "CAR-T"')]
    assert members(store, "CAR-T") == {"NCT00000002"}


def test_a_search_that_fails_is_reported_and_keeps_its_window(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(leukemia("NCT00000001"))
    r = runner(queries=(CART,))
    r.cycle()
    fake_api.fault = lambda seen: (
        Fault(400, "Bad query") if seen.path == "/api/v2/studies" else None
    )
    run = r.cycle()
    assert run.errors[0].trial_id is None and 'saved search "CAR-T"' in run.errors[0].message
    assert store.state("ctgov").get("queries", "CAR-T")["last_success"] == "2026-09-05T12:00:00Z"


def test_a_changed_search_starts_a_new_baseline(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(leukemia("NCT00000001"), study("NCT00000009"))
    runner(queries=(CART,)).cycle()
    wider = QueryWatch(name="CAR-T", params={"query.cond": "a"})
    run = runner(queries=(wider,)).cycle()
    assert [(n, c.summary) for n, c in run.changes] == [
        ("NCT00000009", 'New study matching query "CAR-T"')
    ]
    assert members(store, "CAR-T") == {"NCT00000001", "NCT00000009"}


def test_a_search_state_saved_before_releases_were_kept_narrows_by_its_last_success(
    fake_api: FakeApi, store: Store, runner: Callable[..., Runner]
) -> None:
    fake_api.add(leukemia("NCT00000001"))
    r = runner(queries=(CART,))
    r.cycle()
    state = store.state("ctgov")
    row = state.get("queries", "CAR-T")
    assert row["release"] == "2026-09-05T09:00:06"
    with store.transaction():
        state.put("queries", "CAR-T", {k: v for k, v in row.items() if k != "release"})
    r.cycle()
    (search,) = (s.params for s in fake_api.seen("/api/v2/studies"))
    assert search["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-09-03,MAX]"
