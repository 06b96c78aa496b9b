"""A page of records (``{"studies": [...]}``, as ``GET /api/v2/studies`` returns it) split into
one byte range per record, with its id and key, without parsing the page.

Each record of a page begins with its id as first leaf (``{"protocolSection":
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
not parse) gives ``None``: parse the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from monitor.filekey import ByteShape, candidate_key, key_of, read_id

WINDOW = 512  # bytes before an id key searched for the element's head (indented pages fit)
PAGE_KEY = "studies"


@dataclass(frozen=True, slots=True)
class Slice:
    """One record of a page: its id, its bytes ``raw[start:end]`` and their key."""

    trial_id: str
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
    if ends is None or not _frame_is_a_page(raw, starts[0], ends[-1]):
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


def _frame_is_a_page(raw: bytes, first: int, last_end: int) -> bool:
    """What surrounds the list parses into a page with an empty list: the cut is the list."""
    try:
        frame = orjson.loads(raw[:first] + raw[last_end:])
    except orjson.JSONDecodeError:
        return False
    return isinstance(frame, dict) and frame.get(PAGE_KEY) == []
