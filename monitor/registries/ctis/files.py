"""Offline CTIS files: a record as ``GET /ctis-public-api/retrieve/{ctNumber}`` returns it.

A ``*.json`` file is a CTIS record when its object has ``ctNumber`` and ``authorizedApplication``
(CONTRACT.md, offline source). Pure: the offline reader reads and parses the file.
"""

from __future__ import annotations

from typing import Any

from monitor.filekey import ByteShape
from monitor.registries.base import FileRead, FoundStudy
from monitor.registries.ctis import ids


def is_record(doc: Any) -> bool:
    return isinstance(doc, dict) and "ctNumber" in doc and "authorizedApplication" in doc


def from_json(doc: Any, path: str) -> FileRead | None:
    """The trial of a parsed JSON document, or None when it is not a CTIS record."""
    if not is_record(doc):
        return None
    number = doc.get("ctNumber")
    if not isinstance(number, str) or not ids.is_ct_number(number.strip()):
        return FileRead(errors=[f"ctNumber {number!r:.40} is not an EU CT number"])
    return FileRead(studies=[FoundStudy(number.strip(), doc)])


class CtisFiles:
    """The registry's offline shape (:class:`monitor.registries.base.Offline`)."""

    suffixes: tuple[str, ...] = (".json",)
    shapes = (
        "a CTIS record (GET /ctis-public-api/retrieve/{ctNumber}: ctNumber, authorizedApplication)"
    )
    byte_shape: ByteShape | None = None  # parsed: its source key is the hash of what it holds
    key_prefix = ""

    def from_json(self, doc: dict[str, Any], path: str) -> FileRead | None:
        return from_json(doc, path)

    def from_file(self, suffix: str, raw: bytes, path: str) -> FileRead | None:
        return None
