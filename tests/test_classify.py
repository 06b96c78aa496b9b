"""Classification, table-driven from tests/data/classify_cases.json, plus the details."""

from __future__ import annotations

import re
from typing import Any

import pytest

from monitor.classify import classify, date_shift, percent, record_change, text_change
from monitor.compare import compare
from monitor.config import ChangesConfig
from monitor.models import CATEGORIES, Change
from monitor.registries.ctgov.normalize import normalize
from monitor.registries.ctgov.vocabulary import VOCABULARY
from tests.casefile import cases, pair

CASES = cases()


def _rules(case: dict[str, Any]) -> ChangesConfig:
    rules = case.get("rules", {})
    return ChangesConfig(ignore=tuple(rules.get("ignore", ())), severity=rules.get("severity", {}))


def run_case(case: dict[str, Any]) -> list[Change]:
    if "event" in case:
        return [record_change(case["event"], query=case.get("query"))]
    before, after = pair(case)
    old, new = normalize(before), normalize(after)
    rules = _rules(case)
    return classify(old, new, compare(old, new, rules.ignore), rules, vocabulary=VOCABULARY)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    changes = run_case(case)
    assert [[c.category, c.severity, c.field] for c in changes] == case["expect"]
    if "summaries" in case:
        assert [c.summary for c in changes] == case["summaries"]


def test_every_category_is_in_the_case_table() -> None:
    seen = {row[0] for case in CASES for row in case["expect"]}
    assert seen == set(CATEGORIES)


def test_the_case_table_has_cosmetic_cases_for_each_kind_of_noise() -> None:
    cosmetic = [c["id"] for c in CASES if c["id"].startswith("cosmetic-")]
    for noise in ("keys", "shuffled", "reindented", "markdown", "entities", "version-holder"):
        assert any(noise in case_id for case_id in cosmetic), noise


def test_values_are_json_serializable_and_summaries_one_line() -> None:
    import orjson

    for case in CASES:
        for change in run_case(case):
            orjson.dumps([change.old_value, change.new_value])
            assert "\n" not in change.summary and len(change.summary) < 300


@pytest.mark.parametrize(
    ("old", "new", "shift"),
    [
        ("2026-12-31", "2027-12-30", 364),
        ("2025-06", "2025-06-30", 0),
        ("2025-06-30", "2025-06", 0),
        ("2025", "2025-11-02", 0),
        ("2025-06", "2025-09-15", 92),
        ("2025-06-15", "2025-05", -31),
        ("2025-06", "not a date", None),
    ],
)
def test_date_shift_is_precision_aware(old: str, new: str, shift: int | None) -> None:
    assert date_shift(old, new) == shift


def test_percent() -> None:
    assert percent(30, 16) == "-47%"
    assert percent(100, 250) == "+150%"
    assert percent(1000, 1004) == "+0.4%"


def test_enrollment_from_zero_has_no_percentage() -> None:
    old = {"identification": {"trial_id": "NCT00000001"}, "enrollment": {"count": 0}}
    new = {"identification": {"trial_id": "NCT00000001"}, "enrollment": {"count": 12}}
    (change,) = classify(old, new, compare(old, new), ChangesConfig())
    assert change.summary == "Enrollment: 0 → 12"


def test_long_text_change_is_a_short_word_excerpt() -> None:
    old = "word " * 200 + "the end"
    new = "word " * 100 + "inserted words here " + "word " * 100 + "the finish"
    summary = text_change("Detailed description", old, new)
    assert summary == (
        'Detailed description changed: removed "end"; added "inserted words here … finish"'
    )


def test_long_insertions_are_clipped() -> None:
    summary = text_change("Brief summary", "a " * 50, "a " * 50 + "b " * 200)
    assert len(summary) < 120 and summary.endswith('…"')


def test_record_change_refuses_unknown_events_and_missing_query() -> None:
    with pytest.raises(ValueError, match="unknown record event"):
        record_change("vanished")
    with pytest.raises(ValueError, match="query"):
        record_change("new_in_query")


def test_whole_sections_appearing_are_classified_field_by_field() -> None:
    old = {"identification": {"trial_id": "NCT00000001"}}
    new = {
        "identification": {"trial_id": "NCT00000001"},
        "status": {"overall_status": "WITHDRAWN"},
        "dates": {"start": {"date": "2025-06", "type": "ESTIMATED"}},
        "outcomes": {"primary": [{"measure": "Overall survival"}]},
    }
    rows = [
        (c.category, c.severity, c.field)
        for c in classify(old, new, compare(old, new), ChangesConfig(), vocabulary=VOCABULARY)
    ]
    assert rows == [
        ("status", "critical", "status.overall_status"),
        ("dates", "major", "dates.start"),
        ("outcomes", "critical", "outcomes.primary"),
    ]


def test_no_differences_no_changes() -> None:
    record = {"identification": {"trial_id": "NCT00000001"}}
    assert classify(record, record, [], ChangesConfig()) == []


def test_no_summary_uses_registry_jargon() -> None:
    """Field names of the API (dispFirstPostDate ...) never reach a summary."""
    for case in CASES:
        for change in run_case(case):
            assert not any(word in change.summary for word in ("Disp ", "disp_", " qc", " QC"))


# "old → new" where new ends the summary, a part (";"), a sentence (" (") or a list of parts
# (", key"); "A → A, B" is a list, not two values.
ARROW = re.compile(r'("[^"]*"|[^\s:;,()"]+) → ("[^"]*"|[^\s;,()"]+)(?=$|;|\)| \(|, [a-z])')


def test_no_summary_shows_two_values_that_read_the_same() -> None:
    for case in CASES:
        for change in run_case(case):
            for old, new in ARROW.findall(change.summary):
                assert old != new, (case["id"], change.summary)
