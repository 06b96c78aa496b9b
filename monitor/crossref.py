"""Pure: a trial's ids in other registries, which watched records are one trial, and where
registries disagree about it.

**Linked ids** are derived from a canonical record's ``identification.secondary_ids`` by the
form of each value, never by the field it came in (one real record puts a device id in its
EudraCT field): the id forms of trialmon's registries (each registry's own pattern, handed in
from the registration table) and the forms of ids of registries trialmon does not read, whose
one home is here (EudraCT, WHO UTN). An id of the record's own registry is no other
registration (a record may list associated trials of its registry); its older numbers
(``aliases``) are its own ids.

**One trial**: two records of different registries are the same trial when one names the
other's id (or an alias of it), or when both name the same id elsewhere (an EudraCT number).

**Disagreements** between two records of one trial that matter: one registry says the trial
ended, was stopped or withdrawn while the other says it recruits; completion dates more than
:data:`DAYS_APART` days apart; enrollment counts more than :data:`ENROLLMENT_APART` apart
(relative to the larger). States come from each registry's status vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.classify import date_shift
from monitor.normalize import Vocabulary

DAYS_APART = 90
ENROLLMENT_APART = 0.20
ALIAS = "alias"  # the kind of a linked id that is an older id of the trial in its own registry
ENDED = frozenset({"completed", "stopped", "withdrawn"})
RECRUITING = "recruiting"


@dataclass(frozen=True)
class IdForm:
    """How the ids of one registry look: its kind (a key), its name for people, its pattern."""

    kind: str
    title: str
    pattern: re.Pattern[str]


#: Registries trialmon does not read, whose ids records name (the one home of their patterns).
OTHER_FORMS: tuple[IdForm, ...] = (
    IdForm("eudract", "EudraCT", re.compile(r"^\d{4}-\d{6}-\d{2}$")),
    IdForm("who_utn", "WHO UTN", re.compile(r"^U\d{4}-\d{4}-\d{4}$")),
)


@dataclass(frozen=True)
class Link:
    """An id a record names: in another registry (``kind`` its form), or its own older id."""

    linked_id: str
    kind: str


def form_of(value: str, forms: Sequence[IdForm]) -> tuple[str, IdForm] | None:
    """The id in its stored form and the form it has, or None (a plain secondary id)."""
    text = value.strip().upper()
    for form in (*forms, *OTHER_FORMS):
        if form.pattern.fullmatch(text):
            return text, form
    return None


def links(record: Mapping[str, Any], forms: Sequence[IdForm]) -> list[Link]:
    """The ids in other registries a canonical record names, and its own older ids."""
    ident = record.get("identification") or {}
    own, registry = ident.get("trial_id"), ident.get("registry")
    found: dict[str, Link] = {}
    for item in ident.get("secondary_ids") or []:
        value = item.get("id") if isinstance(item, dict) else None
        known = form_of(value, forms) if isinstance(value, str) else None
        if known is not None and known[1].kind != registry and known[0] != own:
            found.setdefault(known[0], Link(known[0], known[1].kind))
    for alias in ident.get("aliases") or []:
        if isinstance(alias, str) and alias.strip() and alias != own:
            found.setdefault(alias.strip().upper(), Link(alias.strip().upper(), ALIAS))
    return sorted(found.values(), key=lambda link: (link.kind, link.linked_id))


# ---------------------------------------------------------------- one trial


@dataclass(frozen=True)
class Named:
    """One stored link: a trial (of a registry) names an id."""

    trial_id: str
    registry: str
    linked_id: str
    kind: str


def same_trials(rows: Iterable[Named], studies: Mapping[str, str]) -> list[tuple[str, str]]:
    """Pairs of trials of different registries that are one trial, each pair once, sorted.

    ``rows`` are the stored links; ``studies`` every stored trial's registry (a trial another
    names need not name anything itself). Each id's trials are grouped by registry first and
    only trials of different groups are paired: linear in the links and the pairs found, however
    many trials of one registry name one id (a shared id of one registry pairs nothing).
    """
    aliased: dict[str, set[str]] = {}  # an alias -> the trials it is
    named: dict[str, set[str]] = {}  # an id -> the trials that name it
    for row in rows:
        target = aliased if row.kind == ALIAS else named
        target.setdefault(row.linked_id, set()).add(row.trial_id)
    pairs: set[tuple[str, str]] = set()
    for linked_id, namers in named.items():
        own = aliased.get(linked_id, set()) | ({linked_id} if linked_id in studies else set())
        pairs.update(_across(namers | own, studies))  # the id is a stored trial or its alias
    return sorted(pairs)


def _across(trials: set[str], studies: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """Every pair of ``trials`` of two different registries, the smaller id first."""
    groups: dict[str | None, list[str]] = {}
    for trial in trials:
        groups.setdefault(studies.get(trial), []).append(trial)
    if len(groups) < 2:
        return
    members = list(groups.values())
    for i, group in enumerate(members):
        for other in members[i + 1 :]:
            for a in group:
                yield from ((a, b) if a < b else (b, a) for b in other)


# ---------------------------------------------------------------- disagreements


@dataclass(frozen=True)
class Side:
    """One registry's record of the trial, with what is needed to compare and to say it."""

    trial_id: str
    title: str  # the registry's name for people
    record: Mapping[str, Any]
    vocabulary: Vocabulary


@dataclass(frozen=True)
class Disagreement:
    """Where two registries disagree: what about (``kind``), both values, and in words."""

    kind: str  # status | completion | enrollment
    values: tuple[Any, Any]
    summary: str


def _status(side: Side) -> str | None:
    value = (side.record.get("status") or {}).get("overall_status")
    return value if isinstance(value, str) else None


def _completion(side: Side) -> str | None:
    value = ((side.record.get("dates") or {}).get("completion") or {}).get("date")
    return value if isinstance(value, str) else None


def _enrollment(side: Side) -> int | None:
    value = (side.record.get("enrollment") or {}).get("count")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def status_apart(a: Side, b: Side) -> bool:
    """One says the trial ended, was stopped or withdrawn; the other that it recruits."""
    states = {a.vocabulary.state(_status(a)), b.vocabulary.state(_status(b))}
    return RECRUITING in states and bool(states & ENDED)


def completion_apart(a: Side, b: Side) -> int | None:
    """The days between the completion dates when more than :data:`DAYS_APART`."""
    shift = date_shift(_completion(a), _completion(b))
    return abs(shift) if shift is not None and abs(shift) > DAYS_APART else None


def enrollment_apart(a: Side, b: Side) -> float | None:
    """How far apart the counts are (of the larger) when more than :data:`ENROLLMENT_APART`."""
    x, y = _enrollment(a), _enrollment(b)
    if x is None or y is None:
        return None
    apart = abs(x - y) / max(x, y)
    return apart if apart > ENROLLMENT_APART else None


def disagreements(a: Side, b: Side) -> list[Disagreement]:
    """Where the two records of one trial disagree in a way that matters (see the docstring)."""
    found = []
    for kind, apart in (
        ("status", status_apart),
        ("completion", completion_apart),
        ("enrollment", enrollment_apart),
    ):
        how = apart(a, b)
        if how:
            values = (READERS[kind](a), READERS[kind](b))
            found.append(Disagreement(kind, values, disagree(kind, a, b, values, how)))
    return found


READERS = {"status": _status, "completion": _completion, "enrollment": _enrollment}
WHAT = {"status": "", "completion": " on the completion date", "enrollment": " on enrollment"}


def disagree(kind: str, a: Side, b: Side, values: tuple[Any, Any], how: float) -> str:
    """``Registries disagree: <title a> RECRUITING, <title b> Ended (early termination)``;
    dates say how many days apart, counts how far apart."""
    summary = f"Registries disagree{WHAT[kind]}: {both(a, b, values)}"
    if kind == "completion":
        return f"{summary} ({how:.0f} days apart)"
    return f"{summary} ({how:.0%} apart)" if kind == "enrollment" else summary


def both(a: Side, b: Side, values: tuple[Any, Any]) -> str:
    """``<title a> <value a>, <title b> <value b>``, each registry in its own words."""
    return f"{a.title} {_shown(values[0])}, {b.title} {_shown(values[1])}"


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


def resolved(kind: str, a: Side | None, b: Side | None) -> str:
    """The words of a disagreement that ended: both values now, or that the link went."""
    if a is None or b is None:
        return f"Registries no longer disagree{WHAT[kind]}: the records no longer name each other"
    read = READERS[kind]
    return f"Registries agree again{WHAT[kind]}: {both(a, b, (read(a), read(b)))}"
