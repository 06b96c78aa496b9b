"""The ISRCTN normalizer on the five real trials of the colchicine answer and synthetic edits."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from monitor.compare import compare
from monitor.errors import RecordError
from monitor.registries.isrctn import xml
from monitor.registries.isrctn.normalize import calendar_of, normalize, source_key, trial_id_of
from monitor.registries.isrctn.status import Calendar
from tests import registry_synthetic as synthetic

TODAY = date(2026, 9, 1)


def canonical(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def raws(text: str | bytes) -> dict[str, dict[str, Any]]:
    root = xml.parse(text)
    return {xml.trial_id(t) or "?": xml.record_of(t) for t in xml.trials(root)}


@pytest.fixture(scope="module")
def real() -> dict[str, dict[str, Any]]:
    return raws(synthetic.REAL_ISRCTN.read_bytes())


@pytest.fixture(scope="module")
def records(real: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: normalize(v, TODAY) for k, v in real.items()}


def test_every_real_trial_normalizes(records: dict[str, dict[str, Any]]) -> None:
    assert sorted(records) == [
        "ISRCTN12564318",
        "ISRCTN15873887",
        "ISRCTN41823570",
        "ISRCTN85064961",
        "ISRCTN91308625",
    ]
    for trial_id, record in records.items():
        assert record["identification"]["trial_id"] == trial_id
        assert record["identification"]["registry"] == "isrctn"
        assert record["status"]["derived"] is True


def test_identification_and_ids_in_other_registries(records: dict[str, dict[str, Any]]) -> None:
    ident = records["ISRCTN41823570"]["identification"]
    assert ident["acronym"] == "EASE-COPD"
    assert ident["org_study_id"] == "CPMS: 58327"
    assert {(i["type"], i["id"]) for i in ident["secondary_ids"]} == {
        ("DOI", "10.1186/ISRCTN41823570"),
        ("iras", "1010119"),
        ("cpms", "58327"),
    }


def test_a_device_id_in_the_eudract_field_stays_a_plain_secondary_id(
    records: dict[str, dict[str, Any]],
) -> None:
    ids = records["ISRCTN15873887"]["identification"]["secondary_ids"]
    assert {"type": "ctis", "id": "CIV-ID 23-12-045096"} in ids
    assert not any(i["type"] == "EUDRACT_NUMBER" for i in ids)  # listed once, by its number type


def test_enrollment_final_zero_means_unknown(records: dict[str, dict[str, Any]]) -> None:
    assert records["ISRCTN41823570"]["enrollment"] == {
        "count": 440,
        "type": "ESTIMATED",
        "target": 440,
    }
    assert records["ISRCTN15873887"]["enrollment"] == {"count": 35, "type": "ACTUAL", "target": 50}
    assert records["ISRCTN85064961"]["enrollment"]["count"] == 65  # final enrolment is empty


def test_eligibility(records: dict[str, dict[str, Any]]) -> None:
    e = records["ISRCTN41823570"]["eligibility"]
    assert e["minimum_age"] == "40 Years"
    assert e["maximum_age"] == "99 Years"
    assert e["sex"] == "ALL"
    assert e["healthy_volunteers"] is False
    assert e["inclusion"][0] == "Be willing and able to give consent to participate"
    assert len(e["inclusion"]) == 4
    assert len(e["exclusion"]) == 16
    assert "[lecithin]" in e["exclusion"][1]  # the Markdown escape \\[ is cleaned
    assert records["ISRCTN85064961"]["eligibility"]["sex"] == "MALE"


def test_outcomes_structured_and_free_text(records: dict[str, dict[str, Any]]) -> None:
    structured = records["ISRCTN41823570"]["outcomes"]
    assert len(structured["primary"]) == 1
    assert structured["primary"][0]["time_frame"] == "2, 4 and 12 weeks"
    assert len(structured["secondary"]) == 11
    legacy = records["ISRCTN85064961"]["outcomes"]
    assert len(legacy["primary"]) == 2
    assert len(legacy["secondary"]) == 9
    assert legacy["primary"][0]["measure"].startswith("Indication-related")


def test_dates_design_interventions(records: dict[str, dict[str, Any]]) -> None:
    r = records["ISRCTN41823570"]
    assert r["dates"] == {
        "completion": {"date": "2029-08-01"},
        "recruitment_start": {"date": "2026-07-23"},
        "recruitment_end": {"date": "2028-03-31"},
    }
    assert r["design"]["phases"] == ["PHASE3"]
    assert r["design"]["allocation"] == "Randomized controlled trial"
    assert r["interventions"][0]["type"] == "Drug"
    assert records["ISRCTN91308625"]["design"]["phases"] == ["NA"]


def test_sponsors_funders_contacts_centres(records: dict[str, dict[str, Any]]) -> None:
    r = records["ISRCTN91308625"]
    assert r["sponsor"]["lead"]["name"] == "King's College London"
    assert {(c["name"], c["role"]) for c in r["sponsor"]["collaborators"]} == {
        ("Guy's Hospital", "co-sponsor"),
        ("Guy's and St Thomas' NHS Foundation Trust", "funder"),
    }
    assert r["contacts"]["officials"][0]["name"] == "Dr Michael Robson"
    assert [loc.get("facility") for loc in r["locations"]] == [
        None,
        "Guy's and St Thomas' Hospitals",
    ]
    assert records["ISRCTN15873887"]["locations"][0]["country"] == "Sweden"


def test_admin_carries_version_and_last_update(records: dict[str, dict[str, Any]]) -> None:
    assert records["ISRCTN41823570"]["admin"]["version"] == 36
    assert records["ISRCTN41823570"]["admin"]["last_update_posted"] == {"date": "2026-07-27"}


def test_the_status_moves_with_the_calendar_alone(real: dict[str, dict[str, Any]]) -> None:
    raw = real["ISRCTN41823570"]
    before = normalize(raw, date(2026, 7, 22))
    after = normalize(raw, date(2026, 7, 23))
    assert before["status"]["overall_status"] == "Not yet recruiting"
    assert after["status"]["overall_status"] == "Recruiting"
    assert [d.dotted for d in compare(before, after)] == ["status.overall_status"]


def test_the_source_key_moves_with_the_derived_status_only(real: dict[str, dict[str, Any]]) -> None:
    raw = real["ISRCTN41823570"]
    assert source_key(raw, date(2026, 8, 1)) == source_key(raw, date(2027, 1, 1))
    assert source_key(raw, date(2026, 7, 22)) != source_key(raw, date(2026, 7, 23))


def test_the_calendar_of_a_record(real: dict[str, dict[str, Any]]) -> None:
    assert calendar_of(real["ISRCTN41823570"]) == Calendar(
        recruitment_start="2026-07-23", recruitment_end="2028-03-31", overall_end="2029-08-01"
    )


def test_version_37_differs_where_it_was_edited(records: dict[str, dict[str, Any]]) -> None:
    edited_text = (synthetic.ISRCTN / "synthetic_ISRCTN41823570_v37.xml").read_bytes()
    edited = normalize(raws(edited_text)["ISRCTN41823570"], TODAY)
    paths = {d.path[:2] for d in compare(records["ISRCTN41823570"], edited)}
    assert paths == {
        ("status", "overall_status"),
        ("dates", "completion"),
        ("enrollment", "count"),
        ("enrollment", "target"),
        ("outcomes", "primary"),
        ("outcomes", "secondary"),
        ("admin", "version"),
        ("admin", "last_update_posted"),
    }
    assert edited["status"]["overall_status"] == "Stopped"


def test_repeated_elements_reordered_are_the_same_record(
    records: dict[str, dict[str, Any]],
) -> None:
    text = (synthetic.ISRCTN / "synthetic_ISRCTN41823570_reordered.xml").read_bytes()
    assert text != synthetic.real_isrctn_trial().encode()
    record = normalize(raws(text)["ISRCTN41823570"], TODAY)
    assert canonical(record) == canonical(records["ISRCTN41823570"])


def test_a_single_full_trial_root_is_read() -> None:
    text = synthetic.real_isrctn_trial()
    inner = text[text.index("<fullTrial>") : text.rindex("</allTrials>")]
    single = inner.replace("<fullTrial>", '<fullTrial xmlns="http://www.67bricks.com/isrctn">', 1)
    assert list(raws(single)) == ["ISRCTN41823570"]


def test_placeholders_are_no_ids(real: dict[str, dict[str, Any]]) -> None:
    raw = orjson.loads(orjson.dumps(real["ISRCTN85064961"]))
    raw["fullTrial"]["trial"]["externalRefs"]["eudraCTNumber"] = "Nil known"
    raw["fullTrial"]["trial"]["externalRefs"]["clinicalTrialsGovNumber"] = "NCT04032847"
    ids = normalize(raw, TODAY)["identification"]["secondary_ids"]
    assert {"type": "NCT_NUMBER", "id": "NCT04032847"} in ids
    assert not any(i["id"] == "Nil known" for i in ids)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "one <fullTrial>"),
        ({"fullTrial": {"contact": []}}, "no <trial>"),
        ({"fullTrial": {"trial": {"isrctn": "123"}}}, "no ISRCTN number"),
    ],
)
def test_what_is_not_a_trial_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        normalize(raw, TODAY)


def test_trial_id_of_reads_the_canonical_identifier(real: dict[str, dict[str, Any]]) -> None:
    assert trial_id_of(real["ISRCTN12564318"]) == "ISRCTN12564318"


def test_the_input_is_not_changed(real: dict[str, dict[str, Any]]) -> None:
    raw = real["ISRCTN91308625"]
    before = canonical(raw)
    normalize(raw, TODAY)
    assert canonical(raw) == before
