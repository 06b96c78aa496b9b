"""The SQL views (migration 0003_views) checked on a database with a known history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from monitor.store import Store, sqlviews
from tests.history_data import FAILING, SEED, TERMINATED, known_history


@pytest.fixture
def store() -> Iterator[Store]:
    store = known_history(Store.memory())
    yield store
    store.close()


def rows(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = store.db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def test_migration_creates_every_view() -> None:
    with closing(Store.memory()) as store:
        assert set(store.db.view_names()) == set(sqlviews.VIEW_NAMES)


def test_create_views_is_repeatable(store: Store) -> None:
    sqlviews.create_views(store.db)
    assert len(rows(store, "select * from status_history")) == 2


def test_status_history_lists_every_transition(store: Store) -> None:
    got = rows(
        store,
        "select trial_id, from_status, to_status, version_date, why_stopped, severity "
        "from status_history",
    )
    assert got == [
        {
            "trial_id": TERMINATED,
            "from_status": "RECRUITING",
            "to_status": "TERMINATED",
            "version_date": "2020-02-07",
            "why_stopped": "Sponsor decision",
            "severity": "critical",
        },
        {
            "trial_id": SEED,
            "from_status": "NOT_YET_RECRUITING",
            "to_status": "WITHDRAWN",
            "version_date": "2025-08-08",
            "why_stopped": "Funding",
            "severity": "critical",
        },
    ]


def test_date_shifts_are_signed_days_at_the_coarser_precision(store: Store) -> None:
    got = rows(
        store,
        "select trial_id, date_field, old_date, new_date, shift_days, kind, lead_sponsor "
        "from date_shifts",
    )
    assert [(r["trial_id"], r["date_field"], r["shift_days"], r["kind"]) for r in got] == [
        (TERMINATED, "completion", 183, "shift"),
        (TERMINATED, "start", 0, "type"),
        (TERMINATED, "primary_completion", 0, "precision"),
        (SEED, "start", 365, "shift"),
        (SEED, "primary_completion", 365, "shift"),
        (SEED, "completion", 364, "shift"),
    ]
    assert {r["lead_sponsor"] for r in got} == {"Tocagen Inc.", "Hrain Biotechnology"}


def test_date_shifts_precision_and_type_columns(store: Store) -> None:
    (row,) = rows(store, "select * from date_shifts where kind = 'precision'")
    assert (row["old_precision"], row["new_precision"]) == ("month", "day")
    assert (row["old_type"], row["new_type"]) == ("ESTIMATED", "ACTUAL")


def test_date_shifts_of_a_type_only_change(store: Store) -> None:
    (row,) = rows(store, "select * from date_shifts where kind = 'type'")
    assert (row["trial_id"], row["date_field"], row["shift_days"]) == (TERMINATED, "start", 0)
    assert (row["old_type"], row["new_type"]) == ("ESTIMATED", "ACTUAL")


def test_date_shifts_of_a_date_set_for_the_first_time(store: Store) -> None:
    store.db.table("changes").insert(
        {
            "trial_id": SEED,
            "detected_at": "2026-01-01T00:00:00Z",
            "category": "dates",
            "field": "dates.start",
            "severity": "major",
            "old_value": "null",
            "new_value": '{"date": "2026-03", "type": "ESTIMATED"}',
            "summary": "Start date: (none) → 2026-03",
        }
    )
    (row,) = rows(store, "select * from date_shifts where kind = 'set'")
    assert (row["old_date"], row["new_date"], row["shift_days"]) == (None, "2026-03", None)
    assert row["new_precision"] == "month"


def test_latest_changes_keeps_each_study_newest_batch(store: Store) -> None:
    got = rows(store, "select trial_id, category, severity, title from latest_changes")
    assert [(r["trial_id"], r["category"], r["severity"]) for r in got] == [
        (SEED, "status", "critical"),
        (SEED, "status", "major"),
        (SEED, "administrative", "info"),
        (TERMINATED, "status", "critical"),
        (TERMINATED, "outcomes", "critical"),
        (TERMINATED, "status", "major"),
        (TERMINATED, "dates", "major"),
        (TERMINATED, "dates", "minor"),
        (TERMINATED, "dates", "minor"),
        (TERMINATED, "administrative", "info"),
    ]
    assert FAILING not in {r["trial_id"] for r in got}


# The README questions, with the SQL of README.md ("this month" pinned to a date).

MOVED_THIS_MONTH = """
    select trial_id, title, from_status, to_status, version_date, why_stopped
    from status_history
    where to_status in ('WITHDRAWN', 'TERMINATED')
      and detected_at >= strftime('%Y-%m-01', ?)
    order by detected_at desc"""

SLIP_PER_SPONSOR = """
    select lead_sponsor, count(distinct trial_id) as trials, count(*) as revisions,
           sum(shift_days) as total_days, max(shift_days) as worst_days
    from date_shifts
    where date_field = 'completion' and kind = 'shift'
    group by lead_sponsor order by total_days desc"""

PRIMARY_OUTCOMES = """
    select trial_id, detected_at, severity, summary from changes
    where field like 'outcomes.primary%' order by detected_at desc"""


def test_readme_question_moved_to_withdrawn_or_terminated_this_month(store: Store) -> None:
    got = rows(store, MOVED_THIS_MONTH, ("2025-08-20",))
    assert [(r["trial_id"], r["to_status"], r["why_stopped"]) for r in got] == [
        (SEED, "WITHDRAWN", "Funding")
    ]
    assert len(rows(store, MOVED_THIS_MONTH, ("2020-02-07",))) == 2


def test_readme_question_completion_slip_per_sponsor(store: Store) -> None:
    assert rows(store, SLIP_PER_SPONSOR) == [
        {"lead_sponsor": "Hrain Biotechnology", "trials": 1, "revisions": 1,
         "total_days": 364, "worst_days": 364},
        {"lead_sponsor": "Tocagen Inc.", "trials": 1, "revisions": 1,
         "total_days": 183, "worst_days": 183},
    ]  # fmt: skip


def test_readme_question_primary_outcome_changes(store: Store) -> None:
    got = rows(store, PRIMARY_OUTCOMES)
    assert [(r["trial_id"], r["severity"], r["summary"]) for r in got] == [
        (TERMINATED, "critical", 'Primary outcome removed: "Objective response rate"')
    ]
