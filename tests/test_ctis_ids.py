"""EU CT numbers, resubmissions, and the CTIS status vocabulary."""

from __future__ import annotations

import pytest

from monitor.registries.ctis import ids
from monitor.registries.ctis.vocabulary import STATUS_CODES, VOCABULARY, status_words


@pytest.mark.parametrize("good", ["2024-513060-26-00", " 2026-525672-26-01 "])
def test_valid_numbers(good: str) -> None:
    assert ids.normalize_id(good) == good.strip()


@pytest.mark.parametrize(
    "bad", ["2018-001005-85", "2024-413060-26-00", "2024-513060-26", "NCT04032847", "", "x"]
)
def test_invalid_numbers_name_the_form(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-5NNNNN-CC-RR"):
        ids.normalize_id(bad)


def test_resubmissions() -> None:
    assert ids.base("2026-525672-26-01") == "2026-525672-26"
    assert ids.counter("2026-525672-26-01") == 1
    assert ids.next_resubmission("2026-525672-26-01") == "2026-525672-26-02"
    assert ids.next_resubmission("2026-525672-26-99") is None
    seen = ["2026-525672-26-00", "2026-525672-26-02", "2024-513060-26-05", "junk"]
    assert ids.newest("2026-525672-26-01", seen) == "2026-525672-26-02"
    assert ids.older("2026-525672-26-02", seen) == ["2026-525672-26-00"]
    assert ids.same_trial("2026-525672-26-00", "2026-525672-26-03")
    assert not ids.same_trial("2026-525672-26-00", "2024-513060-26-00")


def test_find_a_number_in_a_link() -> None:
    link = "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT=2024-516838-35-00"
    assert ids.find_ct_number(link) == "2024-516838-35-00"
    assert ids.find_ct_number("nothing") is None


def test_every_public_code_has_words_state_and_severity() -> None:
    assert sorted(STATUS_CODES) == list(range(1, 13))
    critical = {w for w, s in VOCABULARY.statuses.items() if s.critical}
    assert critical == {
        "Temporarily halted",
        "Suspended",
        "Expired",
        "Revoked",
        "Not authorised",
        "Cancelled",
        "Ended (early termination)",
    }
    assert VOCABULARY.state("Ended") == "completed"
    assert VOCABULARY.state("Ended (early termination)") == "stopped"
    assert VOCABULARY.state("Authorised, recruitment pending") == "pending"
    assert VOCABULARY.state("Ongoing, recruitment ended") == "active"
    assert VOCABULARY.state("Something new") == "unknown"


@pytest.mark.parametrize(
    ("code", "words"),
    [(8, "Ended"), ("4", "Ongoing, recruiting"), (13, None), (True, None), ("x", None)],
)
def test_status_words(code: object, words: str | None) -> None:
    assert status_words(code) == words
