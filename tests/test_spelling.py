"""Names that differ only in spelling, case, accents or encoding (monitor.spelling)."""

from __future__ import annotations

import pytest

from monitor.spelling import fold, repair, same_name


def test_repair_undoes_utf8_read_as_windows_1252() -> None:
    assert repair("HÃ´pital Ã‰douard Herriot") == "Hôpital Édouard Herriot"
    assert repair("Hôpital") == "Hôpital"  # already right: left alone
    assert repair("Zürich") == "Zürich"


def test_fold_keeps_letters_and_digits_only() -> None:
    assert fold("Hôpital Necker-Enfants Malades") == "hopitalneckerenfantsmalades"
    assert fold("HÃ´pital") == fold("HOPITAL") == "hopital"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CHU DE BORDEAUX", "CHU de Bordeaux"),
        ("Hopital Necker Enfants Malades", "Hôpital Necker-Enfants Malades"),
        ('HÄ"pital Édouard Herriot', "Hôpital Édouard Herriot"),
        ("HÃ´pital Nord", "Hôpital Nord"),
        ("Montreal Neurological Institute", "Montreal Neurologic Institute"),
        ("University Medical Center Utrecht", "University Medical Centre Utrecht"),
        (None, None),
    ],
)
def test_same_name_written_differently(a: str | None, b: str | None) -> None:
    assert same_name(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hôpital Nord", "Hôpital Sud"),
        ("CHU Lyon", "CHR Lyon"),  # short names: one letter is another hospital
        ("Cancer Center of Kansas", "Cancer Center of Texas"),
        ("Clinical Research Site 101", "Clinical Research Site 102"),  # numbered sites
        ("Clinic", None),
    ],
)
def test_other_names(a: str | None, b: str | None) -> None:
    assert not same_name(a, b)
