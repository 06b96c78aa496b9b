"""The offline source: every file directly in a directory is one record of one study.

Which files hold which studies is each registry's knowledge (``Registry.offline``: its
suffixes, its JSON shapes, its other file formats); this module lists the directory, parses
a JSON file once and offers it to each registry in turn. Other files (other suffixes, hidden
files, ``README*``) are skipped; subfolders are not read. A symbolic link is followed only to a
file inside the directory: one that loops, dangles or leaves the directory is an error naming
it, and the other files go on. A file larger than a record may have
(``limits.MAX_RECORD_BYTES``) is an error naming it, and is not read.

Errors are values: a malformed file yields a ``StudyError`` naming it and the other files go
on; a study held by two files yields one ``StudyError`` naming both and no record. The
directory is read twice so that only ids and file numbers are held in memory, never all the
records: the first pass indexes which file holds which study, the second yields the records.
The first pass finds the id of a file that names one study by scanning its bytes, so such a
file (the usual case) is parsed once, in the second pass, which then reports its errors.
"""

from __future__ import annotations

import codecs
import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from monitor import registries
from monitor.errors import ParseError, RecordError, SourceError
from monitor.limits import MAX_RECORD_BYTES, too_large
from monitor.models import Item, RawRecord, RecordEvent, StudyError
from monitor.registries.base import FileRead, Offline

logger = logging.getLogger(__name__)

SOURCE = "files"
JSON_SUFFIX = ".json"
READ_MORE = 1 << 16  # bytes read at once past the size fstat gave
CHUNK = 500  # files whose stored keys are looked up in one query

Known = Callable[[Sequence[str]], Mapping[str, str]]
Shapes = Sequence[tuple[str, Offline]]  # (registry kind, its offline shapes)


@dataclass(frozen=True)
class _Study:
    """One study found in a file."""

    trial_id: str
    registry: str
    data: dict[str, Any]
    version: int | None = None


def iter_records(
    directory: Path,
    watched: Collection[str],
    known: Known | None = None,
    shapes: Shapes | None = None,
) -> Iterator[Item]:
    """Yield the record of every study in ``directory`` (only the watched ones if any are).

    Raises ``SourceError`` at once (not at the first ``next``) when ``directory`` is not a
    directory; every other problem is yielded as a ``StudyError``. ``known`` gives the source
    key stored for each of some studies (``Store.source_hashes``): a file whose key did not
    move becomes an ``unchanged`` event, unparsed. ``shapes`` are the registries' file shapes
    (default: every registry of the table).
    """
    reader = _Reader(shapes if shapes is not None else registries.offline_shapes())
    files, unreadable = _record_files(directory, reader.suffixes)
    wanted = {trial_id.upper() for trial_id in watched}
    return _both_passes(reader, files, wanted, known, unreadable)


def _both_passes(
    reader: _Reader,
    files: list[str],
    wanted: set[str],
    known: Known | None,
    unreadable: Sequence[StudyError] = (),
) -> Iterator[Item]:
    yield from unreadable
    index: dict[str, list[int]] = {}
    scanned: dict[int, str | None] = {}  # file number -> key, for the files _scan indexed
    for number, path in enumerate(files):
        found = _scan(reader, path)
        if found is not None:
            trial_id, scanned[number] = found
            if not wanted or trial_id in wanted:
                index.setdefault(trial_id, []).append(number)
            continue
        studies, errors = _read(reader, path)
        yield from errors
        for study in studies:
            if not wanted or study.trial_id in wanted:
                index.setdefault(study.trial_id, []).append(number)
    yield from _duplicates(index, files)
    yield from _second_pass(reader, _Plan.of(index, files, scanned), known)


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
        for trial_id, numbers in index.items():
            if len(numbers) == 1:
                if numbers[0] in only:
                    only[numbers[0]] = trial_id
                else:
                    several.setdefault(numbers[0], set()).add(trial_id)
        return cls(files, scanned, only, several)

    def numbers(self) -> list[int]:
        return sorted([*self.only, *self.several])

    def pending(self, number: int) -> _Pending:
        path = self.files[number]
        if number not in self.only:
            return _Pending(path, self.several[number], False)
        trial_id = self.only[number]
        return _Pending(path, {trial_id} if trial_id else set(), True, self.scanned[number])


def _second_pass(reader: _Reader, plan: _Plan, known: Known | None) -> Iterator[Item]:
    numbers = plan.numbers()
    for start in range(0, len(numbers), CHUNK):
        yield from _chunk(reader, plan, numbers[start : start + CHUNK], known)


@dataclass
class _Pending:
    """A file of the second pass: the studies expected from it, and its key if it was scanned."""

    path: str
    expected: set[str]
    scanned: bool
    key: str | None = None


def _chunk(reader: _Reader, plan: _Plan, numbers: list[int], known: Known | None) -> Iterator[Item]:
    """One lookup of stored keys for the chunk's files, then each file in order."""
    only, scanned = plan.only, plan.scanned
    ids = [only.get(n) if scanned.get(n) else None for n in numbers]
    keyed = [trial_id for trial_id in ids if trial_id]
    stored = known(keyed) if known and keyed else {}
    for number, trial_id in zip(numbers, ids, strict=True):
        if trial_id is not None and stored.get(trial_id) == scanned[number]:
            yield RecordEvent(trial_id, "unchanged")
        else:
            yield from _records_of(reader, plan.pending(number))


def _records_of(reader: _Reader, pending: _Pending) -> Iterator[Item]:
    path, expected = pending.path, pending.expected
    raw = _bytes(path)
    # the key of what is parsed now (the file may have changed since the first pass)
    key = reader.file_key(raw) if pending.scanned and raw is not None else None
    studies, errors = _read(reader, path, raw)
    if pending.scanned:  # not parsed by the first pass, so its errors were not yielded yet
        yield from errors
    size = len(raw) // max(1, len(studies)) if raw is not None else 0  # a page: its share
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield RawRecord(
                study.trial_id,
                study.data,
                SOURCE,
                str(path),
                version=study.version,
                source_key=key,
                registry=study.registry,
                size=size,
            )
    if pending.scanned and errors:
        return
    for trial_id in sorted(expected):
        message = f"{path}: {trial_id} no longer readable (file changed while read)"
        yield StudyError(trial_id, message)


def _duplicates(index: dict[str, list[int]], files: list[str]) -> Iterator[StudyError]:
    for trial_id in sorted(index):
        numbers = index[trial_id]
        if len(numbers) > 1:
            names = ", ".join(str(files[n]) for n in numbers)
            message = f"{trial_id} is held by {len(numbers)} records in one directory: {names}"
            yield StudyError(trial_id, f"{message}; keep one of them", transient=False)


# -- listing -----------------------------------------------------------------------------------


def _record_files(directory: Path, suffixes: tuple[str, ...]) -> tuple[list[str], list[StudyError]]:
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
                if _is_record_name(entry, suffixes):
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


def _is_record_name(entry: os.DirEntry[str], suffixes: tuple[str, ...]) -> bool:
    name = entry.name
    if name.startswith(".") or name.upper().startswith("README"):
        return False
    if not name.lower().endswith(suffixes):
        logger.debug("skipping %s: not a %s file", entry.path, " or ".join(suffixes))
        return False
    return True


# -- the first pass's shortcut, and reading one file through the registries' shapes ----------


def _scan(reader: _Reader, path: str) -> tuple[str, str | None] | None:
    """The trial id and key of a JSON file that names exactly one, found without parsing.

    A registry recognises such a file from its bytes (``Offline.scan``): the first pass
    indexes it from the scan and the second pass parses it once, or not at all when its key
    did not move. Anything else (text pages, several ids ...) is parsed as before.
    """
    if not path.lower().endswith(JSON_SUFFIX):
        return None
    raw = _bytes(path)
    return reader.scan(raw) if raw is not None else None


def _read(
    reader: _Reader, path: str, raw: bytes | None = None
) -> tuple[list[_Study], list[StudyError]]:
    """The studies of one file, and the errors that stop some or all of them being read."""
    try:
        if raw is None:
            raw = _read_file(path)
        return reader.studies(path, raw.removeprefix(codecs.BOM_UTF8))
    except ParseError as e:
        return [], [StudyError(None, str(e), transient=False)]
    except RecordError as e:
        return [], [StudyError(None, f"{path}: {e}", transient=False)]
    except OSError as e:
        return [], [StudyError(None, f"{path}: cannot read: {e.strerror or e}")]


class _Reader:
    """The registries' file shapes, asked in the table's order."""

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = list(shapes)
        self.suffixes = tuple(dict.fromkeys(s for _, o in self.shapes for s in o.suffixes))

    def scan(self, raw: bytes) -> tuple[str, str | None] | None:
        """The one trial id a registry finds in a JSON file's bytes, and the file's key."""
        for _, offline in self.shapes:
            trial_id = offline.scan(raw)
            if trial_id is not None:
                return trial_id, offline.file_key(raw)
        return None

    def file_key(self, raw: bytes) -> str | None:
        found = self.scan(raw)
        return found[1] if found is not None else None

    def studies(self, path: str, raw: bytes) -> tuple[list[_Study], list[StudyError]]:
        """A file parsed once and offered to each registry that reads its suffix."""
        suffix = os.path.splitext(path)[1].lower()
        doc = _json_object(raw) if suffix == JSON_SUFFIX else None
        for kind, offline in self.shapes:
            if suffix not in offline.suffixes:
                continue
            if doc is not None:
                read = offline.from_json(doc, path)
            else:
                read = offline.from_file(suffix, raw, path)
            if read is not None:
                return _found(kind, path, read)
        what = " nor ".join(o.shapes for _, o in self.shapes if suffix in o.suffixes)
        keys = ", ".join(sorted(doc)[:5]) if doc is not None else ""
        raise RecordError(f"not {what} (keys: {keys or 'none'})")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise RecordError(f"not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise RecordError(f"expected a JSON object, found {type(doc).__name__}")
    return doc


def _found(kind: str, path: str, read: FileRead) -> tuple[list[_Study], list[StudyError]]:
    studies = [_Study(s.trial_id, kind, s.data, s.version) for s in read.studies]
    errors = [StudyError(None, f"{path}: {e}", transient=False) for e in read.errors]
    return studies, errors


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
