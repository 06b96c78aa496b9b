"""Trial id forms (monitor/ids.py): every id a user types is validated here."""

from __future__ import annotations

import pytest

from monitor import ids
from monitor.config import parse_config
from monitor.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        ("NCT06009107", "ctgov"),
        (" nct06009107 ", "ctgov"),
        ("2024-513060-26-00", "ctis"),
        ("isrctn12345678", "isrctn"),
        ("NCT123", None),
        ("2024-413060-26-00", None),  # CTIS numbers have 5 after the year
        ("ISRCTN1234567", None),
    ],
)
def test_the_form_says_the_registry(text: str, registry: str | None) -> None:
    assert ids.registry_of(text) == registry


def test_watchable_ids_are_upper_cased() -> None:
    assert ids.normalize_trial_id(" nct06009107", "x") == "NCT06009107"


def test_a_typo_is_named_with_what_an_id_looks_like() -> None:
    with pytest.raises(ConfigError) as info:
        ids.normalize_trial_id("NCT123", "[watch] studies[0]")
    assert str(info.value) == (
        "[watch] studies[0]: 'NCT123' is not an NCT id (NCT followed by 8 digits)"
    )


@pytest.mark.parametrize(
    ("text", "label"), [("2024-513060-26-00", "EU CTIS"), ("ISRCTN12345678", "ISRCTN")]
)
def test_an_id_of_a_registry_not_watched_yet_is_refused_as_such(text: str, label: str) -> None:
    with pytest.raises(ConfigError, match=f"is an {label} id; this version watches only an NCT"):
        ids.normalize_trial_id(text, "ID")


def test_a_wider_watchable_set_changes_the_message_and_accepts_the_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids, "WATCHABLE", frozenset({"ctgov", "ctis", "isrctn"}))
    assert ids.normalize_trial_id("2024-513060-26-00", "x") == "2024-513060-26-00"
    with pytest.raises(ConfigError, match=r"is not a trial id .*EU CTIS: YYYY-5NNNNN-CC-RR"):
        ids.normalize_trial_id("NCT1", "x")


def test_the_config_validates_through_the_same_place() -> None:
    with pytest.raises(ConfigError, match="is an EU CTIS id"):
        parse_config({"watch": {"studies": ["2024-513060-26-00"]}})
