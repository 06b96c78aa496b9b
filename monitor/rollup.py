"""Pure: a study's changes as the few lines a person reads, whatever the edit.

A real edit can make hundreds of rows (a study reopening: 230 sites get a status, 218 site
contacts change). The ``changes`` table keeps every row; a digest or a report shows them as
at most :data:`BUDGET` lines:

- sites and contacts roll up as soon as they are more than :data:`FEW`:
  ``Locations: 230 sites' status set (176 RECRUITING, 54 NOT_YET_RECRUITING); 5 added
  (France 3, Brazil 2); 1 removed (Argentina); 9 renamed``;
- any other category rolls up, largest first, while the lines are over the budget:
  ``Outcomes: 41 changes (40 added, 1 edited)``.

A rolled-up line says how many rows it stands for, and keeps the highest severity among them,
so nothing substantive is hidden: the full list is one command away (``trialmon diff``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.classify import NOUNS, item_changes
from monitor.english import count, plural
from monitor.models import CATEGORIES, severity_rank

BUDGET = 20  # lines of changes per study; with its heading and links it stays under 30
FEW = 3  # more site or contact rows than this roll up at once
LISTED = 4  # countries, statuses ... named in a rolled-up line; the rest are counted

CATEGORY_LABELS: dict[str, str] = {
    "arms_interventions": "Arms and interventions",
    "locations": "Locations",
    "contacts": "Contacts",
}


class ChangeLike(Protocol):
    """What a line is made of: a row of ``changes`` as a digest or the store holds it."""

    @property
    def category(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def old_value(self) -> Any: ...
    @property
    def new_value(self) -> Any: ...


@dataclass(frozen=True)
class Line:
    """One line of a study's part of a digest: one change, or several rolled up."""

    severity: str
    category: str
    text: str
    rows: tuple[ChangeLike, ...]

    @property
    def rolled_up(self) -> bool:
        return len(self.rows) > 1


def lines(changes: Sequence[ChangeLike], budget: int = BUDGET) -> list[Line]:
    """The changes as at most ``budget`` lines (or one per category), most severe first."""
    by_category: dict[str, list[ChangeLike]] = {}
    for change in changes:
        by_category.setdefault(change.category, []).append(change)
    rolled = {c for c, rows in by_category.items() if c in ALWAYS and len(rows) > FEW}
    while _length(by_category, rolled) > budget:
        left = [c for c, rows in by_category.items() if c not in rolled and len(rows) > 1]
        if not left:
            break
        rolled.add(max(left, key=lambda c: (len(by_category[c]), -_rank(c))))
    out: list[Line] = []
    for category, rows in by_category.items():
        out += [_rolled(category, rows)] if category in rolled else [_line(c) for c in rows]
    return sorted(out, key=lambda line: (-severity_rank(line.severity), _rank(line.category)))


def _length(by_category: Mapping[str, list[ChangeLike]], rolled: set[str]) -> int:
    return sum(1 if c in rolled else len(rows) for c, rows in by_category.items())


def _rank(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def _line(change: ChangeLike) -> Line:
    return Line(change.severity, change.category, change.summary, (change,))


def _rolled(category: str, rows: Sequence[ChangeLike]) -> Line:
    severity = max((r.severity for r in rows), key=severity_rank)
    text = ROLLUPS.get(category, _generic)(rows)
    label = CATEGORY_LABELS.get(category, category.capitalize())
    return Line(severity, category, f"{label}: {text}", tuple(rows))


# ---------------------------------------------------------------- counting helpers


def tally(counter: Counter[str], *, count_first: bool = False, listed: int = LISTED) -> str:
    """``France 3, Brazil 2`` (most first; ``176 RECRUITING`` with ``count_first``), the rest
    as ``3 others``; one name alone goes without its count."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) == 1:
        return ranked[0][0]
    shown = [f"{n} {name}" if count_first else f"{name} {n}" for name, n in ranked[:listed]]
    rest = sum(n for _, n in ranked[listed:])
    return ", ".join(shown + ([count(rest, "other")] if rest else []))


def _kind(change: ChangeLike) -> str:
    if change.old_value is None:
        return "added"
    return "removed" if change.new_value is None else "edited"


def _generic(rows: Sequence[ChangeLike]) -> str:
    """``41 changes: 40 other outcomes added, 1 secondary outcome edited, 1 major``."""
    kinds = Counter((_noun(r.field), _kind(r)) for r in rows)
    ranked = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{count(n, noun)} {kind}" for (noun, kind), n in ranked[:LISTED]]
    rest = sum(n for _, n in ranked[LISTED:])
    parts += [f"{rest} more"] if rest else []
    severe = Counter(r.severity for r in rows if severity_rank(r.severity) >= 2)
    parts += [f"{severe[s]} {s}" for s in ("critical", "major") if severe[s]]
    return f"{count(len(rows), 'change')}: {', '.join(parts)}"


def _noun(field: str) -> str:
    """What a row of ``field`` is about: ``other outcome``, ``reference``, else ``field``."""
    parent = field.rsplit(".", 1)[0]
    return (NOUNS.get(field) or NOUNS.get(parent) or "field").lower()


# ---------------------------------------------------------------- locations


def _country(site: Any) -> str:
    return str(site.get("country") or "unknown country") if isinstance(site, dict) else "?"


def _sites(n: int) -> str:
    return f"{n} site's" if n == 1 else f"{n} sites'"


def _locations(rows: Sequence[ChangeLike]) -> str:
    """``230 sites' status set (176 RECRUITING, 54 NOT_YET_RECRUITING); 5 added (France 3,
    Brazil 2); 1 removed (Argentina); 9 renamed``."""
    added = [r for r in rows if r.field == "locations" and r.old_value is None]
    removed = [r for r in rows if r.field == "locations" and r.new_value is None]
    renamed = [r for r in rows if r.field in ("locations.facility", "locations.city")]
    status = [r for r in rows if r.field == "locations.status"]
    other = [r for r in rows if r not in added + removed + renamed + status]
    parts = _statuses(status)
    if added:
        parts.append(f"{len(added)} added ({tally(Counter(_country(r.new_value) for r in added))})")
    if removed:
        where = tally(Counter(_country(r.old_value) for r in removed))
        parts.append(f"{len(removed)} removed ({where})")
    if renamed:
        parts.append(f"{len(renamed)} renamed")
    if other:
        fields = Counter(r.field.rsplit(".", 1)[-1].replace("_", " ") for r in other)
        parts.append(f"{_sites(len(other))} details edited ({tally(fields)})")
    return "; ".join(parts)


def _statuses(rows: Sequence[ChangeLike]) -> list[str]:
    set_to = Counter(str(r.new_value) for r in rows if r.old_value is None)
    cleared = [r for r in rows if r.new_value is None]
    moved = Counter(
        f"{r.old_value} → {r.new_value}" for r in rows if r.old_value is not None and r.new_value
    )
    parts = []
    if set_to:
        what = tally(set_to, count_first=True)
        parts.append(f"{_sites(sum(set_to.values()))} status set ({what})")
    if moved:
        what = tally(moved, count_first=True)
        parts.append(f"{_sites(sum(moved.values()))} status changed ({what})")
    if cleared:
        parts.append(f"{_sites(len(cleared))} status removed")
    return parts


# ---------------------------------------------------------------- contacts


def _contacts(rows: Sequence[ChangeLike]) -> str:
    """``218 site contacts changed (phone 193, email 21, role 4); 1 central contact edited``."""
    site_rows = [r for r in rows if r.field == "locations.contacts"]
    parts = [_site_contacts(site_rows)] if site_rows else []
    for field, noun in (
        ("contacts.central", "central contact"),
        ("contacts.officials", "overall official"),
    ):
        own = [r for r in rows if r.field == field or r.field.startswith(field + ".")]
        kinds = Counter(_kind(r) for r in own)
        parts += [f"{count(n, noun)} {kind}" for kind, n in sorted(kinds.items())]
    other = [r for r in rows if r not in site_rows and not r.field.startswith("contacts.")]
    if other:
        parts.append(_generic(other))
    return "; ".join(parts)


def _site_contacts(rows: Sequence[ChangeLike]) -> str:
    """``218 site contacts changed (phone 193, email 21, role 4), 3 added``."""
    kinds: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    for row in rows:
        for item in item_changes(_records(row.old_value), _records(row.new_value)):
            kinds[item.kind] += 1
            if item.kind == "changed":
                keys.update(k.replace("_", " ") for k in item.keys)
    parts: list[str] = []
    for kind in ("changed", "added", "removed"):
        n = kinds[kind]
        if n:
            noun = "" if parts else f" {plural('site contact', n)}"
            detail = f" ({_tally_all(keys)})" if kind == "changed" and keys else ""
            parts.append(f"{n}{noun} {kind}{detail}")
    return ", ".join(parts) or f"contacts edited at {count(len(rows), 'site')}"


def _tally_all(counter: Counter[str]) -> str:
    """Every name with its count, even a single one: ``phone 193``."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name} {n}" for name, n in ranked)


def _records(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


ALWAYS = frozenset({"locations", "contacts"})
ROLLUPS: dict[str, Callable[[Sequence[ChangeLike]], str]] = {
    "locations": _locations,
    "contacts": _contacts,
}


def full_list_command(trial_id: str, pairs: Iterable[tuple[int | None, int | None]]) -> str:
    """The command that lists every row: ``trialmon diff NCT --from 3 --to 4`` for one pair
    of snapshots, else ``trialmon changes --study NCT``."""
    found = {p for p in pairs if p[0] is not None and p[1] is not None and p[0] != p[1]}
    if len(found) == 1:
        (old, new), *_ = found
        return f"trialmon diff {trial_id} --from {old} --to {new}"
    return f"trialmon changes --study {trial_id}"
