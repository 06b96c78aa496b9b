"""Pure: field differences -> changes with a category, a severity and a one-line summary.

Each difference is routed by its path to a rule (:data:`_RULES`, first match wins). A rule
groups the differences under one field (``dates.completion``, one location, one outcome)
and its handler reads the whole old and new value of that field to write one change,
so that a date and its type, or an enrollment count and its type, make one row.
Outcomes are classified together (:func:`_outcome_changes`) to tell a reworded primary
outcome from a removal plus an addition, and a move between primary and secondary.
Severity overrides of ``[changes.severity]`` apply per category at the end.

Only canonical records are read (``docs/canonical-record.md``), never a registry's raw
record. What depends on the registry comes as data: its :class:`Vocabulary` says which status
words are critical to move to, and how it names a few of its fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.compare import Difference, Kind
from monitor.configkit import ChangesConfig
from monitor.models import CATEGORIES, Change, severity_rank
from monitor.normalize import KEYED_LISTS, Vocabulary, identity, json_key, keyed
from monitor.spelling import fold, same_name

REWORD_SIMILARITY = 0.6  # difflib ratio above which a removed and an added outcome pair up
MOVE_SIMILARITY = 0.9  # ... above which a primary and a secondary outcome are the same one
SHORT_TEXT = 80  # texts up to this length are quoted whole in a summary
EXCERPT = 60  # longest excerpt of removed or added words
MAX_PARTS = 3  # records of a list a summary names one by one
WORD_DIFF_CELLS = 1_000_000  # most word pairs difflib compares (old x new words): ~0.1 s
SIMILARITY_CHARS = 500  # outcome measures are compared by their first 500 characters ...
OUTCOME_PAIRS = 1_000  # ... in at most 1,000 pairs of a removed and an added outcome (~1 s)
SITE_PAIRS = 40_000  # removed x added sites compared for a rename (spelling), at most (~1 s)

NONE = "(none)"
_CODE_RE = re.compile(r"[A-Z0-9_]+|\d{4}(?:-\d\d){0,2}|\d+ \w+")

LABELS: dict[str, str] = {
    "status.overall_status": "Overall status",
    "status.why_stopped": "Why stopped",
    "status.last_known_status": "Last known status",
    "dates.start": "Start date",
    "dates.primary_completion": "Primary completion date",
    "dates.completion": "Completion date",
    "admin.status_verified": "Status verified date",
    "admin.last_update_posted": "Last update posted",
    "admin.last_update_submitted": "Last update submitted",
    "admin.first_posted": "First posted",
    "admin.first_submitted": "First submitted",
    "admin.first_submitted_qc": "First submission passed quality control",
    "results.first_submitted": "Results first submitted",
    "results.first_submitted_qc": "Results submission passed quality control",
    "results.waived": "Results waived",
    "eligibility.criteria": "Eligibility criteria",
    "eligibility.healthy_volunteers": "Accepts healthy volunteers",
    "eligibility.std_ages": "Age groups",
    "design.study_type": "Study type",
    "design.who_masked": "Masked roles",
    "sponsor.lead": "Lead sponsor",
    "sponsor.responsible_party": "Responsible party",
    "description.brief_summary": "Brief summary",
    "description.detailed": "Detailed description",
    "identification.trial_id": "Trial id",
    "identification.aliases": "Id aliases",
    "identification.org_study_id": "Organization's study id",
    "identification.organization": "Organization",
}

NOUNS: dict[str, str] = {
    "arms": "Arm",
    "interventions": "Intervention",
    "locations": "Location",
    "contacts.central": "Central contact",
    "contacts.officials": "Overall official",
    "sponsor.collaborators": "Collaborator",
    "references.publications": "Reference",
    "references.links": "Link",
    "references.ipd_documents": "IPD document",
    "identification.secondary_ids": "Secondary id",
    "outcomes.primary": "Primary outcome",
    "outcomes.secondary": "Secondary outcome",
    "outcomes.other": "Other outcome",
}


# ---------------------------------------------------------------- groups and rules


@dataclass(frozen=True)
class _Group:
    """The differences under one field, with the field's whole old and new value."""

    path: tuple[str, ...]
    old: Any
    new: Any
    diffs: tuple[Difference, ...]
    vocabulary: Vocabulary
    derived: str | None = None  # how the new record's status was derived, if it was

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def label(self) -> str:
        """The field's name in a summary: the registry's own word for it, else the usual."""
        return self.vocabulary.labels.get(self.field) or _label(self.field)


Handler = Callable[[_Group], list[Change]]


@dataclass(frozen=True)
class _Rule:
    prefix: tuple[str, ...]  # "*" matches any key
    depth: int  # path length that makes one group
    handler: Handler

    def matches(self, path: tuple[str, ...]) -> bool:
        if len(path) < len(self.prefix):
            return False
        return all(p in ("*", k) for p, k in zip(self.prefix, path, strict=False))


def _change(category: str, field: str, severity: str, old: Any, new: Any, summary: str) -> Change:
    return Change(category, field, severity, old, new, summary)


# ---------------------------------------------------------------- rendering values


def _label(field: str) -> str:
    if field in LABELS:
        return LABELS[field]
    last = field.rsplit(".", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", last).replace("_", " ").capitalize()


def _show(value: Any) -> str:
    """A value as a summary shows it: codes and dates bare, text quoted, None as (none)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value if _CODE_RE.fullmatch(value) else f'"{_clip(value, SHORT_TEXT)}"'
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or NONE
    if isinstance(value, dict):
        return _show_dict(value)
    return str(value)


def _show_dict(value: Mapping[str, Any]) -> str:
    if "date" in value:
        return _show_date(value)
    for key in ("name", "measure", "label", "facility", "citation", "id", "url"):
        if key in value:
            return _show(value[key])
    return "; ".join(f"{_label(k).lower()} {_show(v)}" for k, v in sorted(value.items()))


def _show_date(value: Mapping[str, Any] | None) -> str:
    if not value:
        return NONE
    kind = value.get("type")
    return f"{value.get('date', NONE)} ({kind})" if kind else str(value.get("date", NONE))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _arrow(label: str, old: Any, new: Any) -> str:
    return f"{label}: {_show(old)} → {_show(new)}"


def text_change(label: str, old: str | None, new: str | None) -> str:
    """``Label: "a" → "b"`` for short texts; a word-level excerpt for long ones."""
    if old is None or new is None or max(len(old), len(new)) <= SHORT_TEXT:
        return _arrow(label, old, new)
    removed, added = _word_changes(old, new)
    parts = [f'removed "{removed}"' if removed else "", f'added "{added}"' if added else ""]
    return f"{label} changed: " + "; ".join(p for p in parts if p)


def _word_changes(old: str, new: str) -> tuple[str, str]:
    """Excerpts of the words removed and added, in work bounded by the texts' length.

    The common start and end are set aside (linear); the middle is diffed by difflib (whose
    work grows with the product of the lengths) only up to ``WORD_DIFF_CELLS`` word pairs.
    A longer middle (a 30,000-word rewrite) is summarized by the words whose count went down
    or up, in their order (linear): coarser, but a cycle stays fast whatever the registry sends.
    """
    a, b = _middle(old.split(), new.split())
    if len(a) * len(b) <= WORD_DIFF_CELLS:
        removed, added = _opcode_runs(a, b)
    else:
        removed, added = _count_runs(a, b), _count_runs(b, a)
    return _clip(" … ".join(removed), EXCERPT), _clip(" … ".join(added), EXCERPT)


def _middle(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """Both word lists without their common first and last words."""
    start, most = 0, min(len(a), len(b))
    while start < most and a[start] == b[start]:
        start += 1
    end = 0
    while end < most - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


def _opcode_runs(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed.append(" ".join(a[i1:i2]))
        if op in ("replace", "insert"):
            added.append(" ".join(b[j1:j2]))
    return removed, added


def _count_runs(a: list[str], b: list[str]) -> list[str]:
    """The words of ``a`` missing from ``b``, as runs of neighbours; if there are none, the
    words ``b`` has fewer of (their first occurrences). Linear: two counts, one pass."""
    counts = Counter(b)
    surplus = Counter(a)
    surplus.subtract(counts)
    novel = {word for word in surplus if word not in counts}
    runs: list[list[str]] = []
    last = -2
    for index, word in enumerate(a):
        if (word in novel) if novel else surplus[word] > 0:
            surplus[word] -= 1
            if index != last + 1:
                runs.append([])
            runs[-1].append(word)
            last = index
    return [" ".join(run) for run in runs]


def _set_change(label: str, old: list[Any] | None, new: list[Any] | None) -> str:
    """Short sets show both values; long ones what was added and removed."""
    old, new = old or [], new or []
    if len(_show(old)) + len(_show(new)) <= SHORT_TEXT:
        return _arrow(label, old or None, new or None)
    added = [v for v in new if v not in old]
    removed = [v for v in old if v not in new]
    parts = [f"added {_show(added)}" if added else ""]
    parts.append(f"removed {_show(removed)}" if removed else "")
    return f"{label}: " + "; ".join(p for p in parts if p)


def _as_list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) or value is None else [value]


def _value_change(label: str, old: Any, new: Any) -> str:
    if _records(old) and _records(new):  # contacts of a site ...: say what changed in each
        return f"{label}: {items_change(old, new)}"
    if isinstance(old, list) or isinstance(new, list):  # a value may turn into a list
        return _set_change(label, _as_list(old), _as_list(new))
    if isinstance(old, dict) and isinstance(new, dict) and _show(old) == _show(new):
        return f"{label}: {_parts_change(old, new)}"
    if isinstance(old, str | None) and isinstance(new, str | None):
        return text_change(label, old, new)
    return _arrow(label, old, new)


# ---------------------------------------------------------------- lists of records


@dataclass(frozen=True)
class ItemChange:
    """One record of a list (a site's contact ...) that was added, removed or changed."""

    kind: str  # "added", "removed" or "changed"
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None

    @property
    def keys(self) -> list[str]:
        """The keys that changed (for added and removed records: every key)."""
        return [k for k, _, _ in _changed_keys(self.old or {}, self.new or {})]


def _records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def item_changes(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[ItemChange]:
    """Records paired by what names them (``name``, ``measure`` ...), then by likeness."""
    left = [o for o in old if o not in new]
    right = [n for n in new if n not in old]
    found: list[ItemChange] = []
    for by_name in (True, False):
        for i, j in _record_pairs(left, right, by_name):
            found.append(ItemChange("changed", left[i], right[j]))
            left[i] = right[j] = {}
        left, right = [x for x in left if x], [x for x in right if x]
    found += [ItemChange("removed", o, None) for o in left]
    found += [ItemChange("added", None, n) for n in right]
    return found


def _record_pairs(
    left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]], by_name: bool
) -> list[tuple[int, int]]:
    """Best-first pairs: records of one name, or (second pass) sharing half their values."""
    scored = []
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            shared = sum(a.get(k) == b.get(k) for k in a.keys() | b.keys())
            named = _show_dict(a).casefold() == _show_dict(b).casefold()
            if named if by_name else 2 * shared >= len(a.keys() | b.keys()):
                scored.append((-shared, i, j))
    pairs, taken_l, taken_r = [], set(), set()
    for _, i, j in sorted(scored):
        if i not in taken_l and j not in taken_r:
            taken_l.add(i)
            taken_r.add(j)
            pairs.append((i, j))
    return pairs


def items_change(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> str:
    """``"Study Coordinator" phone "1" → "2"; added "Research Nurse"``."""
    parts = []
    for item in item_changes(old, new):
        if item.kind == "changed" and item.old is not None and item.new is not None:
            parts.append(f"{_show_dict(item.old)} {_parts_change(item.old, item.new)}")
        else:
            parts.append(f"{item.kind} {_show_dict(item.old or item.new or {})}")
    if len(parts) > MAX_PARTS:  # a summary stays one readable line
        parts[MAX_PARTS - 1 :] = [f"and {len(parts) - MAX_PARTS + 1} more"]
    return "; ".join(parts)


def _parts_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``phone "1" → "2", email "a" → "b"``: only the parts that changed."""
    parts = [f"{_label(k).lower()} {_show(o)} → {_show(n)}" for k, o, n in _changed_keys(old, new)]
    return ", ".join(parts)


# ---------------------------------------------------------------- simple fields


def _field(category: str, severity: str) -> Handler:
    """One change for one field, any value type."""

    def handle(g: _Group) -> list[Change]:
        summary = _value_change(g.label(), g.old, g.new)
        return [_change(category, g.field, severity, g.old, g.new, summary)]

    return handle


def _overall_status(g: _Group) -> list[Change]:
    """Critical when the registry's vocabulary says so of the new status; in its own words.

    A status the registry derives from its dates (``status.derived``) says so: it can move
    with the calendar alone, without anyone editing the record.
    """
    severity = "critical" if g.vocabulary.critical(g.new) else "major"
    summary = f"{g.label()}: {_status_word(g.old)} → {_status_word(g.new)}"
    if g.derived:
        summary += f" ({g.derived})"
    return [_change("status", g.field, severity, g.old, g.new, summary)]


# ---------------------------------------------------------------- per country

BY_COUNTRY = "_by_country"


def _by_key_label(g: _Group, field: str | None = None) -> str:
    """``Status`` of ``status.by_country``, ``End`` of ``dates.end_by_country`` (or the
    registry's own words for the field)."""
    field = field or g.field
    label = g.vocabulary.labels.get(field)
    return label or _label(field.removesuffix(BY_COUNTRY).removesuffix(".by_country"))


def _transitions(old: Any, new: Any) -> list[tuple[Any, Any, list[str]]]:
    """The keys of two maps grouped by their move: ``[(old value, new value, [keys])]``."""
    old, new = old or {}, new or {}
    moves: dict[bytes, tuple[Any, Any, list[str]]] = {}
    for key in sorted(set(old) | set(new)):
        o, n = old.get(key), new.get(key)
        if o != n:
            moves.setdefault(json_key([o, n]), (o, n, []))[2].append(key)
    return list(moves.values())


def _names(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _status_by_country(g: _Group) -> list[Change]:
    """One row per distinct move of the member states' statuses (``Status in France and
    Spain: A → B``); major when the new words are critical (a halt in one country)."""
    label = _by_key_label(g)
    return [
        _change(
            "status",
            g.field,
            "major" if g.vocabulary.critical(n) else "minor",
            o,
            n,
            f"{label} in {_names(keys)}: {_status_word(o)} → {_status_word(n)}",
        )
        for o, n, keys in _transitions(g.old, g.new)
    ]


def _status_word(value: Any) -> str:
    """A status as the registry writes it, unquoted (``Authorised, recruitment pending``)."""
    return value if isinstance(value, str) and value else _show(value)


# ---------------------------------------------------------------- dates


def _parse_date(text: str | None) -> tuple[date, int] | None:
    """A registry date and its precision (1 year, 2 month, 3 day), or None."""
    if not text:
        return None
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts] + [1] * (3 - len(parts))
        return date(numbers[0], numbers[1], numbers[2]), len(parts)
    except (ValueError, IndexError):
        return None


def _truncate(d: date, precision: int) -> date:
    return date(d.year, d.month if precision >= 2 else 1, d.day if precision >= 3 else 1)


def date_shift(old: str | None, new: str | None) -> int | None:
    """Signed days from ``old`` to ``new`` at the coarser precision; None when unknown.

    0 means the same period (``2025-06`` and ``2025-06-30``): a precision change.
    """
    a, b = _parse_date(old), _parse_date(new)
    if a is None or b is None:
        return None
    precision = min(a[1], b[1])
    return (_truncate(b[0], precision) - _truncate(a[0], precision)).days


def _days(n: int) -> str:
    return f"{n:+d} day" if abs(n) == 1 else f"{n:+d} days"


def _is_date_map(value: Any) -> bool:
    """A map of dates by country (``dates.end_by_country``), not a date itself."""
    return isinstance(value, dict) and "date" not in value


def _dates_by_country(g: _Group) -> list[Change]:
    """One row per distinct move of a date across countries, with its day shift; minor (the
    trial's own dates carry the major rows)."""
    label = _by_key_label(g)
    changes = []
    for o, n, keys in _transitions(g.old, g.new):
        od, nd = (o or {}).get("date"), (n or {}).get("date")
        summary = f"{label} in {_names(keys)}: {od or NONE} → {nd or NONE}"
        shift = date_shift(od, nd)
        if shift:
            summary += f" ({_days(shift)})"
        changes.append(_change("dates", g.field, "minor", o, n, summary))
    return changes


def _date_change(g: _Group) -> list[Change]:
    if _is_date_map(g.old) or _is_date_map(g.new):
        return _dates_by_country(g)
    old, new = g.old or {}, g.new or {}
    od, nd = old.get("date"), new.get("date")
    label = g.label()
    type_changed = old.get("type") != new.get("type")
    show_old = _show_date(old) if type_changed else (od or NONE)
    show_new = _show_date(new) if type_changed else (nd or NONE)
    summary = f"{label}: {show_old} → {show_new}"
    shift = date_shift(od, nd) if od != nd else 0
    if od == nd or shift == 0:
        severity = "minor"
        if od != nd:
            summary += " (precision only)"
    else:
        severity = "major"
        if shift is not None:
            summary += f" ({_days(shift)})"
    return [_change("dates", g.field, severity, g.old, g.new, summary)]


# ---------------------------------------------------------------- enrollment


def _show_count(value: Mapping[str, Any]) -> str:
    count, kind = value.get("count"), value.get("type")
    text = NONE if count is None else str(count)
    return f"{text} ({kind})" if kind else text


def percent(old: int, new: int) -> str:
    """The signed relative change, ``-47%``; one decimal when under 1%."""
    pct = (new - old) * 100 / old
    return f"{pct:+.1f}%" if abs(pct) < 1 else f"{pct:+.0f}%"


_ENROLLMENT_OWN = ("count", "type")


def _enrollment(g: _Group) -> list[Change]:
    """The count (and its type) in one row; each other part of the section (a registry's
    target, its planned subjects by country) in minor rows of its own."""
    old, new = g.old or {}, g.new or {}
    oc, nc = old.get("count"), new.get("count")
    changes = []
    summary = f"Enrollment: {_show_count(old)} → {_show_count(new)}"
    own = {k: old.get(k) for k in _ENROLLMENT_OWN}, {k: new.get(k) for k in _ENROLLMENT_OWN}
    if oc != nc:
        if oc and nc is not None:
            summary += f" ({percent(oc, nc)})"
        changes.append(_change("enrollment", "enrollment.count", "major", g.old, g.new, summary))
    elif own[0] != own[1]:
        changes.append(_change("enrollment", "enrollment.type", "minor", g.old, g.new, summary))
    for key in sorted((set(old) | set(new)) - set(_ENROLLMENT_OWN)):
        o, n = old.get(key), new.get(key)
        if o != n and not (key == "target" and o == oc and n == nc):  # the count said it
            changes += _enrollment_part(g, f"enrollment.{key}", o, n)
    return changes


def _enrollment_part(g: _Group, field: str, old: Any, new: Any) -> list[Change]:
    label = _by_key_label(g, field)
    if not isinstance(old, dict | None) or not isinstance(new, dict | None):
        return [_change("enrollment", field, "minor", old, new, _counted(label, old, new))]
    return [
        _change("enrollment", field, "minor", o, n, _counted(f"{label} in {_names(keys)}", o, n))
        for o, n, keys in _transitions(old, new)
    ]


def _counted(label: str, old: Any, new: Any) -> str:
    summary = f"{label}: {_show(old)} → {_show(new)}"
    if isinstance(old, int) and isinstance(new, int) and old:
        summary += f" ({percent(old, new)})"
    return summary


# ---------------------------------------------------------------- results


# Fields that change together with the first posting of results: one row says it all.
_POSTED_WITH_RESULTS = frozenset({"has_results", "first_submitted", "first_submitted_qc"})


def _results(g: _Group) -> list[Change]:
    old, new = g.old or {}, g.new or {}
    changes: list[Change] = _results_delay(old, new)
    posted_now = new.get("first_posted") and not old.get("first_posted")
    for key in sorted(set(old) | set(new)):
        o, n = old.get(key), new.get(key)
        if o == n or (posted_now and key in _POSTED_WITH_RESULTS) or key in _DELAY:
            continue
        field = f"results.{key}"
        if key == "first_posted" and n:
            summary = f"Results first posted: {_show_date(n)}"
            if o:
                summary = f"Results first posted: {_show_date(o)} → {_show_date(n)}"
            changes.append(_change("results", field, "major", o, n, summary))
        elif key == "has_results":
            summary = "Results posted" if n else _arrow("Has results", o, n)
            changes.append(_change("results", field, "major" if n else "minor", o, n, summary))
        else:
            changes.append(_change("results", field, "minor", o, n, _arrow(_label(field), o, n)))
    return changes


# The sponsor's certification (or extension request) to delay submitting results: the
# registry's "disp" dates. People watch for it, so it is major, and said in plain words.
_DELAY = ("disp_first_submitted", "disp_first_submitted_qc", "disp_first_posted")
_DELAY_REQUESTED = (
    "Results delay requested: the sponsor certified that results will be submitted late"
)


def _results_delay(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """One row for the delay certification, whichever of its dates moved."""
    o, n = {k: old.get(k) for k in _DELAY}, {k: new.get(k) for k in _DELAY}
    if o == n:
        return []
    posted = o["disp_first_posted"] != n["disp_first_posted"]
    field = "results.disp_first_posted" if posted else "results.disp_first_submitted"
    return [_change("results", field, "major", _drop_none(o), _drop_none(n), _delay_summary(o, n))]


def _delay_summary(o: Mapping[str, Any], n: Mapping[str, Any]) -> str:
    was, now = o["disp_first_posted"], n["disp_first_posted"]
    if not any(n.values()):
        return f"Results delay certification removed (it was {_delay_when(o)})"
    if not any(o.values()):
        return f"{_DELAY_REQUESTED} (certification {_delay_when(n)})"
    if was != now:
        return f"Results delay certification posted: {_show_date(was)} → {_show_date(now)}"
    return _arrow("Results delay certification submitted", _submitted(o), _submitted(n))


def _delay_when(values: Mapping[str, Any]) -> str:
    posted = values["disp_first_posted"]
    if posted:
        return f"posted {posted.get('date', NONE)}"
    return f"submitted {_submitted(values)}, not yet posted"


def _submitted(values: Mapping[str, Any]) -> Any:
    return values["disp_first_submitted"] or values["disp_first_submitted_qc"]


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any] | None:
    kept = {k: v for k, v in values.items() if v is not None}
    return kept or None


# ---------------------------------------------------------------- items of keyed lists


def _item_name(key: str) -> str:
    return '"' + _clip(", ".join(p for p in key.split(" | ") if p), SHORT_TEXT) + '"'


def _item(category: str, added_removed: str, changed: str) -> Handler:
    """Changes of one item of a keyed list: added, removed, or one row per changed field."""

    def handle(g: _Group) -> list[Change]:
        list_field = ".".join(g.path[:-1])
        noun, name = NOUNS.get(list_field, "Item"), _item_name(g.path[-1])
        if g.old is None or g.new is None:
            verb = "added" if g.old is None else "removed"
            summary = f"{noun} {verb}: {name}"
            return [_change(category, list_field, added_removed, g.old, g.new, summary)]
        return _item_edits(category, list_field, changed, name, g.old, g.new)

    return handle


def _item_edits(
    category: str,
    list_field: str,
    severity: str,
    name: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    skip: Collection[str] = (),
) -> list[Change]:
    """One row per changed field of an item present in both versions."""
    noun = NOUNS.get(list_field, "Item")
    return [
        _change(
            "contacts" if key == "contacts" else category,
            f"{list_field}.{key}",
            severity,
            o,
            n,
            _value_change(f"{noun} {name} {_label(key).lower()}", o, n),
        )
        for key, o, n in _changed_keys(old, new)
        if key not in skip
    ]


# ---------------------------------------------------------------- locations

_SITE_KEY = KEYED_LISTS[("locations",)]  # facility, city, country


def _location_changes(groups: Sequence[_Group]) -> list[Change]:
    """Sites added, removed or edited, paired like outcomes: every differing site leaves one
    pool and enters the other; identical ones (renumbered by a shared name, ``#2``) pair with
    themselves, sites of one name by their other parts (zip ...), and a site renamed only in
    spelling, case, accents or encoding is one ``renamed`` row, not a removal and an addition.
    """
    removed = [g.old for g in groups if g.old is not None]
    added = [g.new for g in groups if g.new is not None]
    _site_pairs(removed, added, _whole)
    changes: list[Change] = []
    for old, new in _site_pairs(removed, added, _site_identity):
        name = _item_name(identity(new, _SITE_KEY))
        changes += _item_edits("locations", "locations", "minor", name, old, new)
    for old, new in _renames(removed, added):
        changes += _renamed_site(old, new)
    changes += [_site_gone_or_new(old, None) for old in removed]
    changes += [_site_gone_or_new(None, new) for new in added]
    return changes


Site = Mapping[str, Any]


def _site_pairs(
    removed: list[Site], added: list[Site], key: Callable[[Site], str | bytes]
) -> list[tuple[Site, Site]]:
    """Pairs of sites with the same ``key``, most shared parts first, taken out of both lists.

    Candidates come from a dict of the added sites by key: the work follows the number of
    sites, not the product of the two lists (2,000 sites replaced took 35 s that way).
    """
    by_key: dict[str | bytes, list[int]] = {}
    for j, b in enumerate(added):
        by_key.setdefault(key(b), []).append(j)
    candidates = [(i, j) for i, a in enumerate(removed) for j in by_key.get(key(a), ())]
    return _take_sites(removed, added, candidates)


def _renames(removed: list[Site], added: list[Site]) -> list[tuple[Site, Site]]:
    """Pairs of sites whose names differ only in spelling (:func:`_same_site`), among at most
    ``SITE_PAIRS`` pairs: beyond that, each is reported removed or added."""
    if len(removed) * len(added) > SITE_PAIRS:
        return []
    candidates = [
        (i, j) for i, a in enumerate(removed) for j, b in enumerate(added) if _same_site(a, b)
    ]
    return _take_sites(removed, added, candidates)


def _take_sites(
    removed: list[Site], added: list[Site], candidates: list[tuple[int, int]]
) -> list[tuple[Site, Site]]:
    """The candidate pairs with the most shared parts first, each site in one pair at most."""
    scored = sorted((-_shared(removed[i], added[j]), i, j) for i, j in candidates)
    taken_l: set[int] = set()
    taken_r: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in scored:
        if i not in taken_l and j not in taken_r:
            taken_l.add(i)
            taken_r.add(j)
            pairs.append((i, j))
    taken = [(removed[i], added[j]) for i, j in pairs]
    removed[:] = [a for i, a in enumerate(removed) if i not in taken_l]
    added[:] = [b for j, b in enumerate(added) if j not in taken_r]
    return taken


def _whole(site: Site) -> bytes:
    return json_key(site)


def _site_identity(site: Site) -> str:
    return identity(site, _SITE_KEY)


def _site_gone_or_new(old: Site | None, new: Site | None) -> Change:
    verb = "added" if old is None else "removed"
    name = _item_name(identity(old or new or {}, _SITE_KEY))
    return _change("locations", "locations", "minor", old, new, f"Location {verb}: {name}")


def _same_site(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if fold(str(old.get("country", ""))) != fold(str(new.get("country", ""))):
        return False
    if old.get("zip") and new.get("zip") and old["zip"] != new["zip"]:
        return False
    return same_name(old.get("facility"), new.get("facility")) and same_name(
        old.get("city"), new.get("city")
    )


def _renamed_site(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before, after = _item_name(identity(old, _SITE_KEY)), _item_name(identity(new, _SITE_KEY))
    field = "locations.facility" if old.get("facility") != new.get("facility") else "locations.city"
    summary = f"Location renamed: {before} → {after}"
    rename = _change("locations", field, "minor", old, new, summary)
    edits = _item_edits("locations", "locations", "minor", after, old, new, skip=_SITE_KEY)
    return [rename, *edits]


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    keys = sorted(set(old) | set(new))
    return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _dict_field(category: str, severity: str) -> Handler:
    """A field holding a small object (lead sponsor): one row naming the parts that changed."""

    def handle(g: _Group) -> list[Change]:
        label = g.label()
        if not isinstance(g.old, dict) or not isinstance(g.new, dict) or "date" in g.old:
            summary = _value_change(label, g.old, g.new)
        else:
            parts = [_arrow(_label(k).lower(), o, n) for k, o, n in _changed_keys(g.old, g.new)]
            summary = f"{label}: " + "; ".join(parts)
            if "name" in g.old and g.old.get("name") != g.new.get("name"):
                summary = _arrow(label, g.old.get("name"), g.new.get("name"))
        return [_change(category, g.field, severity, g.old, g.new, summary)]

    return handle


# ---------------------------------------------------------------- outcomes

Item = tuple[str, dict[str, Any]]  # (kind: primary, secondary or other; the outcome)


@dataclass
class _Outcomes:
    """Outcome items that left or appeared, by kind (primary, secondary, other)."""

    removed: list[Item]
    added: list[Item]
    # How alike two measures read, by (removed, added) measure: the pools are paired four
    # times over (renumbered, same measure, moved, reworded), the likeness found once.
    scores: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)


def similarity(a: str, b: str) -> float:
    """How alike two outcome measures read (difflib ratio, case-insensitive).

    On their first ``SIMILARITY_CHARS`` characters: difflib's work grows with the product of
    the lengths, and real measures are a line long.
    """
    a, b = a[:SIMILARITY_CHARS].casefold(), b[:SIMILARITY_CHARS].casefold()
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _measure(item: Mapping[str, Any]) -> str:
    return str(item.get("measure", ""))


def _shared(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """How many parts (measure, time frame, description) two outcomes have in common."""
    return sum(a.get(k) == b.get(k) for k in a.keys() | b.keys())


Accept = Callable[[Item, Item, float], bool]


def _pairs(
    left: list[Item],
    right: list[Item],
    accept: Accept,
    scores: dict[tuple[str, str], float],
) -> list[tuple[int, int]]:
    """Greedy best-first pairing by measure likeness, then by shared parts, where accepted.

    None beyond ``OUTCOME_PAIRS`` candidate pairs (60 outcomes replaced at once): each is then
    reported removed or added, in bounded work.
    """
    if len(left) * len(right) > OUTCOME_PAIRS:
        return []
    scored = [
        (_score(scores, _measure(a[1]), _measure(b[1])), _shared(a[1], b[1]), i, j)
        for i, a in enumerate(left)
        for j, b in enumerate(right)
    ]
    taken_l: set[int] = set()
    taken_r: set[int] = set()
    pairs = []
    for score, _, i, j in sorted(scored, key=lambda s: (-s[0], -s[1], s[2], s[3])):
        if i not in taken_l and j not in taken_r and accept(left[i], right[j], score):
            taken_l.add(i)
            taken_r.add(j)
            pairs.append((i, j))
    return pairs


def _score(scores: dict[tuple[str, str], float], a: str, b: str) -> float:
    """:func:`similarity` of ``a`` and ``b``, found once per pairing (``scores``)."""
    score = scores.get((a, b))
    if score is None:
        score = scores[a, b] = similarity(a, b)
    return score


def _take(found: _Outcomes, accept: Accept) -> list[tuple[Item, Item]]:
    """The pairs ``accept`` allows, taken out of both pools."""
    pairs = _pairs(found.removed, found.added, accept, found.scores)
    taken = [(found.removed[i], found.added[j]) for i, j in pairs]
    gone_l, gone_r = {i for i, _ in pairs}, {j for _, j in pairs}
    found.removed = [x for i, x in enumerate(found.removed) if i not in gone_l]
    found.added = [x for j, x in enumerate(found.added) if j not in gone_r]
    return taken


def _outcome_changes(groups: Sequence[_Group]) -> list[Change]:
    """Every outcome that differs leaves one pool and enters the other, then they pair up.

    An edited outcome is a removal plus an addition until paired, so outcomes renumbered by a
    duplicate measure (``#2``) pair with their true counterpart, an unchanged one with itself,
    and one outcome, however much of it changed, makes one row.
    """
    found = _Outcomes(
        removed=[(g.path[1], g.old) for g in groups if g.old is not None],
        added=[(g.path[1], g.new) for g in groups if g.new is not None],
    )
    _take(found, lambda a, b, score: a == b)  # renumbered, not changed
    changes = [_outcome_edited(a, b) for a, b in _take(found, _same_measure)]
    changes += _moves(found)
    changes += [_reworded(a, b) for a, b in _take(found, _alike_measure)]
    changes += [_outcome_gone_or_new(kind, item, "removed") for kind, item in found.removed]
    changes += [_outcome_gone_or_new(kind, item, "added") for kind, item in found.added]
    return changes


def _same_measure(a: Item, b: Item, score: float) -> bool:
    return a[0] == b[0] and _measure(a[1]) == _measure(b[1])


def _alike_measure(a: Item, b: Item, score: float) -> bool:
    return a[0] == b[0] and score >= REWORD_SIMILARITY


def _moves(found: _Outcomes) -> list[Change]:
    """An outcome removed from one kind and added to another, with (nearly) the same measure."""
    changes = []
    for (old_kind, old), (new_kind, new) in _take(
        found, lambda a, b, score: a[0] != b[0] and score >= MOVE_SIMILARITY
    ):
        severity = "critical" if "primary" in (old_kind, new_kind) else "minor"
        field = "outcomes.primary" if severity == "critical" else f"outcomes.{old_kind}"
        noun = NOUNS[f"outcomes.{old_kind}"]
        summary = f'{noun} moved to {new_kind}: "{_clip(_measure(new), SHORT_TEXT)}"'
        changes.append(_change("outcomes", field, severity, old, new, summary))
    return changes


def _reworded(old: Item, new: Item) -> Change:
    """One row for one reworded outcome, naming its other edited parts too."""
    kind, before, after = old[0], old[1], new[1]
    noun = NOUNS["outcomes." + kind]
    summary = text_change(f"{noun} reworded", _measure(before), _measure(after))
    rest = _outcome_parts(before, after)
    summary = "; ".join([summary.replace(" reworded changed:", " reworded:"), *rest])
    severity = "major" if kind == "primary" else "minor"
    return _change("outcomes", f"outcomes.{kind}", severity, before, after, summary)


def _outcome_parts(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``time frame "a" → "b"`` for each edited part but the measure (long texts by words)."""
    edited = sorted(_changed_keys(old, new), key=lambda k: (_OUTCOME_PARTS.get(k[0], 9), k[0]))
    return [_part(_label(key).lower(), o, n) for key, o, n in edited if key != "measure"]


def _part(label: str, old: Any, new: Any) -> str:
    """A part of a summary: ``time frame "a" → "b"``, a long text by its edited words."""
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > SHORT_TEXT:
        removed, added = _word_changes(old, new)
        words = [f'removed "{removed}"' if removed else "", f'added "{added}"' if added else ""]
        return f"{label} reworded ({', '.join(w for w in words if w)})"
    return f"{label} {_show(old)} → {_show(new)}"


_OUTCOME_PARTS = {"time_frame": 0, "description": 1}  # the order a reader checks them


def _outcome_gone_or_new(kind: str, item: dict[str, Any], verb: str) -> Change:
    severity = "critical" if kind == "primary" else "minor"
    old, new = (item, None) if verb == "removed" else (None, item)
    summary = f'{NOUNS["outcomes." + kind]} {verb}: "{_clip(_measure(item), SHORT_TEXT)}"'
    return _change("outcomes", f"outcomes.{kind}", severity, old, new, summary)


def _outcome_edited(old: Item, new: Item) -> Change:
    """Same measure, other time frame or description: one row; major for a primary outcome."""
    kind, before, after = old[0], old[1], new[1]
    severity = "major" if kind == "primary" else "minor"
    name = f'{NOUNS["outcomes." + kind]} "{_clip(_measure(before), 50)}"'
    keys = [key for key, _, _ in _changed_keys(before, after)]
    if len(keys) == 1:
        key = keys[0]
        summary = _value_change(f"{name} {_label(key).lower()}", before[key], after.get(key))
        return _change("outcomes", f"outcomes.{kind}.{key}", severity, before.get(key),
                       after.get(key), summary)  # fmt: skip
    summary = f"{name}: " + "; ".join(_outcome_parts(before, after))
    return _change("outcomes", f"outcomes.{kind}", severity, before, after, summary)


def _collect(g: _Group) -> list[Change]:
    """Placeholder handler: these groups are classified together, see :data:`_TOGETHER`."""
    return []


# Lists whose items are classified together, to pair a removal with an addition.
_TOGETHER: dict[str, Callable[[Sequence[_Group]], list[Change]]] = {
    "outcomes": _outcome_changes,
    "locations": _location_changes,
}


# ---------------------------------------------------------------- the rule table

_DESIGN_MAJOR = ("study_type", "phases", "allocation", "masking", "intervention_model")

_RULES: tuple[_Rule, ...] = (
    _Rule(("status", "overall_status"), 2, _overall_status),
    _Rule(("status", "why_stopped"), 2, _field("status", "major")),
    _Rule(("status", "early_termination"), 2, _field("status", "critical")),
    _Rule(("status", "by_country"), 2, _status_by_country),
    _Rule(("status",), 2, _field("status", "minor")),
    _Rule(("dates",), 2, _date_change),
    _Rule(("enrollment",), 1, _enrollment),
    _Rule(("outcomes",), 3, _collect),
    _Rule(("eligibility", "std_ages"), 2, _field("eligibility", "minor")),
    _Rule(("eligibility",), 2, _field("eligibility", "major")),
    *(_Rule(("design", key), 2, _field("design", "major")) for key in _DESIGN_MAJOR),
    _Rule(("design", "primary_purpose"), 2, _field("design", "major")),
    _Rule(("design",), 2, _field("design", "minor")),
    _Rule(("arms",), 2, _item("arms_interventions", "major", "minor")),
    _Rule(("interventions",), 2, _item("arms_interventions", "major", "minor")),
    _Rule(("sponsor", "lead"), 2, _dict_field("sponsor", "major")),
    _Rule(("sponsor", "collaborators"), 3, _item("sponsor", "minor", "minor")),
    _Rule(("sponsor",), 2, _dict_field("sponsor", "minor")),
    _Rule(("locations",), 2, _collect),
    _Rule(("contacts",), 3, _item("contacts", "minor", "minor")),
    _Rule(("conditions",), 2, _field("conditions", "minor")),
    _Rule(("description",), 2, _field("description", "minor")),
    _Rule(("identification", "secondary_ids"), 3, _item("identification", "minor", "minor")),
    _Rule(("identification",), 2, _dict_field("identification", "minor")),
    _Rule(("references",), 3, _item("references", "minor", "minor")),
    _Rule(("results",), 1, _results),
    _Rule(("admin",), 2, _dict_field("administrative", "info")),
    _Rule(("*",), 2, _dict_field("other", "minor")),
)


def _rules_of(section: str) -> tuple[tuple[int, _Rule], ...]:
    """The rules (with their place in :data:`_RULES`) a path in ``section`` may match."""
    return tuple((i, r) for i, r in enumerate(_RULES) if r.prefix[0] in ("*", section))


# Each section's rules, found once: matching every rule of the table against every
# difference's path was most of classify's time.
_SECTION_RULES = {r.prefix[0]: _rules_of(r.prefix[0]) for r in _RULES}


def _rule_for(path: tuple[str, ...]) -> tuple[int, _Rule]:
    """The first rule of :data:`_RULES` whose prefix matches ``path`` (a path shorter than a
    prefix matches it when it matches its start), and its place in the table."""
    if not path:
        return 0, _RULES[0]
    for i, rule in _SECTION_RULES.get(path[0]) or _SECTION_RULES["*"]:
        if all(p in ("*", k) for p, k in zip(rule.prefix[1:], path[1:], strict=False)):
            return i, rule
    return len(_RULES) - 1, _RULES[-1]


# ---------------------------------------------------------------- grouping


def _explode(diff: Difference) -> list[Difference]:
    """A difference on an object as differences on its keys (a section that appeared)."""
    old = diff.old if isinstance(diff.old, dict) else {}
    new = diff.new if isinstance(diff.new, dict) else {}
    if not old and not new:
        return []
    out = []
    for key, o, n in _changed_keys(old, new):
        kind: Kind = "added" if o is None else "removed" if n is None else "changed"
        out.append(Difference((*diff.path, key), kind, o, n))
    return out


def _route(diff: Difference) -> Iterable[tuple[int, _Rule, Difference]]:
    i, rule = _rule_for(diff.path)
    if len(diff.path) < max(rule.depth, len(rule.prefix)):
        children = _explode(diff)
        if children:
            for child in children:
                yield from _route(child)
            return
    yield i, rule, diff


def _get(view: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(view, dict):
            return None
        view = view.get(key)
    return view


CALENDAR_MOVE = "derived from the dates: the calendar moved it, the record was not edited"
DERIVED = "derived from the record's dates and overrides"


def _derivation(diffs: Sequence[Difference]) -> str:
    """How a derived status moved: by the calendar alone when nothing else of the record did."""
    return CALENDAR_MOVE if all(d.path[0] == "status" for d in diffs) else DERIVED


def _groups(
    diffs: Sequence[Difference],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    vocabulary: Vocabulary,
) -> list[tuple[_Rule, _Group]]:
    found: dict[tuple[int, tuple[str, ...]], list[Difference]] = {}
    for diff in diffs:
        for i, rule, d in _route(diff):
            key = (i, d.path[: rule.depth])
            found.setdefault(key, []).append(d)
    derived = _derivation(diffs) if _get(new, ("status", "derived")) is True else None
    return [
        (
            _RULES[i],
            _Group(path, _get(old, path), _get(new, path), tuple(ds), vocabulary, derived),
        )
        for (i, path), ds in found.items()
    ]


# ---------------------------------------------------------------- entry points


def classify(
    old: dict[str, Any],
    new: dict[str, Any],
    diffs: Sequence[Difference],
    rules: ChangesConfig,
    views: tuple[dict[str, Any], dict[str, Any]] | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[Change]:
    """The classified changes from ``old`` to ``new`` (canonical records), given their diffs.

    ``views``: their ``keyed`` views, if the caller has them (those ``compare`` used);
    ``vocabulary``: the registry's words (none known: no status move is critical).
    """
    if not diffs:
        return []
    changes: list[Change] = []
    together: dict[str, list[_Group]] = {}
    old_view, new_view = views or (keyed(old), keyed(new))
    for rule, group in _groups(diffs, old_view, new_view, vocabulary or Vocabulary()):
        if rule.handler is _collect:
            together.setdefault(group.path[0], []).append(group)
        else:
            changes.extend(rule.handler(group))
    for section, groups in together.items():
        changes.extend(_TOGETHER[section](groups))
    return sorted((apply_severity(c, rules) for c in changes), key=_order)


def apply_severity(change: Change, rules: ChangesConfig) -> Change:
    """The change with its category's severity override of ``[changes.severity]``, if any."""
    severity = rules.severity.get(change.category)
    if severity is None or severity == change.severity:
        return change
    return dataclasses.replace(change, severity=severity)


# Fields listed in the order a reader expects them; the others sort by name after these.
_FIELD_ORDER = {"dates.start": 0, "dates.primary_completion": 1, "dates.completion": 2}


def _order(change: Change) -> tuple[int, int, int, str, str]:
    category = CATEGORIES.index(change.category)
    field = _FIELD_ORDER.get(change.field, len(_FIELD_ORDER))
    return category, -severity_rank(change.severity), field, change.field, change.summary


_RECORD_EVENTS: dict[str, tuple[str, str]] = {
    "new_in_query": ("major", 'New study matching query "{query}"'),
    # minor: leaving a query is usually the effect of a change reported on its own (status,
    # conditions ...) or of the query's wording, and the study stays in the registry.
    "left_query": ("minor", 'No longer matches query "{query}"'),
    "gone": ("critical", "Study no longer returned by the registry"),
    "returned": ("major", "Study returned by the registry again"),
}


def record_change(kind: str, *, query: str | None = None) -> Change:
    """A ``record`` change for an event the sources see: in or out of a query, gone, back."""
    if kind not in _RECORD_EVENTS:
        raise ValueError(f"unknown record event {kind!r}; one of {', '.join(_RECORD_EVENTS)}")
    severity, summary = _RECORD_EVENTS[kind]
    if "{query}" in summary and not query:
        raise ValueError(f"record event {kind!r} needs the query's name")
    old, new = _RECORD_VALUES[kind]
    if query is not None and kind in ("new_in_query", "left_query"):
        old, new = (None, query) if kind == "new_in_query" else (query, None)
    field = "record.query" if "{query}" in summary else "record"
    return _change("record", field, severity, old, new, summary.format(query=query))


_RECORD_VALUES: dict[str, tuple[str | None, str | None]] = {
    "new_in_query": (None, None),
    "left_query": (None, None),
    "gone": ("listed", "gone"),
    "returned": ("gone", "listed"),
}
