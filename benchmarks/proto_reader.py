"""PROTOTYPE of the offline reader of issue 16 (not shipped: phase 2 folds it into the reader).

The contract of ``monitor.sources.files.iter_records`` (items; errors as values; a study held
twice reported and skipped; an unchanged record not parsed), built from the new modules:

1. First pass, ``monitor.firstpass.scan`` on every core, short searches only: per one-study
   file its first id and candidate key (``monitor.filekey.candidate_key``), per page its
   records' byte ranges and candidate keys (``monitor.pagesplit``). Here, 500 ids at a time,
   the stored keys: a record whose candidate equals its stored key is unchanged; any other
   file is verified (``firstpass.verify``: the id proven unique, the key proven) or, when it
   is neither one record nor a page that splits, parsed here once with the cyclic GC paused.
2. Second pass, in file order: ``unchanged`` events, and the records of the others: a
   one-study file read and parsed; a page's record read back by its byte range
   (``os.pread``) and parsed alone, its key proven on those bytes. A range that does not parse
   into the record the first pass saw (the page changed since) falls back to the whole page.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from monitor import registries
from monitor.errors import RecordError
from monitor.filekey import candidate_key, key_of
from monitor.firstpass import PARSE, Answer, One, Page, read_bytes, scan, verify
from monitor.limits import MAX_RECORD_BYTES
from monitor.models import RawRecord, RecordEvent, StudyError
from monitor.pagesplit import Slice
from monitor.registries.base import FoundStudy
from monitor.registries.ctgov.byteshape import BYTES as CTGOV
from monitor.registries.ctgov.byteshape import KEY_PREFIX as PREFIX
from monitor.sources import files

Item = RawRecord | StudyError | RecordEvent
Known = Callable[[Sequence[str]], Mapping[str, str]]
CHUNK = 500
KIND = "ctgov"  # the registry whose bytes the prototype reads (BYTES)
READER = files._Reader(registries.offline_shapes())
OFFLINE = registries.get(KIND).offline


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while a parse builds millions of containers (3x faster, same result)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Index:
    """What the first pass learnt: who holds which study, and which records did not move."""

    files: list[str]
    wanted: set[str]
    known: Known | None
    holders: dict[str, list[int]] = field(default_factory=dict)
    ones: dict[int, One] = field(default_factory=dict)  # verified or unchanged
    same: set[int] = field(default_factory=set)  # one-study files whose record did not move
    pages: dict[int, tuple[list[Slice], set[str]]] = field(default_factory=dict)  # + unchanged
    parsed: dict[int, set[str]] = field(default_factory=dict)  # file -> its studies

    def add(self, trial_id: str, number: int) -> None:
        if not self.wanted or trial_id in self.wanted:
            self.holders.setdefault(trial_id, []).append(number)

    def single(self, trial_id: str, number: int) -> bool:
        return self.holders.get(trial_id) == [number]

    def stored(self, ids: list[str]) -> Mapping[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(ids), CHUNK):
            if self.known and ids[start : start + CHUNK]:
                out.update(self.known(ids[start : start + CHUNK]))
        return out


def iter_records(
    directory: Path, watched: Sequence[str], known: Known | None, workers: int | None = None
) -> Iterator[Item]:
    paths, unreadable = files._record_files(directory, READER.suffixes)
    yield from unreadable
    index = Index(paths, {w.upper() for w in watched}, known)
    yield from _first_pass(index, workers)
    yield from files._duplicates(index.holders, paths)
    yield from _second_pass(index)


# -- first pass -----------------------------------------------------------------------------------


def _first_pass(index: Index, workers: int | None) -> Iterator[Item]:
    batch: list[tuple[int, One]] = []
    for number, answer in scan(index.files, CTGOV, PREFIX, workers, candidate=True):
        if isinstance(answer, One):
            batch.append((number, answer))
            if len(batch) >= CHUNK:
                yield from _resolve_ones(index, batch)
                batch = []
        else:
            yield from _take(index, number, answer)
    yield from _resolve_ones(index, batch)


def _resolve_ones(index: Index, batch: list[tuple[int, One]]) -> Iterator[Item]:
    stored = index.stored([one.trial_id for _, one in batch])
    for number, one in batch:
        checked = one if one.key and stored.get(one.trial_id) == one.key else None
        if checked is None:  # verified: the id proven unique, the key proven (or a page...)
            answer = verify(index.files[number], CTGOV, PREFIX)
            if not isinstance(answer, One):
                yield from _take(index, number, answer)
                continue
            checked = answer if answer.key and stored.get(answer.trial_id) == answer.key else None
            one = answer
        if checked is not None:
            index.same.add(number)
        index.ones[number] = one
        index.add(one.trial_id, number)


def _take(index: Index, number: int, answer: Answer) -> Iterator[Item]:
    if isinstance(answer, One):
        index.ones[number] = answer
        index.add(answer.trial_id, number)
    elif isinstance(answer, Page):
        stored = index.stored([s.trial_id for s in answer.slices])
        same = {s.trial_id for s in answer.slices if s.key and stored.get(s.trial_id) == s.key}
        index.pages[number] = (answer.slices, same)
        for piece in answer.slices:
            index.add(piece.trial_id, number)
    else:
        assert answer is PARSE
        with gc_paused():
            studies, errors = files._read(READER, index.files[number])
        yield from errors
        index.parsed[number] = {study.trial_id for study in studies}
        for study in studies:
            index.add(study.trial_id, number)


# -- second pass ----------------------------------------------------------------------------------


def _second_pass(index: Index) -> Iterator[Item]:
    for number in range(len(index.files)):
        if number in index.ones:
            yield from _one_record(index, number, index.ones[number])
        elif number in index.pages:
            slices, same = index.pages[number]
            yield from _page_records(index, number, slices, same)
        elif number in index.parsed:
            yield from _parsed_records(index, number)


def _one_record(index: Index, number: int, one: One) -> Iterator[Item]:
    single = index.single(one.trial_id, number)
    if number in index.same:
        if single:
            yield RecordEvent(one.trial_id, "unchanged")
        return  # else held twice (reported) or not watched: bytes known to parse, no errors
    yield from _one_file(index.files[number], {one.trial_id} if single else set())


def _one_file(path: str, expected: set[str]) -> Iterator[Item]:
    """As ``files._records_of`` for a scanned file, with the key of ``monitor.filekey``."""
    raw = read_bytes(path, MAX_RECORD_BYTES)  # None: _read reads it again and says why
    key = key_of(raw, CTGOV, PREFIX) if raw is not None else None
    studies, errors = files._read(READER, path, raw)
    yield from errors
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield RawRecord(
                study.trial_id,
                study.data,
                files.SOURCE,
                path,
                version=study.version,
                source_key=key,
                registry=study.registry,
            )
    if errors:
        return
    for nct_id in sorted(expected):
        yield StudyError(nct_id, f"{path}: {nct_id} no longer readable (file changed while read)")


def _page_records(index: Index, number: int, slices: list[Slice], same: set[str]) -> Iterator[Item]:
    """Unchanged events, then each changed record parsed alone (one record held at a time)."""
    mine = [s for s in slices if index.single(s.trial_id, number)]
    for piece in mine:
        if piece.trial_id in same:
            yield RecordEvent(piece.trial_id, "unchanged")
    changed = [s for s in mine if s.trial_id not in same]
    done: set[str] = set()
    path = index.files[number]
    for record in _read_slices(path, changed):
        if record is None:  # changed since the first pass, or cut wrong: the whole page
            yield from _whole_page(path, {s.trial_id for s in changed} - done)
            return
        done.add(record.trial_id)
        yield record


def _read_slices(path: str, slices: list[Slice]) -> Iterator[RawRecord | None]:
    """Each range's record, or ``None`` (then nothing more) when one is not what was seen."""
    if not slices:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield None
        return
    try:
        for piece in slices:
            record = _slice_record(fd, path, piece)
            yield record
            if record is None:
                return
    finally:
        os.close(fd)


def _slice_record(fd: int, path: str, piece: Slice) -> RawRecord | None:
    raw = os.pread(fd, piece.end - piece.start, piece.start)
    if piece.key is not None and candidate_key(raw, CTGOV, PREFIX) != piece.key:
        return None  # not the bytes the first pass saw
    study = _as_study(raw, path)
    if study is None or study.trial_id != piece.trial_id:
        return None
    key = key_of(raw, CTGOV, PREFIX)  # proven on the bytes that parsed
    return RawRecord(piece.trial_id, study.data, files.SOURCE, path, source_key=key, registry=KIND)


def _as_study(raw: bytes, path: str) -> FoundStudy | None:
    """The one study a range holds, read by its registry's shapes (``None``: it is not)."""
    try:
        doc = orjson.loads(raw)
        read = OFFLINE.from_json(doc, path) if isinstance(doc, dict) else None
    except (orjson.JSONDecodeError, RecordError):
        return None
    if read is None or read.errors or len(read.studies) != 1 or read.studies[0].version is not None:
        return None
    return read.studies[0]


def _whole_page(path: str, expected: set[str]) -> Iterator[Item]:
    with gc_paused():
        studies, errors = files._read(READER, path)
    yield from errors
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield RawRecord(study.trial_id, study.data, files.SOURCE, path, registry=study.registry)
    for nct_id in sorted(expected):
        yield StudyError(nct_id, f"{path}: {nct_id} no longer readable (file changed while read)")


def _parsed_records(index: Index, number: int) -> Iterator[Item]:
    path = index.files[number]
    expected = {n for n in index.parsed[number] if index.single(n, number)}
    with gc_paused():
        studies, _ = files._read(READER, path)  # its errors were reported by the first pass
    for study in studies:
        if study.trial_id in expected:
            expected.discard(study.trial_id)
            yield RawRecord(
                study.trial_id,
                study.data,
                files.SOURCE,
                path,
                version=study.version,
                registry=study.registry,
            )
    for nct_id in sorted(expected):
        yield StudyError(nct_id, f"{path}: {nct_id} no longer readable (file changed while read)")
