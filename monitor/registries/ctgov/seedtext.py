"""Parse a registry page rendered as text (the seed documents) into the API v2 study shape.

The page is a sequence of headings (``Recruitment Status``, ``Study Groups``, ...), each on a
line of its own, followed by its body. Some headings carry a fixed descriptive sentence
("Get a concise snapshot of the trial, ...") that is page furniture, not data; it is dropped
when it matches the known sentence. Each heading has a small handler in ``_HANDLERS``; the
handlers fill a ``protocolSection`` dict in the shape ``GET /api/v2/studies/{id}`` returns.

Text is kept as the page gives it (Markdown escapes such as ``18\\~65`` stay); fields the page
does not show are absent. A required value that cannot be read raises ``ParseError`` naming
the file and the line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import ParseError
from monitor.registries.ctgov.ids import NCT_RE
from monitor.registries.ctgov.vocabulary import VOCABULARY

logger = logging.getLogger(__name__)

DATE_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
TOKEN_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
AGE_RE = re.compile(r"^\d+ [A-Za-z]+$")
GROUP_TYPE_RE = re.compile(r"^Group Type (\S+)$")
INTERVENTION_TYPE_RE = re.compile(r"^Intervention Type (\S+)$")
SPONSOR_ROLE_RE = re.compile(r"^Sponsor Role (\S+)$")
RESPONSIBILITY_RE = re.compile(r"^Responsibility Role (\S+)$")
OFFICIAL_ROLE_RE = re.compile(r"^Role: (\S+)$")
ID_TYPE_RE = re.compile(r"^Identifier Type: (.+)$")
ID_SOURCE_RE = re.compile(r"^Identifier Source: (\S+)$")

STATUSES = frozenset(VOCABULARY.statuses)
PHASES = frozenset({"EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"})
STUDY_TYPES = frozenset({"INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS"})
SEXES = frozenset({"ALL", "FEMALE", "MALE"})
HEALTHY_VOLUNTEERS = {"Yes": True, "No": False}
SPONSOR_ROLES = frozenset({"lead", "collaborator"})
# The API's intervention types and the prefix it gives them in armGroups[].interventionNames.
INTERVENTION_TYPES = {
    "BEHAVIORAL": "Behavioral",
    "BIOLOGICAL": "Biological",
    "COMBINATION_PRODUCT": "Combination Product",
    "DEVICE": "Device",
    "DIAGNOSTIC_TEST": "Diagnostic Test",
    "DIETARY_SUPPLEMENT": "Dietary Supplement",
    "DRUG": "Drug",
    "GENETIC": "Genetic",
    "OTHER": "Other",
    "PROCEDURE": "Procedure",
    "RADIATION": "Radiation",
}
# How the page labels an official's role on the line that carries the affiliation.
OFFICIAL_ROLE_LABELS = {
    "PRINCIPAL_INVESTIGATOR": "Study Principal Investigator",
    "STUDY_DIRECTOR": "Study Director",
    "STUDY_CHAIR": "Study Chair",
}
# The descriptive sentence the page puts under a heading; it is not data.
INTROS = {
    "Basic Information": "Get a concise snapshot of the trial, including recruitment status, "
    "study phase, enrollment targets, and key timeline milestones.",
    "Brief Summary": "Review the sponsor-provided synopsis that highlights what the study is "
    "about and why it is being conducted.",
    "Detailed Description": "Dive into the extended narrative that explains the scientific "
    "background, objectives, and procedures in greater depth.",
    "Conditions": "See the medical conditions and disease areas that this research is "
    "targeting or investigating.",
    "Study Design": "Understand how the trial is structured, including allocation methods, "
    "masking strategies, primary purpose, and other design elements.",
    "Study Groups": "Review each arm or cohort in the study, along with the interventions and "
    "objectives associated with them.",
    "Interventions": "Learn about the drugs, procedures, or behavioral strategies being tested "
    "and how they are applied within this trial.",
    "Eligibility Criteria": "Check the participation requirements, including inclusion and "
    "exclusion rules, age limits, and whether healthy volunteers are accepted.",
    "Sponsors": "Meet the organizations funding or collaborating on the study and learn about "
    "their roles.",
    "Responsible Party": "Identify the individual or organization who holds primary "
    "responsibility for the study information submitted to regulators.",
    "Principal Investigators": "Learn about the lead researchers overseeing the trial and "
    "their institutional affiliations.",
    "Other Identifiers": "Review additional registry numbers or institutional identifiers "
    "associated with this trial.",
    "More Related Trials": "Additional clinical trials that may be relevant based on "
    "similarity analysis.",
}
MODULE_ORDER = (
    "identificationModule",
    "statusModule",
    "sponsorCollaboratorsModule",
    "descriptionModule",
    "conditionsModule",
    "designModule",
    "armsInterventionsModule",
    "eligibilityModule",
    "contactsLocationsModule",
)


@dataclass(frozen=True)
class Para:
    """A run of non-blank lines; ``line`` is the 1-based number of its first line."""

    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Section:
    """A heading and the paragraphs under it, up to the next heading."""

    heading: str
    line: int
    paras: list[Para] = field(default_factory=list)


# (type, name, description) of one intervention as the page lists it.
Item = tuple[str, str, str | None]
# An arm group (API shape, without interventionNames yet) and the interventions listed under it.
Arm = tuple[dict[str, Any], list[Item]]


@dataclass
class _Page:
    """What the handlers fill while reading one page."""

    path: str
    protocol: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    criteria: list[str] = field(default_factory=list)
    interventions: list[Item] | None = None
    groups: Section | None = None

    def error(self, line: int, message: str) -> ParseError:
        return ParseError(self.path, line, message)

    def put(self, path: tuple[str, ...], value: Any) -> None:
        node = self.protocol
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    def add(self, path: tuple[str, ...], value: Any) -> None:
        node = self.protocol
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).append(value)


Handler = Callable[[_Page, Section], None]


def parse_page(text: str, path: str) -> dict[str, Any]:
    """Parse one registry page in text form into ``{"protocolSection": {...}}``."""
    page = _Page(path)
    preamble, *sections = _split(text)
    _read_preamble(page, preamble)
    seen: dict[str, int] = {}
    for section in sections:
        if section.heading in seen:
            first = seen[section.heading]
            raise page.error(section.line, f"{section.heading!r} repeated (first at line {first})")
        seen[section.heading] = section.line
        _HANDLERS[section.heading](page, _without_intro(section))
    return _finish(page)


# -- splitting -----------------------------------------------------------------------------


def _split(text: str) -> list[Section]:
    """The preamble (heading "") followed by one Section per known heading."""
    sections = [Section("", 1)]
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.rstrip()
        key = line.strip()
        if not key or key in _HANDLERS:
            _flush(sections[-1], buf, start)
            buf = []
            if key:
                sections.append(Section(key, number))
            continue
        if not buf:
            start = number
        buf.append(line)
    _flush(sections[-1], buf, start)
    return sections


def _flush(section: Section, buf: list[str], start: int) -> None:
    if buf:
        section.paras.append(Para(start, tuple(buf)))


def _without_intro(section: Section) -> Section:
    intro = INTROS.get(section.heading)
    if section.paras and section.paras[0].text.strip() == intro:
        return Section(section.heading, section.line, section.paras[1:])
    return section


def _lines(section: Section) -> list[tuple[int, str]]:
    """Every non-blank line of the body as (line number, stripped text)."""
    return [(p.line + i, s.strip()) for p in section.paras for i, s in enumerate(p.lines)]


def _paragraphs(page: _Page, section: Section) -> str:
    if not section.paras:
        raise page.error(section.line, f"{section.heading!r} has no text")
    return "\n\n".join(p.text for p in section.paras)


# -- preamble: title, NCT ID, last update ------------------------------------------------------


def _read_preamble(page: _Page, preamble: Section) -> None:
    for number, line in _lines(preamble):
        if line.startswith("NCT ID:"):
            page.put(("identificationModule", "nctId"), _nct_id(page, number, line))
        elif line.startswith("Last Updated:"):
            date = _check_date(page, number, line.removeprefix("Last Updated:").strip())
            page.put(("statusModule", "lastUpdatePostDateStruct"), {"date": date})
        elif "briefTitle" not in page.protocol.get("identificationModule", {}):
            page.put(("identificationModule", "briefTitle"), line)
        else:
            raise page.error(number, f"unexpected text before the first section: {line!r}")
    if "nctId" not in page.protocol.get("identificationModule", {}):
        raise page.error(1, "no 'NCT ID:' line before the first section")


def _nct_id(page: _Page, number: int, line: str) -> str:
    value = line.removeprefix("NCT ID:").strip().upper()
    if not NCT_RE.match(value):
        raise page.error(number, f"not an NCT ID: {value!r}")
    return value


# -- single values -----------------------------------------------------------------------------


def _scalar(page: _Page, section: Section) -> tuple[int, str]:
    """The one line a heading such as ``Recruitment Status`` must be followed by."""
    lines = _lines(section)
    if not lines:
        raise page.error(section.line, f"{section.heading!r} has no value")
    if len(lines) > 1:
        raise page.error(lines[1][0], f"unexpected text after the value of {section.heading!r}")
    return lines[0]


def _check_choice(
    page: _Page, section: Section, number: int, value: str, allowed: Collection[str] | None
) -> str:
    ok = value in allowed if allowed is not None else bool(TOKEN_RE.match(value))
    if not ok:
        raise page.error(number, f"unknown value for {section.heading!r}: {value!r}")
    return value


def _check_date(page: _Page, number: int, value: str) -> str:
    if not DATE_RE.match(value):
        raise page.error(number, f"not a date (yyyy, yyyy-MM or yyyy-MM-dd): {value!r}")
    return value


def _choice(path: tuple[str, ...], allowed: Collection[str] | None = None) -> Handler:
    """A handler for a heading whose value is one code (``TREATMENT``, ``WITHDRAWN``...)."""

    def handle(page: _Page, section: Section) -> None:
        number, value = _scalar(page, section)
        page.put(path, _check_choice(page, section, number, value, allowed))

    return handle


def _date(struct: str) -> Handler:
    def handle(page: _Page, section: Section) -> None:
        number, value = _scalar(page, section)
        page.put(("statusModule", struct), {"date": _check_date(page, number, value)})

    return handle


def _age(key: str) -> Handler:
    def handle(page: _Page, section: Section) -> None:
        number, value = _scalar(page, section)
        if not AGE_RE.match(value):
            raise page.error(number, f"not an age such as '18 Years': {value!r}")
        page.put(("eligibilityModule", key), value)

    return handle


def _phases(page: _Page, section: Section) -> None:
    number, value = _scalar(page, section)
    phases = value.split("/")
    for phase in phases:
        _check_choice(page, section, number, phase, PHASES)
    page.put(("designModule", "phases"), phases)


def _healthy_volunteers(page: _Page, section: Section) -> None:
    number, value = _scalar(page, section)
    if value not in HEALTHY_VOLUNTEERS:
        raise page.error(number, f"expected Yes or No for {section.heading!r}: {value!r}")
    page.put(("eligibilityModule", "healthyVolunteers"), HEALTHY_VOLUNTEERS[value])


# -- text sections -----------------------------------------------------------------------------


def _text(path: tuple[str, ...]) -> Handler:
    def handle(page: _Page, section: Section) -> None:
        page.put(path, _paragraphs(page, section))

    return handle


def _conditions(page: _Page, section: Section) -> None:
    lines = _lines(section)
    if not lines:
        raise page.error(section.line, "'Conditions' lists no condition")
    page.put(("conditionsModule", "conditions"), [line for _, line in lines])


def _criteria_intro(page: _Page, section: Section) -> None:
    if section.paras:
        page.criteria.append("\n\n".join(p.text for p in section.paras))


def _criteria(label: str) -> Handler:
    def handle(page: _Page, section: Section) -> None:
        page.criteria.append(f"{label}:\n\n{_paragraphs(page, section)}")

    return handle


def _ignored(page: _Page, section: Section) -> None:
    if section.paras:
        logger.debug("%s:%s: %r not mapped", page.path, section.line, section.heading)


def _results(page: _Page, section: Section) -> None:
    lines = _lines(section)
    if lines and lines[0][1] == "Results pending":
        page.extra["hasResults"] = False


# -- sponsors, responsible party, officials, identifiers ---------------------------------------


def _sponsors(page: _Page, section: Section) -> None:
    pending: list[tuple[int, str]] = []
    for number, line in _lines(section):
        match = SPONSOR_ROLE_RE.match(line)
        if not match:
            pending.append((number, line))
            continue
        _add_sponsor(page, section, number, match.group(1), pending)
        pending = []
    if pending:
        raise page.error(pending[0][0], "sponsor without a 'Sponsor Role' line")


def _add_sponsor(
    page: _Page, section: Section, number: int, role: str, pending: list[tuple[int, str]]
) -> None:
    if len(pending) != 2:
        raise page.error(number, "expected a sponsor name and class before 'Sponsor Role'")
    (_, name), (class_line, sponsor_class) = pending
    _check_choice(page, section, class_line, sponsor_class, None)
    _check_choice(page, section, number, role, SPONSOR_ROLES)
    sponsor = {"name": name, "class": sponsor_class}
    if role == "lead":
        page.put(("sponsorCollaboratorsModule", "leadSponsor"), sponsor)
    else:
        page.add(("sponsorCollaboratorsModule", "collaborators"), sponsor)


def _responsible_party(page: _Page, section: Section) -> None:
    found = False
    for number, line in _lines(section):
        match = RESPONSIBILITY_RE.match(line)
        if match and not found:
            value = _check_choice(page, section, number, match.group(1), None)
            page.put(("sponsorCollaboratorsModule", "responsibleParty", "type"), value)
            found = True
        else:
            logger.warning("%s:%s: line not mapped: %r", page.path, number, line)
    if not found:
        raise page.error(section.line, "no 'Responsibility Role' line")


def _officials(page: _Page, section: Section) -> None:
    lines = _lines(section)
    i = 0
    while i < len(lines):
        official, used = _official(page, section, lines[i:])
        page.add(("contactsLocationsModule", "overallOfficials"), official)
        i += used


def _official(
    page: _Page, section: Section, lines: list[tuple[int, str]]
) -> tuple[dict[str, str], int]:
    """One official: name, ``Role: X``, then optionally ``<role label> <affiliation>``."""
    match = OFFICIAL_ROLE_RE.match(lines[1][1]) if len(lines) > 1 else None
    if match is None:
        number = lines[1][0] if len(lines) > 1 else lines[0][0]
        raise page.error(number, "expected 'Role: ...' after the investigator's name")
    role = _check_choice(page, section, lines[1][0], match.group(1), None)
    official = {"name": lines[0][1]}
    label = OFFICIAL_ROLE_LABELS.get(role)
    if len(lines) > 2 and label and (lines[2][1] + " ").startswith(label + " "):
        affiliation = lines[2][1].removeprefix(label).strip()
        if affiliation:
            official["affiliation"] = affiliation
        official["role"] = role
        return official, 3
    official["role"] = role
    return official, 2


def _identifiers(page: _Page, section: Section) -> None:
    pending: list[tuple[int, str]] = []
    for number, line in _lines(section):
        match = ID_SOURCE_RE.match(line)
        if not match:
            pending.append((number, line))
            continue
        _add_identifier(page, number, match.group(1), pending)
        pending = []
    if pending:
        raise page.error(pending[0][0], "identifier without an 'Identifier Source' line")


def _add_identifier(page: _Page, number: int, source: str, pending: list[tuple[int, str]]) -> None:
    if not pending or ID_TYPE_RE.match(pending[0][1]) or len(pending) > 2:
        raise page.error(number, "expected an identifier, then 'Identifier Type: ...'")
    info = {"id": pending[0][1]}
    if len(pending) == 2:
        type_match = ID_TYPE_RE.match(pending[1][1])
        if type_match is None:
            raise page.error(pending[1][0], "expected 'Identifier Type: ...'")
        if type_match.group(1).strip() != "-":
            info["type"] = type_match.group(1).strip()
    if source == "org_study_id":
        page.put(("identificationModule", "orgStudyIdInfo"), info)
    else:
        page.add(("identificationModule", "secondaryIdInfos"), info)


# -- arms and interventions --------------------------------------------------------------------


def _interventions(page: _Page, section: Section) -> None:
    """Each intervention: name, description paragraphs, then ``Intervention Type X``."""
    items: list[Item] = []
    pending: list[Para] = []
    for para in section.paras:
        if not _is_intervention_type(para):
            pending.append(para)
            continue
        if not pending:
            raise page.error(para.line, "'Intervention Type' without an intervention name")
        description = "\n\n".join(p.text for p in pending[1:]) or None
        items.append((_intervention_type(page, para), pending[0].text.strip(), description))
        pending = []
    if pending:
        raise page.error(pending[0].line, "intervention without an 'Intervention Type' line")
    page.interventions = items


def _groups(page: _Page, section: Section) -> None:
    page.groups = section  # read in _finish, once the Interventions section is known


def _is_intervention_type(para: Para) -> bool:
    return len(para.lines) == 1 and INTERVENTION_TYPE_RE.match(para.lines[0].strip()) is not None


def _intervention_type(page: _Page, para: Para) -> str:
    match = INTERVENTION_TYPE_RE.match(para.lines[0].strip())
    assert match is not None
    if match.group(1) not in INTERVENTION_TYPES:
        raise page.error(para.line, f"unknown intervention type: {match.group(1)!r}")
    return match.group(1)


def _group_type(para: Para) -> str | None:
    match = GROUP_TYPE_RE.match(para.lines[0].strip()) if len(para.lines) == 1 else None
    return match.group(1) if match else None


def _arms(page: _Page, section: Section) -> list[Arm]:
    """Each arm: label, description, ``Group Type X``, then the interventions it lists."""
    paras = section.paras
    marks = [i for i, p in enumerate(paras) if _group_type(p)]
    if paras and not marks:
        raise page.error(paras[0].line, "no 'Group Type' line under 'Study Groups'")
    arms: list[Arm] = []
    head = paras[: marks[0]] if marks else []
    for k, mark in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(paras)
        items, used = _arm_items(page, paras[mark + 1 : end], last=end == len(paras))
        arms.append((_arm(page, head, paras[mark]), items))
        head = paras[mark + 1 + used : end]
    return arms


def _arm(page: _Page, head: list[Para], type_para: Para) -> dict[str, Any]:
    if not head:
        raise page.error(type_para.line, "'Group Type' without an arm label")
    arm_type = _group_type(type_para)
    assert arm_type is not None
    if not TOKEN_RE.match(arm_type):
        raise page.error(type_para.line, f"unknown group type: {arm_type!r}")
    arm: dict[str, Any] = {"label": head[0].text.strip(), "type": arm_type}
    if len(head) > 1:
        arm["description"] = "\n\n".join(p.text for p in head[1:])
    return arm


def _arm_items(page: _Page, region: list[Para], last: bool) -> tuple[list[Item], int]:
    """The interventions listed under one arm (name, type, description) and how many
    paragraphs they use; what follows belongs to the next arm."""
    items: list[Item] = []
    j = 0
    while j + 1 < len(region) and _is_intervention_type(region[j + 1]):
        name = region[j].text.strip()
        item_type = _intervention_type(page, region[j + 1])
        used = _item_description_length(page, region[j + 2 :], name, last)
        description = "\n\n".join(p.text for p in region[j + 2 : j + 2 + used]) or None
        items.append((item_type, name, description))
        j += 2 + used
    if last and j < len(region):
        raise page.error(region[j].line, "unexpected text under 'Study Groups'")
    return items, j


def _item_description_length(page: _Page, rest: list[Para], name: str, last: bool) -> int:
    """How many paragraphs of ``rest`` describe the intervention just read."""
    for k in range(len(rest) - 1):
        if _is_intervention_type(rest[k + 1]):
            return k  # rest[k] names the next intervention of this arm
    if last:
        return len(rest)
    known = {n: d for _, n, d in page.interventions or []}
    if name in known:
        description = known[name]
        count = description.count("\n\n") + 1 if description else 0
        if "\n\n".join(p.text for p in rest[:count]) == (description or ""):
            return count
    return 1 if len(rest) > 1 else 0  # guess: one paragraph, then the next arm's label


def _arms_interventions(page: _Page) -> None:
    arms = _arms(page, page.groups) if page.groups else []
    items = page.interventions
    if items is None:
        items = list(dict.fromkeys(item for _, listed in arms for item in listed))
    for arm, listed in arms:
        arm["interventionNames"] = [f"{INTERVENTION_TYPES[t]}: {n}" for t, n, _ in listed]
        page.add(("armsInterventionsModule", "armGroups"), arm)
    for item in items:
        page.add(("armsInterventionsModule", "interventions"), _intervention(arms, item))


def _intervention(arms: list[Arm], item: Item) -> dict[str, Any]:
    item_type, name, description = item
    intervention: dict[str, Any] = {"type": item_type, "name": name}
    if description:
        intervention["description"] = description
    labels = [arm["label"] for arm, listed in arms if (item_type, name) in _keys(listed)]
    if labels:
        intervention["armGroupLabels"] = labels
    return intervention


def _keys(listed: list[Item]) -> list[tuple[str, str]]:
    return [(item_type, name) for item_type, name, _ in listed]


# -- assembling --------------------------------------------------------------------------------


def _finish(page: _Page) -> dict[str, Any]:
    _arms_interventions(page)
    if page.criteria:
        page.put(("eligibilityModule", "eligibilityCriteria"), "\n\n".join(page.criteria))
        eligibility = page.protocol["eligibilityModule"]
        eligibility = {"eligibilityCriteria": eligibility.pop("eligibilityCriteria"), **eligibility}
        page.protocol["eligibilityModule"] = eligibility
    order = {name: i for i, name in enumerate(MODULE_ORDER)}
    modules = sorted(page.protocol.items(), key=lambda kv: order.get(kv[0], len(order)))
    return {"protocolSection": dict(modules), **page.extra}


_HANDLERS: dict[str, Handler] = {
    "Study Results": _results,
    "Basic Information": _ignored,
    "Recruitment Status": _choice(("statusModule", "overallStatus"), STATUSES),
    "Clinical Phase": _phases,
    "Study Classification": _choice(("designModule", "studyType"), STUDY_TYPES),
    "Study Start Date": _date("startDateStruct"),
    "Primary Completion Date": _date("primaryCompletionDateStruct"),
    "Study Completion Date": _date("completionDateStruct"),
    "Brief Summary": _text(("descriptionModule", "briefSummary")),
    "Detailed Description": _text(("descriptionModule", "detailedDescription")),
    "Conditions": _conditions,
    "Study Design": _ignored,
    "Allocation Method": _choice(("designModule", "designInfo", "allocation")),
    "Intervention Model": _choice(("designModule", "designInfo", "interventionModel")),
    "Primary Study Purpose": _choice(("designModule", "designInfo", "primaryPurpose")),
    "Blinding Strategy": _choice(("designModule", "designInfo", "maskingInfo", "masking")),
    "Study Groups": _groups,
    "Interventions": _interventions,
    "Eligibility Criteria": _criteria_intro,
    "Inclusion Criteria": _criteria("Inclusion Criteria"),
    "Exclusion Criteria": _criteria("Exclusion Criteria"),
    "Minimum Eligible Age": _age("minimumAge"),
    "Maximum Eligible Age": _age("maximumAge"),
    "Eligible Sex": _choice(("eligibilityModule", "sex"), SEXES),
    "Accepts Healthy Volunteers": _healthy_volunteers,
    "Sponsors": _sponsors,
    "Responsible Party": _responsible_party,
    "Principal Investigators": _officials,
    "Other Identifiers": _identifiers,
    "More Related Trials": _ignored,
}
