"""Offline ISRCTN files: XML as the API returns it (``allTrials`` or ``fullTrial`` root).

Every ``<fullTrial>`` of a ``*.xml`` file is one trial (CONTRACT.md, offline source). Pure: the
caller reads the bytes. A file of another XML (no ISRCTN root) is not this registry's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.errors import RecordError
from monitor.registries.isrctn import xml

SUFFIXES = (".xml",)
SHAPES = "ISRCTN XML (GET /api/query/format/default: <allTrials> or <fullTrial>)"
ROOTS = ("allTrials", "fullTrial")


@dataclass
class Found:
    """The trials a file holds (id, raw record) and the problems that kept some out."""

    studies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def from_file(suffix: str, raw: bytes, path: str) -> Found | None:
    """The trials of an XML file; None for another suffix or another kind of XML."""
    if suffix.lower() not in SUFFIXES:
        return None
    try:
        root = xml.parse(raw)
    except RecordError as e:
        return Found(errors=[f"{path}: {e}"]) if b"67bricks.com/isrctn" in raw[:4096] else None
    if root.tag not in ROOTS:
        return None
    found = Found()
    for n, trial in enumerate(xml.trials(root), start=1):
        trial_id = xml.trial_id(trial)
        if trial_id is None:
            found.errors.append(f"{path}: trial {n} has no ISRCTN number")
        else:
            found.studies.append((trial_id, xml.record_of(trial)))
    return found
