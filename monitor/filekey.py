"""A record's id and key read from its bytes, without parsing it (the offline reader's fast path).

The key of a record's bytes is their BLAKE3 hash with the registry's daily stamp left out
(one registry rewrites ``derivedSection.miscInfoModule.versionHolder`` in every record every
day, and no normalizer reads it). A cryptographic hash, so no edit can be made to keep a
record's key; BLAKE3 rather than SHA-256 because a daily cycle hashes every file (7 against
12 us for a 25 KB record, ``benchmarks/README.md``). A key that did not move since the last
cycle means the same bytes, so the same record: it need not be parsed. The stamp's value is
left out only where that is unambiguous: one stamp key in the bytes, a direct member of the
one stamp object (whatever comes before it in that object: nested lists and objects are
stepped over, so a file saved with sorted keys, where ``modelPredictions`` or
``removedCountries`` precede ``versionHolder``, is keyed too). Otherwise there is no key
(``None``) and the caller parses.

Why scanning bytes is sound: a key such as ``"nctId"`` cannot occur inside a JSON string (its
quotes would be escaped there), so each needle found is a key or a string value, and a value
is never followed by a colon. The keys are byte-compatible with ``monitor.sources.files``:
where its ``file_key`` gives a key, :func:`key_of` gives the same one.

Proving the stamp unambiguous costs two passes over the bytes (the stamp key and its object
must each occur once), and proving the id unique a third. A cycle in which most records did not
change can skip them: :func:`candidate_key` blanks the value after the *last* stamp key and
reads the *first* id, with short searches only. It is never stored; it is compared with the key
stored for that id, which :func:`key_of` computed from bytes that parsed as that one record.
Equal keys mean equal bytes but for one string value after a stamp key, and since the stored
bytes held exactly one stamp key, so do these (two occurrences of a needle that cannot overlap
itself cannot both line up with one): the same record, unparsed. A candidate that does not
match proves nothing: the caller verifies (:func:`one_study`) and parses.

A registry describes its bytes with a :class:`ByteShape` (its package holds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blake3 import blake3

STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]]', re.DOTALL)
OPENERS = frozenset(b"{[")


@dataclass(frozen=True)
class ByteShape:
    """Where a registry's record keeps its id and its daily stamp, as bytes.

    ``page_key`` is the key of a page's list of records (``{"studies": [...]}``; ``None``: the
    registry has no pages). ``element_head`` is what an element of a page holds from its
    opening brace up to ``id_key`` when the id is its first leaf (``pagesplit.split_page``, the
    fast way), ending in ``\\Z``; ``None`` when its pages are only split by their brackets.
    """

    id_key: bytes
    id_value: re.Pattern[bytes]  # matched at id_key; group 1 is the id
    id_pattern: re.Pattern[str]
    stamp_object: bytes | None = None
    stamp_key: bytes | None = None
    stamp_value: re.Pattern[bytes] | None = None  # matched at stamp_key; group 1 the value
    element_head: re.Pattern[bytes] | None = None
    object_open: re.Pattern[bytes] | None = None  # matched at stamp_object, ends inside it
    page_key: str | None = None


class Ambiguous(Exception):
    """The stamp cannot be told apart from the record's content: no key."""


def only(raw: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
    """Where ``needle`` occurs in ``raw[start:end]`` if exactly once; -1 if never, -2 if more.

    Two searches (from either end) cost one pass over the bytes and stop early.
    """
    end = len(raw) if end is None else end
    at = raw.find(needle, start, end)
    return at if at < 0 or raw.rfind(needle, start, end) == at else -2


def one_study(raw: bytes, shape: ByteShape, prefix: str) -> tuple[str, str | None] | None:
    """The id and key of bytes that name exactly one record; ``None`` if they do not."""
    at = only(raw, shape.id_key)
    trial_id = read_id(raw, shape, at) if at >= 0 else None
    return None if trial_id is None else (trial_id, key_of(raw, shape, prefix))


def first_id(raw: bytes, shape: ByteShape, start: int = 0, end: int | None = None) -> str | None:
    """The first id in ``raw[start:end]`` (no proof that it is the only one: a candidate's id)."""
    at = raw.find(shape.id_key, start, len(raw) if end is None else end)
    return read_id(raw, shape, at) if at >= 0 else None


def candidate_key(
    raw: bytes, shape: ByteShape, prefix: str, start: int = 0, end: int | None = None
) -> str:
    """A key to compare with a stored one, never to store: see the module's docstring."""
    end = len(raw) if end is None else end
    holder = raw.rfind(shape.stamp_key, start, end) if shape.stamp_key else -1
    if holder < 0 or shape.stamp_value is None:
        return prefix + digest_of(raw, start, end)
    found = shape.stamp_value.match(raw, holder, end)
    if found is None:
        return ""  # a stamp key without a plain value: matches no stored key
    return prefix + digest_of(raw, start, end, found.span(1))


def digest_of(raw: bytes, start: int, end: int, gap: tuple[int, int] | None = None) -> str:
    """The BLAKE3 hex digest of ``raw[start:end]`` without ``raw[gap[0]:gap[1]]``.

    The two sides are joined, then hashed: fed in two parts, BLAKE3 hashes most of a record
    without its SIMD lanes (13.8 against 8.4 us for a 21 KB record, the copy included).
    """
    view = memoryview(raw)
    if gap is None:
        return blake3(view[start:end]).hexdigest()
    return blake3(b"".join((view[start : gap[0]], view[gap[1] : end]))).hexdigest()


def read_id(raw: bytes, shape: ByteShape, at: int) -> str | None:
    """The id whose key starts at ``at``, if it is a valid one."""
    found = shape.id_value.match(raw, at)
    if found is None:
        return None
    trial_id = found.group(1).decode("ascii", "replace").strip().upper()
    return trial_id if shape.id_pattern.match(trial_id) else None


def key_of(
    raw: bytes, shape: ByteShape, prefix: str, start: int = 0, end: int | None = None
) -> str | None:
    """The key of ``raw[start:end]``: BLAKE3 without the stamp's value; ``None`` if ambiguous."""
    end = len(raw) if end is None else end
    try:
        span = stamp_span(raw, shape, start, end)
    except Ambiguous:
        return None
    return prefix + digest_of(raw, start, end, span)


def stamp_span(raw: bytes, shape: ByteShape, start: int, end: int) -> tuple[int, int] | None:
    """Where the stamp's value (quotes included) is; ``None`` if there is no stamp key.

    Raises :class:`Ambiguous` when there is one but it is not provably the stamp.
    """
    if shape.stamp_key is None:
        return None
    holder = raw.rfind(shape.stamp_key, start, end)  # near the end: a short search
    if holder < 0:
        return None
    if raw.find(shape.stamp_key, start, holder) >= 0:
        raise Ambiguous("two stamp keys")
    inside = _inside_stamp_object(raw, shape, start, end)
    if inside is None or inside > holder or not direct_member(raw, inside, holder):
        raise Ambiguous("the stamp key is not a member of the one stamp object")
    assert shape.stamp_value is not None
    found = shape.stamp_value.match(raw, holder, end)
    if found is None:
        raise Ambiguous("the stamp's value is not a plain string")
    return found.span(1)


def _inside_stamp_object(raw: bytes, shape: ByteShape, start: int, end: int) -> int | None:
    """Just after the opening brace of the one stamp object, or ``None``."""
    assert shape.stamp_object is not None and shape.object_open is not None
    at = only(raw, shape.stamp_object, start, end)
    found = shape.object_open.match(raw, at, end) if at >= 0 else None
    return found.end() if found else None


def direct_member(raw: bytes, inside: int, at: int) -> bool:
    """Whether ``at`` is at depth one of the object whose brace ends just before ``inside``.

    Steps over strings (escapes included), lists and objects between the two; a closing
    bracket that leaves the object first means ``at`` is outside it.
    """
    depth = 0
    for token in STRING_OR_BRACKET.finditer(raw, inside, at):
        first = raw[token.start()]
        if first in OPENERS:
            depth += 1
        elif first != 0x22:  # a closing bracket
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
