"""Classification of what registries other than ClinicalTrials.gov bring: maps by country
(statuses, dates, planned subjects), a registry's extra enrollment parts, and statuses the
registry derives from its dates. Canonical records here are small hand-made ones (SYNTHETIC).
"""

from __future__ import annotations

from typing import Any

from monitor.classify import CALENDAR_MOVE, DERIVED, classify
from monitor.compare import compare
from monitor.configkit import ChangesConfig
from monitor.models import Change
from monitor.normalize import StatusWord, Vocabulary

WORDS = Vocabulary(
    statuses={
        "Ongoing, recruiting": StatusWord("recruiting"),
        "Ended": StatusWord("completed"),
        "Temporarily halted": StatusWord("stopped", critical=True),
        "Recruiting": StatusWord("recruiting"),
        "No longer recruiting": StatusWord("active"),
    },
    labels={"status.by_country": "Status", "enrollment.by_country": "Planned subjects"},
)


def record(**sections: Any) -> dict[str, Any]:
    return {"identification": {"trial_id": "X", "registry": "r"}, **sections}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return classify(old, new, compare(old, new), ChangesConfig(), vocabulary=WORDS)


def rows(found: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.category, c.severity, c.summary) for c in found]


def test_member_states_moving_together_are_one_row() -> None:
    countries = ("Spain", "France", "Italy")
    old = record(status={"by_country": dict.fromkeys(countries, "Ongoing, recruiting")})
    new = record(
        status={
            "by_country": {
                "Spain": "Ended",
                "France": "Ended",
                "Italy": "Temporarily halted",
                "Austria": "Ongoing, recruiting",
            }
        }
    )
    assert rows(changes(old, new)) == [
        ("status", "major", "Status in Italy: Ongoing, recruiting → Temporarily halted"),
        ("status", "minor", "Status in Austria: (none) → Ongoing, recruiting"),
        ("status", "minor", "Status in France and Spain: Ongoing, recruiting → Ended"),
    ]


def test_dates_by_country_carry_their_shift() -> None:
    day = {"type": "ACTUAL"}
    old = record(dates={"end_by_country": {"Spain": {**day, "date": "2024-09-17"}}})
    new = record(
        dates={
            "end_by_country": {
                "Spain": {**day, "date": "2024-10-01"},
                "France": {**day, "date": "2024-10-01"},
            }
        }
    )
    assert rows(changes(old, new)) == [
        ("dates", "minor", "End in France: (none) → 2024-10-01"),
        ("dates", "minor", "End in Spain: 2024-09-17 → 2024-10-01 (+14 days)"),
    ]


def test_planned_subjects_by_country_beside_the_count() -> None:
    old = record(enrollment={"count": 50, "type": "ESTIMATED", "by_country": {"Spain": 8}})
    new = record(enrollment={"count": 46, "type": "ESTIMATED", "by_country": {"Spain": 4}})
    assert rows(changes(old, new)) == [
        ("enrollment", "major", "Enrollment: 50 (ESTIMATED) → 46 (ESTIMATED) (-8%)"),
        ("enrollment", "minor", "Planned subjects in Spain: 8 → 4 (-50%)"),
    ]


def test_subjects_moved_between_countries_do_not_claim_a_count_change() -> None:
    old = record(enrollment={"count": 10, "by_country": {"Spain": 6, "France": 4}})
    new = record(enrollment={"count": 10, "by_country": {"Spain": 4, "France": 6}})
    assert [c.field for c in changes(old, new)] == ["enrollment.by_country"] * 2


def test_a_target_equal_to_the_count_is_said_once() -> None:
    old = record(enrollment={"count": 440, "target": 440, "type": "ESTIMATED"})
    new = record(enrollment={"count": 300, "target": 300, "type": "ESTIMATED"})
    assert [c.field for c in changes(old, new)] == ["enrollment.count"]
    final = record(enrollment={"count": 35, "target": 300, "type": "ACTUAL"})
    assert [c.field for c in changes(new, final)] == ["enrollment.count"]  # the target stayed
    moved = record(enrollment={"count": 35, "target": 320, "type": "ACTUAL"})
    assert rows(changes(final, moved)) == [("enrollment", "minor", "Target: 300 → 320 (+7%)")]


def test_a_status_moved_by_the_calendar_alone_says_so() -> None:
    dates = {"recruitment_end": {"date": "2026-10-01"}}
    old = record(status={"overall_status": "Recruiting", "derived": True}, dates=dates)
    new = record(status={"overall_status": "No longer recruiting", "derived": True}, dates=dates)
    (change,) = changes(old, new)
    assert change.summary == f"Overall status: Recruiting → No longer recruiting ({CALENDAR_MOVE})"


def test_a_derived_status_moved_by_an_edit_is_marked_derived() -> None:
    old = record(status={"overall_status": "Recruiting", "derived": True})
    new = record(
        status={"overall_status": "No longer recruiting", "derived": True},
        dates={"recruitment_end": {"date": "2026-01-01"}},
    )
    status = [c for c in changes(old, new) if c.field == "status.overall_status"]
    assert status[0].summary.endswith(f"({DERIVED})")


def test_a_registry_status_is_not_marked() -> None:
    old = record(status={"overall_status": "Ongoing, recruiting"})
    new = record(status={"overall_status": "Ended"})
    assert changes(old, new)[0].summary == "Overall status: Ongoing, recruiting → Ended"
