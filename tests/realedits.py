"""A SYNTHETIC corpus of real-shaped edits: the noise real registry edits make in a digest.

Each edit is a labelled (before, after) pair of API v2 studies built from the REAL records in
tests/data (copies of ../shared/ctgov-samples, see tests/data/README.md), edited the way real
updates of ClinicalTrials.gov records were measured to change them (issue 15):

- ``sites-reopen-en-masse``: a study starts recruiting; 230 sites get a status (176
  RECRUITING, 54 NOT_YET_RECRUITING), 218 site contacts change (phone, email, role), 9 site
  names re-encoded by the registry are fixed (``HÃ´pital`` -> ``Hôpital``), 5 sites are added
  (France 3, Brazil 2) and 1 removed. About 460 change rows.
- ``sites-in-batches``: 25 sites added and 20 removed across countries, 10 sites completed.
- ``contact-churn``: every site's contact, the central contacts and the overall official edited.
- ``re-encoded-names``: 12 site names fixed in encoding, case or accents, nothing else.
- ``results-delay-certification``: the sponsor certifies that results will be submitted late.
- ``outcome-rewording``: a secondary outcome reworded with its time frame.
- ``everything-at-once``: all of the above in one version, plus 40 outcomes and 15
  references added, and the administrative dates.

The 230 sites are the 97 real sites of the sample records (facility, city, country as
captured), 124 synthetic satellites of them (``<real facility> Satellite Clinic N``) and 9
synthetic sites with accented names; contacts, phones and e-mail addresses are made up
(``example.org``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from .conftest import DATA

BASE = "study_NCT06131398_completed_sorted_keys.json"
SITE_SOURCES = (
    BASE,
    "study_NCT00791778_completed_with_results.json",
    "int_history_NCT03690141.json",
    "study_NCT02576665_terminated.json",
)
ACCENTED = (  # (facility, city, country): synthetic sites whose names the registry re-encoded
    ("Hôpital Édouard Herriot", "Lyon", "France"),
    ("Centre Léon Bérard", "Lyon", "France"),
    ("Hôpital de la Pitié-Salpêtrière", "Paris", "France"),
    ("Centre Hospitalier Universitaire de Besançon", "Besançon", "France"),
    ("Clínica Universidad de Navarra", "Pamplona", "Spain"),
    ("Hospital Universitário Clementino Fraga Filho", "Rio de Janeiro", "Brazil"),
    ("Universitätsklinikum Köln", "Köln", "Germany"),
    ("Klinikum rechts der Isar der Technischen Universität München", "München", "Germany"),
    ("Szpital Uniwersytecki w Krakowie, Oddział Onkologii Klinicznej", "Kraków", "Poland"),
)
ADDED = (  # synthetic sites added when the study reopens: France 3, Brazil 2
    ("Institut Curie", "Paris", "France"),
    ("Centre Oscar Lambret", "Lille", "France"),
    ("Institut Paoli-Calmettes", "Marseille", "France"),
    ("Hospital Sírio-Libanês", "São Paulo", "Brazil"),
    ("Instituto Nacional de Câncer", "Rio de Janeiro", "Brazil"),
)
SITE_KEYS = ("facility", "city", "zip", "country")
SITES = 230
RECRUITING = 176
CONTACTS_CHANGED = 218


def mojibake(text: str) -> str:
    """``Hôpital`` as a registry that read UTF-8 bytes as Windows-1252 shows it."""
    return text.encode("utf-8").decode("cp1252")


@cache
def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data.get("study", data)


def base() -> dict[str, Any]:
    return copy.deepcopy(_raw(BASE))


def real_sites() -> list[dict[str, Any]]:
    """Every site of the sample records, as captured, without geocodes and statuses."""
    sites = []
    for name in SITE_SOURCES:
        for loc in _raw(name)["protocolSection"]["contactsLocationsModule"]["locations"]:
            sites.append({k: v for k, v in loc.items() if k in SITE_KEYS})
    return sites


def site(facility: str, city: str, country: str, **rest: Any) -> dict[str, Any]:
    return {"facility": facility, "city": city, "country": country, **rest}


def contact(n: int, **changes: str) -> dict[str, str]:
    person = {
        "name": "Study Coordinator",
        "role": "CONTACT",
        "phone": f"+1 555 01{n:03d}",
        "email": f"site{n:03d}.trials@example.org",
    }
    return {**person, **changes}


def many_sites() -> list[dict[str, Any]]:
    """230 sites: 97 real, 124 synthetic satellites, 9 with accented names, last."""
    real = real_sites()
    satellites = [
        {**real[k % len(real)], "facility": f"{_name(real[k % len(real)])} Satellite Clinic {k}"}
        for k in range(SITES - len(real) - len(ACCENTED))
    ]
    accented = [site(*s) for s in ACCENTED]
    return [*real, *satellites, *accented]


def _name(loc: dict[str, Any]) -> str:
    return str(loc.get("facility") or f"{loc['city']} Research Site")


def _locations(study: dict[str, Any]) -> list[dict[str, Any]]:
    module: dict[str, Any] = study["protocolSection"]["contactsLocationsModule"]
    locations: list[dict[str, Any]] = module["locations"]
    return locations


def _set_locations(study: dict[str, Any], locations: list[dict[str, Any]]) -> None:
    study["protocolSection"]["contactsLocationsModule"]["locations"] = locations


# ---------------------------------------------------------------- the edits


def sites_reopen_en_masse() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    for study, status in ((before, "NOT_YET_RECRUITING"), (after, "RECRUITING")):
        study["protocolSection"]["statusModule"]["overallStatus"] = status
    sites = many_sites()
    old = [{**s, "contacts": [contact(n)]} for n, s in enumerate(sites)]
    for s in old[-len(ACCENTED) :]:
        s["facility"], s["city"] = mojibake(s["facility"]), mojibake(s["city"])
    gone = site("Hospital Italiano de Buenos Aires", "Buenos Aires", "Argentina")
    _set_locations(before, [*old, gone])
    new = []
    for n, s in enumerate(sites):
        status = "RECRUITING" if n < RECRUITING else "NOT_YET_RECRUITING"
        person = contact(n, **_churn(n)) if n < CONTACTS_CHANGED else contact(n)
        new.append({**s, "status": status, "contacts": [person]})
    added = [site(*s, status="RECRUITING") for s in ADDED]
    _set_locations(after, [*new, *added])
    return before, after


def _churn(n: int) -> dict[str, str]:
    """What changed of site n's contact: mostly the phone, some e-mails, a few roles."""
    if n % 10 == 9:
        return {"email": f"research{n:03d}@example.org"}
    if n % 25 == 24:
        return {"role": "PRINCIPAL_INVESTIGATOR"}
    return {"phone": f"+1 555 02{n:03d}"}


def sites_in_batches() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    sites = real_sites()[:60]
    old = [{**s, "status": "RECRUITING"} for s in sites]
    _set_locations(before, old)
    kept = [
        {**s, "status": "COMPLETED"} if n < 10 else s for n, s in enumerate(old[20:])
    ]  # the first 20 removed, 10 completed
    countries = ("Germany", "Italy", "Japan", "Brazil", "Canada")
    added = [
        site(f"{countries[k % 5]} Oncology Research Site {k}", f"City {k}", countries[k % 5],
             status="RECRUITING")
        for k in range(25)
    ]  # fmt: skip
    _set_locations(after, [*kept, *added])
    return before, after


def contact_churn() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    sites = real_sites()[:40]
    _set_locations(before, [{**s, "contacts": [contact(n)]} for n, s in enumerate(sites)])
    changed = [{**s, "contacts": [contact(n, **_churn(n))]} for n, s in enumerate(sites)]
    _set_locations(after, changed)
    for study, phone in ((before, "+1 555 0100"), (after, "+1 555 0199")):
        module = study["protocolSection"]["contactsLocationsModule"]
        module["centralContacts"] = [{"name": "Amgen Call Center", "role": "CONTACT",
                                      "phone": phone, "email": "medinfo@example.org"}]  # fmt: skip
    after["protocolSection"]["contactsLocationsModule"]["overallOfficials"] = [
        {"name": "MD", "affiliation": "Amgen", "role": "STUDY_DIRECTOR"}
    ]
    return before, after


def re_encoded_names() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    sites = [site(*s) for s in ACCENTED]
    sites += [
        site("CHU DE BORDEAUX", "Bordeaux", "France"),
        site("Hopital Necker Enfants Malades", "Paris", "France"),
        site("Montreal Neurological Institute", "Montreal", "Canada"),
    ]
    fixed = [
        *[site(*s) for s in ACCENTED],
        site("CHU de Bordeaux", "Bordeaux", "France"),
        site("Hôpital Necker-Enfants Malades", "Paris", "France"),
        site("Montreal Neurologic Institute", "Montreal", "Canada"),
    ]
    for s in sites[: len(ACCENTED)]:
        s["facility"], s["city"] = mojibake(s["facility"]), mojibake(s["city"])
    _set_locations(before, [*_locations(before), *sites])
    _set_locations(after, [*_locations(after), *fixed])
    return before, after


DELAY_SUBMITTED = "2025-01-15"
DELAY_POSTED = "2025-01-20"


def results_delay_certification() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    status = after["protocolSection"]["statusModule"]
    status["dispFirstSubmitDate"] = status["dispFirstSubmitQcDate"] = DELAY_SUBMITTED
    status["dispFirstPostDateStruct"] = {"date": DELAY_POSTED, "type": "ACTUAL"}
    return before, after


def outcome_rewording() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = base(), base()
    outcome = after["protocolSection"]["outcomesModule"]["secondaryOutcomes"][3]
    outcome["measure"] = outcome["measure"].replace("(OR) ", "(OR) Assessed by the Investigator ")
    outcome["timeFrame"] = "Up to 3 years"
    return before, after


def everything_at_once() -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = sites_reopen_en_masse()
    protocol = after["protocolSection"]
    protocol["statusModule"].update(
        dispFirstSubmitDate=DELAY_SUBMITTED,
        dispFirstPostDateStruct={"date": DELAY_POSTED, "type": "ACTUAL"},
        lastUpdatePostDateStruct={"date": "2026-09-01", "type": "ACTUAL"},
        statusVerifiedDate="2026-09",
    )
    protocol["outcomesModule"] = outcome_rewording()[1]["protocolSection"]["outcomesModule"]
    protocol["outcomesModule"]["otherOutcomes"] = [
        {"measure": f"Exploratory biomarker {k}: change from baseline", "timeFrame": "2 years"}
        for k in range(40)
    ]
    references = [{"citation": f"Synthetic reference {k}.", "type": "RESULT"} for k in range(15)]
    protocol["referencesModule"] = {"references": references}
    protocol["conditionsModule"]["keywords"] = ["CCR8", "Regulatory T cells"]
    return before, after


EDITS: dict[str, Callable[[], tuple[dict[str, Any], dict[str, Any]]]] = {
    "sites-reopen-en-masse": sites_reopen_en_masse,
    "sites-in-batches": sites_in_batches,
    "contact-churn": contact_churn,
    "re-encoded-names": re_encoded_names,
    "results-delay-certification": results_delay_certification,
    "outcome-rewording": outcome_rewording,
    "everything-at-once": everything_at_once,
}


def as_study(record: dict[str, Any], nct_id: str) -> dict[str, Any]:
    """The record under another (made-up) id, so several edits can share one database."""
    study = copy.deepcopy(record)
    study["protocolSection"]["identificationModule"]["nctId"] = nct_id
    return study


def ids() -> dict[str, str]:
    """A made-up NCT id per edit: NCT9900000N."""
    return {label: f"NCT990000{n:02d}" for n, label in enumerate(EDITS, start=1)}
