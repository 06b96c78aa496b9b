"""Pure: a ClinicalTrials.gov API v2 study -> the canonical record (``docs/canonical-record.md``).

Every ``protocolSection`` module maps into the canonical sections, plus ``hasResults`` and the
results dates; ``derivedSection`` (with its daily ``versionHolder``), ``resultsSection`` data
and the registry's geocodes are left out; fields this module does not know go to ``other``.
The cleaning rules are the core's (:mod:`monitor.normalize`). The record is exactly format
``v1`` (the only format before there were several registries) with the trial id named
registry-neutrally, so :func:`monitor.normalize.upgrade_v1` of a stored record equals this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import orjson

from monitor.errors import RecordError
from monitor.normalize import (
    as_dict,
    clean_text,
    date_struct,
    drop_empty,
    finish,
    generic,
    json_key,
    kind_name,
    kind_of,
    snake,
    text_of,
    text_set,
    texts_of,
    version_hash,
)
from monitor.registries.ctgov.ids import KIND

# ---------------------------------------------------------------- reading a module


class _Module:
    """One API module being read; remembers which keys were used, the rest goes to other."""

    def __init__(self, section: Mapping[str, Any], name: str) -> None:
        data = section.get(name, {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RecordError(f"protocolSection.{name}: expected an object, got {kind_of(data)}")
        self.name = name
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def raw(self, key: str, kind: type | tuple[type, ...]) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            where = f"protocolSection.{self.name}.{key}"
            raise RecordError(f"{where}: expected {kind_name(kind)}, got {value!r}")
        return value

    def text(self, key: str) -> str | None:
        value = self.raw(key, str)
        return None if value is None else clean_text(value)

    def flag(self, key: str) -> bool | None:
        value: bool | None = self.raw(key, bool)
        return value

    def obj(self, key: str) -> dict[str, Any]:
        value: dict[str, Any] | None = self.raw(key, dict)
        return value or {}

    def texts(self, key: str) -> list[str]:
        """A list of strings treated as a set: cleaned, de-duplicated, sorted."""
        values = self.raw(key, list) or []
        return sorted({clean_text(v) for v in values if isinstance(v, str)} - {""})

    def items(self, key: str, build: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Any]:
        values = self.raw(key, list) or []
        where = f"protocolSection.{self.name}.{key}"
        out = [drop_empty(build(as_dict(v, where))) for v in values]
        return [v for v in out if v]

    def leftovers(self) -> dict[str, Any]:
        rest = {k: v for k, v in self.data.items() if k not in self.used}
        return generic(rest, f"protocolSection.{self.name}") if rest else {}


# ---------------------------------------------------------------- modules


def _identification(m: _Module) -> dict[str, Any]:
    org_id = m.obj("orgStudyIdInfo")
    org = m.obj("organization")
    return {
        "trial_id": m.text("nctId"),
        "registry": KIND,
        "aliases": m.texts("nctIdAliases"),
        "org_study_id": drop_empty(
            {
                "id": text_of(org_id, "id"),
                "type": text_of(org_id, "type"),
                "link": text_of(org_id, "link"),
            }
        ),
        "secondary_ids": m.items("secondaryIdInfos", _secondary_id),
        "brief_title": m.text("briefTitle"),
        "official_title": m.text("officialTitle"),
        "acronym": m.text("acronym"),
        "organization": drop_empty(
            {"name": text_of(org, "fullName"), "class": text_of(org, "class")}
        ),
    }


def _secondary_id(d: dict[str, Any]) -> dict[str, Any]:
    return texts_of(d, ("id", "type", "domain", "link"))


def _status(m: _Module) -> dict[str, Any]:
    eai = m.obj("expandedAccessInfo")
    return {
        "overall_status": m.text("overallStatus"),
        "why_stopped": m.text("whyStopped"),
        "last_known_status": m.text("lastKnownStatus"),
        "delayed_posting": m.flag("delayedPosting"),
        "expanded_access": generic(eai, "expandedAccessInfo"),
    }


def _dates(m: _Module) -> dict[str, Any]:
    return {
        "start": date_struct(m.raw("startDateStruct", dict)),
        "primary_completion": date_struct(m.raw("primaryCompletionDateStruct", dict)),
        "completion": date_struct(m.raw("completionDateStruct", dict)),
    }


def _admin(m: _Module) -> dict[str, Any]:
    return {
        "status_verified": m.text("statusVerifiedDate"),
        "first_submitted": m.text("studyFirstSubmitDate"),
        "first_submitted_qc": m.text("studyFirstSubmitQcDate"),
        "first_posted": date_struct(m.raw("studyFirstPostDateStruct", dict)),
        "last_update_submitted": m.text("lastUpdateSubmitDate"),
        "last_update_posted": date_struct(m.raw("lastUpdatePostDateStruct", dict)),
    }


def _results(m: _Module, study: Mapping[str, Any]) -> dict[str, Any]:
    has_results = study.get("hasResults")
    if has_results is not None and not isinstance(has_results, bool):
        raise RecordError(f"hasResults: expected true/false, got {has_results!r}")
    return {
        "has_results": has_results,
        "first_submitted": m.text("resultsFirstSubmitDate"),
        "first_submitted_qc": m.text("resultsFirstSubmitQcDate"),
        "first_posted": date_struct(m.raw("resultsFirstPostDateStruct", dict)),
        "waived": m.flag("resultsWaived"),
        "disp_first_submitted": m.text("dispFirstSubmitDate"),
        "disp_first_submitted_qc": m.text("dispFirstSubmitQcDate"),
        "disp_first_posted": date_struct(m.raw("dispFirstPostDateStruct", dict)),
    }


def _sponsor(m: _Module) -> dict[str, Any]:
    lead = m.obj("leadSponsor")
    return {
        "lead": drop_empty({"name": text_of(lead, "name"), "class": text_of(lead, "class")}),
        "collaborators": m.items("collaborators", _collaborator),
        "responsible_party": generic(m.obj("responsibleParty"), "responsibleParty"),
    }


def _collaborator(d: dict[str, Any]) -> dict[str, Any]:
    return texts_of(d, ("name", "class"))


def _description(m: _Module) -> dict[str, Any]:
    return {"brief_summary": m.text("briefSummary"), "detailed": m.text("detailedDescription")}


def _conditions(m: _Module) -> dict[str, Any]:
    return {"conditions": m.texts("conditions"), "keywords": m.texts("keywords")}


def _design(m: _Module) -> dict[str, Any]:
    info = m.obj("designInfo")
    masking = info.get("maskingInfo") or {}
    if not isinstance(masking, dict):
        where = "protocolSection.designModule.designInfo.maskingInfo"
        raise RecordError(f"{where}: expected an object, got {masking!r}")
    return {
        "study_type": m.text("studyType"),
        "phases": m.texts("phases"),
        "allocation": text_of(info, "allocation"),
        "intervention_model": text_of(info, "interventionModel"),
        "intervention_model_description": text_of(info, "interventionModelDescription"),
        "primary_purpose": text_of(info, "primaryPurpose"),
        "observational_model": text_of(info, "observationalModel"),
        "time_perspective": text_of(info, "timePerspective"),
        "masking": text_of(masking, "masking"),
        "masking_description": text_of(masking, "maskingDescription"),
        "who_masked": text_set(masking, "whoMasked"),
        "bio_spec": generic(m.obj("bioSpec"), "bioSpec"),
        "target_duration": m.text("targetDuration"),
        "patient_registry": m.flag("patientRegistry"),
        "expanded_access_types": generic(m.obj("expandedAccessTypes"), "expandedAccessTypes"),
        "exp_acc_nct_ids": m.texts("nPtrsToThisExpAccNctId"),
    }


def _enrollment(m: _Module) -> dict[str, Any]:
    info = m.obj("enrollmentInfo")
    count = info.get("count")
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise RecordError(f"protocolSection.designModule.enrollmentInfo.count: {count!r}")
    return {"count": count, "type": text_of(info, "type")}


def _arm(d: dict[str, Any]) -> dict[str, Any]:
    return {
        **texts_of(d, ("label", "type", "description")),
        "interventions": text_set(d, "interventionNames"),
    }


def _intervention(d: dict[str, Any]) -> dict[str, Any]:
    return {
        **texts_of(d, ("type", "name", "description")),
        "arms": text_set(d, "armGroupLabels"),
        "other_names": text_set(d, "otherNames"),
    }


def _outcome(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "measure": text_of(d, "measure"),
        "description": text_of(d, "description"),
        "time_frame": text_of(d, "timeFrame"),
    }


def _outcomes(m: _Module) -> dict[str, Any]:
    return {
        "primary": m.items("primaryOutcomes", _outcome),
        "secondary": m.items("secondaryOutcomes", _outcome),
        "other": m.items("otherOutcomes", _outcome),
    }


def _eligibility(m: _Module) -> dict[str, Any]:
    return {
        "criteria": m.text("eligibilityCriteria"),
        "healthy_volunteers": m.flag("healthyVolunteers"),
        "sex": m.text("sex"),
        "gender_based": m.flag("genderBased"),
        "gender_description": m.text("genderDescription"),
        "minimum_age": m.text("minimumAge"),
        "maximum_age": m.text("maximumAge"),
        "std_ages": m.texts("stdAges"),
        "study_population": m.text("studyPopulation"),
        "sampling_method": m.text("samplingMethod"),
    }


def _person(d: dict[str, Any]) -> dict[str, Any]:
    return texts_of(d, ("name", "role", "affiliation", "phone", "phoneExt", "email"))


def _location(d: dict[str, Any]) -> dict[str, Any]:
    # geoPoint is the registry's geocode of the city, not data the sponsor entered: left out.
    loc: dict[str, Any] = texts_of(d, ("facility", "status", "city", "state", "zip", "country"))
    people = d.get("contacts") or []
    loc["contacts"] = _site_contacts(people) if people else []  # most sites name nobody
    return loc


def _site_contacts(people: Iterable[Any]) -> list[dict[str, Any]]:
    contacts = [drop_empty(_person(as_dict(c, "locations[].contacts"))) for c in people]
    return sorted((c for c in contacts if c), key=json_key)


def _contacts(m: _Module) -> dict[str, Any]:
    return {
        "central": m.items("centralContacts", _person),
        "officials": m.items("overallOfficials", _person),
    }


def _references(m: _Module) -> dict[str, Any]:
    return {
        "publications": m.items("references", lambda d: generic(d, "references[]")),
        "links": m.items("seeAlsoLinks", lambda d: generic(d, "seeAlsoLinks[]")),
        "ipd_documents": m.items("availIpds", lambda d: generic(d, "availIpds[]")),
    }


def _whole(m: _Module) -> dict[str, Any]:
    """A module kept whole, generically cleaned (oversight, IPD sharing)."""
    m.used.update(m.data)
    cleaned: dict[str, Any] = generic(m.data, f"protocolSection.{m.name}")
    return cleaned


# (canonical section, API module, builder); several sections may read one module.
_SECTIONS: tuple[tuple[str, str, Callable[[_Module], dict[str, Any]]], ...] = (
    ("identification", "identificationModule", _identification),
    ("status", "statusModule", _status),
    ("dates", "statusModule", _dates),
    ("admin", "statusModule", _admin),
    ("sponsor", "sponsorCollaboratorsModule", _sponsor),
    ("oversight", "oversightModule", _whole),
    ("description", "descriptionModule", _description),
    ("conditions", "conditionsModule", _conditions),
    ("design", "designModule", _design),
    ("enrollment", "designModule", _enrollment),
    ("outcomes", "outcomesModule", _outcomes),
    ("eligibility", "eligibilityModule", _eligibility),
    ("contacts", "contactsLocationsModule", _contacts),
    ("references", "referencesModule", _references),
    ("ipd_sharing", "ipdSharingStatementModule", _whole),
)

_TOP_LISTS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    ("arms", "armsInterventionsModule", "armGroups", _arm),
    ("interventions", "armsInterventionsModule", "interventions", _intervention),
    ("locations", "contactsLocationsModule", "locations", _location),
)

# ---------------------------------------------------------------- the record


def normalize(study: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """The canonical record of an API v2 study (see the module docstring); ``today`` is not
    needed: every status of ClinicalTrials.gov is a word the sponsor set."""
    protocol = _protocol(study)
    modules: dict[str, _Module] = {}

    def module(name: str) -> _Module:
        if name not in modules:
            modules[name] = _Module(protocol, name)
        return modules[name]

    record: dict[str, Any] = {}
    for section, name, build in _SECTIONS:
        record[section] = drop_empty(build(module(name)))
    for section, name, key, build_item in _TOP_LISTS:
        record[section] = module(name).items(key, build_item)
    record["results"] = drop_empty(_results(module("statusModule"), study))
    record["other"] = _other(protocol, modules)
    if not record["identification"].get("trial_id"):
        raise RecordError("study has no protocolSection.identificationModule.nctId")
    return finish(record)


def _protocol(study: Any) -> dict[str, Any]:
    if not isinstance(study, dict):
        raise RecordError(f"a study must be a JSON object, got {kind_of(study)}")
    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        got = "nothing" if protocol is None else kind_of(protocol)
        raise RecordError(f"protocolSection: expected an object, got {got}")
    return protocol


def _other(protocol: Mapping[str, Any], modules: Mapping[str, _Module]) -> dict[str, Any]:
    other: dict[str, Any] = {}
    for name, module in modules.items():
        rest = module.leftovers()
        if rest:
            other[snake(name)] = rest
    for name, value in protocol.items():
        if name not in modules:
            other[snake(name)] = generic(value, f"protocolSection.{name}")
    return drop_empty(other)


def source_hash(study: dict[str, Any], today: date | None = None) -> str | None:
    """A version-prefixed hash of exactly what :func:`normalize` reads of a raw study.

    ``normalize`` is pure and reads only ``protocolSection`` and ``hasResults``, so two raw
    studies with the same source hash have the same canonical record: a cycle that finds the
    source hash it stored last time can skip normalizing (and never reads ``derivedSection``,
    whose ``versionHolder`` moves daily). Key order counts here (a reordered record is only
    normalized again). ``None`` when the study cannot be serialized (then nothing is skipped).
    """
    try:
        data = orjson.dumps([study.get("protocolSection"), study.get("hasResults")])
    except (orjson.JSONEncodeError, AttributeError):
        return None
    return version_hash(data)
