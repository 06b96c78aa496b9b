"""The ClinicalTrials.gov files an offline directory holds, for :mod:`monitor.sources.files`.

* ``*.json`` with ``protocolSection``: one study as ``GET /api/v2/studies/{nctId}`` returns it;
* ``*.json`` with ``studies``: a page of ``GET /api/v2/studies`` (every study on it);
* ``*.json`` with ``studyVersion`` and ``study``: one version from the record history;
* ``*.txt``: a registry page rendered as text, like the seed documents (:mod:`.seedtext`).

A one-study JSON file is recognised from its bytes (:meth:`CtgovFiles.scan`) and keyed by a
hash of its bytes without the registry's daily ``versionHolder`` (:meth:`CtgovFiles.file_key`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from monitor.errors import RecordError
from monitor.normalize import HASH_VERSION
from monitor.registries.base import FileRead, FoundStudy
from monitor.registries.ctgov.ids import NCT_RE
from monitor.registries.ctgov.seedtext import parse_page

TEXT_SUFFIX = ".txt"
NCT_KEY_RE = re.compile(rb'"nctId"\s*:\s*"([^"\\]*)"')
# versionHolder's value inside the miscInfoModule object (no brace or bracket crossed to reach it)
VERSION_HOLDER_RE = re.compile(
    rb'("miscInfoModule"\s*:\s*\{[^{}\[\]]*?"versionHolder"\s*:\s*)"[^"\\]*"'
)
NCT_KEY = b'"nctId"'
HOLDER_KEY = b'"versionHolder"'
MODULE_KEY = b'"miscInfoModule"'
KEY_PREFIX = f"{HASH_VERSION}:file:"


class CtgovFiles:
    """API v2 studies, studies pages, record-history versions and text pages."""

    suffixes: tuple[str, ...] = (".json", TEXT_SUFFIX)
    shapes = (
        "an API v2 study, a studies page or a history version "
        "(no protocolSection, studies or studyVersion key)"
    )

    def scan(self, raw: bytes) -> str | None:
        """The NCT id of a JSON file that names exactly one, found without parsing it.

        ``"nctId"`` can occur in a file's bytes only as a key (inside a JSON string its quotes
        would be escaped), so a file with one such key holds at most one study, with that id.
        Anything else (no or several ids, an id that is not an NCT number) is parsed.
        """
        at = raw.find(NCT_KEY)  # near the start; the rfind makes sure it is the only one
        found = NCT_KEY_RE.match(raw, at) if at >= 0 and raw.rfind(NCT_KEY) == at else None
        if found is None:
            return None
        nct_id = found.group(1).decode("ascii", "replace").strip().upper()
        return nct_id if NCT_RE.match(nct_id) else None

    def file_key(self, raw: bytes) -> str | None:
        """The source key of a one-study file: its bytes, but for the registry's daily stamp.

        ``derivedSection.miscInfoModule.versionHolder`` is the date of the registry's data
        release: it moves every day when nothing else does, and the normalizer never reads
        it, so its value is blanked before hashing. It is blanked only where it is
        unambiguous (one ``versionHolder`` key, in the one ``miscInfoModule`` object);
        otherwise there is no key (``None``), and the pipeline hashes the parsed record.
        """
        holder = raw.rfind(HOLDER_KEY)  # near the end
        if holder < 0:
            return KEY_PREFIX + hashlib.sha256(raw).hexdigest()
        module = _only(raw, MODULE_KEY) if raw.find(HOLDER_KEY) == holder else -2
        found = VERSION_HOLDER_RE.match(raw, module) if module >= 0 else None
        if found is None:
            return None
        view = memoryview(raw)
        digest = hashlib.sha256(view[: found.end(1)])  # up to the value, then from after it
        digest.update(view[found.end() :])
        return KEY_PREFIX + digest.hexdigest()

    def from_json(self, doc: dict[str, Any], path: str) -> FileRead | None:
        if "studies" in doc and "protocolSection" not in doc:
            return _from_page(doc["studies"])
        if "protocolSection" in doc:
            return FileRead([FoundStudy(_nct_id(doc), doc)])
        if "studyVersion" in doc and "study" in doc:
            return FileRead([_history_version(doc)])
        return None

    def from_file(self, suffix: str, raw: bytes, path: str) -> FileRead | None:
        if suffix != TEXT_SUFFIX:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError(f"not UTF-8 text: {e}") from e
        data = parse_page(text, path)
        return FileRead([FoundStudy(_nct_id(data), data)])


def _only(raw: bytes, key: bytes) -> int:
    """Where ``key`` occurs in ``raw`` if it occurs exactly once; -1 if it does not, -2 if more.

    Two searches (from either end) cost less than ``bytes.count``, which cannot stop early.
    """
    at = raw.find(key)
    return at if at < 0 or raw.rfind(key) == at else -2


def _history_version(doc: dict[str, Any]) -> FoundStudy:
    version = doc["studyVersion"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise RecordError(f"studyVersion is not a version number: {version!r}")
    study = doc["study"]
    if not isinstance(study, dict) or "protocolSection" not in study:
        raise RecordError("history version whose 'study' has no protocolSection")
    return FoundStudy(_nct_id(study), study, version)


def _from_page(studies: Any) -> FileRead:
    if not isinstance(studies, list):
        raise RecordError("'studies' is not a list")
    read = FileRead()
    for position, study in enumerate(studies):
        try:
            if not isinstance(study, dict) or "protocolSection" not in study:
                raise RecordError("not an API v2 study (no protocolSection)")
            read.studies.append(FoundStudy(_nct_id(study), study))
        except RecordError as e:
            read.errors.append(f"studies[{position}]: {e}")
    return read


def _nct_id(study: dict[str, Any]) -> str:
    section = study.get("protocolSection")
    module = section.get("identificationModule") if isinstance(section, dict) else None
    value = module.get("nctId") if isinstance(module, dict) else None
    nct_id = value.strip().upper() if isinstance(value, str) else ""
    if not NCT_RE.match(nct_id):
        raise RecordError(f"no valid protocolSection.identificationModule.nctId: {value!r}")
    return nct_id
