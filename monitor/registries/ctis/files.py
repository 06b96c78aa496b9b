"""Offline CTIS files: a record as ``GET /ctis-public-api/retrieve/{ctNumber}`` returns it.

A ``*.json`` file is a CTIS record when its object has ``ctNumber`` and ``authorizedApplication``
(CONTRACT.md, offline source). Pure: the caller reads and parses the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.registries.ctis import ids

SUFFIXES = (".json",)
SHAPES = "a CTIS record (GET /ctis-public-api/retrieve/{ctNumber}: ctNumber, authorizedApplication)"


@dataclass
class Found:
    """The trials a file holds (id, raw record) and the problems that kept some out."""

    studies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def is_record(doc: Any) -> bool:
    return isinstance(doc, dict) and "ctNumber" in doc and "authorizedApplication" in doc


def from_json(doc: Any, path: str) -> Found | None:
    """The trial of a parsed JSON document, or None when it is not a CTIS record."""
    if not is_record(doc):
        return None
    number = doc.get("ctNumber")
    if not isinstance(number, str) or not ids.is_ct_number(number.strip()):
        return Found(errors=[f"{path}: ctNumber {number!r:.40} is not an EU CT number"])
    return Found(studies=[(number.strip(), doc)])
