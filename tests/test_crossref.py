"""Across registries (pure): the ids a record names elsewhere, which records are one trial, and
where registries disagree. The REAL records are tests/data's captures; the small canonical
records are SYNTHETIC."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any

import pytest

from monitor import crosscheck, crossref, registries
from monitor.configkit import ChangesConfig
from monitor.crossref import ALIAS, Link, Named, Side
from monitor.registries.ctgov.normalize import normalize as ctgov_normalize
from monitor.registries.ctis.normalize import normalize as ctis_normalize
from monitor.registries.isrctn import xml
from monitor.registries.isrctn.normalize import normalize as isrctn_normalize
from monitor.store import Store
from tests.conftest import DATA
from tests.registry_synthetic import real_ctis

TODAY = date(2026, 11, 30)


def isrctn_records() -> dict[str, dict[str, Any]]:
    root = xml.parse((DATA / "isrctn" / "query_colchicine.xml").read_bytes())
    records = [isrctn_normalize(xml.record_of(t), TODAY) for t in xml.trials(root)]
    return {r["identification"]["trial_id"]: r for r in records}


def test_a_ctis_record_names_its_nct_id_and_its_eudract_number() -> None:
    assert registries.links_of(ctis_normalize(real_ctis())) == [
        Link("NCT04032847", "ctgov"),
        Link("2018-001005-85", "eudract"),
    ]


def test_a_ctgov_record_names_its_eudract_number() -> None:
    study = json.loads((DATA / "study_NCT00791778_completed_with_results.json").read_text())
    assert Link("2008-004429-41", "eudract") in registries.links_of(ctgov_normalize(study))


def test_a_device_id_in_an_eudract_field_links_nothing() -> None:
    record = isrctn_records()["ISRCTN15873887"]
    ids = [i["id"] for i in record["identification"]["secondary_ids"]]
    assert "CIV-ID 23-12-045096" in ids
    assert registries.links_of(record) == []


def test_own_registry_ids_are_no_other_registration_and_aliases_are_own() -> None:
    record = {
        "identification": {
            "trial_id": "2024-513060-26-01",
            "registry": "ctis",
            "aliases": ["2024-513060-26-00"],
            "secondary_ids": [
                {"type": "ASSOCIATED_TRIAL", "id": "2023-500001-11-00"},
                {"type": "REGISTRY", "id": " isrctn41823570 "},
                {"type": "WHO", "id": "U1111-1280-3661"},
            ],
        }
    }
    assert registries.links_of(record) == [
        Link("2024-513060-26-00", ALIAS),
        Link("ISRCTN41823570", "isrctn"),
        Link("U1111-1280-3661", "who_utn"),
    ]


def test_one_trial_by_either_direction_by_alias_or_by_a_shared_id() -> None:
    studies = {
        "NCT04032847": "ctgov",
        "2024-513060-26-01": "ctis",
        "ISRCTN41823570": "isrctn",
        "NCT00000001": "ctgov",
        "2023-500001-11-00": "ctis",
    }
    rows = [
        Named("2024-513060-26-01", "ctis", "2024-513060-26-00", ALIAS),
        Named("ISRCTN41823570", "isrctn", "2024-513060-26-00", "ctis"),  # names the alias
        Named("NCT04032847", "ctgov", "2024-513060-26-01", "ctis"),
        Named("NCT00000001", "ctgov", "2019-000001-01", "eudract"),
        Named("2023-500001-11-00", "ctis", "2019-000001-01", "eudract"),  # the same EudraCT
    ]
    assert crossref.same_trials(rows, studies) == [
        ("2023-500001-11-00", "NCT00000001"),
        ("2024-513060-26-01", "ISRCTN41823570"),
        ("2024-513060-26-01", "NCT04032847"),
    ]


def test_two_records_of_one_registry_are_never_paired() -> None:
    studies = {"NCT00000001": "ctgov", "NCT00000002": "ctgov"}
    rows = [Named("NCT00000001", "ctgov", "2019-000001-01", "eudract")]
    rows.append(Named("NCT00000002", "ctgov", "2019-000001-01", "eudract"))
    assert crossref.same_trials(rows, studies) == []


def test_many_trials_of_one_registry_naming_one_id_pair_only_across_registries() -> None:
    """Grouped by registry first: 3,000 records of one registry sharing an EudraCT number give
    no pair among themselves (4.5 M pair tests before), and each pairs with the other registry's
    two records that name it."""
    ctgov = [f"NCT{n:08d}" for n in range(3000)]
    studies = {**dict.fromkeys(ctgov, "ctgov"), "2023-500001-11-00": "ctis"}
    studies["2023-500002-11-00"] = "ctis"
    rows = [Named(t, studies[t], "2019-000001-01", "eudract") for t in studies]
    pairs = crossref.same_trials(rows, studies)
    assert len(pairs) == 6000
    assert pairs[:2] == [("2023-500001-11-00", ctgov[0]), ("2023-500001-11-00", ctgov[1])]
    assert {b for _, b in pairs} == set(ctgov)


def side(title: str, **sections: Any) -> Side:
    vocabulary = registries.get("ctgov" if title == "A" else "ctis").vocabulary
    return Side(title, title, sections, vocabulary)


def test_a_registry_ended_while_the_other_recruits() -> None:
    a = side("A", status={"overall_status": "RECRUITING"})
    b = side("B", status={"overall_status": "Ended (early termination)"})
    (found,) = crossref.disagreements(a, b)
    assert (found.kind, found.values) == ("status", ("RECRUITING", "Ended (early termination)"))
    assert found.summary == "Registries disagree: A RECRUITING, B Ended (early termination)"
    active = side("A", status={"overall_status": "ACTIVE_NOT_RECRUITING"})
    assert crossref.disagreements(active, b) == []  # not recruiting: no contradiction
    recruiting = side("B", status={"overall_status": "Ongoing, recruiting"})
    assert crossref.disagreements(a, recruiting) == []


@pytest.mark.parametrize(
    ("old", "new", "apart"),
    [
        ("2026-01-01", "2026-04-01", None),
        ("2026-01-01", "2026-04-02", 91),
        ("2027-06", "2026", 365),
    ],  # at the coarser precision,
)
def test_completion_dates_more_than_90_days_apart(old: str, new: str, apart: int | None) -> None:
    a = side("A", dates={"completion": {"date": old}})
    b = side("B", dates={"completion": {"date": new}})
    found = crossref.disagreements(a, b)
    if apart is None:
        assert found == []
    else:
        assert found[0].summary == (
            f"Registries disagree on the completion date: A {old}, B {new} ({apart} days apart)"
        )


@pytest.mark.parametrize(("x", "y", "words"), [(100, 80, None), (100, 79, "21%"), (50, 0, None)])
def test_enrollment_more_than_20_percent_apart(x: int, y: int, words: str | None) -> None:
    a, b = side("A", enrollment={"count": x}), side("B", enrollment={"count": y})
    found = crossref.disagreements(a, b)
    assert [d.summary for d in found] == (
        [f"Registries disagree on enrollment: A {x}, B {y} ({words} apart)"] if words else []
    )


def test_resolution_words() -> None:
    a = side("A", status={"overall_status": "TERMINATED"})
    b = side("B", status={"overall_status": "Ended (early termination)"})
    assert crossref.resolved("status", a, b) == (
        "Registries agree again: A TERMINATED, B Ended (early termination)"
    )
    assert crossref.resolved("enrollment", a, None) == (
        "Registries no longer disagree on enrollment: the records no longer name each other"
    )


def _pairs_by_every_trial(rows: list[Named], studies: dict[str, str]) -> list[tuple[str, str]]:
    """``same_trials`` as it was first written (a set per stored trial), to compare with."""
    own: dict[str, set[str]] = {t: {t} for t in studies}
    named: dict[str, set[str]] = {}
    for row in rows:
        (own if row.kind == ALIAS else named).setdefault(row.linked_id, set()).add(row.trial_id)
    pairs = set()
    for linked_id, namers in named.items():
        trials = namers | own.get(linked_id, set())
        for a in trials:
            for b in trials:
                if a < b and studies.get(a) != studies.get(b):
                    pairs.add((a, b))
    return sorted(pairs)


def test_same_trials_pairs_as_a_set_per_stored_trial_did() -> None:
    """Only the ids some record names are looked at; the pairs are those of the first way."""
    rng = random.Random(16)
    ids = [f"T{n}" for n in range(60)]
    for _ in range(200):
        studies = {t: rng.choice(["ctgov", "ctis", "isrctn", ""]) for t in rng.sample(ids, 30)}
        kinds = [ALIAS, "ctis", "eudract", "ctgov"]
        rows = [
            Named(t, studies.get(t, ""), rng.choice(ids), rng.choice(kinds))
            for t in rng.choices(ids, k=40)
        ]
        assert crossref.same_trials(rows, studies) == _pairs_by_every_trial(rows, studies)


def _slow_partners(store: Store, trial_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``also_registered`` as if the trials were of several registries (every link read)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(store), "one_registry", lambda self: False)
        return crosscheck.also_registered(store, trial_ids)


def test_one_registry_reads_no_link_and_finds_the_same(store: Store) -> None:
    """With the trials of one registry stored, the registrations elsewhere are read from the
    asked trials' own links, and are those the reading of every link gives; a trial of
    another registry, or a link of a trial without a study row, turns that reading off."""
    add = "insert into studies (trial_id, registry, first_seen) values (?, ?, 'x')"
    link = "insert into trial_links (trial_id, registry, linked_id, kind) values (?, ?, ?, ?)"
    store.db.execute(add, ["NCT00000001", "ctgov"])
    store.db.execute(add, ["NCT00000002", None])  # before registries were recorded: ''
    store.db.execute(link, ["NCT00000001", "ctgov", "2019-000001-01", "eudract"])
    store.db.execute(link, ["NCT00000001", "ctgov", "NCT00000002", "ctgov"])
    store.db.execute(link, ["NCT00000002", "ctgov", "NCT00000001", ALIAS])
    asked = ["NCT00000001", "NCT00000002"]
    assert store.one_registry() is False  # '' and 'ctgov'
    store.db.execute("update studies set registry = 'ctgov'")
    assert store.one_registry() is True
    found = crosscheck.also_registered(store, asked)
    assert found == _slow_partners(store, asked)
    assert [e["watched"] for e in found["NCT00000001"]] == [True, False]  # stored, not stored
    assert crosscheck.cross_check(store, "2026-11-30T20:00:00Z", None, ChangesConfig()) == []
    store.db.execute(link, ["2024-513060-26-01", "ctis", "NCT00000001", "ctgov"])  # no study
    assert store.one_registry() is False
    store.db.execute(add, ["2024-513060-26-01", "ctis"])
    assert store.one_registry() is False
    assert crosscheck.also_registered(store, asked) == _slow_partners(store, asked)
