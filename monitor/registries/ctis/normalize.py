"""Pure: a CTIS record (``GET /ctis-public-api/retrieve/{ctNumber}``) -> the canonical record (v2).

What is read where (see ``docs/canonical-record.md`` for the target shape):

- status: ``ctPublicStatusCode`` in the registry's words (never the record's ``ctStatus``, the
  application label); an end is ``Ended (early termination)`` when every member state concerned
  notified an ``EARLY_TERMINATION`` (as ctrdata reads it), with ``early_termination`` ``{date,
  reason}``; per member state its public status (``by_country``);
- dates: ``start`` (first ``START_OF_TRIAL``, or ``startDateEU``), ``recruitment_start`` (first
  ``START_OF_RECRUITMENT``, else the estimated recruitment start), ``recruitment_end``,
  ``completion`` (``endDateEU``, else the estimated end), ``global_end`` (``trialGlobalEndDate``,
  else the estimated global end), ``end_by_country`` and the other events per country;
- enrollment: planned subjects, per member state and outside the EEA, and their sum;
- outcomes and criteria sorted and numbered by ``number`` (CTIS arrays come unordered);
- ids in other registries (NCT, EudraCT, WHO UTN, additional registries) in
  ``identification.secondary_ids``; earlier resubmissions of this trial in ``aliases``.

Translations (``*Translations``) are ignored and database row keys (``id``, ``mscId``, ...:
integer keys named ``id`` or ending in ``Id``/``Pk``) are bookkeeping, not content; everything
else that is not mapped goes to ``other``, generically cleaned. No I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.errors import RecordError
from monitor.normalize import (
    clean_text,
    finish,
    generic,
    json_key,
    keyed_list,
    snake,
    version_hash,
)
from monitor.recordtree import (
    Node,
    drop_empty,
    each,
    pop,
    pop_list,
    prune,
    rest,
    strip_keys,
    sub,
)
from monitor.registries.ctis import ids
from monitor.registries.ctis.ids import KIND
from monitor.registries.ctis.vocabulary import (
    AGE_RANGES,
    EARLY_TERMINATION,
    EARLY_TERMINATION_EVENT,
    END_OF_RECRUITMENT,
    END_OF_TRIAL,
    PHASES,
    START_OF_RECRUITMENT,
    START_OF_TRIAL,
    status_words,
)

#: Part of the source key: bump it when what this module reads of a raw record changes.
FORMAT = "ctis1"
PART_I = ("authorizedApplication", "authorizedPartI")
DETAILS = (*PART_I, "trialDetails")
INFO = (*DETAILS, "trialInformation")
IDENTIFIERS = (*DETAILS, "clinicalTrialIdentifiers")
PRODUCT_ROLES = {"1": "Test", "2": "Comparator", "3": "Placebo", "4": "Auxiliary"}
DOCUMENT_URL = "https://euclinicaltrials.eu/ctis-public-api/documents/{ct}/{uuid}/download"


# ---------------------------------------------------------------- small readers


def _bookkeeping(key: str, value: Any) -> bool:
    """Translations and database row keys: never content."""
    if key.endswith("Translations"):
        return True
    row_key = key == "id" or key.endswith(("Id", "Pk"))
    return row_key and (isinstance(value, int) or (isinstance(value, str) and value.isdigit()))


def text(node: Node, *path: str) -> str | None:
    value = pop(node, *path)
    if value is None or isinstance(value, dict | list):
        if value:
            raise RecordError(f"{'.'.join(path)}: expected text, got {type(value).__name__}")
        return None
    cleaned = clean_text(str(value))
    return cleaned or None


def day(value: Any) -> str | None:
    """The ISO day of a CTIS date or timestamp (``2024-06-03T10:22:52.087`` -> ``2024-06-03``)."""
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
        return None
    return value[:10]


def date(value: Any, kind: str) -> dict[str, str] | None:
    d = day(value)
    return {"date": d, "type": kind} if d else None


def flag(node: Node, *path: str) -> bool | None:
    value = pop(node, *path)
    return value if isinstance(value, bool) else None


def count(node: Node, *path: str) -> int | None:
    value = pop(node, *path)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise RecordError(f"{'.'.join(path)}: expected a number, got {value!r}")


def texts(values: Iterable[Any]) -> list[str]:
    """A set of texts: cleaned, de-duplicated, sorted."""
    return sorted({clean_text(str(v)) for v in values if v is not None} - {""})


def by_number(items: list[Node], key: str) -> list[tuple[int, str]]:
    """``(number, text)`` of numbered items, in number order (CTIS sends them unordered)."""
    out = []
    for item in items:
        number = pop(item, "number")
        body = text(item, key)
        if body:
            out.append((number if isinstance(number, int) else 0, body))
    return sorted(out)


def details(node: Node, where: str) -> Any:
    """Whatever was not mapped of a list item, kept with the item (generically cleaned)."""
    leftover = rest(node)
    return generic(leftover, where) if leftover else None


# ---------------------------------------------------------------- sections


def identification(data: Node, ct: str) -> dict[str, Any]:
    own = sub(data, *IDENTIFIERS)
    associated = [text(a, "ctNumber") for a in each(data, *DETAILS, "associatedClinicalTrials")]
    numbers = [n for n in associated if n]
    return {
        "trial_id": ct,
        "registry": KIND,
        "aliases": ids.older(ct, numbers),
        "secondary_ids": keyed_list(secondary_ids(data, ct, numbers), "type", "id"),
        "brief_title": text(own, "publicTitle"),
        "official_title": text(own, "fullTitle"),
        "acronym": text(own, "shortTitle"),
    }


def secondary_ids(data: Node, ct: str, associated: list[str]) -> list[dict[str, Any]]:
    numbers = sub(data, *IDENTIFIERS, "secondaryIdentifyingNumbers")
    found = [
        {"type": "NCT_NUMBER", "id": text(numbers, "nctNumber", "number")},
        {"type": "WHO_UTN", "id": text(numbers, "whoUniversalTrialNumber", "number")},
        *(registry_id(r) for r in each(numbers, "additionalRegistries")),
        eudract(sub(data, "authorizedApplication", "eudraCt")),
        *(
            {"type": "ASSOCIATED_TRIAL", "id": n, "domain": "CTIS"}
            for n in associated
            if not ids.same_trial(n, ct)
        ),
    ]
    return [i for i in found if i.get("id")]


def registry_id(entry: Node) -> dict[str, Any]:
    pop(entry, "ctRegistryCode")
    return {
        "type": "REGISTRY",
        "id": text(entry, "number"),
        "domain": text(entry, "otherRegistryName"),
    }


def eudract(node: Node) -> dict[str, Any]:
    moved = flag(node, "isTransitioned")
    domain = "transitioned to CTIS" if moved else None
    return {"type": "EUDRACT_NUMBER", "id": text(node, "eudraCtCode"), "domain": domain}


Events = dict[str, list[tuple[str, str]]]


def trial_events(data: Node) -> tuple[Events, dict[str, str]]:
    """``{country: [(event, day), ...]}`` and ``{country: early termination reason}``."""
    events: Events = {}
    reasons: dict[str, str] = {}
    for entry in each(data, "events", "trialEvents"):
        country = text(entry, "mscName") or "?"
        for event in each(entry, "events"):
            kind, when = text(event, "notificationType"), day(pop(event, "date"))
            if kind and when:
                events.setdefault(country, []).append((kind, when))
        reason = text(entry, "earlyTerminationReason", "name")
        pop(entry, "earlyTerminationReason", "code")
        pop(entry, "earlyTerminationReason", "isLateCandidate")  # the notice's timing
        if reason:
            reasons[country] = reason
    return events, reasons


def member_states(data: Node) -> dict[str, str]:
    """``{country: public status words}`` of the member states concerned."""
    out = {}
    for msc in each(data, "authorizedApplication", "memberStatesConcerned"):
        country = clean_text(str(msc.get("mscName") or ""))  # read again by admin()
        words = status_words(pop(msc, "mscPublicStatusCode"))
        if country and words:
            out[country] = words
    return out


def ended_early(events: Events, countries: Iterable[str]) -> bool:
    """Every member state concerned notified an early termination (ctrdata's reading)."""
    names = set(countries) or set(events)
    early = {c for c, evs in events.items() if any(k == EARLY_TERMINATION_EVENT for k, _ in evs)}
    return bool(names) and names <= early


def status(data: Node, events: Events, reasons: Mapping[str, str]) -> dict[str, Any]:
    code = pop(data, "ctPublicStatusCode")
    words = status_words(code)
    label = data.get("ctStatus")  # the application label: only when there is no public code
    by_country = member_states(data)
    early = words == "Ended" and ended_early(events, by_country)
    termination = early_termination(events, reasons) if early else None
    for country, evs in events.items():
        if by_country.get(country) == "Ended" and any(k == EARLY_TERMINATION_EVENT for k, _ in evs):
            by_country[country] = EARLY_TERMINATION
    return {
        "overall_status": EARLY_TERMINATION if early else (words or clean_text(str(label or ""))),
        "why_stopped": (termination or {}).get("reason"),
        "early_termination": termination,
        "by_country": by_country,
        "halts_by_country": halts(events),
        **safety_notices(data),
    }


HALTS = {
    "TEMPORARY_HALT": "temporary halt",
    "RESTART_OF_TRIAL": "restart of the trial",
    "RESTART_OF_RECRUITMENT": "restart of recruitment",
}
NOTICES = ("temporaryHaltList", "seriousBreaches", "urgentSafetyMeasures", "unexpectedEvents")


def halts(events: Events) -> dict[str, list[str]]:
    """Per member state, its halts and restarts: ``["2025-01-10 temporary halt", ...]``."""
    out = {}
    for country, evs in events.items():
        found = sorted({f"{d} {HALTS[k]}" for k, d in evs if k in HALTS})
        if found:
            out[country] = found
    return out


def safety_notices(data: Node) -> dict[str, Any]:
    """The trial's halts, serious breaches, urgent safety measures and unexpected events, as
    CTIS lists them (kept whole, generically cleaned)."""
    return {snake(key): generic(pop_list(data, "events", key), f"events.{key}") for key in NOTICES}


def early_termination(events: Events, reasons: Mapping[str, str]) -> dict[str, Any]:
    dates = [d for evs in events.values() for k, d in evs if k == EARLY_TERMINATION_EVENT]
    return drop_empty(
        {"date": max(dates, default=None), "reason": "; ".join(texts(reasons.values()))}
    )


def first(events: Events, kind: str, latest: bool = False) -> str | None:
    found = [d for evs in events.values() for k, d in evs if k == kind]
    return (max if latest else min)(found, default=None)


def dates(data: Node, events: Events) -> dict[str, Any]:
    duration = sub(data, *INFO, "trialDuration")
    keys = ("estimatedRecruitmentStartDate", "estimatedEndDate", "estimatedGlobalEndDate")
    estimated = {k: date(pop(duration, k), "ESTIMATED") for k in keys}
    start = day(pop(data, "startDateEU")) or first(events, START_OF_TRIAL)
    recruiting = first(events, START_OF_RECRUITMENT)
    global_end = date(pop(data, "events", "trialGlobalEndDate"), "ACTUAL")
    return {
        "start": date(start, "ACTUAL"),
        "recruitment_start": date(recruiting, "ACTUAL")
        or estimated.get("estimatedRecruitmentStartDate"),
        "recruitment_end": date(first(events, END_OF_RECRUITMENT, latest=True), "ACTUAL"),
        "completion": date(pop(data, "endDateEU"), "ACTUAL") or estimated.get("estimatedEndDate"),
        "global_end": global_end or estimated.get("estimatedGlobalEndDate"),
        **by_country(data, events),
    }


ENDS = (END_OF_TRIAL, EARLY_TERMINATION_EVENT)


def by_country(data: Node, events: Events) -> dict[str, dict[str, Any]]:
    """Each member state's start, recruitment start and end, and end (``{country: date}``):
    the events it notified, else the periods its part II declares (a transitioned trial's)."""
    declared = declared_periods(data)
    found: dict[str, dict[str, Any]] = {}
    for field, kinds, latest in (
        ("start_by_country", (START_OF_TRIAL,), False),
        ("recruitment_start_by_country", (START_OF_RECRUITMENT,), False),
        ("recruitment_end_by_country", (END_OF_RECRUITMENT,), True),
        ("end_by_country", ENDS, True),
    ):
        dates = {c: d for c, d in declared.get(field, {}).items()}
        for country, evs in events.items():
            days = [d for k, d in evs if k in kinds]
            if days:
                dates[country] = max(days) if latest else min(days)
        found[field] = {c: {"date": d, "type": "ACTUAL"} for c, d in sorted(dates.items())}
    return found


def declared_periods(data: Node) -> dict[str, dict[str, str]]:
    """The start and recruitment start each part II declares (its active periods)."""
    out: dict[str, dict[str, str]] = {"start_by_country": {}, "recruitment_start_by_country": {}}
    for part in each(data, "authorizedApplication", "authorizedPartsII"):
        info = sub(part, "mscInfo")
        country = clean_text(str(info.get("mscName") or info.get("countryName") or "?"))
        start = day(pop(info, "activeTrialPeriod", "trialStartDate"))
        recruiting = day(pop(info, "activeTrialRecruitmentPeriod", "recruitmentStartDate"))
        pop(info, "hasRecruitmentStarted")
        if start:
            out["start_by_country"][country] = start
        if recruiting:
            out["recruitment_start_by_country"][country] = recruiting
    return out


def enrollment(data: Node) -> dict[str, Any]:
    by_country: dict[str, int] = {}
    for part in each(data, "authorizedApplication", "authorizedPartsII"):
        country = clean_text(str(sub(part, "mscInfo").get("mscName") or "?"))
        planned = count(part, "recruitmentSubjectCount")
        if planned is not None:
            by_country[country] = by_country.get(country, 0) + planned
    outside = count(data, *PART_I, "rowSubjectCount")
    known = [*by_country.values(), *([outside] if outside is not None else [])]
    return {
        "count": sum(known) if known else None,
        "type": "ESTIMATED" if known else None,
        "by_country": by_country,
        "outside_eea": outside,
    }


def outcomes(data: Node) -> dict[str, Any]:
    points = sub(data, *INFO, "endPoint")

    def numbered(key: str) -> list[dict[str, Any]]:
        items = each(points, key)
        for item in items:
            pop(item, "isPrimary")
        return [{"measure": m, "number": n} for n, m in by_number(items, "endPoint")]

    return {"primary": numbered("primaryEndPoints"), "secondary": numbered("secondaryEndPoints")}


def eligibility(data: Node) -> dict[str, Any]:
    criteria = sub(data, *INFO, "eligibilityCriteria")
    population = sub(data, *INFO, "populationOfTrialSubjects")
    inclusion = by_number(
        each(criteria, "principalInclusionCriteria"), "principalInclusionCriteria"
    )
    exclusion = by_number(
        each(criteria, "principalExclusionCriteria"), "principalExclusionCriteria"
    )
    ages = [pop(a, "ageRangeCategoryCode") for a in each(population, "ageRanges")]
    for a in each(population, "ageRanges"):
        pop(a, "ageRangeCategory")
    return {
        "inclusion": [t for _, t in inclusion],
        "exclusion": [t for _, t in exclusion],
        "sex": sex(flag(population, "isFemaleSubjects"), flag(population, "isMaleSubjects")),
        "std_ages": texts(AGE_RANGES.get(str(a), f"code {a}") for a in ages if a is not None),
        "subject_groups": texts(group(g) for g in each(population, "clinicalTrialGroups")),
        "vulnerable_population": flag(population, "isVulnerablePopulationSelected"),
    }


def group(g: Node) -> str | None:
    pop(g, "code")
    return text(g, "name")


def sex(female: bool | None, male: bool | None) -> str | None:
    if female and male:
        return "ALL"
    return "FEMALE" if female else "MALE" if male else None


def design(data: Node) -> dict[str, Any]:
    category = sub(data, *INFO, "trialCategory")
    phase = text(category, "trialPhase")
    low = flag(category, "isLowIntervention")
    part_low = flag(data, *PART_I, "isLowIntervention")
    part_category = text(data, *PART_I, "trialCategoryCode")
    objective = sub(data, *INFO, "trialObjective")
    scopes = [text(x, "code") for x in each(objective, "trialScopes")]
    return {
        "phases": list(PHASES.get(phase, (f"code {phase}",))) if phase else [],
        "trial_scopes": texts(scopes),
        "trial_category": text(category, "trialCategory") or part_category,
        "low_intervention": low if low is not None else part_low,
    }


def interventions(data: Node) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for group in each(data, *PART_I, "productRoleGroupInfos"):
        role = text(group, "productRoleName")
        code = text(group, "productRoleCode")
        found.extend(
            product(p, role or PRODUCT_ROLES.get(code or "")) for p in each(group, "products")
        )
    for p in each(data, *PART_I, "products"):  # the same products, ungrouped
        found.append(product(p, None))
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:  # the flat list repeats the grouped one; a role is kept when known
        key = (item.get("name") or "", item.get("description") or "")
        merged[key] = {**item, **{k: v for k, v in merged.get(key, {}).items() if v}}
    return keyed_list(merged.values(), "type", "name")


def product(p: Node, role: str | None) -> dict[str, Any]:
    code = text(p, "mpRoleInTrial")
    pop(p, "part1MpRoleTypeCode")
    dictionary = sub(p, "productDictionaryInfo")
    name = text(p, "productName") or text(dictionary, "prodName")
    substances = [text(dictionary, "activeSubstanceName")]
    substances += [text(s, "actSubstName") for s in each(dictionary, "productSubstances")]
    return {
        "type": role or PRODUCT_ROLES.get(code or "") or "Product",
        "name": name,
        "description": text(p, "pharmaceuticalFormDisplay"),
        "other_names": [s for s in texts(substances) if s.casefold() != (name or "").casefold()],
        "details": details(p, "product"),
    }


def organisation_name(node: Node) -> str | None:
    return text(node, "organisation", "name")


SPONSOR_PARTS = ("publicContacts", "scientificContacts", "thirdParties")


def sponsor(data: Node) -> dict[str, Any]:
    sponsors = each(data, *PART_I, "sponsors")
    lead = next((s for s in sponsors if s.get("primary")), sponsors[0] if sponsors else None)
    funders = each(data, *INFO, "sourceOfMonetarySupport")
    collaborators = [
        *(third_party(t) for s in sponsors for t in each(s, "thirdParties")),
        *({"name": text(f, "organisationName"), "role": "funder"} for f in funders),
        *(organisation(s, "co-sponsor") for s in sponsors if s is not lead),
    ]
    lead_item = organisation(lead, None) if lead else {}
    others = (c for c in collaborators if c.get("name") != lead_item.get("name"))
    return {"lead": lead_item, "collaborators": keyed_list(others, "name")}


def organisation(s: Node, role: str | None) -> dict[str, Any]:
    """A sponsor (the lead or a co-sponsor): its name, class and the rest CTIS says of it."""
    pop(s, "primary")
    held = {k: s.pop(k) for k in SPONSOR_PARTS if k in s}  # read by their own sections
    item = {"name": organisation_name(s), "class": commercial(s), "role": role}
    item["details"] = details(s, "sponsors[]")
    s.update(held)
    return drop_empty(item)


def commercial(node: Node) -> str | None:
    words = text(node, "commercial")
    own = flag(node, "isCommercial")
    org = flag(node, "organisation", "commercial")
    value = own if own is not None else org
    return words or ("Commercial" if value else "Non-commercial" if value is False else None)


def third_party(t: Node) -> dict[str, Any]:
    where = sub(t, "organisationAddress")
    duties = [text(d, "code") for d in each(t, "sponsorDuties")]
    name = organisation_name(where)
    item = {"name": name, "role": "third party", "duties": texts(duties)}
    return drop_empty({**item, "details": details(t, "thirdParties[]")})


def contacts(data: Node) -> dict[str, Any]:
    people = []
    for s in each(data, *PART_I, "sponsors"):
        for key in ("publicContacts", "scientificContacts"):
            people += [contact(c) for c in each(s, key)]
    return {"central": keyed_list(people, "name")}


def contact(c: Node) -> dict[str, Any]:
    return {
        "name": text(c, "functionalName"),
        "role": text(c, "type"),
        "affiliation": organisation_name(c),
        "email": text(c, "functionalEmailAddress"),
        "phone": text(c, "telephone"),
        "details": details(c, "contacts[]"),
    }


def locations(data: Node) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in each(data, "authorizedApplication", "authorizedPartsII"):
        country = clean_text(str(sub(part, "mscInfo").get("mscName") or ""))
        sites = [site(s) for s in each(part, "trialSites")]
        found += sites or [{"country": country}]
    for row in each(data, *PART_I, "rowCountriesInfo"):
        found.append({"country": text(row, "name")})
        for key in ("isoNumber", "isoAlpha2Code", "isoAlpha3Code", "current"):
            pop(row, key)
    return keyed_list(found, "facility", "city", "country")


def site(s: Node) -> dict[str, Any]:
    where = sub(s, "organisationAddressInfo")
    person = sub(s, "personInfo")
    name = " ".join(t for t in (text(person, "firstName"), text(person, "lastName")) if t)
    return {
        "facility": organisation_name(where),
        "department": text(s, "departmentName"),
        "city": text(where, "address", "city"),
        "zip": text(where, "address", "postcode"),
        "country": text(where, "address", "countryName"),
        "contacts": [person_contact(person, name)] if name else [],
        "details": details(s, "trialSites[]"),
    }


def person_contact(person: Node, name: str) -> dict[str, Any]:
    contact = {"name": name, "email": text(person, "email"), "phone": text(person, "telephone")}
    return drop_empty({**contact, "details": details(person, "personInfo")})


def conditions(data: Node) -> dict[str, Any]:
    condition = sub(data, *INFO, "medicalCondition")
    items = [*each(condition, "partIMedicalConditions"), *each(data, *PART_I, "medicalConditions")]
    rare = [flag(c, "isConditionRareDisease") for c in items]
    names = [text(c, "medicalCondition") for c in items]
    areas = [*each(data, *PART_I, "therapeuticAreas")]
    areas += [sub(a, "therapeuticArea") for a in each(data, *PART_I, "partOneTherapeuticAreas")]
    for area in areas:
        pop(area, "code")
    return {
        "conditions": texts(names),
        "keywords": meddra_terms(condition),
        "therapeutic_areas": texts(text(a, "name") for a in areas),
        "rare_disease": any(rare) if any(r is not None for r in rare) else None,
    }


def meddra_terms(condition: Node) -> list[str]:
    """The MedDRA terms' names (their codes, levels and versions are read with them)."""
    names = []
    for term in each(condition, "meddraConditionTerms"):
        names.append(text(term, "termName"))
        term.clear()
    return texts(names)


def description(data: Node) -> dict[str, Any]:
    objective = sub(data, *INFO, "trialObjective")
    secondary = by_number(each(objective, "secondaryObjectives"), "secondaryObjective")
    return {
        "brief_summary": text(objective, "mainObjective"),
        "secondary_objectives": [t for _, t in secondary],
    }


def references(data: Node, ct: str) -> dict[str, Any]:
    pmids = texts(pop_list(data, *DETAILS, "pubmedCode"))
    urls = texts(pop_list(data, *DETAILS, "pubmedUrl"))
    links = [{"url": u} for u in urls] + [document(d, ct) for d in each(data, "documents")]
    return {
        "publications": keyed_list(({"pmid": p} for p in pmids), "pmid"),
        "links": keyed_list(links, "url"),
    }


def document(d: Node, ct: str) -> dict[str, Any]:
    uuid = text(d, "uuid")
    return {
        "url": DOCUMENT_URL.format(ct=ct, uuid=uuid) if uuid else None,
        "label": text(d, "title"),
        "type": text(d, "documentTypeLabel"),
        "version": text(d, "manualVersion"),
        "details": details(d, "documents[]"),
    }


def results(data: Node) -> dict[str, Any]:
    summaries = [
        *each(data, "results", "summaryResults"),
        *each(data, "results", "laypersonResults"),
    ]
    taken = [summary(s) for s in summaries]
    submitted = [s["submitted"] for s in taken if s.get("submitted")]
    return {
        "has_results": True if taken else None,
        "first_submitted": min(submitted, default=None),
        "summaries": keyed_list(taken, "type", "version"),
    }


def summary(s: Node) -> dict[str, Any]:
    for key in ("ctNumber", "updatedOn", "createdOn", "businessKey", "isFinalResult"):
        pop(s, key)
    return {
        "type": text(s, "summaryType"),
        "title": text(s, "title"),
        "version": text(s, "versionType"),
        "status": text(s, "status"),
        "submitted": day(pop(s, "submissionDate")),
    }


def oversight(data: Node) -> dict[str, Any]:
    """The authorities that gave scientific advice, and the paediatric investigation plan."""
    advice = sub(data, *DETAILS, "scientificAdviceAndPip")
    advices = each(advice, "scientificAdvices")
    names = [text(a, "competentAuthority", "organisation", "name") for a in advices]
    for a in advices:
        a.clear()  # the authority's address and register keys
    return {
        "scientific_advice": texts(names),
        "paediatric_plan": generic(rest(advice) or {}, "scientificAdviceAndPip"),
    }


def admin(data: Node) -> dict[str, Any]:
    """The regulatory bookkeeping: decisions, assessments, applications, status history.

    Each of these repeats or precedes what the other sections report (a new substantial
    modification shows as the edits it made), so a change here is ``info``.
    """
    published = day(pop(data, "publishDate"))
    pop(data, "trialRegionCode")
    part1 = sub(data, *PART_I)
    return {
        "last_update_posted": {"date": published} if published else None,
        "decision_date": day(pop(data, "decisionDate")),
        "application_status": text(data, "ctStatus"),
        "trial_region": text(data, "trialRegion"),
        "status_history": status_history(data),
        "assessment": generic({k: pop(part1, k) for k in ASSESSMENT}, "authorizedPartI assessment"),
        "category_justification": text(
            data, *INFO, "trialCategory", "justificationForTrialCategory"
        ),
        "member_states": member_state_decisions(data),
        "applications": generic(
            pop_list(data, "authorizedApplication", "applicationInfo"), "applications"
        ),
    }


ASSESSMENT = (
    "assessmentOutcome",
    "assessmentOutcomeDate",
    "conclusionDate",
    "trialCategoryJustificationComment",
)


def member_state_decisions(data: Node) -> dict[str, Any]:
    """Per member state, what is left of its part II and its decision dates: the decision,
    the assessment, the periods it declared over time (``{country: {...}}``)."""
    out: dict[str, Any] = {}
    for part in each(data, "authorizedApplication", "authorizedPartsII"):
        info = sub(part, "mscInfo")
        country = clean_text(str(info.get("mscName") or info.get("countryName") or "?"))
        for key in ("mscName", "countryName"):
            pop(info, key)
        out[country] = generic(rest(part) or {}, f"authorizedPartsII {country}")
    for msc in each(data, "authorizedApplication", "memberStatesConcerned"):
        country = text(msc, "mscName") or "?"
        decided = {snake(k): day(pop(msc, k)) for k in ("firstDecisionDate", "lastDecisionDate")}
        out.setdefault(country, {}).update(drop_empty(decided))
    return {c: v for c, v in sorted(out.items()) if v}


def status_history(data: Node) -> dict[str, list[str]]:
    """Per member state, its dated status labels; the labels the application parts repeat.

    These repeat what ``status`` reports from the public codes, so they are bookkeeping here.
    """
    out: dict[str, list[str]] = {}
    for part in each(data, "authorizedApplication", "authorizedPartsII"):
        info = sub(part, "mscInfo")
        country = clean_text(str(info.get("mscName") or info.get("countryName") or "?"))
        for key in ("trialStatus", "reportingStatusCode"):
            pop(info, key)
        for entry in each(info, "clinicalTrialStatusHistory"):
            label, when = text(entry, "trialStatus"), day(pop(entry, "trialStatusDate"))
            if label:
                out.setdefault(country, []).append(f"{when or '?'} {label}")
    for application in each(data, "authorizedApplication", "applicationInfo"):
        pop(application, "trialStatus")
        for part in each(application, "partIIInfo"):
            for key in ("trialStatus", "reportingStatusCode"):
                pop(part, "mscInfo", key)
        for msc in each(application, "ctMSCsByApplication"):
            pop(msc, "reportingStatusCode")
    return {country: sorted(set(labels)) for country, labels in out.items()}


# ---------------------------------------------------------------- entry points


def ct_number(raw: Any) -> str:
    """The EU CT number of a retrieved record; RecordError for ``{}`` or a wrong shape."""
    if not isinstance(raw, dict):
        raise RecordError(f"a CTIS record must be a JSON object, got {type(raw).__name__}")
    if not raw:
        raise RecordError("an empty CTIS record ({}: what CTIS answers for an unknown number)")
    number = raw.get("ctNumber")
    if not isinstance(number, str) or not ids.is_ct_number(number.strip()):
        raise RecordError(f"ctNumber: expected an EU CT number, got {number!r:.60}")
    return number.strip()


def normalize(raw: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """The canonical record of a retrieved CTIS record (see the module docstring).

    ``today`` is not read (a CTIS status is the registry's, not derived from the calendar).
    """
    ct = ct_number(raw)
    data: Node = strip_keys(raw, _bookkeeping)
    pop(data, "ctNumber")
    events, reasons = trial_events(data)
    record = {
        "identification": identification(data, ct),
        "status": status(data, events, reasons),
        "dates": dates(data, events),
        "enrollment": enrollment(data),
        "outcomes": outcomes(data),
        "eligibility": eligibility(data),
        "design": design(data),
        "interventions": interventions(data),
        "sponsor": sponsor(data),
        "contacts": contacts(data),
        "locations": locations(data),
        "conditions": conditions(data),
        "description": description(data),
        "references": references(data, ct),
        "results": results(data),
        "ipd_sharing": generic(pop(data, *INFO, "individualParticipantData") or {}, "ipd"),
        "oversight": oversight(data),
        "admin": admin(data),
    }
    record = {k: drop_empty(v) if isinstance(v, dict) else v for k, v in record.items()}
    record["other"] = generic(prune(data) or {}, "ctis")
    return finish(drop_empty(record))


def source_key(raw: Mapping[str, Any], today: dt.date | None = None) -> str:
    """A version-prefixed hash of a raw record's content (key order does not count).

    ``today`` is not read: a CTIS record normalizes the same on any day (the argument keeps
    the signature every registry's source hash has).
    """
    return version_hash(json_key([FORMAT, raw]))
