"""Pure: an API v2 study dict -> the canonical record, its canonical JSON and content hash.

The canonical record is what trialmon stores and compares. Its top-level sections::

    identification  status  dates  admin  results  sponsor  oversight  description
    conditions  design  enrollment  arms  interventions  outcomes  eligibility
    contacts  locations  references  ipd_sharing  other

Rules that make cosmetic differences vanish:

* text is cleaned (:func:`clean_text`): HTML tags stripped, entities unescaped, Markdown
  escapes (``18\\~65``) removed, white space collapsed, Unicode NFC;
* empty values (``None``, ``""``, ``[]``, ``{}``) are dropped, so absent equals empty;
* unordered lists are sorted: sets of strings by value, lists of items keyed by identity
  (:data:`KEYED_LISTS`) by that identity, other lists by their canonical JSON;
* dates keep their precision (``2025-06`` stays ``2025-06``);
* ``derivedSection`` (with its daily ``versionHolder``), ``resultsSection`` data and the
  registry's geocodes are left out; fields this module does not know go to ``other``.

No I/O, no clock. Any change to the record's shape must bump :data:`HASH_VERSION`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.errors import RecordError

HASH_VERSION = "v1"

# Lists of items whose identity is made of these fields: a reorder is no change, and an
# item is compared with the item of the same identity in the other version.
KEYED_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("identification", "secondary_ids"): ("type", "id"),
    ("sponsor", "collaborators"): ("name",),
    ("arms",): ("label",),
    ("interventions",): ("type", "name"),
    ("outcomes", "primary"): ("measure",),
    ("outcomes", "secondary"): ("measure",),
    ("outcomes", "other"): ("measure",),
    ("contacts", "central"): ("name",),
    ("contacts", "officials"): ("name",),
    ("locations",): ("facility", "city", "country"),
    ("references", "publications"): ("pmid", "citation"),
    ("references", "links"): ("url",),
    ("references", "ipd_documents"): ("type", "id", "url"),
}

# Inline tags vanish (``<mark class="hl-term">CRPC</mark>`` is ``CRPC``); block tags are a space.
_INLINE_TAGS = (
    "a|abbr|b|big|cite|code|del|em|font|i|ins|mark|s|small|span|strike|strong|sub|sup|tt|u"
)
_BLOCK_TAGS = (
    "blockquote|br|caption|dd|div|dl|dt|h[1-6]|hr|li|ol|p|pre|table|tbody|td|tfoot|th|thead|tr|ul"
)
_INLINE_RE = re.compile(rf"</?(?:{_INLINE_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MD_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


# ---------------------------------------------------------------- text


def clean_text(text: str) -> str:
    """Text as a person reads it: no markup, no escapes, single spaces, NFC.

    Applied until nothing changes, so cleaning clean text is a no-op (``&amp;lt;`` is
    ``<`` after two rounds, and ``<`` followed by a tag name is then a tag).
    """
    if text.isascii() and "<" not in text and "&" not in text and "\\" not in text:
        return " ".join(text.split())  # the common case: only white space to collapse
    for _ in range(4):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(text: str) -> str:
    if "<" in text:
        text = _BLOCK_RE.sub(" ", _INLINE_RE.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _MD_ESCAPE_RE.sub(r"\1", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


# ---------------------------------------------------------------- generic helpers


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != "" and v != [] and v != {}}


def _json_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def identity(item: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The identity of a keyed-list item: its identity fields joined by `` | ``."""
    parts = [item.get(f) for f in fields]
    if fields == ("pmid", "citation"):  # a reference is its PMID, else its citation
        parts = [parts[0] or parts[1]]
    return " | ".join("" if p is None else str(p) for p in parts)


def _sort_keyed(items: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda it: (identity(it, fields).casefold(), _json_key(it)))


@functools.lru_cache(maxsize=1024)
def snake(key: str) -> str:
    """``oversightHasDmc`` -> ``oversight_has_dmc``: the record's keys are snake_case."""
    return _CAMEL_RE.sub("_", key).lower()


def generic(value: Any, where: str) -> Any:
    """Any JSON value, cleaned: keys in snake_case, text cleaned, empties dropped, lists sorted."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return _drop_empty({snake(str(k)): generic(v, f"{where}.{k}") for k, v in value.items()})
    if isinstance(value, list):
        items = [generic(v, f"{where}[]") for v in value]
        items = [v for v in items if v is not None and v != "" and v != [] and v != {}]
        return sorted(items, key=_json_key)
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise RecordError(f"{where}: integer out of range: {value}")
    if value is None or isinstance(value, bool | int | float):
        return value
    raise RecordError(f"{where}: unexpected value {value!r}")


class _Module:
    """One API module being read; remembers which keys were used, the rest goes to other."""

    def __init__(self, section: Mapping[str, Any], name: str) -> None:
        data = section.get(name, {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RecordError(f"protocolSection.{name}: expected an object, got {_kind(data)}")
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
            raise RecordError(f"{where}: expected {_kind_name(kind)}, got {value!r}")
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
        out = [_drop_empty(build(_as_dict(v, where))) for v in values]
        return [v for v in out if v]

    def leftovers(self) -> dict[str, Any]:
        rest = {k: v for k, v in self.data.items() if k not in self.used}
        return generic(rest, f"protocolSection.{self.name}") if rest else {}


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected a list of objects, got an item {value!r}")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", bool: "true/false", int: "a number", dict: "an object", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _t(d: Mapping[str, Any], key: str) -> str | None:
    """Cleaned text of ``d[key]`` inside a list item (non-text values are kept as text)."""
    value = d.get(key)
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else str(value))


def _set(d: Mapping[str, Any], key: str) -> list[str]:
    values = d.get(key) or []
    if not isinstance(values, list):
        values = [values]
    return sorted({clean_text(str(v)) for v in values} - {""})


def _date(value: Any) -> dict[str, Any] | None:
    """A date struct ``{date, type}`` (type kept only when the registry gives it)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"date": value}
    if not isinstance(value, dict):
        raise RecordError(f"date: expected an object with 'date', got {value!r}")
    out = _drop_empty({"date": _t(value, "date"), "type": _t(value, "type")})
    return out or None


# ---------------------------------------------------------------- modules


def _identification(m: _Module) -> dict[str, Any]:
    org_id = m.obj("orgStudyIdInfo")
    org = m.obj("organization")
    return {
        "nct_id": m.text("nctId"),
        "aliases": m.texts("nctIdAliases"),
        "org_study_id": _drop_empty(
            {"id": _t(org_id, "id"), "type": _t(org_id, "type"), "link": _t(org_id, "link")}
        ),
        "secondary_ids": m.items("secondaryIdInfos", _secondary_id),
        "brief_title": m.text("briefTitle"),
        "official_title": m.text("officialTitle"),
        "acronym": m.text("acronym"),
        "organization": _drop_empty({"name": _t(org, "fullName"), "class": _t(org, "class")}),
    }


def _secondary_id(d: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "type", "domain", "link")
    return {k: _t(d, k) for k in keys}


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
        "start": _date(m.raw("startDateStruct", dict)),
        "primary_completion": _date(m.raw("primaryCompletionDateStruct", dict)),
        "completion": _date(m.raw("completionDateStruct", dict)),
    }


def _admin(m: _Module) -> dict[str, Any]:
    return {
        "status_verified": m.text("statusVerifiedDate"),
        "first_submitted": m.text("studyFirstSubmitDate"),
        "first_submitted_qc": m.text("studyFirstSubmitQcDate"),
        "first_posted": _date(m.raw("studyFirstPostDateStruct", dict)),
        "last_update_submitted": m.text("lastUpdateSubmitDate"),
        "last_update_posted": _date(m.raw("lastUpdatePostDateStruct", dict)),
    }


def _results(m: _Module, study: Mapping[str, Any]) -> dict[str, Any]:
    has_results = study.get("hasResults")
    if has_results is not None and not isinstance(has_results, bool):
        raise RecordError(f"hasResults: expected true/false, got {has_results!r}")
    return {
        "has_results": has_results,
        "first_submitted": m.text("resultsFirstSubmitDate"),
        "first_submitted_qc": m.text("resultsFirstSubmitQcDate"),
        "first_posted": _date(m.raw("resultsFirstPostDateStruct", dict)),
        "waived": m.flag("resultsWaived"),
        "disp_first_submitted": m.text("dispFirstSubmitDate"),
        "disp_first_submitted_qc": m.text("dispFirstSubmitQcDate"),
        "disp_first_posted": _date(m.raw("dispFirstPostDateStruct", dict)),
    }


def _sponsor(m: _Module) -> dict[str, Any]:
    lead = m.obj("leadSponsor")
    return {
        "lead": _drop_empty({"name": _t(lead, "name"), "class": _t(lead, "class")}),
        "collaborators": m.items("collaborators", _collaborator),
        "responsible_party": generic(m.obj("responsibleParty"), "responsibleParty"),
    }


def _collaborator(d: dict[str, Any]) -> dict[str, Any]:
    return {"name": _t(d, "name"), "class": _t(d, "class")}


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
        "allocation": _t(info, "allocation"),
        "intervention_model": _t(info, "interventionModel"),
        "intervention_model_description": _t(info, "interventionModelDescription"),
        "primary_purpose": _t(info, "primaryPurpose"),
        "observational_model": _t(info, "observationalModel"),
        "time_perspective": _t(info, "timePerspective"),
        "masking": _t(masking, "masking"),
        "masking_description": _t(masking, "maskingDescription"),
        "who_masked": _set(masking, "whoMasked"),
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
    return {"count": count, "type": _t(info, "type")}


def _arm(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": _t(d, "label"),
        "type": _t(d, "type"),
        "description": _t(d, "description"),
        "interventions": _set(d, "interventionNames"),
    }


def _intervention(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": _t(d, "type"),
        "name": _t(d, "name"),
        "description": _t(d, "description"),
        "arms": _set(d, "armGroupLabels"),
        "other_names": _set(d, "otherNames"),
    }


def _outcome(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "measure": _t(d, "measure"),
        "description": _t(d, "description"),
        "time_frame": _t(d, "timeFrame"),
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
    keys = ("name", "role", "affiliation", "phone", "phoneExt", "email")
    return {k: _t(d, k) for k in keys}


def _location(d: dict[str, Any]) -> dict[str, Any]:
    # geoPoint is the registry's geocode of the city, not data the sponsor entered: left out.
    keys = ("facility", "status", "city", "state", "zip", "country")
    loc: dict[str, Any] = {k: _t(d, k) for k in keys}
    people = [_as_dict(c, "locations[].contacts") for c in d.get("contacts") or []]
    contacts = [_drop_empty(_person(c)) for c in people]
    loc["contacts"] = sorted((c for c in contacts if c), key=_json_key)
    return loc


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

#: The top-level sections of a canonical record (the first segment of a field path).
RECORD_SECTIONS: tuple[str, ...] = (
    *(section for section, _, _ in _SECTIONS),
    *(section for section, _, _, _ in _TOP_LISTS),
    "results",
    "other",
)


# ---------------------------------------------------------------- entry points


def normalize(study: dict[str, Any]) -> dict[str, Any]:
    """The canonical record of an API v2 study (see the module docstring)."""
    protocol = _protocol(study)
    modules: dict[str, _Module] = {}

    def module(name: str) -> _Module:
        if name not in modules:
            modules[name] = _Module(protocol, name)
        return modules[name]

    record: dict[str, Any] = {}
    for section, name, build in _SECTIONS:
        record[section] = _drop_empty(build(module(name)))
    for section, name, key, build_item in _TOP_LISTS:
        record[section] = module(name).items(key, build_item)
    record["results"] = _drop_empty(_results(module("statusModule"), study))
    record["other"] = _other(protocol, modules)
    _sort_lists(record)
    if not record["identification"].get("nct_id"):
        raise RecordError("study has no protocolSection.identificationModule.nctId")
    return _drop_empty(record)


def _protocol(study: Any) -> dict[str, Any]:
    if not isinstance(study, dict):
        raise RecordError(f"a study must be a JSON object, got {_kind(study)}")
    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        got = "nothing" if protocol is None else _kind(protocol)
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
    return _drop_empty(other)


def _sort_lists(record: dict[str, Any]) -> None:
    for path, fields in KEYED_LISTS.items():
        parent: Any = record
        for key in path[:-1]:
            parent = parent.get(key, {})
        items = parent.get(path[-1]) if isinstance(parent, dict) else None
        if items:
            parent[path[-1]] = _sort_keyed(items, fields)


def _canonical_bytes(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError as e:  # e.g. an integer beyond 64 bits, which a JSON parser may return
        raise RecordError(f"record cannot be stored as JSON: {e}") from e


def canonical_json(record: dict[str, Any]) -> str:
    """The canonical text of a record: sorted keys, compact separators, UTF-8."""
    return _canonical_bytes(record).decode()


def source_hash(study: dict[str, Any]) -> str | None:
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
    return f"{HASH_VERSION}:{hashlib.sha256(data).hexdigest()}"


def content_hash(record: dict[str, Any]) -> str:
    """A version-prefixed SHA-256 of the canonical JSON, e.g. ``v1:3f2a...``."""
    digest = hashlib.sha256(_canonical_bytes(record)).hexdigest()
    return f"{HASH_VERSION}:{digest}"


@dataclass(frozen=True)
class StudyFacts:
    """The few facts of a canonical record the ``studies`` table keeps."""

    nct_id: str
    title: str | None
    overall_status: str | None
    last_update_posted: str | None


def facts(record: dict[str, Any]) -> StudyFacts:
    """The study's id, brief title, overall status and last-update-posted date."""
    ident = record.get("identification", {})
    posted = record.get("admin", {}).get("last_update_posted") or {}
    return StudyFacts(
        nct_id=ident.get("nct_id", ""),
        title=ident.get("brief_title"),
        overall_status=record.get("status", {}).get("overall_status"),
        last_update_posted=posted.get("date"),
    )


def keyed(record: Mapping[str, Any]) -> dict[str, Any]:
    """A view of a record where each keyed list is a dict from identity to item.

    Items sharing an identity get `` #2``, `` #3`` ... in their (sorted) order. Only the
    dicts on the way to a keyed list are copied; the rest is shared with ``record``.
    """
    view = dict(record)
    for path, fields in KEYED_LISTS.items():
        _key_path(view, path, fields)
    return view


def _key_path(view: dict[str, Any], path: tuple[str, ...], fields: tuple[str, ...]) -> None:
    parent = view
    for key in path[:-1]:
        child = parent.get(key)
        if not isinstance(child, dict):
            return
        parent[key] = child = dict(child)
        parent = child
    items = parent.get(path[-1])
    if isinstance(items, list):
        parent[path[-1]] = _by_identity(items, fields)


def _by_identity(items: list[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = identity(item, fields) if isinstance(item, dict) else str(item)
        n, unique = 1, key
        while unique in out:
            n += 1
            unique = f"{key} #{n}"
        out[unique] = item
    return out
