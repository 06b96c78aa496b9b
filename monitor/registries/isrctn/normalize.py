"""Pure: an ISRCTN ``<fullTrial>`` (from :func:`.xml.record_of`) -> the canonical record (v2).

``normalize(raw, today)``: the status is derived for ``today`` (``status.derived = true``; see
:mod:`.status`), everything else is read from the record:

- outcomes from ``outcomeMeasure`` (variable, method, timepoints) or, in older records, the
  free-text ``primaryOutcome`` / ``secondaryOutcome`` split into its lines;
- eligibility: inclusion and exclusion split into their lines (numbering removed), ages with
  their unit (``40 Years``), gender, healthy volunteers;
- enrollment: the target always; the count is the final enrolment when known (ACTUAL), else the
  target (ESTIMATED): ISRCTN writes 0 for a final enrolment not known yet;
- dates: overall start (when the record has it) and end, recruitment start and end;
- sponsors (the first of ``parties`` is the lead), funders, contacts, centres and countries;
- ids in other registries (``externalRefs``, ``secondaryNumbers``) in
  ``identification.secondary_ids``; placeholders such as "Nil known" are no id.

Element ``@id`` attributes (database keys) are bookkeeping; whatever else is not mapped goes to
``other``, generically cleaned. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from monitor.errors import RecordError
from monitor.normalize import clean_text, finish, generic, json_key, keyed_list, version_hash
from monitor.recordtree import Node, drop_empty, pop, prune, rest, strip_keys, sub
from monitor.registries.isrctn import ids
from monitor.registries.isrctn.ids import KIND
from monitor.registries.isrctn.status import Calendar, derive

#: Part of the source key: bump it when what this module reads of a raw record changes.
FORMAT = "isrctn1"
PLACEHOLDERS = frozenset(
    {"nil known", "n/a", "na", "none", "not applicable", "nil", "-", "unknown"}
)
_NUMBERING = re.compile(r"^\s*(?:\d{1,3}\s*[.)]|[-•*·])\s*")
PHASES = {"phase i": "PHASE1", "phase ii": "PHASE2", "phase iii": "PHASE3", "phase iv": "PHASE4"}


# ---------------------------------------------------------------- small readers


def many(value: Any) -> list[Any]:
    """A repeated element as a list (one element or none is also a list)."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def items(node: Node, *path: str) -> list[Node]:
    """The elements at ``path`` as objects, left in place (text-only ones become ``{#text}``)."""
    parent: Any = node
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(parent, dict):
        return []
    found = many(parent.get(path[-1]))
    objects = [v if isinstance(v, dict) else {"#text": v} for v in found]
    if objects:
        parent[path[-1]] = objects
    return objects


def raw_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("#text")
    return value if isinstance(value, str) else None


def text(node: Node, *path: str) -> str | None:
    value = pop(node, *path)
    if isinstance(value, dict):
        value = value.pop("#text", None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{'/'.join(path)}: expected text, got {type(value).__name__}")
    return clean_text(value) or None


def value_of(node: Node, *path: str) -> str | None:
    """A text that is not a placeholder ("Nil known", "N/A", ...)."""
    found = text(node, *path)
    return None if found is None or found.casefold() in PLACEHOLDERS else found


def lines(value: str | None) -> list[str]:
    """A multi-line text as its lines, each without its numbering ("1. ", "2) ", "- ")."""
    if not value:
        return []
    out = [_NUMBERING.sub("", clean_text(line)) for line in value.splitlines()]
    return [line for line in out if line]


def day(value: Any) -> str | None:
    value = raw_text(value)
    if value is None or len(value.strip()) < 10 or value.strip()[4] != "-":
        return None
    return value.strip()[:10]


def texts(values: Iterable[Any]) -> list[str]:
    return sorted({clean_text(str(v)) for v in values if v is not None} - {""})


def plain(value: Any) -> Any:
    """XML data with attribute keys as names: ``@approvalStatus`` -> ``approvalStatus``."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        name = "text" if key == "#text" else key.lstrip("@")
        out[name if name not in value else key] = plain(v)
    return out


def details(node: Node, where: str) -> Any:
    """Whatever was not mapped of an element, kept with the item it belongs to."""
    leftover = rest(node)
    return generic(plain(leftover), where) if leftover else None


def integer(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        raise RecordError(f"{where}: expected a number, got {value!r:.40}") from None


# ---------------------------------------------------------------- the status


def calendar_of(raw: Mapping[str, Any]) -> Calendar:
    """What the derived status depends on, read from a raw record without changing it."""
    trial = _trial(raw)
    people = _object(trial.get("participants"))
    design = _object(trial.get("trialDesign"))
    override = clean_text(raw_text(people.get("recruitmentStatusOverride")) or "")
    start_override = clean_text(raw_text(people.get("recruitmentStartStatusOverride")) or "")
    return Calendar(
        status_override=override or None,
        start_override=start_override or None,
        recruitment_start=day(people.get("recruitmentStart")),
        recruitment_end=day(people.get("recruitmentEnd")),
        overall_end=day(design.get("overallEndDate")),
    )


def _object(value: Any) -> Node:
    return value if isinstance(value, dict) else {}


def status(trial: Node, calendar: Calendar, today: date) -> dict[str, Any]:
    for key in ("recruitmentStatusOverride", "recruitmentStartStatusOverride"):
        pop(trial, "participants", key)
    return {"overall_status": derive(calendar, today), "derived": True}


# ---------------------------------------------------------------- sections


def identification(trial: Node, trial_id: str) -> dict[str, Any]:
    pop(trial, "isrctn")
    for key in ("@publicIdentifierType", "@publicIdentifierCanonical"):
        pop(trial, key)
    described = sub(trial, "trialDescription")
    refs = sub(trial, "externalRefs")
    return {
        "trial_id": trial_id,
        "registry": KIND,
        "secondary_ids": keyed_list(secondary_ids(refs), "type", "id"),
        "org_study_id": value_of(refs, "protocolSerialNumber"),
        "brief_title": text(described, "title"),
        "official_title": text(described, "scientificTitle"),
        "acronym": value_of(described, "acronym"),
    }


EXTERNAL_REFS = {
    "doi": "DOI",
    "eudraCTNumber": "EUDRACT_NUMBER",
    "irasNumber": "IRAS",
    "clinicalTrialsGovNumber": "NCT_NUMBER",
}


def secondary_ids(refs: Node) -> list[dict[str, Any]]:
    """Every id the record gives; a value repeated in ``secondaryNumbers`` is listed once."""
    numbered = [secondary_number(n) for n in items(refs, "secondaryNumbers", "secondaryNumber")]
    seen = {n["id"] for n in numbered if n.get("id")}
    fields = [{"type": kind, "id": value_of(refs, key)} for key, kind in EXTERNAL_REFS.items()]
    return [*numbered, *(f for f in fields if f["id"] and f["id"] not in seen)]


def secondary_number(n: Node) -> dict[str, Any]:
    pop(n, "@canonicalSecondaryNumber")
    kind = text(n, "@numberType")
    return {"type": kind or "OTHER", "id": value_of(n, "#text")}


def dates(trial: Node) -> dict[str, Any]:
    people, design = sub(trial, "participants"), sub(trial, "trialDesign")

    def when(node: Node, key: str) -> dict[str, str] | None:
        found = day(pop(node, key))
        return {"date": found} if found else None

    return {
        "start": when(design, "overallStartDate"),
        "completion": when(design, "overallEndDate"),
        "recruitment_start": when(people, "recruitmentStart"),
        "recruitment_end": when(people, "recruitmentEnd"),
    }


def enrollment(trial: Node) -> dict[str, Any]:
    people = sub(trial, "participants")
    target_text = text(people, "targetEnrolment")
    final = integer(text(people, "totalFinalEnrolment"), "totalFinalEnrolment")
    target = integer(target_text, "targetEnrolment") if _numeric(target_text) else None
    known = final is not None and final > 0  # 0 means "not known yet"
    return {
        "count": final if known else target,
        "type": "ACTUAL" if known else ("ESTIMATED" if target is not None else None),
        "target": target,
        "target_description": None if _numeric(target_text) else target_text,
    }


def _numeric(value: str | None) -> bool:
    return value is not None and bool(re.fullmatch(r"\d+(\.0+)?", value.strip()))


def outcomes(trial: Node) -> dict[str, Any]:
    described = sub(trial, "trialDescription")
    return {
        "primary": outcome_list(described, "primaryOutcomes", "primaryOutcome"),
        "secondary": outcome_list(described, "secondaryOutcomes", "secondaryOutcome"),
    }


def outcome_list(described: Node, structured: str, legacy: str) -> list[dict[str, Any]]:
    found = [measure(m) for m in items(described, structured, "outcomeMeasure")]
    found += [{"measure": line} for line in lines(raw_text(pop(described, legacy)))]
    return keyed_list(found, "measure")


def measure(m: Node) -> dict[str, Any]:
    return {
        "measure": text(m, "variable"),
        "description": text(m, "method"),
        "time_frame": text(m, "timepoints"),
    }


def eligibility(trial: Node) -> dict[str, Any]:
    people = sub(trial, "participants")
    volunteers = text(people, "healthyVolunteersAllowed")
    groups = [text(p, "#text") for p in items(people, "participantTypes", "participantType")]
    return {
        "inclusion": lines(raw_text(pop(people, "inclusion"))),
        "exclusion": lines(raw_text(pop(people, "exclusion"))),
        "sex": {"all": "ALL", "male": "MALE", "female": "FEMALE"}.get(
            (text(people, "gender") or "").casefold()
        ),
        "minimum_age": age(people, "lowerAgeLimit"),
        "maximum_age": age(people, "upperAgeLimit"),
        "std_ages": texts([text(people, "ageRange")]),
        "healthy_volunteers": {"true": True, "false": False}.get((volunteers or "").casefold()),
        "subject_groups": texts(groups),
    }


def age(people: Node, key: str) -> str | None:
    """``40 Years`` from ``<lowerAgeLimit unit="years" value="40.0">40 Years</...>``."""
    limit = people.get(key)
    if not isinstance(limit, dict):
        found = text(people, key)
        return None if found is None or found.casefold() in PLACEHOLDERS else found
    value, unit = pop(limit, "@value"), pop(limit, "@unit")
    shown = text(people, key)
    if isinstance(value, str) and _numeric(value) and isinstance(unit, str):
        return f"{int(float(value))} {unit.strip().capitalize()}"
    return None if shown is None or shown.casefold() in PLACEHOLDERS else shown


def design(trial: Node, phases: list[str]) -> dict[str, Any]:
    d = sub(trial, "trialDesign")
    interventional = sub(d, "interventionalTrialDesign")
    purposes = [text(p, "#text") for p in items(interventional, "purposes", "purpose")]
    return {
        "study_type": text(d, "primaryStudyDesign"),
        "secondary_design": text(d, "secondaryStudyDesign"),
        "description": text(d, "studyDesign"),
        "trial_types": texts(text(t, "#text") for t in items(d, "trialTypes", "trialType")),
        "phases": phases,
        "allocation": text(interventional, "allocation"),
        "masking": text(interventional, "masking"),
        "control": text(interventional, "control"),
        "intervention_model": text(interventional, "assignment"),
        "primary_purpose": texts(purposes),
    }


def phase_set(words: Iterable[str | None]) -> list[str]:
    """``Phase II/III`` -> ``PHASE2, PHASE3``; ``Not Applicable`` -> ``NA``."""
    out = set()
    for w in words:
        if not w:
            continue
        low = w.casefold().replace("phase ", "").replace("phase", "")
        if "not applicable" in w.casefold() or low.strip() in ("n/a", "na"):
            out.add("NA")
            continue
        for part in re.split(r"[/,&]| and ", low):
            roman = PHASES.get(f"phase {part.strip()}")
            out.add(roman or f"{w.strip()}")
    return sorted(out)


def interventions(trial: Node) -> tuple[list[dict[str, Any]], list[str]]:
    found, phases = [], []
    for i in items(trial, "interventions", "intervention"):
        phases.append(text(i, "phase"))
        found.append(
            {
                "type": text(i, "interventionType"),
                "name": value_of(i, "drugNames"),
                "description": text(i, "description"),
                "details": details(i, "intervention"),
            }
        )
    return keyed_list(found, "type", "name"), phase_set(phases)


def by_id(full: Node, kind: str) -> dict[str, Node]:
    """The sibling ``<contact>``/``<sponsor>``/``<funder>`` elements of a trial, by ``@id``."""
    out = {}
    for element in items(full, kind):
        key = element.get("@id")
        if isinstance(key, str):
            out[key.strip()] = element
    return out


def referenced(full: Node, trial: Node, kind: str) -> list[Node]:
    """The parties of ``kind`` the trial names, in its order, then any it does not name."""
    known = by_id(full, kind)
    names = [raw_text(i) for i in many(sub(trial, "parties").get(f"{kind}Id"))]
    pop(trial, "parties", f"{kind}Id")
    ordered = [known.pop(n.strip()) for n in names if n and n.strip() in known]
    return ordered + [known[k] for k in sorted(known)]


def sponsor(full: Node, trial: Node) -> dict[str, Any]:
    sponsors = [organisation(s) for s in referenced(full, trial, "sponsor")]
    funders = [funder(f) for f in referenced(full, trial, "funder")]
    lead = sponsors[0] if sponsors else {}
    others = [{**s, "role": "co-sponsor"} for s in sponsors[1:]] + funders
    return {"lead": lead, "collaborators": keyed_list(others, "name", "role")}


def organisation(s: Node) -> dict[str, Any]:
    pop(s, "@id")
    item = {
        "name": text(s, "organisation"),
        "class": text(s, "commercialStatus"),
        "type": text(s, "sponsorType"),
        "ror": text(s, "rorId"),
    }
    return drop_empty({**item, "details": details(s, "sponsor")})


def funder(f: Node) -> dict[str, Any]:
    pop(f, "@id")
    item = {"name": text(f, "name"), "role": "funder", "fund_ref": text(f, "fundRef")}
    return drop_empty({**item, "details": details(f, "funder")})


def contacts(full: Node, trial: Node) -> dict[str, Any]:
    people = [person(c) for c in referenced(full, trial, "contact")]
    officials = [p for p in people if "Principal investigator" in (p.get("role") or "")]
    central = [p for p in people if p not in officials]
    return {"central": keyed_list(central, "name"), "officials": keyed_list(officials, "name")}


def person(c: Node) -> dict[str, Any]:
    pop(c, "@id")
    parts = [value_of(c, k) for k in ("title", "forename", "surname")]
    roles = [text(t, "#text") for t in items(c, "contactTypes", "contactType")]
    where = sub(c, "contactDetails")
    return {
        "name": " ".join(p for p in parts if p) or None,
        "role": ", ".join(texts(roles)) or None,
        "phone": value_of(where, "telephone"),
        "email": value_of(where, "email"),
        "details": details(c, "contact"),
    }


def locations(trial: Node) -> list[dict[str, Any]]:
    people = sub(trial, "participants")
    centres = [centre(c) for c in items(people, "trialCentres", "trialCentre")]
    with_sites = {c.get("country") for c in centres}
    countries = texts(text(c, "#text") for c in items(people, "recruitmentCountries", "country"))
    found = centres + [{"country": c} for c in countries if c not in with_sites]
    return keyed_list(found, "facility", "city", "country")


def centre(c: Node) -> dict[str, Any]:
    pop(c, "@id")
    return {
        "facility": text(c, "name"),
        "city": text(c, "city"),
        "state": text(c, "state"),
        "zip": text(c, "zip"),
        "country": text(c, "country"),
        "details": details(c, "trialCentre"),
    }


def conditions(trial: Node) -> dict[str, Any]:
    found = items(trial, "conditions", "condition")
    names = [text(c, "description") for c in found]
    classes = [text(c, k) for c in found for k in ("diseaseClass1", "diseaseClass2")]
    return {"conditions": texts(names), "keywords": texts(classes)}


def description(trial: Node) -> dict[str, Any]:
    described = sub(trial, "trialDescription")
    return {
        "brief_summary": text(described, "plainEnglishSummary"),
        "hypothesis": text(described, "studyHypothesis"),
    }


def references(trial: Node) -> dict[str, Any]:
    results = sub(trial, "results")
    citation = text(results, "publicationDetails")
    outputs = [output(o) for o in items(trial, "outputs", "output")]
    files = [attached(f) for f in items(trial, "attachedFiles", "attachedFile")]
    return {
        "publications": [{"citation": citation}] if citation else [],
        "links": keyed_list([*outputs, *files], "url", "name"),
    }


def output(o: Node) -> dict[str, Any]:
    pop(o, "@id")
    url = pop(sub(o, "externalLink"), "@url")
    name = pop(sub(o, "localFile"), "@downloadFilename")
    return {
        "url": clean_text(url) if isinstance(url, str) else None,
        "name": clean_text(name) if isinstance(name, str) else None,
        "type": text(o, "@outputType"),
        "label": text(o, "description"),
        "details": details(o, "output"),
    }


def attached(f: Node) -> dict[str, Any]:
    pop(f, "id")
    url = pop(f, "@downloadUrl")
    return {
        "url": clean_text(url) if isinstance(url, str) else None,
        "label": text(f, "description"),
        "name": text(f, "name"),
        "details": details(f, "attachedFile"),
    }


def results(trial: Node) -> dict[str, Any]:
    r = sub(trial, "results")
    report = text(r, "basicReport")
    return {
        "has_results": True if report else None,
        "publication_stage": text(r, "publicationStage"),
        "basic_report": report,
        "plain_english_report": text(r, "plainEnglishReport"),
    }


def ipd_sharing(trial: Node) -> dict[str, Any]:
    r = sub(trial, "results")
    policies = [text(p, "#text") for p in items(r, "dataPolicies", "dataPolicy")]
    return {
        "statement": text(r, "ipdSharingStatement"),
        "policies": texts(policies),
        "plan": text(trial, "miscellaneous", "ipdSharingPlan"),
    }


def oversight(trial: Node) -> dict[str, Any]:
    described = sub(trial, "trialDescription")
    committees = items(described, "ethicsCommittees", "ethicsCommittee")
    for committee in committees:
        pop(committee, "@id")
    return {
        "ethics_approval": text(described, "ethicsApprovalRequired"),
        "ethics_committees": [details(c, "ethicsCommittee") for c in committees],
    }


def admin(trial: Node) -> dict[str, Any]:
    version = text(trial, "@version")
    updated = day(pop(trial, "@lastUpdated"))
    assigned = day(pop(trial, "@publicIdentifierDateAssigned"))
    published = text(trial, "@isPublished")
    return {
        "last_update_posted": {"date": updated} if updated else None,
        "version": integer(version, "@version"),
        "first_posted": {"date": assigned} if assigned else None,
        "published": {"true": True, "false": False}.get((published or "").casefold()),
    }


# ---------------------------------------------------------------- entry points


def _full(raw: Any) -> Node:
    full = raw.get("fullTrial") if isinstance(raw, dict) else None
    if isinstance(full, list) and len(full) == 1:
        full = full[0]
    if not isinstance(full, dict):
        raise RecordError("an ISRCTN record must be one <fullTrial> element")
    return full


def _trial(raw: Any) -> Node:
    trial = _full(raw).get("trial")
    if not isinstance(trial, dict):
        raise RecordError("<fullTrial> has no <trial> element")
    return trial


def trial_id_of(raw: Mapping[str, Any]) -> str:
    """``ISRCTN`` + 8 digits of a raw record; RecordError when it has none."""
    trial = _trial(raw)
    canonical = raw_text(trial.get("@publicIdentifierCanonical"))
    number = raw_text(trial.get("isrctn"))
    found = (canonical or "").strip().upper() or f"ISRCTN{(number or '').strip()}"
    if not ids.is_isrctn(found):
        raise RecordError(f"no ISRCTN number in the record (got {found!r:.40})")
    return found


def _bookkeeping(key: str, value: Any) -> bool:
    return key in ("@id", "@thirdPartyFilesAcknowledgement") or key == "acknowledgment"


def normalize(raw: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The canonical record of one ISRCTN trial on ``today`` (see the module docstring)."""
    trial_id = trial_id_of(raw)
    calendar = calendar_of(raw)
    full: Node = strip_keys(_full(raw), lambda k, v: k in ("@thirdPartyFilesAcknowledgement",))
    trial = sub(full, "trial")
    pop(trial, "trialDescription", "acknowledgment")
    listed, phases = interventions(trial)
    record = {
        "identification": identification(trial, trial_id),
        "status": status(trial, calendar, today),
        "dates": dates(trial),
        "enrollment": enrollment(trial),
        "outcomes": outcomes(trial),
        "eligibility": eligibility(trial),
        "design": design(trial, phases),
        "interventions": listed,
        "sponsor": sponsor(full, trial),
        "contacts": contacts(full, trial),
        "locations": locations(trial),
        "conditions": conditions(trial),
        "description": description(trial),
        "references": references(trial),
        "results": results(trial),
        "ipd_sharing": ipd_sharing(trial),
        "oversight": oversight(trial),
        "admin": admin(trial),
    }
    record = {k: drop_empty(v) if isinstance(v, dict) else v for k, v in record.items()}
    record["other"] = generic(plain(prune(strip_keys(full, _bookkeeping)) or {}), "isrctn")
    return finish(drop_empty(record))


def source_key(raw: Mapping[str, Any], today: date) -> str:
    """A version-prefixed hash of a raw record and of the status it has on ``today``.

    The status is derived from the calendar, so the same bytes normalize differently on another
    day: the key changes with the derived status, never with the day alone.
    """
    status_now = derive(calendar_of(raw), today)
    return version_hash(json_key([FORMAT, raw, status_now]))
