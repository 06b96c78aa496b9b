"""Offline ISRCTN files: XML as the API returns it (``allTrials`` or ``fullTrial`` root).

Every ``<fullTrial>`` of a ``*.xml`` file is one trial (CONTRACT.md, offline source). Pure: the
offline reader reads the bytes. A file of another XML (no ISRCTN root) is not this registry's.
"""

from __future__ import annotations

from typing import Any

from monitor.errors import RecordError
from monitor.filekey import ByteShape
from monitor.registries.base import FileRead, FoundStudy
from monitor.registries.isrctn import xml

SUFFIXES = (".xml",)
ROOTS = ("allTrials", "fullTrial")


def from_file(suffix: str, raw: bytes, path: str) -> FileRead | None:
    """The trials of an XML file; None for another suffix or another kind of XML."""
    if suffix.lower() not in SUFFIXES:
        return None
    try:
        root = xml.parse(raw)
    except RecordError as e:
        return FileRead(errors=[str(e)]) if b"67bricks.com/isrctn" in raw[:4096] else None
    if root.tag not in ROOTS:
        return None
    found = FileRead()
    for n, trial in enumerate(xml.trials(root), start=1):
        trial_id = xml.trial_id(trial)
        if trial_id is None:
            found.errors.append(f"trial {n} has no ISRCTN number")
        else:
            found.studies.append(FoundStudy(trial_id, xml.record_of(trial)))
    return found


class IsrctnFiles:
    """The registry's offline shape (:class:`monitor.registries.base.Offline`)."""

    suffixes: tuple[str, ...] = SUFFIXES
    shapes = "ISRCTN XML (GET /api/query/format/default: <allTrials> or <fullTrial>)"
    byte_shape: ByteShape | None = None  # XML is never a JSON file: it is parsed
    key_prefix = ""

    def from_json(self, doc: dict[str, Any], path: str) -> FileRead | None:
        return None

    def from_file(self, suffix: str, raw: bytes, path: str) -> FileRead | None:
        return from_file(suffix, raw, path)
