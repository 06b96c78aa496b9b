"""Reading one offline file, or one record of a page file, through the registries' shapes.

A JSON file is parsed once and offered to each registry in turn (``Offline.from_json``); a
file of another suffix is offered as bytes (``Offline.from_file``). A record of a page file
is parsed alone, as the page's only element, and offered the same way. Errors are values: a
file that cannot be read or parsed gives a :class:`StudyError` naming it, and nothing larger
than a record may have (``limits.MAX_RECORD_BYTES``) is parsed.
"""

from __future__ import annotations

import codecs
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.errors import ParseError, RecordError
from monitor.filekey import ByteShape
from monitor.firstpass import PAGE_HEAD, is_page
from monitor.limits import (
    MAX_PAGE_BYTES,
    MAX_RECORD_BYTES,
    page_too_large,
    too_large,
    unsplit_page,
)
from monitor.models import StudyError
from monitor.registries.base import FileRead, Offline

JSON_SUFFIX = ".json"
READ_MORE = 1 << 16  # bytes read at once past the size fstat gave


@dataclass(frozen=True)
class Study:
    """One study found in a file."""

    trial_id: str
    registry: str
    data: dict[str, Any]
    version: int | None = None


Found = tuple[list[Study], list[StudyError]]


@dataclass(frozen=True)
class Keyed:
    """The registry whose records are read as bytes (its ``Offline.byte_shape``)."""

    kind: str
    offline: Offline
    shape: ByteShape
    prefix: str


class Reader:
    """The registries' file shapes, asked in the table's order."""

    def __init__(self, shapes: list[tuple[str, Offline]]) -> None:
        self.shapes = shapes
        self.suffixes = tuple(dict.fromkeys(s for _, o in shapes for s in o.suffixes))
        self.keyed = next(
            (Keyed(k, o, o.byte_shape, o.key_prefix) for k, o in shapes if o.byte_shape), None
        )

    def studies(self, path: str, raw: bytes) -> Found:
        """A file parsed once and offered to each registry that reads its suffix."""
        suffix = os.path.splitext(path)[1].lower()
        doc = json_object(raw) if suffix == JSON_SUFFIX else None
        for kind, offline in self.shapes:
            if suffix not in offline.suffixes:
                continue
            if doc is not None:
                read = offline.from_json(doc, path)
            else:
                read = offline.from_file(suffix, raw, path)
            if read is not None:
                return found(kind, path, read)
        what = " nor ".join(o.shapes for _, o in self.shapes if suffix in o.suffixes)
        keys = ", ".join(sorted(doc)[:5]) if doc is not None else ""
        raise RecordError(f"not {what} (keys: {keys or 'none'})")

    def element(self, path: str, raw: bytes, position: int, trial_id: str | None = None) -> Found:
        """One record of a page file (``raw``: its bytes), read as the page's only element;
        errors name its place in the page (``studies[7]``) and ``trial_id`` when known."""
        assert self.keyed is not None and self.keyed.shape.page_key is not None
        where = f"{self.keyed.shape.page_key}[{position}]"
        if len(raw) > MAX_RECORD_BYTES:
            return [], [StudyError(trial_id, f"{path}: {where}: {too_large(len(raw))}", False)]
        try:
            doc = {self.keyed.shape.page_key: [orjson.loads(raw)]}
            read = self.keyed.offline.from_json(doc, path)
        except (orjson.JSONDecodeError, RecordError) as e:
            return [], [StudyError(trial_id, f"{path}: {where}: {e}", transient=False)]
        if read is None:
            return [], [StudyError(trial_id, f"{path}: {where}: not a record", transient=False)]
        studies, errors = found(self.keyed.kind, path, read)
        first = f"{path}: {self.keyed.shape.page_key}[0]"
        return studies, [_placed(e, first, f"{path}: {where}", trial_id) for e in errors]

    def too_large(self, fd: int, size: int) -> str:
        """Why a file over the size of a record is not read: a page file says what it is."""
        head = os.pread(fd, PAGE_HEAD, 0)
        if self.keyed is None or not is_page(head, self.keyed.shape):
            return too_large(size)
        return page_too_large(size) if size > MAX_PAGE_BYTES else unsplit_page(size)


def _placed(error: StudyError, first: str, where: str, trial_id: str | None) -> StudyError:
    """An error of a page's only element, named by its place in the page it came from."""
    message = error.message
    if message.startswith(first):
        message = where + message[len(first) :]
    return StudyError(trial_id, message, transient=False)


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise RecordError(f"not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise RecordError(f"expected a JSON object, found {type(doc).__name__}")
    return doc


def found(kind: str, path: str, read: FileRead) -> Found:
    studies = [Study(s.trial_id, kind, s.data, s.version) for s in read.studies]
    errors = [StudyError(None, f"{path}: {e}", transient=False) for e in read.errors]
    return studies, errors


def read(reader: Reader, path: str, raw: bytes | None = None) -> Found:
    """The studies of one file, and the errors that stop some or all of them being read."""
    try:
        if raw is None:
            raw = read_file(path, reader)
        return reader.studies(path, raw.removeprefix(codecs.BOM_UTF8))
    except ParseError as e:
        return [], [StudyError(None, str(e), transient=False)]
    except RecordError as e:
        return [], [StudyError(None, f"{path}: {e}", transient=False)]
    except OSError as e:
        return [], [StudyError(None, f"{path}: cannot read: {e.strerror or e}")]


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while a parse builds up to millions of containers (3x faster, the same
    result: nothing it builds is a cycle)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# -- the bytes of a file -----------------------------------------------------------------------


def record_bytes(path: str) -> bytes | None:
    """The bytes of a file, or ``None`` if it cannot be read (``read`` then reports why).

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


def _within_limit(fd: int, reader: Reader | None = None) -> bytes:
    """All the bytes of an open file; RecordError when there are more than a record may have."""
    size = os.fstat(fd).st_size
    if size > MAX_RECORD_BYTES:
        raise RecordError(reader.too_large(fd, size) if reader else too_large(size))
    raw = os.read(fd, size)  # exactly: no resize of the bytes read
    more = os.read(fd, 1)  # at the end of the file unless it grew
    while more:
        raw += more
        if len(raw) > MAX_RECORD_BYTES:
            raise RecordError(too_large(None))
        more = os.read(fd, READ_MORE)
    return raw


def read_file(path: str, reader: Reader | None = None) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _within_limit(fd, reader)
    finally:
        os.close(fd)
