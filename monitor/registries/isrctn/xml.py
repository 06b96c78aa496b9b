"""ISRCTN XML, read with care: no DTD, no entity declarations, plain dicts out. Pure.

The API answers ``<allTrials totalCount="N">`` with one ``<fullTrial>`` per trial (or a single
``<fullTrial>``), in the namespace ``http://www.67bricks.com/isrctn``. A registry never needs a
DTD: any document that declares one (and so could declare entities: "billion laughs", external
entities) is refused before a single element is built, as ``defusedxml`` would with
``forbid_dtd=True``. The parser is the standard library's expat, driven directly.

A ``<fullTrial>`` becomes a plain dict (:func:`to_dict`): attributes as ``@name``, element text
as the value (``#text`` beside attributes or children), children by local name, repeated
children (and those of :data:`REPEATED`, even when alone) as lists.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from monitor.errors import RecordError

NAMESPACE = "http://www.67bricks.com/isrctn"

#: ``(parent, child)`` elements that are lists even when a trial has only one of them.
REPEATED = frozenset(
    {
        ("allTrials", "fullTrial"),
        ("fullTrial", "contact"),
        ("fullTrial", "sponsor"),
        ("fullTrial", "funder"),
        ("parties", "contactId"),
        ("parties", "sponsorId"),
        ("parties", "funderId"),
        ("recruitmentCountries", "country"),
        ("trialCentres", "trialCentre"),
        ("primaryOutcomes", "outcomeMeasure"),
        ("secondaryOutcomes", "outcomeMeasure"),
        ("secondaryNumbers", "secondaryNumber"),
        ("conditions", "condition"),
        ("interventions", "intervention"),
        ("trialTypes", "trialType"),
        ("purposes", "purpose"),
        ("participantTypes", "participantType"),
        ("ethicsCommittees", "ethicsCommittee"),
        ("dataPolicies", "dataPolicy"),
        ("outputs", "output"),
        ("attachedFiles", "attachedFile"),
        ("contactTypes", "contactType"),
    }
)


class _Refused(Exception):
    pass


def _refuse(what: str) -> Any:
    def handler(*args: Any) -> Any:
        raise _Refused(what)

    return handler


def local(name: str) -> str:
    """``{namespace}trial`` or ``namespace}trial`` -> ``trial``."""
    return name.rsplit("}", 1)[-1]


def parse(data: bytes | str) -> ET.Element:
    """The document's root element; RecordError for a DTD, an entity or malformed XML."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a DTD")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.StartElementHandler = lambda name, attrs: builder.start(
        local(name), {local(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(local(name))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data.encode() if isinstance(data, str) else data, True)
    except _Refused as e:
        raise RecordError(f"XML refused: it carries {e} (a registry answer never does)") from None
    except expat.ExpatError as e:
        raise RecordError(f"not well-formed XML: {e}") from None
    return builder.close()


def trials(root: ET.Element) -> list[ET.Element]:
    """The ``<fullTrial>`` elements of an answer (``allTrials``) or the root itself."""
    if root.tag == "fullTrial":
        return [root]
    if root.tag == "allTrials":
        return [child for child in root if child.tag == "fullTrial"]
    raise RecordError(f"expected <allTrials> or <fullTrial>, got <{root.tag}>")


def total_count(root: ET.Element) -> int | None:
    """``totalCount`` of an ``<allTrials>`` answer (None when absent or not a number)."""
    value = root.get("totalCount", "")
    return int(value) if value.isdigit() else None


def to_dict(element: ET.Element) -> Any:
    """An element as plain data (see the module docstring)."""
    attributes = {f"@{k}": v for k, v in element.attrib.items()}
    children: dict[str, Any] = {}
    for child in element:
        value = to_dict(child)
        if child.tag in children:
            previous = children[child.tag]
            children[child.tag] = (
                [*previous, value] if isinstance(previous, list) else [previous, value]
            )
        else:
            children[child.tag] = [value] if (element.tag, child.tag) in REPEATED else value
    text = element.text or ""
    if not attributes and not children:
        return text
    if text.strip():
        attributes["#text"] = text
    return {**attributes, **children}


def record_of(full_trial: ET.Element) -> dict[str, Any]:
    """The raw record trialmon keeps of one trial: ``{"fullTrial": {...}}``."""
    return {"fullTrial": to_dict(full_trial)}


def trial_id(full_trial: ET.Element) -> str | None:
    """``ISRCTN`` + the number of a ``<fullTrial>`` (None when it has none)."""
    trial = full_trial.find("trial")
    if trial is None:
        return None
    canonical = trial.get("publicIdentifierCanonical")
    if canonical:
        return canonical.strip().upper()
    number = trial.findtext("isrctn", "").strip()
    return f"ISRCTN{number}" if number else None
