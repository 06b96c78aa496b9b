"""The offline source: every file directly in a directory holds records of studies.

Which files hold which studies is each registry's knowledge (``Registry.offline``: its
suffixes, its JSON shapes, its other file formats, and how its records read as bytes); this
module lists the directory (:mod:`.listing`), reads the files in two passes and offers what it
parses to each registry in turn (:mod:`.fileread`). Errors are values: a malformed file yields
a ``StudyError`` naming it and the other files go on; a study held by two files yields one
``StudyError`` naming both and no record. Only ids, byte ranges and keys are held between the
passes, never the records.

**First pass**, on every core (:mod:`monitor.firstpass`: one process per core for a large
directory): each file is read once as bytes. A file naming one record gives its first id and
a candidate key (its bytes' hash without the registry's daily stamp, :mod:`monitor.filekey`);
a page file (``{"studies": [...]}``) is split into one byte range per record
(:mod:`monitor.pagesplit`), each with its id and candidate key; anything else is parsed here,
once. In this process, 500 ids at a time, the keys stored for the ids (``known``): a record
whose key did not move is unchanged and is never parsed; another one-record file is verified
(its id proven the only one, its key proven).

**Second pass**, in file order: the unchanged records as runs of their ids (``Unchanged``), the
others parsed: a one-record file whole (or, with ``defer``, yielded unread as a ``Deferred``
that the pipeline loads on the worker that detects it: the writing process never parses it),
a page's record alone from its byte range (``os.pread``), its id checked and its key proven
on the bytes that parsed. A page is never
parsed whole: a record, not the page, is what the size a record may have bounds (``limits``).
A range that is not what the first pass saw (the file changed since) sends the page to a
slower split by its brackets.

With a watch list, a page's records of unwatched studies are not parsed, so a malformed one of
them is not reported (a one-record file that does not parse is, watched or not).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from monitor import registries
from monitor.filekey import candidate_key, key_of, one_study
from monitor.firstpass import PARSE, Answer, One, Page, read_bytes, scan, verify
from monitor.limits import MAX_RECORD_BYTES, too_large
from monitor.models import Deferred, Item, RawRecord, StudyError, Unchanged
from monitor.pagesplit import Slice, split_elements
from monitor.registries.base import Offline
from monitor.sources.fileread import Found, Keyed, Reader, Study, gc_paused, read, record_bytes
from monitor.sources.listing import record_files

logger = logging.getLogger(__name__)

SOURCE = "files"
CHUNK = 500  # records whose stored keys are looked up in one query
RUN = 100  # unchanged studies in one ``Unchanged`` item at most

Known = Callable[[Sequence[str]], Mapping[str, str]]
Shapes = Sequence[tuple[str, Offline]]  # (registry kind, its offline shapes)


def iter_records(
    directory: Path,
    watched: Collection[str],
    known: Known | None = None,
    shapes: Shapes | None = None,
    workers: int | None = None,
    defer: bool = False,
) -> Iterator[Item]:
    """Yield the record of every study in ``directory`` (only the watched ones if any are).

    Raises ``SourceError`` at once (not at the first ``next``) when ``directory`` is not a
    directory; every other problem is yielded as a ``StudyError``. ``known`` gives the source
    key stored for each of some studies (``Store.source_hashes``): a record whose key did not
    move becomes an ``unchanged`` event, unparsed. ``shapes`` are the registries' file shapes
    (default: every registry of the table); ``workers`` the first pass's processes (default:
    one per core when the directory is large enough to pay for them). ``defer``: a one-record
    file whose record moved is yielded unread, as a ``Deferred`` whose ``load`` gives what it
    would have yielded (the pipeline reads it where it detects it: on the workers).
    """
    reader = Reader(list(shapes if shapes is not None else registries.offline_shapes()))
    files, unreadable = record_files(directory, reader.suffixes)
    wanted = {trial_id.upper() for trial_id in watched}
    index = Index(reader, files, wanted, known, workers, defer)
    return _both_passes(index, unreadable)


def _both_passes(index: Index, unreadable: Sequence[StudyError]) -> Iterator[Item]:
    yield from unreadable
    yield from _first_pass(index)
    yield from _duplicates(index.holders, index.files)
    yield from _second_pass(index)


@dataclass(slots=True)
class PagePlan:
    """What the second pass reads of a page: its records that did not move (ids), the others
    (with their place in the page), and the ranges whose id its bytes did not tell (with the
    ids the first pass parsed from them)."""

    candidate: bool  # the ranges' keys are candidates (``filekey.candidate_key``)
    same: list[str] = field(default_factory=list)
    changed: list[tuple[int, Slice]] = field(default_factory=list)
    alone: list[tuple[int, Slice, list[str]]] = field(default_factory=list)


@dataclass
class Index:
    """What the first pass learnt: who holds which study, and which records did not move."""

    reader: Reader
    files: list[str]
    wanted: set[str]
    known: Known | None
    workers: int | None = None
    defer: bool = False  # moved one-record files as ``Deferred`` items
    holders: dict[str, list[int]] = field(default_factory=dict)  # id -> its files
    ones: dict[int, One] = field(default_factory=dict)  # one-record files
    same: set[int] = field(default_factory=set)  # ... whose record did not move
    pages: dict[int, PagePlan] = field(default_factory=dict)
    parsed: dict[int, set[str]] = field(default_factory=dict)  # parsed files -> their studies
    waiting: list[tuple[int, One]] = field(default_factory=list)  # candidates to look up

    @property
    def keyed(self) -> Keyed:
        assert self.reader.keyed is not None  # only asked when the first pass gave keys
        return self.reader.keyed

    def add(self, trial_id: str, number: int) -> None:
        if not self.wanted or trial_id in self.wanted:
            self.holders.setdefault(trial_id, []).append(number)

    def single(self, trial_id: str, number: int) -> bool:
        """Watched (or everything is) and held by this file alone."""
        return self.holders.get(trial_id) == [number]

    def stored(self, ids: list[str]) -> Mapping[str, str]:
        """The keys stored for ``ids``, :data:`CHUNK` ids per query."""
        out: dict[str, str] = {}
        if self.known is not None:
            for start in range(0, len(ids), CHUNK):
                out.update(self.known(ids[start : start + CHUNK]))
        return out


# -- first pass -----------------------------------------------------------------------------------


def _first_pass(index: Index) -> Iterator[Item]:
    for number, answer in _answers(index):
        yield from _index_file(index, number, answer)
    yield from _resolve(index)


def _answers(index: Index) -> Iterator[tuple[int, Answer]]:
    keyed = index.reader.keyed
    if keyed is None:  # no registry reads its records as bytes: parse every file
        return ((number, PARSE) for number in range(len(index.files)))
    return scan(index.files, keyed.shape, keyed.prefix, index.workers, candidate=True)


def _index_file(index: Index, number: int, answer: Answer) -> Iterator[Item]:
    """One file's answer taken in: a candidate waits for its stored key, the others now."""
    if isinstance(answer, One):
        index.waiting.append((number, answer))
        if len(index.waiting) >= CHUNK:
            yield from _resolve(index)
    else:
        yield from _take(index, number, answer)


def _resolve(index: Index) -> Iterator[Item]:
    """The waiting candidates against their stored keys: equal, the record did not move;
    otherwise the file is verified (read again, its id and key proven) and taken as it is."""
    batch, index.waiting = index.waiting, []
    stored = index.stored([one.trial_id for _, one in batch])
    for number, one in batch:
        if not (one.key and stored.get(one.trial_id) == one.key):
            keyed = index.keyed
            answer = verify(index.files[number], keyed.shape, keyed.prefix)
            if not isinstance(answer, One):
                yield from _take(index, number, answer)
                continue
            one = answer
        if one.key and stored.get(one.trial_id) == one.key:
            index.same.add(number)
        index.ones[number] = one
        index.add(one.trial_id, number)


def _take(index: Index, number: int, answer: Answer) -> Iterator[Item]:
    if isinstance(answer, One):  # a verified one (from a verify)
        index.ones[number] = answer
        index.add(answer.trial_id, number)
    elif isinstance(answer, Page):
        yield from _take_page(index, number, answer)
    else:
        yield from _take_parsed(index, number)


def _take_page(index: Index, number: int, page: Page) -> Iterator[Item]:
    """A page's records: those whose key did not move, those to read, and those whose id its
    bytes did not tell (parsed alone now, so their errors are reported in this pass)."""
    ids = [s.trial_id for s in page.slices if s.trial_id]
    stored = index.stored(ids)
    plan = PagePlan(page.candidate)
    for position, piece in enumerate(page.slices):
        if piece.trial_id is None:
            studies, errors = _alone(index, number, piece, position)
            yield from errors
            plan.alone.append((position, piece, [s.trial_id for s in studies]))
            for study in studies:
                index.add(study.trial_id, number)
            continue
        index.add(piece.trial_id, number)
        if piece.key and stored.get(piece.trial_id) == piece.key:
            plan.same.append(piece.trial_id)
        else:
            plan.changed.append((position, piece))
    index.pages[number] = plan


def _alone(index: Index, number: int, piece: Slice, position: int) -> Found:
    """A page's range whose bytes do not name one id, read and parsed alone."""
    path = index.files[number]
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            raw = os.pread(fd, piece.end - piece.start, piece.start)
        finally:
            os.close(fd)
    except OSError as e:
        return [], [StudyError(None, f"{path}: cannot read: {e.strerror or e}")]
    return index.reader.element(path, raw, position)


def _take_parsed(index: Index, number: int) -> Iterator[Item]:
    """A file that is neither one record nor a page: parsed now (its errors said now)."""
    with gc_paused():
        studies, errors = read(index.reader, index.files[number])
    yield from errors
    index.parsed[number] = {study.trial_id for study in studies}
    for study in studies:
        index.add(study.trial_id, number)


def _duplicates(index: dict[str, list[int]], files: list[str]) -> Iterator[StudyError]:
    for trial_id in sorted(index):
        numbers = index[trial_id]
        if len(numbers) > 1:
            names = ", ".join(str(files[n]) for n in numbers)
            message = f"{trial_id} is held by {len(numbers)} records in one directory: {names}"
            yield StudyError(trial_id, f"{message}; keep one of them", transient=False)


# -- second pass ----------------------------------------------------------------------------------


def _second_pass(index: Index) -> Iterator[Item]:
    """Every file's items in file order; the studies of unchanged one-record files in runs
    (an ``Unchanged`` of at most :data:`RUN`, ended by any other item)."""
    same: list[str] = []
    for number in range(len(index.files)):
        if number in index.same:
            one = index.ones[number]
            if index.single(one.trial_id, number):  # else held twice (reported) or not watched
                same.append(one.trial_id)
            if len(same) >= RUN:
                yield Unchanged(tuple(same))
                same = []
            continue
        if same:
            yield Unchanged(tuple(same))
            same = []
        yield from _file_records(index, number)
    if same:
        yield Unchanged(tuple(same))


def _file_records(index: Index, number: int) -> Iterator[Item]:
    if number in index.ones:
        yield from _one_record(index, number, index.ones[number])
    elif number in index.pages:
        yield from _page_records(index, number, index.pages[number])
    elif number in index.parsed:
        yield from _parsed_records(index, number)


def _one_record(index: Index, number: int, one: One) -> Iterator[Item]:
    """A one-record file whose key moved (or was not known): parsed, or deferred."""
    path = index.files[number]
    if not index.single(one.trial_id, number):
        yield from _one_file(index.reader, path, set())
    elif index.defer:
        yield Deferred(one.trial_id, one.size, partial(load_one, index.reader, path, one.trial_id))
    else:
        yield from _one_file(index.reader, path, {one.trial_id})


def load_one(reader: Reader, path: str, trial_id: str) -> list[Item]:
    """What a one-record file holding ``trial_id`` gives, read now (a ``Deferred``'s load)."""
    return list(_one_file(reader, path, {trial_id}))


def _one_file(reader: Reader, path: str, expected: set[str]) -> Iterator[Item]:
    """A one-record file parsed (its errors said now: the first pass did not parse it)."""
    raw = record_bytes(path)  # None: read() reads it again and says why
    with gc_paused():  # the parse builds thousands of containers and no cycle
        studies, errors = read(reader, path, raw)
    yield from errors
    key = _proven_key(reader, raw, studies)
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield _record(study, path, key, len(raw or b""))
    if not errors:
        yield from _unreadable(path, expected)


def _proven_key(reader: Reader, raw: bytes | None, studies: list[Study]) -> str | None:
    """The key of bytes that parsed as one record whose id they name once, else ``None``."""
    keyed = reader.keyed
    if raw is None or keyed is None or len(studies) != 1:
        return None
    found = one_study(raw, keyed.shape, keyed.prefix)
    return found[1] if found is not None and found[0] == studies[0].trial_id else None


def _page_records(index: Index, number: int, plan: PagePlan) -> Iterator[Item]:
    """Unchanged events, then each other record parsed alone (one record held at a time)."""
    same = tuple(i for i in plan.same if index.single(i, number))
    for at in range(0, len(same), RUN):
        yield Unchanged(same[at : at + RUN])
    todo = [(p, s, [str(s.trial_id)]) for p, s in plan.changed]
    todo = sorted(todo + [(p, s, ids) for p, s, ids in plan.alone], key=lambda t: t[0])
    expected = {i for _, _, ids in todo for i in ids if index.single(i, number)}
    todo = [t for t in todo if expected.intersection(t[2])]
    path = index.files[number]
    for records in _read_slices(index, path, todo, plan.candidate):
        if records is None:  # cut wrong, or the page changed since: split it by its brackets
            said = {position for position, _, _ in plan.alone}
            yield from _stream_page(index, path, expected, said)
            return
        for record in records:
            if record.trial_id in expected:
                expected.discard(record.trial_id)
                yield record


Todo = list[tuple[int, Slice, list[str]]]  # (place in the page, range, the ids it holds)


def _read_slices(
    index: Index, path: str, todo: Todo, candidate: bool
) -> Iterator[list[Item] | None]:
    """Each range's records, or ``None`` (then nothing more) when one is not what was seen."""
    if not todo:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield None
        return
    try:
        for position, piece, _ in todo:
            records = _slice_records(index, fd, path, (position, piece), candidate)
            yield records
            if records is None:
                return
    finally:
        os.close(fd)


def _slice_records(
    index: Index, fd: int, path: str, at: tuple[int, Slice], candidate: bool
) -> list[Item] | None:
    """The records of one range of a page, parsed alone (or the error of a record over the
    size a record may have); ``None`` when its bytes are not those the first pass saw, or do
    not parse into the one record they name (cut wrong, or changed since)."""
    position, piece = at
    keyed = index.keyed
    size = piece.end - piece.start
    if size > MAX_RECORD_BYTES:  # refused unread, with its id
        where = f"{keyed.shape.page_key}[{position}]"
        return [StudyError(piece.trial_id, f"{path}: {where}: {too_large(size)}", False)]
    raw = os.pread(fd, piece.end - piece.start, piece.start)
    keyer = candidate_key if candidate else key_of
    if piece.key is not None and keyer(raw, keyed.shape, keyed.prefix) != piece.key:
        return None
    studies, errors = index.reader.element(path, raw, position)
    if piece.trial_id is None:  # its errors were said by the first pass
        return [_record(study, path, None, len(raw)) for study in studies]
    if errors or len(studies) != 1 or studies[0].trial_id != piece.trial_id:
        return None
    key = key_of(raw, keyed.shape, keyed.prefix)  # proven on the bytes that parsed
    return [_record(studies[0], path, key, len(raw))]


def _stream_page(index: Index, path: str, expected: set[str], said: set[int]) -> Iterator[Item]:
    """A page whose fast split was wrong (an element without an id glued to its neighbour)
    or that changed while read: read again, split by its brackets, each expected record
    parsed alone (one held at a time). The errors of the elements without an id are said,
    but where the first pass said them (``said``), and those of the expected records; what
    is no longer there is said too."""
    keyed = index.keyed
    raw = read_bytes(path) or b""
    for position, piece in enumerate(split_elements(raw, keyed.shape, keyed.prefix) or []):
        own = piece.trial_id
        if own is not None and own not in expected:
            continue
        part = raw[piece.start : piece.end]
        studies, errors = index.reader.element(path, part, position, own)
        if own is not None or position not in said:
            yield from errors
        expected.discard(own or "")  # read, or its error said
        for study in studies:
            if study.trial_id == own or (own is None and study.trial_id in expected):
                expected.discard(study.trial_id)
                yield _record(study, path, piece.key if own else None, len(part))
    yield from _unreadable(path, expected)


def _parsed_records(index: Index, number: int) -> Iterator[Item]:
    path = index.files[number]
    expected = {n for n in index.parsed[number] if index.single(n, number)}
    if not expected:
        return
    with gc_paused():
        studies, _ = read(index.reader, path)  # its errors were said by the first pass
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield _record(study, path, None, 0)
    yield from _unreadable(path, expected)


def _record(study: Study, path: str, key: str | None, size: int) -> RawRecord:
    return RawRecord(
        study.trial_id,
        study.data,
        SOURCE,
        path,
        version=study.version,
        source_key=key,
        registry=study.registry,
        size=size,
    )


def _unreadable(path: str, expected: set[str]) -> Iterator[StudyError]:
    for trial_id in sorted(expected):
        message = f"{path}: {trial_id} no longer readable (file changed while read)"
        yield StudyError(trial_id, message)
