"""Pure: the canonical record (format ``v2``, ``docs/canonical-record.md``) and its helpers.

Every registry's normalizer maps its raw record into one canonical shape, with the helpers
here; compare and classify read only that shape. Its top-level sections::

    identification  status  dates  admin  results  sponsor  oversight  description
    conditions  design  enrollment  arms  interventions  outcomes  eligibility
    contacts  locations  references  ipd_sharing  other

Rules that make cosmetic differences vanish (each normalizer applies them with these helpers):

* text is cleaned (:func:`clean_text`): HTML tags stripped, entities unescaped, Markdown
  escapes (``18\\~65``) removed, white space collapsed, Unicode NFC;
* empty values (``None``, ``""``, ``[]``, ``{}``) are dropped, so absent equals empty;
* unordered lists are sorted: sets of strings by value, lists of items keyed by identity
  (:data:`KEYED_LISTS`) by that identity, other lists by their canonical JSON;
* dates keep their precision (``2025-06`` stays ``2025-06``);
* fields a normalizer does not know go to ``other``.

The record is stored as canonical JSON and hashed with the format as prefix (``v2:<sha256>``).
A registry's status words come with a :class:`Vocabulary` that classify receives as data.
No I/O, no clock. Any change to the record's shape must bump :data:`HASH_VERSION` and come
with an upgrade of stored records (:func:`upgrade_v1`).
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from monitor.errors import RecordError
from monitor.recordformat import HASH_VERSION as HASH_VERSION  # its home imports nothing

#: The top-level sections of a canonical record (the first segment of a field path).
RECORD_SECTIONS: tuple[str, ...] = (
    "identification",
    "status",
    "dates",
    "admin",
    "sponsor",
    "oversight",
    "description",
    "conditions",
    "design",
    "enrollment",
    "outcomes",
    "eligibility",
    "contacts",
    "references",
    "ipd_sharing",
    "arms",
    "interventions",
    "locations",
    "results",
    "other",
)

# Lists of items whose identity is made of these fields: a reorder is no change, and an
# item is compared with the item of the same identity in the other version.
KEYED_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("identification", "secondary_ids"): ("type", "id"),
    ("sponsor", "collaborators"): ("name",),
    ("arms",): ("label",),
    ("interventions",): ("type", "name"),
    ("outcomes", "primary"): ("measure",),
    ("outcomes", "secondary"): ("measure",),
    ("outcomes", "other"): ("measure",),
    ("contacts", "central"): ("name",),
    ("contacts", "officials"): ("name",),
    ("locations",): ("facility", "city", "country"),
    ("references", "publications"): ("pmid", "citation"),
    ("references", "links"): ("url",),
    ("references", "ipd_documents"): ("type", "id", "url"),
}

# Inline tags vanish (``<mark class="hl-term">CRPC</mark>`` is ``CRPC``); block tags are a space.
_INLINE_TAGS = (
    "a|abbr|b|big|cite|code|del|em|font|i|ins|mark|s|small|span|strike|strong|sub|sup|tt|u"
)
_BLOCK_TAGS = (
    "blockquote|br|caption|dd|div|dl|dt|h[1-6]|hr|li|ol|p|pre|table|tbody|td|tfoot|th|thead|tr|ul"
)
_INLINE_RE = re.compile(rf"</?(?:{_INLINE_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MD_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


# ---------------------------------------------------------------- text


def clean_text(text: str) -> str:
    """Text as a person reads it: no markup, no escapes, single spaces, NFC.

    Applied until nothing changes, so cleaning clean text is a no-op (``&amp;lt;`` is
    ``<`` after two rounds, and ``<`` followed by a tag name is then a tag).
    """
    if text.isascii() and "<" not in text and "&" not in text and "\\" not in text:
        return " ".join(text.split())  # the common case: only white space to collapse
    for _ in range(4):
        cleaned = _clean_once(text)
        if cleaned == text or _settled(cleaned):
            return cleaned
        text = cleaned
    return text


def _settled(cleaned: str) -> bool:
    """Whether another round would leave ``cleaned`` (a round's result) as it is.

    The same tests a round makes, without building its text: a long description with one
    escape was cleaned twice, and the second time mostly re-split it into words.
    """
    if "<" in cleaned and (_INLINE_RE.search(cleaned) or _BLOCK_RE.search(cleaned)):
        return False
    if "&" in cleaned and html.unescape(cleaned) != cleaned:
        return False
    if "\\" in cleaned and _MD_ESCAPE_RE.search(cleaned):
        return False
    # A round's result has its white space collapsed already.
    return cleaned.isascii() or unicodedata.is_normalized("NFC", cleaned)


def _clean_once(text: str) -> str:
    if "<" in text:
        text = _BLOCK_RE.sub(" ", _INLINE_RE.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _MD_ESCAPE_RE.sub(r"\1", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


# ---------------------------------------------------------------- generic helpers


def drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    # ``v or``: a value that is true is not empty, and is kept without building the ``[]``
    # and ``{}`` it would be compared with (most values of a record are true).
    return {k: v for k, v in d.items() if v or (v is not None and v != "" and v != [] and v != {})}


def json_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def identity(item: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The identity of a keyed-list item: its identity fields joined by `` | ``."""
    if fields == ("pmid", "citation"):  # a reference is its PMID, else its citation
        value = item.get("pmid") or item.get("citation")
        return "" if value is None else str(value)
    # One list, no generator: identities are made for every item a record is sorted and
    # compared by (~30 a study, three times in a daily cycle).
    return " | ".join(["" if (v := item.get(f)) is None else str(v) for f in fields])


def sort_keyed(items: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda it: (identity(it, fields).casefold(), json_key(it)))


def keyed_list(items: Iterable[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """A keyed list of the record: its items without empty values, the empty items left out,
    sorted by their identity ``fields``, then by content."""
    return sort_keyed([i for i in map(drop_empty, items) if i], fields)


@functools.lru_cache(maxsize=1024)
def snake(key: str) -> str:
    """``oversightHasDmc`` -> ``oversight_has_dmc``: the record's keys are snake_case."""
    return _CAMEL_RE.sub("_", key).lower()


def generic(value: Any, where: str) -> Any:
    """Any JSON value, cleaned: keys in snake_case, text cleaned, empties dropped, lists sorted."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return drop_empty({snake(str(k)): generic(v, f"{where}.{k}") for k, v in value.items()})
    if isinstance(value, list):
        items = [generic(v, f"{where}[]") for v in value]
        items = [v for v in items if v is not None and v != "" and v != [] and v != {}]
        return sorted(items, key=json_key)
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise RecordError(f"{where}: integer out of range: {value}")
    if value is None or isinstance(value, bool | int | float):
        return value
    raise RecordError(f"{where}: unexpected value {value!r}")


def as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected a list of objects, got an item {value!r}")
    return value


def kind_of(value: Any) -> str:
    return type(value).__name__


def kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", bool: "true/false", int: "a number", dict: "an object", list: "a list"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def text_of(d: Mapping[str, Any], key: str) -> str | None:
    """Cleaned text of ``d[key]`` inside a list item (non-text values are kept as text)."""
    value = d.get(key)
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else str(value))


def texts_of(d: Mapping[str, Any], keys: Iterable[str]) -> dict[str, str]:
    """The cleaned texts of ``d``'s ``keys`` that have a value (as :func:`text_of`), in the
    order of ``keys``: a list item's fields in one pass (a study has hundreds of them), for a
    builder whose item then loses its empty values anyway."""
    return {
        k: clean_text(v if isinstance(v, str) else str(v))
        for k in keys
        if (v := d.get(k)) is not None
    }


def text_set(d: Mapping[str, Any], key: str) -> list[str]:
    values = d.get(key) or []
    if not isinstance(values, list):
        values = [values]
    return sorted({clean_text(str(v)) for v in values} - {""})


def date_struct(value: Any) -> dict[str, Any] | None:
    """A date struct ``{date, type}`` (type kept only when the registry gives it)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"date": value}
    if not isinstance(value, dict):
        raise RecordError(f"date: expected an object with 'date', got {value!r}")
    out = drop_empty({"date": text_of(value, "date"), "type": text_of(value, "type")})
    return out or None


# ---------------------------------------------------------------- the whole record


def finish(record: dict[str, Any]) -> dict[str, Any]:
    """A normalizer's sections as the canonical record: keyed lists sorted, empties dropped.

    Raises ``RecordError`` when the record has no ``identification.trial_id`` or ``registry``.
    """
    sort_lists(record)
    ident = record.get("identification") or {}
    if not ident.get("trial_id") or not ident.get("registry"):
        raise RecordError("the record has no trial id (identification.trial_id)")
    return drop_empty(record)


def sort_lists(record: dict[str, Any]) -> None:
    for path, fields in KEYED_LISTS.items():
        parent: Any = record
        for key in path[:-1]:
            parent = parent.get(key, {})
        items = parent.get(path[-1]) if isinstance(parent, dict) else None
        if items:
            parent[path[-1]] = sort_keyed(items, fields)


def _canonical_bytes(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError as e:  # e.g. an integer beyond 64 bits, which a JSON parser may return
        raise RecordError(f"record cannot be stored as JSON: {e}") from e


def canonical_json(record: dict[str, Any]) -> str:
    """The canonical text of a record: sorted keys, compact separators, UTF-8."""
    return _canonical_bytes(record).decode()


def version_hash(data: bytes) -> str:
    """A SHA-256 of ``data`` with the format version as prefix (``v2:...``): content hashes
    and the source keys of raw records, so a new format never matches an old hash."""
    return f"{HASH_VERSION}:{hashlib.sha256(data).hexdigest()}"


def content_hash(record: dict[str, Any]) -> str:
    """A version-prefixed SHA-256 of the canonical JSON, e.g. ``v2:3f2a...``."""
    return version_hash(_canonical_bytes(record))


def format_of(digest: str) -> str:
    """The record format a content hash (or source key) was made for: ``v2`` of ``v2:...``."""
    return digest.split(":", 1)[0]


@dataclass(frozen=True)
class StudyFacts:
    """The few facts of a canonical record the ``studies`` table keeps."""

    trial_id: str
    registry: str
    title: str | None
    overall_status: str | None
    last_update_posted: str | None


def facts(record: dict[str, Any]) -> StudyFacts:
    """The trial's id and registry, brief title, overall status and last-update date."""
    ident = record.get("identification", {})
    posted = record.get("admin", {}).get("last_update_posted") or {}
    return StudyFacts(
        trial_id=ident.get("trial_id", ""),
        registry=ident.get("registry", ""),
        title=ident.get("brief_title"),
        overall_status=record.get("status", {}).get("overall_status"),
        last_update_posted=posted.get("date"),
    )


# ---------------------------------------------------------------- status vocabularies


STATES = ("pending", "recruiting", "active", "completed", "stopped", "withdrawn", "unknown")


@dataclass(frozen=True)
class StatusWord:
    """What a registry's status word means: a neutral state, and whether moving to it is
    critical (the trial ended early or was halted, suspended, revoked, cancelled, withdrawn
    or stopped)."""

    state: str
    critical: bool = False


@dataclass(frozen=True)
class Vocabulary:
    """A registry's words, as classify receives them: its status words and, for the few
    fields a registry names its own way, the labels of summaries (``NCT id aliases``)."""

    statuses: Mapping[str, StatusWord] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def critical(self, status: Any) -> bool:
        word = self.statuses.get(status) if isinstance(status, str) else None
        return word is not None and word.critical

    def state(self, status: Any) -> str:
        word = self.statuses.get(status) if isinstance(status, str) else None
        return word.state if word is not None else "unknown"


# ---------------------------------------------------------------- older formats


#: Field paths of format v1 that have another name in v2 (stored ``changes.field`` values).
V1_PATHS: dict[str, str] = {"identification.nct_id": "identification.trial_id"}


def upgrade_v1(record: dict[str, Any], registry: str) -> dict[str, Any]:
    """A stored ``v1`` record (one registry only, ``identification.nct_id``) in format ``v2``.

    ``v2`` names the trial id registry-neutrally and says its registry; every other section
    kept its shape, so the upgraded record is exactly what the normalizer makes today of the
    same raw record (the upgrade test checks it) and a cycle after an upgrade reports nothing.
    """
    ident = dict(record.get("identification") or {})
    trial_id = ident.pop("nct_id", None)
    if not isinstance(trial_id, str) or not trial_id:
        raise RecordError("a v1 record without identification.nct_id")
    upgraded = dict(record)
    upgraded["identification"] = {**ident, "trial_id": trial_id, "registry": registry}
    return upgraded


def keyed(record: Mapping[str, Any]) -> dict[str, Any]:
    """A view of a record where each keyed list is a dict from identity to item.

    Items sharing an identity get `` #2``, `` #3`` ... in their (sorted) order. Only the
    dicts on the way to a keyed list are copied; the rest is shared with ``record``.
    """
    view = dict(record)
    for parent_path, lists in _KEYED_BY_PARENT.items():
        _key_lists(view, parent_path, lists)
    return view


def _by_parent() -> dict[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """:data:`KEYED_LISTS` by the object holding them: each is copied once for its lists."""
    out: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
    for path, fields in KEYED_LISTS.items():
        out.setdefault(path[:-1], {})[path[-1]] = fields
    return out


_KEYED_BY_PARENT = _by_parent()


def _key_lists(
    view: dict[str, Any], path: tuple[str, ...], lists: Mapping[str, tuple[str, ...]]
) -> None:
    parent = view
    for key in path:
        child = parent.get(key)
        if not isinstance(child, dict):
            return
        parent[key] = child = dict(child)
        parent = child
    for name, fields in lists.items():
        items = parent.get(name)
        if isinstance(items, list):
            parent[name] = _by_identity(items, fields)


def _by_identity(items: list[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = identity(item, fields) if isinstance(item, dict) else str(item)
        n, unique = 1, key
        while unique in out:
            n += 1
            unique = f"{key} #{n}"
        out[unique] = item
    return out
