"""A page of records (``{"studies": [...]}``, as ``GET /api/v2/studies`` returns it) split into
one byte range per record, with its id and key, without parsing the page.

Two ways. :func:`split_page`, the fast one (searches in C only): each record of a page begins
with its id as first leaf (``{"protocolSection":
{"identificationModule": {"nctId": ...`` in the order of the registry that pages so; the
shape's ``element_head``). So the id keys found in the page's bytes give the records' starts;
each record ends at the closing brace before the comma that precedes the next one (the last,
before the bracket that closes the list), and what lies outside the list (the page's frame:
``{"studies": [`` ... ``], "nextPageToken": "..."}``) must parse into a page whose list is
empty, which proves the list is exactly where it was cut.

What the ranges are worth: a record's range is trusted as that record only once its bytes
parsed as that record. The caller parses every range whose key it does not know; a key it
knows was computed from identical bytes that did parse (keys are stored only for parsed
records), so that range needs no parse. A range that does not parse, or parses into another
id, means the page was cut wrong: the caller falls back to parsing the whole page. Anything
unexpected here (no id, an id not first, a separator that is not a comma, a frame that does
not parse) gives ``None``.

:func:`split_elements`, for a page of any layout (keys sorted, indented): it walks the page's
brackets, stepping over strings (a few hundred ms per 20 MB), to find each element of the list,
and reads each element's id as a one-record file's (``filekey.only``: one id key in its bytes);
an element whose id cannot be read so has ``trial_id`` ``None`` (parse it alone to know). The
frame is checked the same way. So a page is read one record at a time whatever its layout,
and a record, not the page, is what the size a record may have bounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import orjson

from monitor.filekey import ByteShape, candidate_key, key_of, only, read_id

WINDOW = 512  # bytes before an id key searched for the element's head (indented pages fit)
# Everything up to the next bracket outside a string, and that bracket (group 1).
NEXT_BRACKET = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")*+([{}\[\]])', re.DOTALL)
SEPARATOR = re.compile(rb"\s*,\s*\Z")
OPENERS = b"{["


class Slice(NamedTuple):
    """One record of a page: its id (``None``: not readable from its bytes), its bytes
    ``raw[start:end]`` and their key (a named tuple: cheap to send from a worker)."""

    trial_id: str | None
    start: int
    end: int
    key: str | None


def split_page(
    raw: bytes, shape: ByteShape, prefix: str, candidate: bool = False
) -> list[Slice] | None:
    """The records of a page as byte ranges, in order; ``None`` when it cannot be split.

    ``candidate``: the ranges' keys are ``filekey.candidate_key`` (to compare, never to store).
    """
    starts, ids = _starts(raw, shape)
    if not starts:
        return None
    ends = _ends(raw, starts)
    if ends is None or not _frame_is_a_page(raw, shape, starts[0], ends[-1]):
        return None
    keyed = candidate_key if candidate else key_of
    return [
        Slice(trial_id, start, end, keyed(raw, shape, prefix, start, end))
        for trial_id, start, end in zip(ids, starts, ends, strict=True)
    ]


def _starts(raw: bytes, shape: ByteShape) -> tuple[list[int], list[str]]:
    """Where each record begins and its id; empty lists if one id is not its record's first leaf."""
    head = shape.element_head
    starts: list[int] = []
    ids: list[str] = []
    at = raw.find(shape.id_key)
    while at >= 0 and head is not None:
        found = head.search(raw, max(0, at - WINDOW), at)
        trial_id = read_id(raw, shape, at)
        if found is None or trial_id is None:
            return [], []
        starts.append(found.start())
        ids.append(trial_id)
        at = raw.find(shape.id_key, at + 1)
    return starts, ids


def _ends(raw: bytes, starts: list[int]) -> list[int] | None:
    """Each record's end: its closing brace, then only a comma (or the list's end) and space."""
    ends = []
    for following in [*starts[1:], None]:
        end = _end_before(raw, following)
        if end is None:
            return None
        ends.append(end)
    return ends if all(e > s for s, e in zip(starts, ends, strict=True)) else None


def _end_before(raw: bytes, following: int | None) -> int | None:
    """Just after the ``}`` that precedes ``, <following>`` (or the list's closing ``]``)."""
    if following is None:
        close = raw.rfind(b"]")
        before = raw[max(0, close - WINDOW) : close].rstrip()
        base = max(0, close - WINDOW)
    else:
        before = raw[max(0, following - WINDOW) : following].rstrip()
        base = max(0, following - WINDOW)
        if not before.endswith(b","):
            return None
        before = before[:-1].rstrip()
    return base + len(before) if before.endswith(b"}") else None


def _frame_is_a_page(raw: bytes, shape: ByteShape, first: int, last_end: int) -> bool:
    """What surrounds the list parses into a page with an empty list: the cut is the list."""
    try:
        frame = orjson.loads(raw[:first] + raw[last_end:])
    except orjson.JSONDecodeError:
        return False
    return (
        shape.page_key is not None and isinstance(frame, dict) and frame.get(shape.page_key) == []
    )


# -- any layout: by the brackets ------------------------------------------------------------------


def split_elements(
    raw: bytes, shape: ByteShape, prefix: str, candidate: bool = False
) -> list[Slice] | None:
    """The elements of a page of any layout as byte ranges, in order; ``None`` when the bytes
    are not a page whose list holds only objects (see the module's docstring)."""
    spans = _element_spans(raw, shape)
    if spans is None:
        return None
    first, last_end, ranges = spans
    if not _frame_is_a_page(raw, shape, first, last_end):
        return None
    keyed = candidate_key if candidate else key_of
    slices = []
    for start, end in ranges:
        at = only(raw, shape.id_key, start, end)
        trial_id = read_id(raw, shape, at) if at >= 0 else None
        slices.append(Slice(trial_id, start, end, keyed(raw, shape, prefix, start, end)))
    return slices


def _element_spans(raw: bytes, shape: ByteShape) -> tuple[int, int, list[tuple[int, int]]] | None:
    """The ranges of the elements of the top object's page list, and what the frame leaves out.

    The list is the first one at depth 1 that follows the page key; it must hold only objects
    separated by commas (anything else: ``None``). The frame check then proves it the page's.
    """
    walk = _Walk(raw, shape)
    for bracket, where, end in _brackets(raw):
        if not walk.step(bracket, where, end):
            return None
        if walk.closed >= 0:
            ranges = walk.ranges
            first = ranges[0][0] if ranges else walk.opened
            return first, (ranges[-1][1] if ranges else walk.closed), ranges
    return None


def _brackets(raw: bytes) -> Iterator[tuple[int, int, int]]:
    """Each bracket outside strings: the byte, where it is, and just after it."""
    at = 0
    while (found := NEXT_BRACKET.match(raw, at)) is not None:
        at = found.end()
        yield raw[found.start(1)], found.start(1), at


class _Walk:
    """The state of the bracket walk: depth, the page list, the elements found so far."""

    def __init__(self, raw: bytes, shape: ByteShape) -> None:
        self.raw, self.depth = raw, 0
        self.key = re.compile(rb'"%s"\s*:\s*\Z' % re.escape((shape.page_key or "").encode()))
        self.opened = self.closed = -1  # just after the list's "[", at its "]"
        self.ranges: list[tuple[int, int]] = []

    def step(self, bracket: int, where: int, end: int) -> bool:
        """Take one bracket; False when the bytes are not a page of objects."""
        inside = self.opened >= 0
        if bracket in OPENERS:
            self.depth += 1
            if self.depth == 1:
                return bracket == 0x7B  # the page is an object
            if self.depth == 2 and not inside and bracket == 0x5B and self._after_key(where):
                self.opened = end
            elif self.depth == 3 and inside:
                return bracket == 0x7B and self._begin(where)
            return True
        self.depth -= 1
        if self.depth == 2 and inside:
            self.ranges[-1] = (self.ranges[-1][0], end)
        elif self.depth == 1 and inside:
            self.closed = where
            return not self.raw[self._last_end() : where].strip()
        return self.depth >= 0

    def _after_key(self, where: int) -> bool:
        return self.key.search(self.raw, max(0, where - WINDOW), where) is not None

    def _last_end(self) -> int:
        return self.ranges[-1][1] if self.ranges else self.opened

    def _begin(self, where: int) -> bool:
        """An element starts at ``where``: only a comma (or nothing, first) since the last."""
        between = self.raw[self._last_end() : where]
        if not SEPARATOR.match(between) if self.ranges else between.strip():
            return False
        self.ranges.append((where, -1))
        return True
