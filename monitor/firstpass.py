"""The offline reader's first pass on every core: each file read once and scanned, in processes.

For every file of a directory the first pass needs the id and key of the record it holds (a
one-study file), or the ids, byte ranges and keys of the records of a page (``pagesplit``), or
to know that the file must be parsed (anything else: text pages, history versions that cannot
be keyed, pages that cannot be split). That is reading and hashing bytes, pure work that
threads cannot share (the GIL; tried and dropped, see ``benchmarks/README.md``), so it runs in
worker processes, one per core, while the caller takes the answers in file order.

:func:`scan` gives ``(number, answer)`` for files ``0..n-1`` in order, where the answer is a
:class:`One`, a :class:`Page` or :data:`PARSE`. A file that cannot be read is :data:`PARSE`
too: the caller's parse then reports why. Small directories are scanned in-process (starting
workers costs more than it saves); the workers are :mod:`monitor.workers`'.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from monitor import workers
from monitor.filekey import ByteShape, candidate_key, first_id, one_study
from monitor.limits import MAX_PAGE_BYTES, MAX_RECORD_BYTES
from monitor.pagesplit import Slice, split_elements, split_page

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

logger = logging.getLogger(__name__)

JSON_SUFFIX = ".json"
READ_MORE = 1 << 16
FILES_PER_TASK = 256  # one-study files handed to a worker at once
BYTES_PER_TASK = 8 << 20  # ... or fewer, when they are this large (pages go one by one)
MIN_PARALLEL_BYTES = 64 << 20  # below this, workers cost more than they save
PAGE_HEAD = 4096  # a page's list key is found this near its start


class One(NamedTuple):
    """A file naming one record: its id and key (``None``: no key, parse it to compare).

    ``candidate``: the id is the file's first and the key a ``filekey.candidate_key``; equal
    to the key stored for that id, the file is that record unchanged; otherwise nothing is
    proven yet (:func:`verify`). A named tuple: one per file crosses from a worker, and a
    tuple unpickles in a third of a frozen dataclass's time.
    """

    trial_id: str
    key: str | None
    candidate: bool = False
    size: int = 0  # the file's bytes, when verified (a candidate's are not needed)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of records split into byte ranges (``pagesplit.Slice``), in order; a range's
    ``trial_id`` is ``None`` where its bytes do not name one id (parse it alone to know)."""

    slices: list[Slice]
    candidate: bool = False


class _Parse:
    """The file must be parsed: not one record, not a page that splits, or unreadable."""

    def __repr__(self) -> str:
        return "PARSE"

    def __reduce__(self) -> str:
        return "PARSE"  # one instance, in worker processes too


PARSE = _Parse()
Answer = One | Page | _Parse


def scan_one(path: str, shape: ByteShape, prefix: str, candidate: bool = False) -> Answer:
    """The first pass's answer for one file (``candidate``: see :class:`One`)."""
    if not path.lower().endswith(JSON_SUFFIX):
        return PARSE
    raw = read_bytes(path)
    if raw is None:
        return PARSE
    return candidate_answer(raw, shape, prefix) if candidate else answer(raw, shape, prefix)


def answer(raw: bytes, shape: ByteShape, prefix: str) -> Answer:
    """Verified: a page split into records, or one record with its key, or parse it.

    The size a record may have (``limits.MAX_RECORD_BYTES``) bounds a one-record file (a larger
    one is left to the parse, which refuses it with its message) and each record of a page
    (the reader refuses that record), not the page.
    """
    if is_page(raw, shape):
        return page(raw, shape, prefix, False)
    found = one_study(raw, shape, prefix) if len(raw) <= MAX_RECORD_BYTES else None
    return PARSE if found is None else One(*found, size=len(raw))


def candidate_answer(raw: bytes, shape: ByteShape, prefix: str) -> Answer:
    """Short searches only: a page (its list key near the start) or the first id's candidate."""
    if is_page(raw, shape):
        return page(raw, shape, prefix, True)
    trial_id = first_id(raw, shape) if len(raw) <= MAX_RECORD_BYTES else None
    return One(trial_id, candidate_key(raw, shape, prefix), True) if trial_id else PARSE


def is_page(raw: bytes, shape: ByteShape) -> bool:
    """Whether the bytes begin as a page: its list key near the start (``"studies"``)."""
    key = shape.page_key
    return key is not None and raw.find(b'"%s"' % key.encode(), 0, PAGE_HEAD) >= 0


def page(raw: bytes, shape: ByteShape, prefix: str, candidate: bool) -> Answer:
    """The records of a page: the fast split, else by its brackets; PARSE if neither."""
    slices = split_page(raw, shape, prefix, candidate)
    if slices is None:
        slices = split_elements(raw, shape, prefix, candidate)
    return PARSE if slices is None else Page(slices, candidate)


def verify(path: str, shape: ByteShape, prefix: str) -> Answer:
    """The verified answer for a file whose candidate did not match (read again)."""
    raw = read_bytes(path) if path.lower().endswith(JSON_SUFFIX) else None
    return PARSE if raw is None else answer(raw, shape, prefix)


def scan_many(
    paths: Sequence[str], shape: ByteShape, prefix: str, candidate: bool = False
) -> list[Answer]:
    return [scan_one(path, shape, prefix, candidate) for path in paths]


def scan(
    paths: Sequence[str],
    shape: ByteShape,
    prefix: str,
    processes: int | None = None,
    sizes: Sequence[int] | None = None,
    candidate: bool = False,
) -> Iterator[tuple[int, Answer]]:
    """``(number, answer)`` for every file, in order; on ``processes`` (default: the cores).

    ``sizes`` (bytes per file) groups files into tasks and decides whether workers are worth
    starting; without it they are guessed from a few files (:func:`guess_sizes`).
    """
    early = _take_early(paths, shape, prefix, processes, candidate) if sizes is None else None
    if early is not None:
        with early.pool:
            yield from _in_order(early.results, early.tasks)
        return
    sizes = list(sizes) if sizes is not None else guess_sizes(paths)
    count = processes if processes is not None else workers.usable_cores()
    tasks = list(_tasks(sizes))
    job = partial(scan_many, shape=shape, prefix=prefix, candidate=candidate)
    chunks = ([paths[n] for n in task] for task in tasks)  # only its paths go to a worker
    if not _parallel(count, tasks, sizes):
        yield from _in_order(map(job, chunks), tasks)
        return
    with workers.pool(count) as pool:
        yield from _in_order(pool.map(job, chunks), tasks)


def _parallel(count: int, tasks: list[range], sizes: Sequence[int]) -> bool:
    return count > 1 and len(tasks) > 1 and sum(sizes) >= MIN_PARALLEL_BYTES


# -- a scan started early -------------------------------------------------------------------------


@dataclass
class Early:
    """A candidate scan started before it was asked for (:mod:`monitor.early`: while the
    process imports the rest of trialmon). Used only by a :func:`scan` of exactly these
    paths, shape, prefix and processes; anything else discards it."""

    paths: list[str]
    shape: ByteShape
    prefix: str
    count: int
    pool: ProcessPoolExecutor
    tasks: list[range]
    results: Iterator[list[Answer]]


_early: list[Early] = []  # the one started, until a scan takes it or it is discarded


def start_early(paths: list[str], shape: ByteShape, prefix: str) -> bool:
    """Start the candidate scan of ``paths`` on every core, as :func:`scan` would, if it
    would use workers (and none is started yet); whether it was started."""
    count = workers.usable_cores()
    sizes = guess_sizes(paths)
    tasks = list(_tasks(sizes))
    if _early or not _parallel(count, tasks, sizes):
        return False
    job = partial(scan_many, shape=shape, prefix=prefix, candidate=True)
    pool = workers.pool(count)
    results = pool.map(job, ([paths[n] for n in task] for task in tasks))
    _early.append(Early(paths, shape, prefix, count, pool, tasks, results))
    return True


def _take_early(
    paths: Sequence[str], shape: ByteShape, prefix: str, processes: int | None, candidate: bool
) -> Early | None:
    """The early scan if it is the one asked for; otherwise it is discarded."""
    if not _early:
        return None
    early = _early.pop()
    count = processes if processes is not None else workers.usable_cores()
    same = (early.shape, early.prefix, early.count) == (shape, prefix, count)
    if candidate and same and early.paths == list(paths):
        return early
    logger.debug("the early first pass was not the one asked for: discarded")
    early.pool.shutdown(wait=True, cancel_futures=True)
    return None


def discard_early() -> None:
    """End an early scan no :func:`scan` took (its workers finish the files they hold)."""
    while _early:
        _early.pop().pool.shutdown(wait=False, cancel_futures=True)


def _in_order(results: Iterator[list[Answer]], tasks: list[range]) -> Iterator[tuple[int, Answer]]:
    for task, answers in zip(tasks, results, strict=True):
        yield from zip(task, answers, strict=True)


def _tasks(sizes: Sequence[int]) -> Iterator[range]:
    """Consecutive file numbers, at most ``FILES_PER_TASK`` files or ``BYTES_PER_TASK`` each."""
    first, used = 0, 0
    for number, size in enumerate(sizes):
        if number > first and (number - first >= FILES_PER_TASK or used + size > BYTES_PER_TASK):
            yield range(first, number)
            first, used = number, 0
        used += size
    if first < len(sizes):
        yield range(first, len(sizes))


def guess_sizes(paths: Sequence[str], sample: int = 8) -> list[int]:
    """Every file's size taken as the mean of a few (a ``stat`` per file costs 5 us)."""
    step = max(1, len(paths) // sample)
    seen = [_size(p) for p in paths[::step][:sample]]
    mean = sum(seen) // len(seen) if seen else 0
    return [mean] * len(paths)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def read_bytes(path: str, limit: int | None = None) -> bytes | None:
    """A file's bytes, read whole even if it grew after ``fstat``; ``None`` if it cannot be
    read or holds more than ``limit`` bytes (default: a page file's limit; the parse then
    reports why)."""
    limit = MAX_PAGE_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return None
        raw = os.read(fd, size)
        more = os.read(fd, 1)
        while more:
            raw += more
            if len(raw) > limit:
                return None
            more = os.read(fd, READ_MORE)
        return raw
    except OSError:
        return None
    finally:
        os.close(fd)
