"""SYNTHETIC CTIS and ISRCTN records, built from the real captures in tests/data by named edits.

Every synthetic file under ``tests/data/ctis/`` and ``tests/data/isrctn/`` is made here (and a
test checks that the files on disk are exactly what this module builds), so each edit is
written down in one place. Run ``python -m tests.registry_synthetic`` to write them again.

CTIS, from the real ``retrieve_2024-513060-26-00.json`` (Ended, early termination):

- ``synthetic_..._recruiting.json``: the trial as it could have looked before it ended: public
  status 4 (Ongoing, recruiting) in the record and every member state, no early termination
  events, no end dates, the application label "Authorised";
- ``synthetic_..._edited.json``: the real record with a shifted estimated end (+92 days) and
  global end, Spain's planned subjects cut from 8 to 4, the primary endpoint reworded, a
  secondary endpoint added (number 8), inclusion criterion 2 reworded and exclusion criterion 23
  removed;
- ``synthetic_..._reordered.json``: the real record with every array reversed, every object's
  keys reversed and every translation text changed: the same trial, nothing to report;
- ``synthetic_2024-513060-26-01_resubmission.json``: a resubmission ``-01`` of the trial, listing
  ``-00`` under ``associatedClinicalTrials``.

ISRCTN, from the real ``query_colchicine.xml`` (trial ISRCTN41823570, version 36):

- ``synthetic_ISRCTN41823570_v37.xml``: version 37, ``recruitmentStatusOverride`` Stopped, the
  target enrolment cut from 440 to 300, the overall end moved from 2029-08-01 to 2029-12-31, the
  primary outcome's time points edited, a secondary outcome removed;
- ``synthetic_ISRCTN41823570_reordered.xml``: version 36 with every repeated element reversed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
CTIS = DATA / "ctis"
ISRCTN = DATA / "isrctn"
CT = "2024-513060-26-00"
REAL_CTIS = CTIS / f"retrieve_{CT}.json"
REAL_ISRCTN = ISRCTN / "query_colchicine.xml"
ISRCTN_ID = "ISRCTN41823570"


def real_ctis() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REAL_CTIS.read_text(encoding="utf-8"))
    return data


def part1(record: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = record["authorizedApplication"]["authorizedPartI"]
    return part


def information(record: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = part1(record)["trialDetails"]["trialInformation"]
    return info


def numbered(items: list[dict[str, Any]], number: int) -> dict[str, Any]:
    return next(i for i in items if i["number"] == number)


# ---------------------------------------------------------------- CTIS


def ctis_recruiting(record: dict[str, Any]) -> dict[str, Any]:
    """Before the end: status 4 everywhere, no early termination, no end dates."""
    r = copy.deepcopy(record)
    r["ctPublicStatusCode"] = 4
    r["ctStatus"] = "Authorised"
    for key in ("endDateEU",):
        r.pop(key)
    r["events"].pop("trialGlobalEndDate")
    for entry in r["events"]["trialEvents"]:
        entry["events"] = [
            e for e in entry["events"] if e["notificationType"] != "EARLY_TERMINATION"
        ]
        entry.pop("earlyTerminationReason")
    for msc in r["authorizedApplication"]["memberStatesConcerned"]:
        msc["mscPublicStatusCode"] = 4
    return r


def ctis_edited(record: dict[str, Any]) -> dict[str, Any]:
    """Dates, enrollment, endpoints and criteria edited (see the module docstring)."""
    r = copy.deepcopy(record)
    info = information(r)
    info["trialDuration"]["estimatedEndDate"] = "2027-10-31"
    info["trialDuration"]["estimatedGlobalEndDate"] = "2027-10-31"
    r["events"]["trialGlobalEndDate"] = "2024-12-19"
    spain = next(
        p
        for p in r["authorizedApplication"]["authorizedPartsII"]
        if p["mscInfo"]["mscName"] == "Spain"
    )
    spain["recruitmentSubjectCount"] = 4
    primary = info["endPoint"]["primaryEndPoints"][0]
    primary["endPoint"] = (
        "Frequency and severity of adverse events (AEs) and serious adverse events (SAEs)"
        " up to 24 months after ATL001 administration."
    )
    secondary = info["endPoint"]["secondaryEndPoints"]
    added = copy.deepcopy(secondary[0])
    added.update(number=8, id=999001, endPoint="Quality of life measured with the EORTC QLQ-C30.")
    secondary.insert(3, added)
    criteria = info["eligibilityCriteria"]
    numbered(criteria["principalInclusionCriteria"], 2)["principalInclusionCriteria"] = (
        "Patient must have given written informed consent before any study procedure"
    )
    criteria["principalExclusionCriteria"] = [
        c for c in criteria["principalExclusionCriteria"] if c["number"] != 23
    ]
    return r


def reordered(value: Any, translate: bool = False) -> Any:
    """Every array reversed and every object's keys reversed; translations edited on request."""
    if isinstance(value, dict):
        out = {}
        for key, v in reversed(list(value.items())):
            if translate and key == "attributeTranslation" and isinstance(v, str):
                v = f"{v} (synthetic translation edit)"
            out[key] = reordered(v, translate)
        return out
    if isinstance(value, list):
        return [reordered(v, translate) for v in reversed(value)]
    return value


def ctis_reordered(record: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = reordered(record, translate=True)
    return result


def ctis_resubmission(record: dict[str, Any]) -> dict[str, Any]:
    """``-01``: a resubmission of the trial that lists ``-00`` among its associated trials."""
    r = copy.deepcopy(record)
    r["ctNumber"] = "2024-513060-26-01"
    for entry in r["authorizedApplication"]["applicationInfo"]:
        entry["ctNumber"] = "2024-513060-26-01"
    part1(r)["trialDetails"]["associatedClinicalTrials"] = [{"ctNumber": CT}]
    return r


# ---------------------------------------------------------------- ISRCTN


def real_isrctn_trial() -> str:
    """The real ``<fullTrial>`` of ISRCTN41823570, byte for byte, in a one-trial answer."""
    text = REAL_ISRCTN.read_text(encoding="utf-8")
    start = text.index("<fullTrial>")
    end = text.index("</fullTrial>") + len("</fullTrial>")
    assert ISRCTN_ID in text[start:end]
    return f'<allTrials totalCount="1" xmlns="http://www.67bricks.com/isrctn">{text[start:end]}</allTrials>'


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


END_PRIMARY = "\n\t</outcomeMeasure>\n      </primaryOutcomes>"


def isrctn_v37(text: str) -> str:
    edits = [
        ('version="36"', 'version="37"'),
        (
            'lastUpdated="2026-07-27T09:27:35.342944265Z"',
            'lastUpdated="2026-09-02T10:00:00.000000000Z"',
        ),
        (
            "<recruitmentStatusOverride/>",
            "<recruitmentStatusOverride>Stopped</recruitmentStatusOverride>",
        ),
        ("<targetEnrolment>440</targetEnrolment>", "<targetEnrolment>300</targetEnrolment>"),
        (
            "<overallEndDate>2029-08-01T00:00:00.000Z</overallEndDate>",
            "<overallEndDate>2029-12-31T00:00:00.000Z</overallEndDate>",
        ),
        (
            f"<timepoints>2, 4 and 12 weeks</timepoints>{END_PRIMARY}",
            f"<timepoints>2, 4, 12 and 52 weeks</timepoints>{END_PRIMARY}",
        ),
    ]
    for old, new in edits:
        text = replace_once(text, old, new)
    start = text.index('<outcomeMeasure id="e880e3c0-cc48-45c8-89b5-ba7ca057bca3">')
    end = text.index("</outcomeMeasure>", start) + len("</outcomeMeasure>")
    return text[:start] + text[end:]


def isrctn_reordered(text: str) -> str:
    """Every run of repeated sibling elements reversed (the XML is re-serialized)."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", "http://www.67bricks.com/isrctn")
    root = ET.fromstring(text)

    def flip(element: ET.Element) -> None:
        children = list(element)
        tags = [c.tag for c in children]
        for tag in set(tags):
            if tags.count(tag) > 1:
                positions = [i for i, t in enumerate(tags) if t == tag]
                for i, child in zip(
                    positions, reversed([children[i] for i in positions]), strict=True
                ):
                    element[i] = child
        for child in element:
            flip(child)

    flip(root)
    return ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------- the files


def ctis_file(name: str, build: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[Path, str]:
    return CTIS / name, json.dumps(build(real_ctis()), ensure_ascii=False, indent=1) + "\n"


def files() -> list[tuple[Path, str]]:
    """Every synthetic file: (path, content)."""
    trial = real_isrctn_trial()
    return [
        ctis_file(f"synthetic_{CT}_recruiting.json", ctis_recruiting),
        ctis_file(f"synthetic_{CT}_edited.json", ctis_edited),
        ctis_file(f"synthetic_{CT}_reordered.json", ctis_reordered),
        ctis_file("synthetic_2024-513060-26-01_resubmission.json", ctis_resubmission),
        (ISRCTN / f"synthetic_{ISRCTN_ID}_v37.xml", isrctn_v37(trial)),
        (ISRCTN / f"synthetic_{ISRCTN_ID}_reordered.xml", isrctn_reordered(trial)),
    ]


def main() -> None:
    for path, content in files():
        path.write_text(content, encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
