"""ISRCTN's derived status: overrides, then dates, as a pure function of (calendar, today)."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.registries.isrctn.status import VOCABULARY, Calendar, derive

RUNNING = Calendar(
    recruitment_start="2026-07-23", recruitment_end="2028-03-31", overall_end="2029-08-01"
)


@pytest.mark.parametrize(
    ("today", "words"),
    [
        (date(2026, 7, 22), "Not yet recruiting"),
        (date(2026, 7, 23), "Recruiting"),  # the start day recruits
        (date(2028, 3, 30), "Recruiting"),
        (date(2028, 3, 31), "No longer recruiting"),  # the end day does not
        (date(2029, 7, 31), "No longer recruiting"),
        (date(2029, 8, 1), "Completed"),
    ],
)
def test_dates_decide_without_an_override(today: date, words: str) -> None:
    assert derive(RUNNING, today) == words


@pytest.mark.parametrize("override", ["Stopped", "Suspended"])
def test_a_status_override_wins_over_every_date(override: str) -> None:
    stopped = Calendar(**{**RUNNING.as_dict(), "status_override": override})
    assert derive(stopped, date(2020, 1, 1)) == override
    assert derive(stopped, date(2035, 1, 1)) == override


def test_anticipated_start_is_not_yet_recruiting_whatever_the_dates() -> None:
    anticipated = Calendar(**{**RUNNING.as_dict(), "start_override": "Anticipated"})
    assert derive(anticipated, date(2027, 1, 1)) == "Not yet recruiting"


def test_no_recruitment_start_is_unknown_until_the_end() -> None:
    bare = Calendar(overall_end="2029-08-01")
    assert derive(bare, date(2027, 1, 1)) == "Unknown"
    assert derive(bare, date(2030, 1, 1)) == "Completed"


def test_no_recruitment_end_recruits_until_the_overall_end() -> None:
    open_ended = Calendar(recruitment_start="2026-01-01", overall_end="2029-08-01")
    assert derive(open_ended, date(2029, 7, 31)) == "Recruiting"


def test_a_calendar_round_trips_through_the_state() -> None:
    assert Calendar.from_dict(RUNNING.as_dict()) == RUNNING
    assert Calendar.from_dict({"overall_end": 3, "other": "x"}) == Calendar()
    assert Calendar.from_dict(None) == Calendar()


def test_vocabulary_states_and_critical_moves() -> None:
    assert {w for w, s in VOCABULARY.statuses.items() if s.critical} == {"Stopped", "Suspended"}
    assert VOCABULARY.state("Recruiting") == "recruiting"
    assert VOCABULARY.state("No longer recruiting") == "active"
    assert VOCABULARY.state("Completed") == "completed"
    assert VOCABULARY.state("Stopped") == "stopped"
    surprise = "Enrolling by invitation"
    assert (VOCABULARY.state(surprise), VOCABULARY.critical(surprise)) == ("unknown", False)
