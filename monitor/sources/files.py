"""The offline source: every file directly in a directory is one record of one study.

A file is one of: an API v2 study (``*.json`` with ``protocolSection``), a ``/api/v2/studies``
page (``*.json`` with ``studies``), a record-history version (``{"studyVersion": N, "study":
{...}}``) or a registry page rendered as text (``*.txt``, read by ``seedtext``). Other files
(other suffixes, hidden files, ``README*``) are skipped; subfolders are not read. A symbolic
link is followed only to a file inside the directory: one that loops, dangles or leaves the
directory is an error naming it, and the other files go on.

Errors are values: a malformed file yields a ``StudyError`` naming it and the other files go
on; a study held by two files yields one ``StudyError`` naming both and no record. The
directory is read twice so that only ids and file numbers are held in memory, never all the
records: the first pass indexes which file holds which study, the second yields the records.
The first pass finds the id of a file that names one study by scanning its bytes, so such a
file (the usual case) is parsed once, in the second pass, which then reports its errors.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from monitor.errors import ParseError, RecordError, SourceError
from monitor.limits import MAX_RECORD_BYTES, too_large
from monitor.models import RawRecord, RecordEvent, StudyError
from monitor.normalize import HASH_VERSION
from monitor.sources.seedtext import parse_page

logger = logging.getLogger(__name__)

SOURCE = "files"
JSON_SUFFIX = ".json"
TEXT_SUFFIX = ".txt"
NCT_RE = re.compile(r"^NCT\d{8}$")
NCT_KEY_RE = re.compile(rb'"nctId"\s*:\s*"([^"\\]*)"')
# versionHolder's value inside the miscInfoModule object (no brace or bracket crossed to reach it)
VERSION_HOLDER_RE = re.compile(
    rb'("miscInfoModule"\s*:\s*\{[^{}\[\]]*?"versionHolder"\s*:\s*)"[^"\\]*"'
)
READ_MORE = 1 << 16  # bytes read at once past the size fstat gave
NCT_KEY = b'"nctId"'
HOLDER_KEY = b'"versionHolder"'
MODULE_KEY = b'"miscInfoModule"'
KEY_PREFIX = f"{HASH_VERSION}:file:"
CHUNK = 500  # files whose stored keys are looked up in one query

Item = RawRecord | StudyError | RecordEvent
Known = Callable[[Sequence[str]], Mapping[str, str]]


@dataclass(frozen=True)
class _Study:
    """One study found in a file."""

    nct_id: str
    data: dict[str, Any]
    version: int | None = None


def iter_records(
    directory: Path, watched: Collection[str], known: Known | None = None
) -> Iterator[Item]:
    """Yield the record of every study in ``directory`` (only the watched ones if any are).

    Raises ``SourceError`` at once (not at the first ``next``) when ``directory`` is not a
    directory; every other problem is yielded as a ``StudyError``. ``known`` gives the source
    key stored for each of some studies (``Store.source_hashes``): a file whose key did not
    move becomes an ``unchanged`` event, unparsed.
    """
    files, unreadable = _record_files(directory)
    return _both_passes(files, {nct_id.upper() for nct_id in watched}, known, unreadable)


def _both_passes(
    files: list[str], wanted: set[str], known: Known | None, unreadable: Sequence[StudyError] = ()
) -> Iterator[Item]:
    yield from unreadable
    index: dict[str, list[int]] = {}
    scanned: dict[int, str | None] = {}  # file number -> key, for the files _scan indexed
    for number, path in enumerate(files):
        found = _scan(path)
        if found is not None:
            nct_id, scanned[number] = found
            if not wanted or nct_id in wanted:
                index.setdefault(nct_id, []).append(number)
            continue
        studies, errors = _read(path)
        yield from errors
        for study in studies:
            if not wanted or study.nct_id in wanted:
                index.setdefault(study.nct_id, []).append(number)
    yield from _duplicates(index, files)
    yield from _second_pass(_Plan.of(index, files, scanned), known)


@dataclass(frozen=True)
class _Plan:
    """What the second pass reads: per file, the studies expected from it.

    A scanned file expects at most one study (``only``: ``None`` when its study is unwatched or
    held by another file too, so it is parsed only to report its errors); a parsed file expects
    the studies it alone holds (``several``). No set or object per scanned file.
    """

    files: list[str]
    scanned: dict[int, str | None]  # file number -> key
    only: dict[int, str | None]  # scanned file number -> the one study expected from it
    several: dict[int, set[str]]  # parsed file number -> the studies expected from it

    @classmethod
    def of(
        cls, index: dict[str, list[int]], files: list[str], scanned: dict[int, str | None]
    ) -> _Plan:
        only: dict[int, str | None] = dict.fromkeys(scanned)
        several: dict[int, set[str]] = {}
        for nct_id, numbers in index.items():
            if len(numbers) == 1:
                if numbers[0] in only:
                    only[numbers[0]] = nct_id
                else:
                    several.setdefault(numbers[0], set()).add(nct_id)
        return cls(files, scanned, only, several)

    def numbers(self) -> list[int]:
        return sorted([*self.only, *self.several])

    def pending(self, number: int) -> _Pending:
        path = self.files[number]
        if number not in self.only:
            return _Pending(path, self.several[number], False)
        nct_id = self.only[number]
        return _Pending(path, {nct_id} if nct_id else set(), True, self.scanned[number])


def _second_pass(plan: _Plan, known: Known | None) -> Iterator[Item]:
    numbers = plan.numbers()
    for start in range(0, len(numbers), CHUNK):
        yield from _chunk(plan, numbers[start : start + CHUNK], known)


@dataclass
class _Pending:
    """A file of the second pass: the studies expected from it, and its key if it was scanned."""

    path: str
    expected: set[str]
    scanned: bool
    key: str | None = None


def _chunk(plan: _Plan, numbers: list[int], known: Known | None) -> Iterator[Item]:
    """One lookup of stored keys for the chunk's files, then each file in order."""
    only, scanned = plan.only, plan.scanned
    ids = [only.get(n) if scanned.get(n) else None for n in numbers]
    keyed = [nct_id for nct_id in ids if nct_id]
    stored = known(keyed) if known and keyed else {}
    for number, nct_id in zip(numbers, ids, strict=True):
        if nct_id is not None and stored.get(nct_id) == scanned[number]:
            yield RecordEvent(nct_id, "unchanged")
        else:
            yield from _records_of(plan.pending(number))


def _records_of(pending: _Pending) -> Iterator[Item]:
    path, expected = pending.path, pending.expected
    raw = _bytes(path)
    key = file_key(raw) if pending.scanned and raw is not None else None  # of what is parsed
    studies, errors = _read(path, raw)
    if pending.scanned:  # not parsed by the first pass, so its errors were not yielded yet
        yield from errors
    size = len(raw) // max(1, len(studies)) if raw is not None else 0  # a page: its share
    for study in studies:
        if study.nct_id in expected:
            expected.discard(study.nct_id)
            yield RawRecord(
                study.nct_id,
                study.data,
                SOURCE,
                str(path),
                version=study.version,
                source_key=key,
                size=size,
            )
    if pending.scanned and errors:
        return
    for nct_id in sorted(expected):
        yield StudyError(nct_id, f"{path}: {nct_id} no longer readable (file changed while read)")


def _duplicates(index: dict[str, list[int]], files: list[str]) -> Iterator[StudyError]:
    for nct_id in sorted(index):
        numbers = index[nct_id]
        if len(numbers) > 1:
            names = ", ".join(str(files[n]) for n in numbers)
            message = f"{nct_id} is held by {len(numbers)} records in one directory: {names}"
            yield StudyError(nct_id, f"{message}; keep one of them", transient=False)


# -- listing -----------------------------------------------------------------------------------


def _record_files(directory: Path) -> tuple[list[str], list[StudyError]]:
    """The record files of ``directory`` by name, and an error per entry that cannot be read.

    A symbolic link is followed only to a file inside the directory (its real path under the
    directory's real path); a link that loops, dangles or leaves the directory is that
    entry's error, and the other files go on.
    """
    if not directory.exists():
        raise SourceError(f"offline source directory {directory} does not exist")
    if not directory.is_dir():
        raise SourceError(f"offline source {directory} is not a directory")
    root = os.path.realpath(directory)
    paths: list[str] = []
    unreadable: list[StudyError] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if _is_record_name(entry):
                    _sort_entry(entry, root, directory, paths, unreadable)
    except OSError as e:
        raise SourceError(f"cannot list offline source directory {directory}: {e}") from e
    paths.sort()  # str, not Path: a Path per file costs more; one directory: sorted as names
    logger.debug("%s: %d record files", directory, len(paths))
    return paths, unreadable


def _sort_entry(
    entry: os.DirEntry[str],
    root: str,
    directory: Path,
    paths: list[str],
    unreadable: list[StudyError],
) -> None:
    """Put a record-named entry into ``paths`` (a file to read) or ``unreadable``, or skip it."""
    if not entry.is_symlink():
        if entry.is_file(follow_symlinks=False):
            paths.append(entry.path)
        return
    problem, is_file = _link_problem(entry.path, root, directory)
    if problem:
        unreadable.append(StudyError(None, f"{entry.path}: {problem}", transient=False))
    elif is_file:
        paths.append(entry.path)


def _link_problem(path: str, root: str, directory: Path) -> tuple[str | None, bool]:
    """Why a symbolic link is not followed (None if it is), and whether it leads to a file."""
    try:
        target = os.path.realpath(path, strict=True)
        is_file = os.path.isfile(target)
    except OSError as e:
        return f"cannot follow the symbolic link: {e.strerror or e}", False
    if os.path.commonpath([root, target]) != root:
        message = (
            f"a symbolic link to {target}, outside {directory}: "
            "not followed (copy the file into the directory)"
        )
        return message, is_file
    return None, is_file


def _is_record_name(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name.upper().startswith("README"):
        return False
    if not name.lower().endswith((JSON_SUFFIX, TEXT_SUFFIX)):
        logger.debug("skipping %s: not a .json or .txt file", entry.path)
        return False
    return True


# -- the first pass's shortcut ----------------------------------------------------------------


def _scan(path: str) -> tuple[str, str | None] | None:
    """The study id and key of a JSON file that names exactly one, found without parsing it.

    ``"nctId"`` can occur in a file's bytes only as a key (inside a JSON string its quotes
    would be escaped), so a file with one such key holds at most one study, with that id: the
    first pass indexes it from the scan and the second pass parses it once, or not at all when
    its key (:func:`file_key`) did not move. Anything else (text pages, no or several ids, an
    id that is not an NCT number) is parsed as before.
    """
    if not path.lower().endswith(JSON_SUFFIX):
        return None
    raw = _bytes(path)
    if raw is None:
        return None
    at = raw.find(NCT_KEY)  # near the start; the rfind makes sure it is the only one
    found = NCT_KEY_RE.match(raw, at) if at >= 0 and raw.rfind(NCT_KEY) == at else None
    if found is None:
        return None
    nct_id = found.group(1).decode("ascii", "replace").strip().upper()
    return (nct_id, file_key(raw)) if NCT_RE.match(nct_id) else None


def _only(raw: bytes, key: bytes) -> int:
    """Where ``key`` occurs in ``raw`` if it occurs exactly once; -1 if it does not, -2 if more.

    Two searches (from either end) cost less than ``bytes.count``, which cannot stop early.
    """
    at = raw.find(key)
    return at if at < 0 or raw.rfind(key) == at else -2


def file_key(raw: bytes) -> str | None:
    """The source key of a one-study file: its bytes, but for the registry's daily stamp.

    ``derivedSection.miscInfoModule.versionHolder`` is the date of the registry's data
    release: it moves every day when nothing else does, and ``normalize`` never reads it, so
    its value is blanked before hashing. It is blanked only where it is unambiguous (one
    ``versionHolder`` key, in the one ``miscInfoModule`` object); otherwise there is no key
    (``None``), and the pipeline hashes the parsed record instead.
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


# -- reading one file --------------------------------------------------------------------------


def _bytes(path: str) -> bytes | None:
    """The bytes of a file, or ``None`` if it cannot be read (``_read`` then reports why).

    ``os.open``/``os.read`` sized by ``fstat``: no file object per file. Reads until end of
    file, so a file that grows after the ``fstat`` is still read whole, up to the size a record
    may have (``limits.MAX_RECORD_BYTES``): a larger file is ``None`` too, and is not read.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _within_limit(fd)
    except (OSError, RecordError):
        return None
    finally:
        os.close(fd)


def _within_limit(fd: int) -> bytes:
    """All the bytes of an open file; RecordError when there are more than a record may have."""
    size = os.fstat(fd).st_size
    if size > MAX_RECORD_BYTES:
        raise RecordError(too_large(size))
    raw = os.read(fd, size)  # exactly: no resize of the bytes read
    more = os.read(fd, 1)  # at the end of the file unless it grew
    while more:
        raw += more
        if len(raw) > MAX_RECORD_BYTES:
            raise RecordError(too_large(None))
        more = os.read(fd, READ_MORE)
    return raw


def _read_file(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _within_limit(fd)
    finally:
        os.close(fd)


def _read(path: str, raw: bytes | None = None) -> tuple[list[_Study], list[StudyError]]:
    """The studies of one file, and the errors that stop some or all of them being read."""
    try:
        if raw is None:
            raw = _read_file(path)
        raw = raw.removeprefix(codecs.BOM_UTF8)
        if path.lower().endswith(TEXT_SUFFIX):
            return [_from_text(path, raw)], []
        return _from_json(path, raw)
    except ParseError as e:
        return [], [StudyError(None, str(e), transient=False)]
    except RecordError as e:
        return [], [StudyError(None, f"{path}: {e}", transient=False)]
    except OSError as e:
        return [], [StudyError(None, f"{path}: cannot read: {e.strerror or e}")]


def _from_text(path: str, raw: bytes) -> _Study:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"not UTF-8 text: {e}") from e
    data = parse_page(text, str(path))
    return _Study(_nct_id(data), data)


def _from_json(path: str, raw: bytes) -> tuple[list[_Study], list[StudyError]]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise RecordError(f"not valid JSON: {e}") from e
    if isinstance(doc, dict) and "studies" in doc and "protocolSection" not in doc:
        return _from_page(path, doc["studies"])
    return [_one_study(doc)], []


def _one_study(doc: Any) -> _Study:
    if not isinstance(doc, dict):
        raise RecordError(f"expected a JSON object, found {type(doc).__name__}")
    if "protocolSection" in doc:
        return _Study(_nct_id(doc), doc)
    if "studyVersion" in doc and "study" in doc:
        return _history_version(doc)
    keys = ", ".join(sorted(doc)[:5]) or "none"
    raise RecordError(
        "not an API v2 study, a studies page or a history version "
        f"(no protocolSection, studies or studyVersion key; keys: {keys})"
    )


def _history_version(doc: dict[str, Any]) -> _Study:
    version = doc["studyVersion"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise RecordError(f"studyVersion is not a version number: {version!r}")
    study = doc["study"]
    if not isinstance(study, dict) or "protocolSection" not in study:
        raise RecordError("history version whose 'study' has no protocolSection")
    return _Study(_nct_id(study), study, version)


def _from_page(path: str, studies: Any) -> tuple[list[_Study], list[StudyError]]:
    if not isinstance(studies, list):
        raise RecordError("'studies' is not a list")
    found: list[_Study] = []
    errors: list[StudyError] = []
    for position, study in enumerate(studies):
        try:
            if not isinstance(study, dict) or "protocolSection" not in study:
                raise RecordError("not an API v2 study (no protocolSection)")
            found.append(_Study(_nct_id(study), study))
        except RecordError as e:
            errors.append(StudyError(None, f"{path}: studies[{position}]: {e}", transient=False))
    return found, errors


def _nct_id(study: dict[str, Any]) -> str:
    section = study.get("protocolSection")
    module = section.get("identificationModule") if isinstance(section, dict) else None
    value = module.get("nctId") if isinstance(module, dict) else None
    nct_id = value.strip().upper() if isinstance(value, str) else ""
    if not NCT_RE.match(nct_id):
        raise RecordError(f"no valid protocolSection.identificationModule.nctId: {value!r}")
    return nct_id
