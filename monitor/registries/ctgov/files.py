"""The ClinicalTrials.gov files an offline directory holds, for :mod:`monitor.sources.files`.

* ``*.json`` with ``protocolSection``: one study as ``GET /api/v2/studies/{nctId}`` returns it;
* ``*.json`` with ``studies``: a page of ``GET /api/v2/studies`` (every study on it);
* ``*.json`` with ``studyVersion`` and ``study``: one version from the record history;
* ``*.txt``: a registry page rendered as text, like the seed documents (:mod:`.seedtext`).

A one-study JSON file, and each study of a page, is recognised from its bytes and keyed by a
hash of its bytes without the registry's daily ``versionHolder`` (:data:`CtgovFiles.byte_shape`,
described in :mod:`.byteshape`), so an unchanged record is not parsed.
"""

from __future__ import annotations

from typing import Any

from monitor.errors import RecordError
from monitor.filekey import ByteShape
from monitor.registries.base import FileRead, FoundStudy
from monitor.registries.ctgov.byteshape import BYTES, KEY_PREFIX
from monitor.registries.ctgov.ids import NCT_RE
from monitor.registries.ctgov.seedtext import parse_page

TEXT_SUFFIX = ".txt"


class CtgovFiles:
    """API v2 studies, studies pages, record-history versions and text pages."""

    suffixes: tuple[str, ...] = (".json", TEXT_SUFFIX)
    shapes = (
        "an API v2 study, a studies page or a history version "
        "(no protocolSection, studies or studyVersion key)"
    )
    byte_shape: ByteShape | None = BYTES
    key_prefix: str = KEY_PREFIX

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
