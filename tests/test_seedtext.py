"""The registry-page text parser, against the seed document itself.

``tests/data/seed_NCT06009107.txt`` is a byte-identical copy of the seed document
``../shared/seeds/000_8367b1182d448020.txt`` (the registry page of NCT06009107 as text).
The broken variants are made here by editing that text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.errors import ParseError
from monitor.registries.ctgov.seedtext import parse_page

DATA = Path(__file__).parent / "data"
SEED = (DATA / "seed_NCT06009107.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def study() -> dict[str, Any]:
    return parse_page(SEED, "seed.txt")


@pytest.fixture(scope="module")
def ps(study: dict[str, Any]) -> dict[str, Any]:
    protocol: dict[str, Any] = study["protocolSection"]
    return protocol


def test_identification(ps: dict[str, Any]) -> None:
    assert ps["identificationModule"] == {
        "nctId": "NCT06009107",
        "briefTitle": "A Study of HY004 Treatment in Adult Relapsed/Refractory B-precursor "
        "Acute Lymphoblastic Leukemia (r/r B-ALL)",
        "orgStudyIdInfo": {"id": "HY004101"},
    }


def test_status(ps: dict[str, Any]) -> None:
    assert ps["statusModule"] == {
        "overallStatus": "WITHDRAWN",
        "startDateStruct": {"date": "2025-06-30"},
        "completionDateStruct": {"date": "2027-12-30"},
        "lastUpdatePostDateStruct": {"date": "2025-08-08"},
    }


def test_results_pending_means_no_results(study: dict[str, Any]) -> None:
    assert study["hasResults"] is False


def test_description_keeps_markdown_escapes_and_paragraphs(ps: dict[str, Any]) -> None:
    module = ps["descriptionModule"]
    assert module["briefSummary"].startswith("This is a multi-center, phase I/II trial")
    assert module["briefSummary"].endswith("(r/r B-cell ALL).")
    detailed = module["detailedDescription"]
    assert "(aged 18\\~65 years old)" in detailed
    assert "(Cell Product manufacture \\& lymphodepletion)" in detailed
    first, second = detailed.split("\n\n")
    assert first.startswith("This trial is a multi-center, open label, single-arm")
    assert second.endswith("will be followed for up to 2 years.")
    assert "Dive into" not in detailed  # the heading's descriptive sentence is not data


def test_conditions(ps: dict[str, Any]) -> None:
    assert ps["conditionsModule"] == {"conditions": ["B-cell Acute Lymphoblastic Leukemia"]}


def test_design(ps: dict[str, Any]) -> None:
    assert ps["designModule"] == {
        "studyType": "INTERVENTIONAL",
        "phases": ["PHASE1", "PHASE2"],
        "designInfo": {
            "allocation": "NA",
            "interventionModel": "SINGLE_GROUP",
            "primaryPurpose": "TREATMENT",
            "maskingInfo": {"masking": "NONE"},
        },
    }


def test_arm_group(ps: dict[str, Any]) -> None:
    (arm,) = ps["armsInterventionsModule"]["armGroups"]
    assert arm["label"] == "Participant Group"
    assert arm["type"] == "EXPERIMENTAL"
    assert arm["description"].startswith("Participants with relapsed or refractory")
    assert "mg/m\\^2 intravenously \\[IV\\]" in arm["description"]
    assert arm["interventionNames"] == [
        "Biological: HY004",
        "Drug: Cyclophosphamide",
        "Drug: Fludarabine Phosphate",
    ]


def test_interventions(ps: dict[str, Any]) -> None:
    labels = ["Participant Group"]
    assert ps["armsInterventionsModule"]["interventions"] == [
        {
            "type": "BIOLOGICAL",
            "name": "HY004",
            "description": "A single infusion of Autologous 2nd generation CD19/CD22-directed "
            "CAR-T cells administered intravenously.",
            "armGroupLabels": labels,
        },
        {
            "type": "DRUG",
            "name": "Cyclophosphamide",
            "description": "Administered intravenously.",
            "armGroupLabels": labels,
        },
        {
            "type": "DRUG",
            "name": "Fludarabine Phosphate",
            "description": "Administered intravenously.",
            "armGroupLabels": labels,
        },
    ]


def test_eligibility(ps: dict[str, Any]) -> None:
    module = dict(ps["eligibilityModule"])
    criteria = module.pop("eligibilityCriteria")
    assert module == {
        "minimumAge": "18 Years",
        "maximumAge": "65 Years",
        "sex": "ALL",
        "healthyVolunteers": False,
    }
    inclusion, exclusion = criteria.split("\n\nExclusion Criteria:\n\n")
    assert inclusion.startswith("Inclusion Criteria:\n\n1. Signed written informed consent")
    assert len(inclusion.split("\n\n")[1].split("\n")) == 7
    items = exclusion.split("\n")
    assert len(items) == 10
    assert items[-1] == "10. Patients with an expected lifespan of less than 3 months."


def test_sponsor_and_responsible_party(ps: dict[str, Any]) -> None:
    assert ps["sponsorCollaboratorsModule"] == {
        "leadSponsor": {"name": "Juventas Cell Therapy Ltd.", "class": "INDUSTRY"},
        "responsibleParty": {"type": "SPONSOR"},
    }


def test_officials(ps: dict[str, Any]) -> None:
    assert ps["contactsLocationsModule"] == {
        "overallOfficials": [
            {
                "name": "Jianxiang Wang M.D.",
                "affiliation": "Institute of Hematology & Blood Diseases Hospital",
                "role": "PRINCIPAL_INVESTIGATOR",
            }
        ]
    }


def test_only_the_modules_the_page_shows(ps: dict[str, Any]) -> None:
    assert set(ps) == {
        "identificationModule",
        "statusModule",
        "sponsorCollaboratorsModule",
        "descriptionModule",
        "conditionsModule",
        "designModule",
        "armsInterventionsModule",
        "eligibilityModule",
        "contactsLocationsModule",
    }
    assert "primaryCompletionDateStruct" not in ps["statusModule"]


def test_equals_the_synthetic_api_json(ps: dict[str, Any]) -> None:
    """tests/data/NCT06009107_api_synthetic.json is SYNTHETIC: hand-built from the seed page."""
    api = orjson.loads((DATA / "NCT06009107_api_synthetic.json").read_bytes())
    for module in ps:
        assert ps[module] == api["protocolSection"][module], module
    assert set(api["protocolSection"]) == set(ps)


def test_crlf_and_sections_in_another_order() -> None:
    lines = SEED.split("\n")
    sponsors = lines.index("Sponsors")
    moved = lines[sponsors : sponsors + 9]
    assert moved[-1] == "Sponsor Role lead"
    reordered = lines[:6] + moved + [""] + lines[6:sponsors] + lines[sponsors + 9 :]
    study = parse_page("\r\n".join(reordered), "x.txt")
    assert study["protocolSection"] == parse_page(SEED, "seed.txt")["protocolSection"]


def test_absent_sections_are_absent() -> None:
    text = "Some title\n\nNCT ID: nct00000001\n\nRecruitment Status\n\nRECRUITING\n"
    assert parse_page(text, "x.txt") == {
        "protocolSection": {
            "identificationModule": {"briefTitle": "Some title", "nctId": "NCT00000001"},
            "statusModule": {"overallStatus": "RECRUITING"},
        }
    }


MULTI_ARM = """\
T

NCT ID: NCT00000002

Study Groups

Arm A

First paragraph of A.

Second paragraph of A.

Group Type EXPERIMENTAL

Drug X

Intervention Type DRUG

X is given.

Device Y

Intervention Type DEVICE

Arm B

Group Type PLACEBO_COMPARATOR

Placebo

Intervention Type OTHER

Sugar pill.

Interventions

Drug X

X is given.

Intervention Type DRUG

Device Y

Intervention Type DEVICE

Placebo

Sugar pill.

Intervention Type OTHER
"""


def test_several_arms_with_interventions_under_each() -> None:
    module = parse_page(MULTI_ARM, "x.txt")["protocolSection"]["armsInterventionsModule"]
    assert module["armGroups"] == [
        {
            "label": "Arm A",
            "type": "EXPERIMENTAL",
            "description": "First paragraph of A.\n\nSecond paragraph of A.",
            "interventionNames": ["Drug: Drug X", "Device: Device Y"],
        },
        {
            "label": "Arm B",
            "type": "PLACEBO_COMPARATOR",
            "interventionNames": ["Other: Placebo"],
        },
    ]
    assert module["interventions"] == [
        {
            "type": "DRUG",
            "name": "Drug X",
            "description": "X is given.",
            "armGroupLabels": ["Arm A"],
        },
        {"type": "DEVICE", "name": "Device Y", "armGroupLabels": ["Arm A"]},
        {
            "type": "OTHER",
            "name": "Placebo",
            "description": "Sugar pill.",
            "armGroupLabels": ["Arm B"],
        },
    ]


def _edit(old: str, new: str) -> str:
    assert SEED.count(old) == 1, old
    return SEED.replace(old, new)


def _line_of(text: str, needle: str) -> int:
    return text.split("\n").index(needle) + 1


BROKEN = {
    "no NCT ID line": (_edit("NCT ID: NCT06009107\n", ""), 1, "NCT ID"),
    "bad NCT ID": (_edit("NCT ID: NCT06009107", "NCT ID: NCT6009107"), 3, "not an NCT ID"),
    "unknown status": (_edit("\nWITHDRAWN\n", "\nWITHDRAWNED\n"), 19, "WITHDRAWNED"),
    "date not yyyy-MM-dd": (_edit("\n2025-06-30\n", "\n30/06/2025\n"), 31, "not a date"),
    "month 13": (_edit("\n2027-12-30\n", "\n2027-13\n"), 35, "not a date"),
    "bad last-updated date": (_edit("Last Updated: 2025-08-08", "Last Updated: soon"), 5, "date"),
    "heading without value": (_edit("\nWITHDRAWN\n", "\n"), 17, "has no value"),
    "garbage after value": (_edit("\nPHASE1/PHASE2\n", "\nPHASE1/PHASE2\n\nsoon\n"), 25, "after"),
    "unknown phase": (_edit("PHASE1/PHASE2", "PHASE1/PHASE9"), 23, "PHASE9"),
    "healthy volunteers not yes/no": (_edit("\nNo\n", "\nMaybe\n"), 167, "Yes or No"),
    "unknown intervention type": (
        _edit("Intervention Type BIOLOGICAL\n\nA single", "Intervention Type CELLS\n\nA single"),
        89,
        "CELLS",
    ),
    "sponsor without role": (_edit("Sponsor Role lead\n", ""), 173, "Sponsor Role"),
    "official without role line": (_edit("Role: PRINCIPAL_INVESTIGATOR\n\n", ""), 191, "Role:"),
    "repeated heading": (SEED + "\n\nEligible Sex\n\nALL\n", 209, "repeated"),
    "text before the first section": (_edit("NCT ID", "A subtitle\n\nNCT ID"), 3, "unexpected"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_broken_variants_name_the_line(name: str) -> None:
    text, line, words = BROKEN[name]
    with pytest.raises(ParseError) as caught:
        parse_page(text, "broken.txt")
    assert caught.value.line == line
    assert caught.value.path == "broken.txt"
    assert str(caught.value).startswith(f"broken.txt:{line}: ")
    assert words in str(caught.value)


def test_line_numbers_of_the_seed_are_the_editor_ones() -> None:
    assert _line_of(SEED, "WITHDRAWN") == 19
    assert _line_of(SEED, "Accepts Healthy Volunteers") == 165


def test_interventions_come_from_the_arms_when_the_section_is_absent() -> None:
    text = MULTI_ARM[: MULTI_ARM.index("Interventions\n")]
    module = parse_page(text, "x.txt")["protocolSection"]["armsInterventionsModule"]
    assert [i["name"] for i in module["interventions"]] == ["Drug X", "Device Y", "Placebo"]
    assert module["interventions"][0]["description"] == "X is given."
    assert module["armGroups"][1]["label"] == "Arm B"

    lines = SEED.split("\n")
    start, end = lines.index("Interventions"), lines.index("Eligibility Criteria")
    seed_without = "\n".join(lines[:start] + lines[end:])
    expected = parse_page(SEED, "seed.txt")["protocolSection"]["armsInterventionsModule"]
    got = parse_page(seed_without, "x.txt")["protocolSection"]["armsInterventionsModule"]
    assert got == expected
