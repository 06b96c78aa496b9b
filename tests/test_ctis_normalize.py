"""The CTIS normalizer on the real retrieve record and its labelled synthetic edits."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import orjson
import pytest

from monitor.compare import compare
from monitor.errors import RecordError
from monitor.registries.ctis.normalize import normalize, source_key
from tests import registry_synthetic as synthetic


def canonical(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((synthetic.CTIS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    return synthetic.real_ctis()


@pytest.fixture(scope="module")
def record(real: dict[str, Any]) -> dict[str, Any]:
    return normalize(real)


def test_identification_keeps_the_ids_in_other_registries(record: dict[str, Any]) -> None:
    ident = record["identification"]
    assert ident["trial_id"] == "2024-513060-26-00"
    assert ident["registry"] == "ctis"
    assert ident["acronym"] == "ATX-NS-001"
    assert ident["brief_title"].startswith("A first-in-human clinical trial")
    assert ident["secondary_ids"] == [
        {"type": "EUDRACT_NUMBER", "id": "2018-001005-85", "domain": "transitioned to CTIS"},
        {"type": "NCT_NUMBER", "id": "NCT04032847"},
    ]


def test_status_is_the_public_code_in_words_and_the_early_end_from_the_events(
    record: dict[str, Any],
) -> None:
    status = record["status"]
    assert status["overall_status"] == "Ended (early termination)"
    assert status["early_termination"] == {"date": "2024-09-17", "reason": "Sponsor Decision"}
    assert status["why_stopped"] == "Sponsor Decision"
    assert status["by_country"] == {
        "France": "Ended (early termination)",
        "Germany": "Ended (early termination)",
        "Spain": "Ended (early termination)",
    }


def test_the_application_label_ctstatus_is_not_the_status(real: dict[str, Any]) -> None:
    edited = {**real, "ctStatus": "Authorised"}
    assert normalize(edited)["status"] == normalize(real)["status"]
    assert normalize(edited)["admin"]["application_status"] == "Authorised"


def test_without_a_public_code_the_label_is_all_there_is(real: dict[str, Any]) -> None:
    edited = {k: v for k, v in real.items() if k != "ctPublicStatusCode"}
    assert normalize(edited)["status"]["overall_status"] == "Ended"


def test_an_early_termination_in_one_member_state_is_that_country_s(real: dict[str, Any]) -> None:
    edited = synthetic.ctis_recruiting(real)
    edited["ctPublicStatusCode"] = 8
    france = next(e for e in edited["events"]["trialEvents"] if e["mscName"] == "France")
    france["events"].append({"notificationType": "EARLY_TERMINATION", "date": "2024-05-01"})
    for msc in edited["authorizedApplication"]["memberStatesConcerned"]:
        msc["mscPublicStatusCode"] = 8
    status = normalize(edited)["status"]
    assert status["overall_status"] == "Ended"
    assert "early_termination" not in status
    assert status["by_country"]["France"] == "Ended (early termination)"
    assert status["by_country"]["Spain"] == "Ended"


def test_dates_come_from_events_then_estimates(record: dict[str, Any]) -> None:
    dates = record["dates"]
    assert dates["start"] == {"date": "2021-04-07", "type": "ACTUAL"}
    assert dates["recruitment_start"] == {"date": "2021-09-21", "type": "ACTUAL"}
    assert dates["completion"] == {"date": "2024-09-17", "type": "ACTUAL"}
    assert dates["global_end"] == {"date": "2024-09-18", "type": "ACTUAL"}
    assert dates["end_by_country"]["Germany"] == {"date": "2024-09-17", "type": "ACTUAL"}
    assert dates["start_by_country"]["France"] == {"date": "2022-03-31", "type": "ACTUAL"}
    assert dates["recruitment_start_by_country"]["France"]["date"] == "2022-08-24"


def test_member_states_declare_their_periods_when_no_event_tells() -> None:
    real = synthetic.real_ctis()
    real["events"]["trialEvents"] = []  # a transitioned trial before its first event
    dates = normalize(real)["dates"]
    assert dates["start_by_country"]["Spain"] == {"date": "2021-04-07", "type": "ACTUAL"}
    assert dates["recruitment_start_by_country"]["Germany"]["date"] == "2022-08-25"
    assert "end_by_country" not in dates


def test_a_running_trial_has_estimated_ends(real: dict[str, Any]) -> None:
    record = normalize(synthetic.ctis_recruiting(real))
    assert record["status"]["overall_status"] == "Ongoing, recruiting"
    assert set(record["status"]["by_country"].values()) == {"Ongoing, recruiting"}
    assert record["dates"]["completion"] == {"date": "2027-07-31", "type": "ESTIMATED"}
    assert record["dates"]["global_end"] == {"date": "2027-07-31", "type": "ESTIMATED"}
    assert "end_by_country" not in record["dates"]


def test_enrollment_is_the_planned_subjects(record: dict[str, Any]) -> None:
    assert record["enrollment"] == {
        "count": 50,
        "type": "ESTIMATED",
        "by_country": {"France": 8, "Germany": 8, "Spain": 8},
        "outside_eea": 26,
    }


def test_endpoints_and_criteria_are_in_number_order(
    real: dict[str, Any], record: dict[str, Any]
) -> None:
    info = synthetic.information(real)
    criteria = info["eligibilityCriteria"]["principalInclusionCriteria"]
    assert [c["number"] for c in criteria][:3] == [1, 10, 11]  # the registry's own order
    expected = [
        c["principalInclusionCriteria"] for c in sorted(criteria, key=lambda c: c["number"])
    ]
    assert record["eligibility"]["inclusion"] == [" ".join(t.split()) for t in expected]
    assert len(record["eligibility"]["exclusion"]) == 23
    # outcomes are a keyed list (by measure, as every registry's): each keeps its number
    assert sorted(o["number"] for o in record["outcomes"]["secondary"]) == [1, 2, 3, 4, 5, 6, 7]
    assert record["outcomes"]["primary"][0]["measure"].startswith("Frequency and severity")


def test_population_design_and_products(record: dict[str, Any]) -> None:
    assert record["eligibility"]["sex"] == "ALL"
    assert record["eligibility"]["std_ages"] == ["18-64 years", "65+ years"]
    assert record["design"]["phases"] == ["PHASE1", "PHASE2"]
    names = [i["name"] for i in record["interventions"]]
    assert names == ["ATL001", "KEYTRUDA 25 mg/mL concentrate for solution for infusion"]
    assert record["interventions"][1]["other_names"] == ["PEMBROLIZUMAB"]


def test_sponsor_sites_countries_and_conditions(record: dict[str, Any]) -> None:
    assert record["sponsor"]["lead"]["name"] == "Achilles Therapeutics UK Limited"
    assert record["sponsor"]["lead"]["class"] == "Commercial"
    third = {c["name"] for c in record["sponsor"]["collaborators"]}
    assert third == {"Median Technologies", "PPD Global Limited", "Veristat LLC"}
    sites = [loc for loc in record["locations"] if "facility" in loc]
    assert len(sites) == 8
    assert {loc["country"] for loc in record["locations"] if "facility" not in loc} == {
        "United Kingdom",
        "United States",
    }
    assert record["conditions"]["conditions"] == ["Non-small cell lung cancer"]
    assert len(record["conditions"]["keywords"]) == 27


def test_results_and_documents(record: dict[str, Any]) -> None:
    assert record["results"]["has_results"] is True
    assert record["results"]["first_submitted"] == "2025-02-18"
    assert len(record["references"]["links"]) == 5


def test_translations_are_ignored(real: dict[str, Any], record: dict[str, Any]) -> None:
    text = canonical(record).decode()
    assert "Étude multicentrique" not in text  # the French full title
    assert "translation" not in text.lower()


def test_database_row_keys_are_bookkeeping(record: dict[str, Any]) -> None:
    text = canonical(record).decode()
    assert re.search(r'"id":\d', text) is None
    assert "msc_id" not in text
    assert "part1_id" not in text


def test_nothing_is_dropped_silently(record: dict[str, Any]) -> None:
    """What no section maps stays in ``other``; the regulatory bookkeeping is ``admin``."""
    other = record["other"]["authorized_application"]["authorized_part_i"]
    assert other == {
        "product_role_group_infos": [
            {"comments": "ATL001, KEYTRUDA 25 mg/mL concentrate for solution for infusion"}
        ]
    }
    admin = record["admin"]
    assert admin["applications"][0]["type"] == "INITIAL"
    assert admin["member_states"]["Spain"]["msc_info"]["decision"] == "authorized"
    assert admin["member_states"]["France"]["first_decision_date"] == "2024-06-07"
    assert admin["assessment"]["assessment_outcome"] == "acceptable"
    assert record["oversight"]["scientific_advice"] == [
        "Medicines And Healthcare Products Regulatory Agency",
        "Paul-Ehrlich-Institut",
    ]


def test_every_array_reordered_and_translations_edited_is_the_same_record(
    record: dict[str, Any],
) -> None:
    reordered = load("synthetic_2024-513060-26-00_reordered.json")
    assert reordered != synthetic.real_ctis()
    assert canonical(normalize(reordered)) == canonical(record)


@pytest.mark.parametrize("seed", range(8))
def test_any_shuffle_of_arrays_and_keys_is_the_same_record(
    real: dict[str, Any], record: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)

    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            pairs = list(value.items())
            rng.shuffle(pairs)
            return {k: shuffle(v) for k, v in pairs}
        if isinstance(value, list):
            items = [shuffle(v) for v in value]
            rng.shuffle(items)
            return items
        return value

    assert canonical(normalize(shuffle(real))) == canonical(record)


def test_the_edited_copy_differs_exactly_where_it_was_edited(record: dict[str, Any]) -> None:
    edited = normalize(load("synthetic_2024-513060-26-00_edited.json"))
    paths = {d.path[:2] for d in compare(record, edited)}
    assert paths == {
        ("dates", "global_end"),
        ("enrollment", "count"),
        ("enrollment", "by_country"),
        ("outcomes", "primary"),
        ("outcomes", "secondary"),
        ("eligibility", "inclusion"),
        ("eligibility", "exclusion"),
    }
    assert edited["enrollment"]["count"] == 46
    newest = max(edited["outcomes"]["secondary"], key=lambda o: o["number"])
    assert newest == {
        "measure": "Quality of life measured with the EORTC QLQ-C30.",
        "number": 8,
    }


def test_the_estimated_end_is_read_while_the_trial_runs() -> None:
    before = normalize(synthetic.ctis_recruiting(synthetic.real_ctis()))
    after = normalize(synthetic.ctis_recruiting(load("synthetic_2024-513060-26-00_edited.json")))
    assert before["dates"]["completion"]["date"] == "2027-07-31"
    assert after["dates"]["completion"] == {"date": "2027-10-31", "type": "ESTIMATED"}


def test_a_resubmission_names_its_earlier_number_as_alias() -> None:
    record = normalize(load("synthetic_2024-513060-26-01_resubmission.json"))
    assert record["identification"]["trial_id"] == "2024-513060-26-01"
    assert record["identification"]["aliases"] == ["2024-513060-26-00"]


def test_another_trial_associated_is_a_secondary_id(real: dict[str, Any]) -> None:
    edited = json.loads(json.dumps(real))
    details = synthetic.part1(edited)["trialDetails"]
    details["associatedClinicalTrials"] = [{"ctNumber": "2023-505613-24-00"}]
    ident = normalize(edited)["identification"]
    assert "aliases" not in ident
    assert {"type": "ASSOCIATED_TRIAL", "id": "2023-505613-24-00", "domain": "CTIS"} in ident[
        "secondary_ids"
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "empty CTIS record"),
        ([], "must be a JSON object"),
        ({"ctNumber": "2018-001005-85"}, "expected an EU CT number"),
        ({"ctNumber": None, "ctStatus": "Ended"}, "expected an EU CT number"),
    ],
)
def test_what_is_not_a_record_is_refused(raw: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        normalize(raw)


def test_a_wrong_shape_is_a_record_error(real: dict[str, Any]) -> None:
    edited = json.loads(json.dumps(real))
    edited["authorizedApplication"]["authorizedPartsII"] = {"not": "a list"}
    with pytest.raises(RecordError, match="authorizedPartsII"):
        normalize(edited)


def test_the_source_key_ignores_key_order_and_sees_content(real: dict[str, Any]) -> None:
    assert source_key(real) == source_key(dict(reversed(list(real.items()))))
    assert source_key(real) != source_key({**real, "ctPublicStatusCode": 4})
    assert source_key(real).startswith("v2:")


def test_the_input_is_not_changed(real: dict[str, Any]) -> None:
    before = canonical(real)
    normalize(real)
    assert canonical(real) == before


def test_the_synthetic_files_are_what_the_generator_builds() -> None:
    for path, content in synthetic.files():
        assert path.read_text(encoding="utf-8") == content, path.name
