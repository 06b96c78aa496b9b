"""A study's part of a digest stays under 30 lines whatever the edit (monitor.rollup).

The edits are the SYNTHETIC real-shaped corpus of tests/realedits.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from functools import cache
from typing import Any

import orjson
import pytest

from monitor.classify import classify
from monitor.compare import compare
from monitor.configkit import ChangesConfig
from monitor.models import CATEGORIES, SEVERITIES, Change, severity_rank
from monitor.notify.digest import Digest, DigestChange, Notice, StudyDigest, study_text
from monitor.registries.ctgov.normalize import normalize
from monitor.registries.ctgov.vocabulary import VOCABULARY
from monitor.rollup import BUDGET, lines, tally
from tests.realedits import ADDED, CONTACTS_CHANGED, EDITS, RECRUITING, SITES

AT = "2026-11-26T20:03:14Z"
NCT = "NCT99000001"
LIMIT = 30  # lines of a study's part of a text digest (issue 15)


@cache
def changes_of(label: str) -> tuple[Change, ...]:
    before, after = EDITS[label]()
    old, new = normalize(before), normalize(after)
    return tuple(classify(old, new, compare(old, new), ChangesConfig(), vocabulary=VOCABULARY))


def digest_changes(found: tuple[Change, ...], floor: str = "minor") -> tuple[DigestChange, ...]:
    return tuple(
        DigestChange(c.category, c.field, c.severity, c.summary, c.old_value, c.new_value, AT, 3, 4)
        for c in found
        if severity_rank(c.severity) >= severity_rank(floor)
    )


def part(label: str) -> list[str]:
    return study_text(StudyDigest(NCT, f"A study ({label})", digest_changes(changes_of(label))))


@pytest.mark.parametrize("label", list(EDITS))
def test_each_real_shaped_edit_fits_in_30_lines_and_hides_nothing(label: str) -> None:
    shown = lines(digest_changes(changes_of(label)))
    assert len(part(label)) < LIMIT
    rows = [row for line in shown for row in line.rows]
    assert len(rows) == len(digest_changes(changes_of(label)))  # every row is on a line
    for line in shown:  # a line is as severe as its most severe row
        assert line.severity == max((r.severity for r in line.rows), key=severity_rank)


def test_sites_reopening_en_masse_read_as_the_issue_asks() -> None:
    found = changes_of("sites-reopen-en-masse")
    assert len(found) > 450  # the changes table keeps one row per site
    text = "\n".join(part("sites-reopen-en-masse"))
    assert (
        f"  [minor] Locations: {SITES} sites' status set ({RECRUITING} RECRUITING, "
        f"{SITES - RECRUITING} NOT_YET_RECRUITING); {len(ADDED)} added (France 3, Brazil 2); "
        "1 removed (Argentina); 9 renamed"
    ) in text
    assert f"  [minor] Contacts: {CONTACTS_CHANGED} site contacts changed (phone " in text
    assert "  [major] Overall status: NOT_YET_RECRUITING → RECRUITING" in text
    assert f"  full list: trialmon diff {NCT} --from 3 --to 4" in text
    assert len(part("sites-reopen-en-masse")) == 6


def test_a_few_changes_are_shown_one_by_one() -> None:
    text = part("outcome-rewording")
    assert text[1].startswith("  [minor] Secondary outcome reworded: added ")
    assert not any("full list" in line for line in text)


def test_renamed_sites_alone_roll_up_to_one_line() -> None:
    assert "  [minor] Locations: 12 renamed" in part("re-encoded-names")


def test_the_results_delay_is_a_major_line_in_plain_words() -> None:
    [line] = part("results-delay-certification")[1:-1]
    assert line.startswith("  [major] Results delay requested: the sponsor certified")


def synthetic_rows(per_category: int) -> tuple[DigestChange, ...]:
    """Every category and severity, many rows each: no real edit is this bad."""
    rows = []
    for (i, category), n in itertools.product(enumerate(CATEGORIES), range(per_category)):
        severity = SEVERITIES[(i + n) % len(SEVERITIES)]
        rows.append(DigestChange(category, f"{category}.x", severity, f"row {n}", None, n, AT))
    return tuple(rows)


@pytest.mark.parametrize("per_category", [1, 2, 5, 40])
def test_whatever_the_edit_a_study_stays_under_30_lines(per_category: int) -> None:
    rows = synthetic_rows(per_category)
    text = study_text(StudyDigest(NCT, "t", rows))
    assert len(text) < LIMIT
    shown = lines(rows)
    assert sum(len(line.rows) for line in shown) == len(rows)
    assert len(shown) <= max(BUDGET, len(CATEGORIES))
    critical = [line for line in shown if line.severity == "critical"]
    assert critical and critical == shown[: len(critical)]  # most severe first


def test_rolled_up_lines_say_how_many_and_which_are_severe() -> None:
    rows = synthetic_rows(40)
    outcome = next(line for line in lines(rows) if line.category == "outcomes")
    assert outcome.text.startswith("Outcomes: 40 changes: 40 fields added, 10 critical, 10 major")


def test_tally_names_the_most_first_and_counts_the_rest() -> None:
    assert tally(Counter({"France": 3, "Brazil": 2})) == "France 3, Brazil 2"
    assert tally(Counter({"Argentina": 1})) == "Argentina"
    many = Counter({f"C{k}": 1 for k in range(7)})
    assert tally(many) == "C0 1, C1 1, C2 1, C3 1, 3 others"


def test_the_digest_holds_the_snapshot_ids_for_the_full_list() -> None:
    study = StudyDigest(NCT, "t", digest_changes(changes_of("contact-churn")))
    digest = Digest(1, AT, (study,))
    again = Digest.from_json(digest.to_json())
    assert again.studies[0].full_list() == f"trialmon diff {NCT} --from 3 --to 4"


def test_the_digest_json_is_what_asdict_gave() -> None:
    """``to_json`` writes the dataclasses directly: the bytes ``asdict`` gave, every kind of
    value included (stored digests are read back by ``from_json``, and by older versions)."""
    values: list[Any] = [None, "x", 3, 2.5, True, ["a", {"b": [1, None]}], {"k": {"n": "v"}}]
    changes = tuple(
        DigestChange("dates", f"f{k}", "major", "s", value, values[-1 - k], AT, k, k + 1)
        for k, value in enumerate(values)
    )
    studies = (
        StudyDigest(NCT, None, changes, ("q",), "ctgov", ("EUCT 1 (CTIS)",)),
        StudyDigest("ISRCTN1", "t", changes[:1]),
    )
    notice = Notice(NCT, "failing", 3, "down")
    digest = Digest(7, AT, studies, (notice,), ("a@example.org",), test=False)
    assert digest.to_json() == orjson.dumps(dataclasses.asdict(digest)).decode()
    assert Digest.from_json(digest.to_json()) == digest
