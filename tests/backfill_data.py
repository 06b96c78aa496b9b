"""SYNTHETIC record-history versions of NCT03690141, built from a REAL capture.

Source: ``tests/data/int_history_NCT03690141.json`` (a copy of
``../shared/ctgov-samples/int_history_NCT03690141.json``, the site's internal
``GET /api/int/studies/NCT03690141?query.cond=CRPC&history=true``). The capture has the current
study (version 9), the list of the 10 versions (dates, statuses, changed modules) and
``originalData`` (version 0's enrollment and primary outcome) but not the versions themselves.
The versions here are therefore made up, consistently with that list:

* version 9 is the capture's ``study`` unchanged (16 ACTUAL, COMPLETED, HTML in text fields);
* every version has the list's status and its date as last-update date;
* versions 0-6 have ``originalData``'s enrollment (30 ESTIMATED), versions 0-4 its primary
  outcome wording (RECIST instead of iRECIST: ``lastUpdateVersions`` says 5 and 7);
* versions 0-8 have estimated completion dates, version 9 the actual ones;
* version 4 repeats version 3 (its dates included) but with the capture's markup (``<mark>``
  highlighting, ``&#x2F;``) where version 3 has none, so it normalizes to the same record and
  makes no snapshot of its own.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import DATA

NCT_ID = "NCT03690141"
CAPTURE = DATA / "int_history_NCT03690141.json"


def capture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CAPTURE.read_text(encoding="utf-8"))
    return data


def version_dates() -> list[tuple[int, str, str]]:
    """(version, date, status) of the capture's ``history.changes``."""
    return [(c["version"], c["date"], c["status"]) for c in capture()["history"]["changes"]]


def build_versions() -> dict[int, dict[str, Any]]:
    """Version number -> study (API v2 shape), see the module docstring."""
    data = capture()
    current, original = data["study"], data["history"]["originalData"]
    versions = {}
    for number, day, status in version_dates():
        study = copy.deepcopy(current)
        if number < 9:
            _earlier(study, number, day, status, original)
        versions[number] = study
    versions[4] = copy.deepcopy(versions[3])  # highlighted as captured
    versions[3] = _unmarked(versions[3])
    return versions


def _earlier(
    study: dict[str, Any], number: int, day: str, status: str, original: dict[str, Any]
) -> None:
    protocol = study["protocolSection"]
    module = protocol["statusModule"]
    module["overallStatus"] = status
    module["statusVerifiedDate"] = day[:7]
    module["lastUpdateSubmitDate"] = day
    module["lastUpdatePostDateStruct"] = {"date": day, "type": "ACTUAL"}
    module["primaryCompletionDateStruct"] = {"date": "2020-06-30", "type": "ESTIMATED"}
    module["completionDateStruct"] = {"date": "2020-06-30", "type": "ESTIMATED"}
    if number == 0:
        module["startDateStruct"] = {"date": "2018-10", "type": "ESTIMATED"}
    if number < 7:
        protocol["designModule"]["enrollmentInfo"] = dict(original["enrollmentInfo"])
    if number < 5:
        protocol["outcomesModule"]["primaryOutcomes"] = copy.deepcopy(original["primaryOutcomes"])


def _unmarked(study: dict[str, Any]) -> dict[str, Any]:
    """The same study with the capture's ``<mark>`` highlighting and entities removed."""
    text = json.dumps(study, ensure_ascii=False)
    text = text.replace('<mark class=\\"hl-term\\">', "").replace("</mark>", "")
    return dict(json.loads(text.replace("&#x2F;", "/")))


def history_summary(versions: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The ``/history`` answer for ``versions``: the capture's own list and fields."""
    summary = copy.deepcopy(capture()["history"])
    summary["changes"] = [c for c in summary["changes"] if c["version"] in versions]
    return summary
