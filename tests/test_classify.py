"""Classification, table-driven from tests/data/classify_cases.json, plus the details."""

from __future__ import annotations

import difflib
import random
import re
from typing import Any

import pytest

from monitor import classify as classify_module
from monitor.classify import (
    OUTCOME_PAIRS,
    SIMILARITY_CHARS,
    SITE_PAIRS,
    WORD_DIFF_CELLS,
    classify,
    date_shift,
    percent,
    record_change,
    text_change,
)
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


PROSE = (
    "patients with advanced solid tumors receive the study drug or placebo in a randomized "
    "double blind trial of safety and efficacy at weeks twelve and twenty four"
)
PROSE_WORDS = PROSE.split()


def description(words: int, seed: int = 7) -> list[str]:
    """A long synthetic description: common words repeated as in real text (many matches)."""
    rng = random.Random(seed)
    return [rng.choice(PROSE_WORDS) for _ in range(words)]


@pytest.fixture
def matched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of every word sequence pair handed to difflib, refused over the bound."""
    sizes: list[tuple[int, int]] = []
    original = difflib.SequenceMatcher

    class Counting(original):  # type: ignore[valid-type, misc]
        def __init__(self, isjunk: Any = None, a: Any = "", b: Any = "", **kw: Any) -> None:
            sizes.append((len(a), len(b)))
            assert len(a) * len(b) <= WORD_DIFF_CELLS, f"difflib asked for {len(a)} x {len(b)}"
            super().__init__(isjunk, a, b, **kw)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    return sizes


def test_the_word_diff_of_a_30000_word_description_is_bounded_by_a_count(
    matched: list[tuple[int, int]],
) -> None:
    """Scattered edits in 30,000 words: difflib never sees more than WORD_DIFF_CELLS pairs."""
    old = description(30_000)
    new = list(old)
    for position, word in ((50, "multicenter"), (15_000, "open-label"), (29_990, "ninety")):
        new[position] = word
    summary = text_change("Detailed description", " ".join(old), " ".join(new))
    assert summary.startswith('Detailed description changed: removed "')
    assert '; added "multicenter … open-label … ninety"' in summary
    assert sum(a * b for a, b in matched) <= WORD_DIFF_CELLS


def test_a_long_rewrite_is_summarized_by_words_removed_and_added_in_linear_work(
    matched: list[tuple[int, int]],
) -> None:
    old, new = description(30_000, seed=1), description(40_000, seed=2)
    old[10:12] = ["original", "aims"]
    new[20:21] = ["revised"]
    summary = text_change("Detailed description", " ".join(old), " ".join(new))
    assert summary.startswith('Detailed description changed: removed "')
    assert "original aims" in summary and 'added "' in summary and "revised" in summary
    assert matched == []  # too large for difflib: counted word by word instead


def test_a_local_edit_in_a_long_text_is_found_exactly(matched: list[tuple[int, int]]) -> None:
    """The common start and end are set aside first: only the edited middle is diffed."""
    old = description(30_000)
    new = [*old[:20_000], "one", "new", "sentence", *old[20_001:]]
    summary = text_change("Detailed description", " ".join(old), " ".join(new))
    assert summary == (
        f'Detailed description changed: removed "{old[20_000]}"; added "one new sentence"'
    )
    assert sum(a * b for a, b in matched) <= 4


def outcomes_record(measures: list[str]) -> dict[str, Any]:
    outcomes = [{"measure": m, "timeFrame": "12 weeks"} for m in measures]
    return normalize(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT06009107"},
                "outcomesModule": {"primaryOutcomes": outcomes},
            }
        }
    )


def test_pairing_outcomes_is_bounded_by_a_count(matched: list[tuple[int, int]]) -> None:
    """Every primary outcome replaced by a long, different one: 60 x 60 candidate pairs of
    18,000-character measures. difflib compares at most OUTCOME_PAIRS pairs, each of at most
    SIMILARITY_CHARS characters a side."""
    old = [" ".join(description(3_000, seed=n)) for n in range(60)]
    new = [" ".join(description(3_000, seed=100 + n)) for n in range(60)]
    before, after = outcomes_record(old), outcomes_record(new)
    changes = classify(before, after, compare(before, after), ChangesConfig())
    assert len([c for c in changes if c.field == "outcomes.primary"]) >= 60
    assert len(matched) <= OUTCOME_PAIRS
    assert all(a <= SIMILARITY_CHARS and b <= SIMILARITY_CHARS for a, b in matched)


def sites_record(names: list[str]) -> dict[str, Any]:
    site = {"facility": "", "city": "Rochester", "country": "United States", "status": "RECRUITING"}
    return normalize(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT06009107"},
                "contactsLocationsModule": {"locations": [{**site, "facility": n} for n in names]},
            }
        }
    )


def test_pairing_sites_is_bounded_by_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 sites replaced by 2,000 others (35 s before): a renamed site is looked for among
    at most SITE_PAIRS pairs, and equal or same-identity sites are paired through a key."""
    calls = [0]
    original = classify_module.same_name

    def counted(a: str | None, b: str | None) -> bool:
        calls[0] += 1
        return original(a, b)

    monkeypatch.setattr(classify_module, "same_name", counted)
    old = sites_record([f"Clinic number {n} of the first network" for n in range(2_000)])
    new = sites_record([f"Hospital number {n} of another network" for n in range(2_000)])
    changes = classify(old, new, compare(old, new), ChangesConfig(), vocabulary=VOCABULARY)
    assert len(changes) == 4_000  # each removed and each added
    assert calls[0] <= 2 * SITE_PAIRS  # facility and city of each pair compared, at most


def test_a_renamed_site_among_a_few_is_still_found() -> None:
    old = sites_record(["Hopital Nord de Marseille", "Mayo Clinic"])
    new = sites_record(["Hôpital Nord de Marseille", "Mayo Clinic"])
    (change,) = classify(old, new, compare(old, new), ChangesConfig(), vocabulary=VOCABULARY)
    assert change.summary.startswith("Location renamed:")


def test_a_reworded_outcome_is_still_found_among_a_few(matched: list[tuple[int, int]]) -> None:
    old = outcomes_record(["Change in immune activity", "Overall survival at 5 years"])
    new = outcomes_record(["Changes in immune activity in blood", "Overall survival at 5 years"])
    (change,) = classify(old, new, compare(old, new), ChangesConfig())
    assert change.summary.startswith("Primary outcome reworded:")


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
