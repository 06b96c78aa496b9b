"""Choosing the cheaper way to find what changed in a live cycle (monitor.liveplan, pure)."""

from __future__ import annotations

from datetime import date

from monitor import liveplan


def test_by_updates_when_they_fit_in_fewer_pages_than_the_ids_in_requests() -> None:
    # 10,000 watched at ~540 ids per request: 19 requests by id; 1,010 updates: 2 pages
    costs = liveplan.way_after_first_page(1010, 1000, 10_000, 540)
    assert (costs.by_updates, costs.by_ids, costs.cheaper) == (1, 19, "updates")


def test_by_id_when_the_registry_updated_more_than_the_watch_list_costs() -> None:
    costs = liveplan.way_after_first_page(60_000, 1000, 2_000, 540)
    assert (costs.by_updates, costs.by_ids, costs.cheaper) == (59, 4, "ids")


def test_a_watch_list_that_fits_in_one_request_never_asks_for_updates() -> None:
    assert not liveplan.ask_updates_first(540, 540)
    assert liveplan.ask_updates_first(541, 540)
    assert not liveplan.ask_updates_first(0, 540)


def test_request_counts() -> None:
    assert liveplan.requests_by_ids(10_000, 540) == 19
    assert liveplan.requests_by_ids(0, 540) == 0
    assert liveplan.requests_by_updates(0, 1000) == 1  # the first page is asked anyway
    assert liveplan.requests_by_updates(2001, 1000) == 3


def test_a_full_pass_on_the_first_cycle_and_every_full_pass_every() -> None:
    assert liveplan.full_pass_due(None, 7)
    assert [liveplan.full_pass_due(n, 7) for n in range(7)] == [False] * 6 + [True]
    assert liveplan.full_pass_due(0, 1)


def test_updates_are_listed_from_the_last_release_with_an_overlap() -> None:
    assert liveplan.updates_since(date(2026, 9, 4)) == "2026-09-04"
    assert liveplan.updates_since(date(2026, 9, 4), overlap_days=0) == "2026-09-05"
    assert liveplan.updates_since(date(2026, 9, 4), overlap_days=3) == "2026-09-02"
