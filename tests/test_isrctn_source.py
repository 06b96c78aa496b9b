"""The live ISRCTN source against the loopback fake: what it yields and what it costs.

Scenario: the five real trials of the colchicine answer. Watched: ISRCTN41823570 (recruiting
from 2026-07-23) and ISRCTN15873887 (recruitment ends 2026-10-01); one saved search,
``recruitmentCountry:"United Kingdom"`` (three trials, one of them watched).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor.http import Http, RateLimiter, RetryPolicy
from monitor.registries.isrctn.api import IsrctnApi
from monitor.registries.isrctn.normalize import normalize
from monitor.registries.isrctn.source import IsrctnSource, Query, Settings
from monitor.registries.passes import DictState
from tests.fake_isrctn import FakeIsrctn
from tests.fakeapi import FakeClock
from tests.source_items import SourceRunner, errors, events, records

COPD = "ISRCTN41823570"
PATCH = "ISRCTN15873887"
GOUT = "ISRCTN12564318"
UK = Query("uk", 'recruitmentCountry:"United Kingdom"')
DAY1 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeIsrctn]:
    with FakeIsrctn(clock=clock) as f:
        f.add_real()
        yield f


@pytest.fixture
def http(fake: FakeIsrctn, clock: FakeClock) -> Iterator[Http]:
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        yield Http(client, RateLimiter(600, clock), RetryPolicy(max_attempts=4))


class Runner(SourceRunner):
    def __init__(self, http: Http, fake: FakeIsrctn, **settings: Any) -> None:
        super().__init__(fake, DAY1)
        self.http, self.fake = http, fake
        self.settings = Settings(**settings)

    def source(self, state: DictState, watched: list[str], queries: list[Query]) -> IsrctnSource:
        api = IsrctnApi(self.http)
        return IsrctnSource(api, state, watched, queries, now=self.now, settings=self.settings)


@pytest.fixture
def runner(http: Http, fake: FakeIsrctn) -> Runner:
    return Runner(http, fake)


def stop(text: str) -> str:
    """SYNTHETIC edit: the trial is stopped."""
    return text.replace(
        "<recruitmentStatusOverride/>",
        "<recruitmentStatusOverride>Stopped</recruitmentStatusOverride>",
    )


def test_first_pass_reads_every_watched_trial_and_search_member(runner: Runner) -> None:
    items, requests = runner.cycle([COPD, PATCH], [UK])
    assert sorted(records(items)) == [GOUT, PATCH, COPD, "ISRCTN91308625"]
    assert events(items, "new_in_query") == [
        (GOUT, "uk"),
        (COPD, "uk"),
        ("ISRCTN91308625", "uk"),
    ]
    assert errors(items) == []
    assert requests == 4  # count + trials, for the watched ones and for the search


def test_an_idle_cycle_costs_two_counts(runner: Runner, fake: FakeIsrctn) -> None:
    runner.cycle([COPD, PATCH], [UK])
    items, requests = runner.cycle([COPD, PATCH], [UK])
    assert records(items) == {}
    assert errors(items) == []
    assert requests == 2
    assert all(s.params["limit"] == "0" for s in fake.seen())
    assert "lastEdited GE 2026-08-30T00:00:00.000Z" in fake.seen()[0].params["q"]  # 2 days back


def test_two_edited_trials_cost_two_answers_more(runner: Runner, fake: FakeIsrctn) -> None:
    runner.cycle([COPD, PATCH], [UK])
    runner.cycle([COPD, PATCH], [UK])
    fake.update(COPD, stop, "2026-09-02T10:00:00.000000000Z")
    fake.update(
        GOUT,
        lambda t: t.replace("<targetEnrolment>280<", "<targetEnrolment>200<"),
        "2026-09-02T11:00:00Z",
    )
    items, requests = runner.cycle([COPD, PATCH], [UK])
    assert sorted(records(items)) == [GOUT, COPD]
    assert requests == 4
    copd = normalize(records(items)[COPD].data, runner.now.date())
    assert copd["status"]["overall_status"] == "Stopped"
    assert copd["admin"]["version"] == 37


def test_an_unedited_trial_in_the_window_is_not_a_record(runner: Runner, fake: FakeIsrctn) -> None:
    fake.update(COPD, lambda t: t, "2026-08-31T10:00:00Z")  # edited just before the first pass
    runner.cycle([COPD], [])
    items, requests = runner.cycle([COPD], [])  # its edit is inside the overlap, seen already
    assert records(items) == {}
    assert requests == 2  # counted 1, asked, found its version unchanged


def test_the_calendar_moves_a_status_once(runner: Runner) -> None:
    runner.now = datetime(2026, 9, 29, 6, 0, tzinfo=UTC)
    runner.cycle([PATCH], [])
    runner.cycle([PATCH], [])  # 2026-09-30: still recruiting
    items, requests = runner.cycle([PATCH], [])  # 2026-10-01: recruitment ended
    record = records(items)[PATCH]
    status = normalize(record.data, datetime(2026, 10, 1).date())["status"]
    assert status == {"overall_status": "No longer recruiting", "derived": True}
    assert requests == 1 + 2  # the count, then its number asked again
    items, requests = runner.cycle([PATCH], [])
    assert records(items) == {}
    assert requests == 1


def test_the_source_key_tells_the_calendar_move(runner: Runner) -> None:
    runner.now = datetime(2026, 9, 30, 6, 0, tzinfo=UTC)
    items, _ = runner.cycle([PATCH], [])
    before = records(items)[PATCH].source_key
    items, _ = runner.cycle([PATCH], [])
    assert records(items)[PATCH].source_key != before


def test_a_429_storm_with_retry_after_clears(
    runner: Runner, fake: FakeIsrctn, clock: FakeClock
) -> None:
    fake.storm(2, status=429, retry_after="11")
    items, requests = runner.cycle([COPD, PATCH], [UK])
    assert errors(items) == []
    assert len(records(items)) == 4
    assert requests == 4 + 2
    assert clock.slept.count(11.0) >= 2


def test_a_403_storm_without_retry_after_backs_off(
    runner: Runner, fake: FakeIsrctn, clock: FakeClock
) -> None:
    fake.storm(2, status=403)
    items, requests = runner.cycle([COPD], [])
    assert errors(items) == []
    assert requests == 2 + 2
    assert sum(clock.slept) >= 3.0


def test_a_storm_that_does_not_clear_saves_nothing(runner: Runner, fake: FakeIsrctn) -> None:
    runner.cycle([COPD], [UK])
    state = copy.deepcopy(runner.state)
    fake.storm(100, status=429)
    items, requests = runner.cycle([COPD], [UK])
    assert [e.trial_id for e in errors(items)] == [COPD, None]
    assert all(e.transient for e in errors(items))
    assert runner.state == state
    assert requests == 8


def test_an_unknown_number_is_an_error_each_cycle(runner: Runner) -> None:
    """A number ISRCTN never answered is a wrong number (not a trial that went)."""
    for _ in range(2):
        items, requests = runner.cycle(["ISRCTN00000000"], [])
        assert events(items, "gone") == []
        assert [(e.trial_id, e.transient) for e in errors(items)] == [("ISRCTN00000000", False)]
        assert "ISRCTN has no such trial" in errors(items)[0].message
        assert requests == 1  # its own query finds nothing


def test_a_trial_that_went_is_gone_once(runner: Runner, fake: FakeIsrctn) -> None:
    runner.cycle([COPD, PATCH], [])
    del fake.trials[PATCH]
    runner.state["updates"]["cycles_since_full"] = 100  # a full pass: asked for directly
    items, requests = runner.cycle([COPD, PATCH], [])
    assert events(items, "gone") == [(PATCH, None)]
    assert requests == 2 + 1  # the batch (counted, then asked), then its number alone
    items, _ = runner.cycle([COPD, PATCH], [])
    assert events(items, "gone") == []


def test_a_number_only_mentioned_by_another_trial_is_not_found(
    runner: Runner, fake: FakeIsrctn
) -> None:
    mention = fake.trials[PATCH].replace("<title>", "<title>Follow-up of ISRCTN99999998: ", 1)
    fake.trials[PATCH] = mention  # the free text of its number finds another trial
    items, requests = runner.cycle([COPD, "ISRCTN99999998"], [])
    assert [e.trial_id for e in errors(items)] == ["ISRCTN99999998"]
    assert sorted(records(items)) == [COPD]
    assert requests == 2 + 1


def test_a_broken_query_finds_nothing_and_says_so(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    items, requests = runner.cycle([], [Query("typo", "recruitmentCountri:Sweden")])
    assert records(items) == {}
    assert requests == 1
    assert "finds no trial" in caplog.text


def test_a_full_pass_tells_who_left_the_search(http: Http, fake: FakeIsrctn) -> None:
    runner = Runner(http, fake, full_pass_every=1)
    runner.cycle([], [UK])
    fake.update(
        GOUT,
        lambda t: t.replace("<country>United Kingdom</country>", "<country>Wales</country>"),
        "2026-09-01T12:00:00Z",
    )
    items, _ = runner.cycle([], [UK])
    assert events(items, "left_query") == [(GOUT, "uk")]


def test_a_non_xml_answer_is_a_permanent_error(runner: Runner, fake: FakeIsrctn) -> None:
    from tests.fakeapi import Fault

    fake.fault = lambda seen: Fault(status=200, body="<html><body>maintenance</body></html>")
    items, _ = runner.cycle([COPD], [])
    failed = errors(items)
    assert len(failed) == 1 and not failed[0].transient
    assert "not an ISRCTN answer" in failed[0].message


def test_every_record_carries_its_url_and_source_key(runner: Runner, fake: FakeIsrctn) -> None:
    items, _ = runner.cycle([COPD], [])
    record = records(items)[COPD]
    assert record.origin.startswith(f"{fake.url}/api/query/format/default?q=ISRCTN41823570")
    assert record.source == "isrctn"
    assert record.source_key and record.source_key.startswith("v2:")
