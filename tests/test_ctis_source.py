"""The live CTIS source against the loopback fake: what it yields and what it costs in requests.

Scenario (built from the real captures): the real ended trial 2024-513060-26-00 and the five
trials of the real search rows (two breast cancer, three diabetes, each with a SYNTHETIC record
made from the real one). Watched: the ended trial and 2025-523260-20-00; one saved search,
``medicalCondition: diabetes`` (three trials, one of them watched).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor.http import Http, polite
from monitor.models import Checkpoint
from monitor.registries.ctis.api import CtisApi
from monitor.registries.ctis.config import CtisConfig
from monitor.registries.ctis.source import CtisSource, Query, Settings
from monitor.registries.passes import DictState
from tests import registry_synthetic as synthetic
from tests.fake_ctis import FakeCtis, Seen, real_rows, refused
from tests.fakeapi import FakeClock, Fault
from tests.source_items import SourceRunner, errors, events, records

ENDED = "2024-513060-26-00"
WATCHED_ROW = "2025-523260-20-00"
DIABETES = Query("diabetes", {"medicalCondition": "diabetes"})
DAY1 = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeCtis]:
    with FakeCtis(clock=clock) as f:
        yield f.add_scenario()


@pytest.fixture
def http(fake: FakeCtis, clock: FakeClock) -> Iterator[Http]:
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        yield polite(client, CtisConfig(requests_per_minute=600, max_attempts=4), clock)


class Runner(SourceRunner):
    """Cycles of the source over one state mapping, as the core would run them."""

    def __init__(self, http: Http, fake: FakeCtis, **settings: Any) -> None:
        super().__init__(fake, DAY1)
        self.http, self.fake = http, fake
        self.settings = Settings(**settings)

    def source(self, state: DictState, watched: list[str], queries: list[Query]) -> CtisSource:
        api = CtisApi(self.http, self.settings.page_size)
        return CtisSource(api, state, watched, queries, now=self.now, settings=self.settings)


def end_early(record: dict[str, Any]) -> None:
    """SYNTHETIC edit: the diabetes trial ends early in Spain."""
    record["ctPublicStatusCode"] = 8


@pytest.fixture
def runner(http: Http, fake: FakeCtis) -> Runner:
    return Runner(http, fake)


def test_first_pass_retrieves_every_watched_trial_and_search_member(runner: Runner) -> None:
    items, requests = runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    assert sorted(records(items)) == [
        "2024-512310-18-00",
        ENDED,
        WATCHED_ROW,
        "2026-525909-13-00",
    ]
    assert events(items, "new_in_query") == [
        ("2024-512310-18-00", "diabetes"),
        ("2025-523260-20-00", "diabetes"),
        ("2026-525909-13-00", "diabetes"),
    ]
    assert errors(items) == []
    assert isinstance(items[-1], Checkpoint)
    # 1 search of updates + 2 watched x (next resubmission + record) + 1 search + 2 records
    assert requests == 8
    assert runner.fake.count("POST") == 2


def test_an_idle_cycle_costs_two_searches(runner: Runner) -> None:
    runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    items, requests = runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    assert records(items) == {}
    assert errors(items) == []
    unchanged = {t for t, _ in events(items, "unchanged")}
    assert {ENDED, WATCHED_ROW} <= unchanged
    assert requests == 2  # the window of updates and the saved search's window


def test_two_changed_trials_cost_two_records_more(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    fake.update(ENDED, lambda r: r.update(publishDate="2026-10-06T03:35:00"), "06/10/2026")
    fake.update("2024-512310-18-00", end_early, "06/10/2026")
    items, requests = runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    assert sorted(records(items)) == ["2024-512310-18-00", ENDED]
    assert records(items)[ENDED].data["publishDate"] == "2026-10-06T03:35:00"
    assert requests == 4  # 2 searches + 2 records
    assert events(items, "new_in_query") == []


def test_an_unchanged_row_in_the_window_is_not_retrieved(runner: Runner, fake: FakeCtis) -> None:
    fake.rows[ENDED]["lastPublicationUpdate"] = "05/10/2026"  # published in the window
    runner.cycle([ENDED], [])
    items, requests = runner.cycle([ENDED], [])  # the window holds its row, unchanged...
    assert records(items) == {}  # ...known from the first pass's window
    assert requests == 1


def test_a_429_storm_with_retry_after_clears(
    runner: Runner, fake: FakeCtis, clock: FakeClock
) -> None:
    fake.storm(3, status=429, retry_after="7")
    items, requests = runner.cycle([ENDED, WATCHED_ROW], [DIABETES])
    assert errors(items) == []
    assert len(records(items)) == 4
    assert requests == 8 + 3
    assert clock.slept.count(7.0) >= 3  # the server's pause held for the retries


def test_a_403_firewall_storm_without_retry_after_backs_off(
    runner: Runner, fake: FakeCtis, clock: FakeClock
) -> None:
    fake.storm(2, status=403)
    items, requests = runner.cycle([ENDED], [])
    assert errors(items) == []
    assert sorted(records(items)) == [ENDED]
    assert requests == 3 + 2
    assert sum(clock.slept) >= 1.0 + 2.0  # exponential backoff: half fixed, half jitter


def test_a_storm_that_does_not_clear_fails_the_cycle_softly(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([ENDED], [DIABETES])
    state = copy.deepcopy(runner.state)
    fake.storm(100, status=429)
    items, requests = runner.cycle([ENDED], [DIABETES])
    failed = errors(items)
    assert [e.trial_id for e in failed] == [ENDED, None]
    assert all(e.transient for e in failed)
    assert "gave up after 4 attempts" in failed[0].message
    assert runner.state == state  # nothing learned, nothing saved: the next cycle reads again
    assert requests == 8  # 4 attempts for each of the two searches
    fake.fault = None
    items, _ = runner.cycle([ENDED], [DIABETES])
    assert errors(items) == []


def test_an_unknown_number_is_an_error_each_cycle(runner: Runner) -> None:
    """A number CTIS never answered is a wrong number (not a trial that went): said each cycle."""
    unknown = "2024-599999-99-00"
    for _ in range(2):
        items, requests = runner.cycle([unknown], [])
        assert events(items, "gone") == []
        assert [(e.trial_id, e.transient) for e in errors(items)] == [(unknown, False)]
        assert "EU CTIS has no such trial" in errors(items)[0].message
        assert requests == 4  # updates + next resubmission ({}) + record ({}) + search by number


def test_a_trial_that_went_is_gone_only_once_confirmed(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([WATCHED_ROW], [])
    fake.remove(WATCHED_ROW)  # CTIS answers {} and its search no longer lists it
    runner.state["updates"]["cycles_since_full"] = 100  # a full pass: retrieved directly
    items, _ = runner.cycle([WATCHED_ROW], [])
    assert events(items, "gone") == [(WATCHED_ROW, None)] and errors(items) == []
    items, _ = runner.cycle([WATCHED_ROW], [])
    assert events(items, "gone") == []  # told once


def test_an_empty_record_that_the_search_lists_is_an_error_not_gone(
    runner: Runner, fake: FakeCtis
) -> None:
    fake.records.pop(WATCHED_ROW)  # CTIS answers {} but its search still lists the trial
    items, _ = runner.cycle([WATCHED_ROW], [])
    assert events(items, "gone") == []
    assert [e.trial_id for e in errors(items)] == [WATCHED_ROW]
    assert "that its search lists" in errors(items)[0].message


def test_a_failed_confirmation_is_not_gone(runner: Runner, fake: FakeCtis) -> None:
    unknown = "2024-599999-99-00"

    def refuse_lookups(seen: Seen) -> Fault | None:
        criteria = (seen.body or {}).get("searchCriteria") if seen.method == "POST" else None
        return Fault(body=refused()) if criteria and "number" in criteria else None

    fake.fault = refuse_lookups
    items, _ = runner.cycle([unknown], [])
    assert events(items, "gone") == []
    assert "cannot confirm" in errors(items)[0].message


def test_a_refused_search_body_is_an_error_not_an_empty_result(
    runner: Runner, fake: FakeCtis
) -> None:
    def refuse(seen: Seen) -> Fault | None:
        criteria = (seen.body or {}).get("searchCriteria") or {}
        return Fault(body=refused()) if "zzNoSuchKey" in criteria else None

    fake.fault = refuse
    broken = Query("broken", {"zzNoSuchKey": "x"})
    items, _ = runner.cycle([ENDED], [broken, DIABETES])
    failed = errors(items)
    assert len(failed) == 1
    assert failed[0].trial_id is None and not failed[0].transient
    assert 'saved search "broken"' in failed[0].message and "showWarning" in failed[0].message
    assert "broken" not in runner.state["queries"]
    assert "diabetes" in runner.state["queries"]


def test_a_refused_window_of_updates_falls_back_to_records(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([ENDED], [])

    def refuse_everything(seen: Seen) -> Fault | None:
        return Fault(body=refused()) if seen.method == "POST" else None

    fake.fault = refuse_everything
    items, requests = runner.cycle([ENDED], [])
    assert errors(items) == []
    assert sorted(records(items)) == [ENDED]
    assert requests == 2  # the refused search, the record


def test_a_search_beyond_the_window_is_read_in_two_orders(http: Http, fake: FakeCtis) -> None:
    fake.window = 4
    runner = Runner(http, fake, page_size=2, window=4)
    everything = Query("all", {})
    items, _ = runner.cycle([], [everything])
    assert len(records(items)) == 6
    searches = [s.body for s in fake.seen("POST")]
    assert [(b["pagination"]["page"], b["sort"]["direction"]) for b in searches] == [
        (1, "DESC"),
        (2, "DESC"),
        (1, "ASC"),
        (2, "ASC"),
    ]


def test_a_search_beyond_two_windows_is_refused_by_name(http: Http, fake: FakeCtis) -> None:
    fake.window = 2
    runner = Runner(http, fake, page_size=2, window=2, max_rows=4)
    items, requests = runner.cycle([], [Query("all", {})])
    assert records(items) == {}
    assert "finds 6 trials" in errors(items)[0].message
    assert requests == 1


def test_a_full_pass_tells_who_left_the_search(http: Http, fake: FakeCtis) -> None:
    runner = Runner(http, fake, full_pass_every=1)  # every pass is a full one
    runner.cycle([], [DIABETES])
    fake.remove("2026-525909-13-00")
    items, _ = runner.cycle([], [DIABETES])
    assert events(items, "left_query") == [("2026-525909-13-00", "diabetes")]


def test_a_new_trial_matching_the_search_is_news(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([], [DIABETES])
    row = dict(real_rows("search_diabetes.json")[0])
    row.update(ctNumber="2026-531111-11-00", lastPublicationUpdate="05/10/2026")
    fake.add_row_trial(row)
    items, requests = runner.cycle([], [DIABETES])
    assert events(items, "new_in_query") == [("2026-531111-11-00", "diabetes")]
    assert sorted(records(items)) == ["2026-531111-11-00"]
    assert requests == 2


def test_a_resubmission_is_followed_and_the_old_number_stays_the_id(
    runner: Runner, fake: FakeCtis
) -> None:
    resubmitted = json.loads(
        (synthetic.CTIS / "synthetic_2024-513060-26-01_resubmission.json").read_text()
    )
    fake.add_record(resubmitted, published="20/02/2025")
    items, requests = runner.cycle([ENDED], [])
    assert events(items, "alias") == [(ENDED, "2024-513060-26-01")]
    assert records(items)[ENDED].data["ctNumber"] == "2024-513060-26-01"
    assert requests == 1 + 2  # updates + -01 (found) + -02 ({})
    assert runner.state["watched"][ENDED] == {"current": "2024-513060-26-01", "gone": False}


def resubmission_row(number: str, published: str) -> dict[str, Any]:
    """SYNTHETIC: a diabetes search row (real) under the next resubmission number."""
    row = dict(next(r for r in real_rows("search_diabetes.json") if r["ctNumber"] == DIABETIC))
    row.update(ctNumber=number, lastPublicationUpdate=published)
    return row


DIABETIC = "2026-525909-13-00"


def test_a_search_listing_two_numbers_of_one_trial_stores_it_once_by_the_newest(
    runner: Runner, fake: FakeCtis
) -> None:
    fake.add_row_trial(resubmission_row("2026-525909-13-01", "03/10/2026"))
    items, _ = runner.cycle([], [DIABETES])
    assert sorted(records(items)) == ["2024-512310-18-00", WATCHED_ROW, "2026-525909-13-01"]
    assert [t for t, _ in events(items, "new_in_query")] == sorted(records(items))
    assert events(items, "alias") == []


def test_a_resubmitted_search_member_keeps_its_first_number_as_its_id(
    http: Http, fake: FakeCtis
) -> None:
    runner = Runner(http, fake)
    runner.cycle([], [DIABETES])
    fake.add_row_trial(resubmission_row("2026-525909-13-01", "05/10/2026"))
    items, _ = runner.cycle([], [DIABETES])
    assert events(items, "alias") == [(DIABETIC, "2026-525909-13-01")]
    assert records(items)[DIABETIC].data["ctNumber"] == "2026-525909-13-01"
    assert events(items, "new_in_query") == []
    runner.settings = Settings(full_pass_every=1)  # a full read: both numbers, nothing moved
    items, _ = runner.cycle([], [DIABETES])
    assert (records(items), events(items, "alias"), events(items, "left_query")) == ({}, [], [])
    assert runner.state["queries"]["diabetes"]["members"] == [
        "2024-512310-18-00",
        WATCHED_ROW,
        DIABETIC,
    ]


def test_a_later_resubmission_is_seen_in_the_window(runner: Runner, fake: FakeCtis) -> None:
    runner.cycle([ENDED], [])
    later = synthetic.ctis_resubmission(synthetic.real_ctis())
    fake.add_record(later, published="05/10/2026")
    items, requests = runner.cycle([ENDED], [])
    assert events(items, "alias") == [(ENDED, "2024-513060-26-01")]
    assert sorted(records(items)) == [ENDED]
    assert requests == 2


def test_every_record_carries_its_url_and_a_source_key(runner: Runner, fake: FakeCtis) -> None:
    items, _ = runner.cycle([ENDED], [])
    record = records(items)[ENDED]
    assert record.origin == f"{fake.url}/ctis-public-api/retrieve/{ENDED}"
    assert record.source == "ctis"
    assert record.source_key and record.source_key.startswith("v2:")


def test_a_watched_id_must_be_an_eu_ct_number(api_http: None = None) -> None:
    with pytest.raises(ValueError, match="EU CT number"):
        CtisSource(None, DictState(), ["NCT04032847"], [], now=DAY1)  # type: ignore[arg-type]


def test_more_updates_than_the_window_serves_retrieve_the_watched_trials(
    http: Http, fake: FakeCtis
) -> None:
    fake.window = 4
    for row in fake.rows.values():
        row["lastPublicationUpdate"] = "05/10/2026"  # everything was published again
    runner = Runner(http, fake, page_size=2, window=4)
    runner.cycle([ENDED], [])
    items, requests = runner.cycle([ENDED], [])
    assert sorted(records(items)) == [ENDED]
    assert errors(items) == []
    assert requests == 2 + 1  # two pages of updates, still in the window: then the record


def test_an_incremental_window_too_large_becomes_a_full_read(http: Http, fake: FakeCtis) -> None:
    fake.window = 4
    runner = Runner(http, fake, page_size=2, window=4)
    everything = Query("all", {})
    runner.cycle([], [everything])
    for row in fake.rows.values():
        row["lastPublicationUpdate"] = "05/10/2026"
    items, _ = runner.cycle([], [everything])
    assert errors(items) == []
    assert runner.state["queries"]["all"]["cycles_since_full"] == 0


def test_a_full_pass_retrieves_without_looking_for_resubmissions(
    http: Http, fake: FakeCtis
) -> None:
    runner = Runner(http, fake, full_pass_every=1)
    runner.cycle([ENDED], [])
    items, requests = runner.cycle([ENDED], [])
    assert sorted(records(items)) == [ENDED]
    assert requests == 2  # the window of updates (where a resubmission would show), the record


def test_a_member_whose_record_failed_is_news_once_it_arrives(
    runner: Runner, fake: FakeCtis
) -> None:
    broken = "2026-525909-13-00"

    def fail_one(seen: Seen) -> Fault | None:
        return Fault(status=400, body="Bad Request") if seen.path.endswith(broken) else None

    fake.fault = fail_one
    items, _ = runner.cycle([], [DIABETES])
    assert [e.trial_id for e in errors(items)] == [broken]
    assert [t for t, _ in events(items, "new_in_query")] == ["2024-512310-18-00", WATCHED_ROW]
    fake.fault = None
    items, _ = runner.cycle([], [DIABETES])  # a full read: the last one did not finish
    assert events(items, "new_in_query") == [(broken, "diabetes")]
    assert sorted(records(items)) == [broken]
    items, requests = runner.cycle([], [DIABETES])
    assert events(items, "new_in_query") == [] and requests == 1


def test_a_wrong_number_does_not_hold_back_the_window(http: Http, fake: FakeCtis) -> None:
    runner = Runner(http, fake, full_pass_every=1)
    unknown = "2024-599999-99-00"
    runner.cycle([ENDED, unknown], [])
    first = runner.state["updates"]["last_success"]
    runner.cycle([ENDED, unknown], [])  # a full pass: the wrong one is asked (and told) again
    assert runner.state["updates"]["last_success"] > first
