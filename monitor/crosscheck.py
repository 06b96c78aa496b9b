"""Across registries, over the store: which watched records are one trial in several
registries, where those registries disagree (after a cycle's records are in), and each trial's
registrations elsewhere (for ``studies``, ``history`` and digests). The pure rules are
:mod:`monitor.crossref`.

Each new disagreement is one ``record`` change on the trial of the first registry of the pair
(in the registration table's order), naming both registries' words; each resolved one is one
change too. Disagreements and their changes are written together (``Store.open_disagreement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor import crossref, registries
from monitor.classify import apply_severity
from monitor.configkit import ChangesConfig
from monitor.crossref import Disagreement, Side
from monitor.models import Change
from monitor.store import Moment, OpenDisagreement, Store

SEVERITY = {"status": "major", "completion": "minor", "enrollment": "minor"}
RESOLVED_SEVERITY = "minor"
Key = tuple[str, str, str]  # (trial id, other trial id, kind)


def cross_check(
    store: Store, now: str, run_id: int | None, rules: ChangesConfig
) -> list[tuple[str, Change]]:
    """Open the new disagreements and resolve the ended ones; returns their changes."""
    if store.one_registry() and not store.open_disagreements():
        return []  # no pair of trials of two registries, none open: nothing to open or end
    kinds = store.registries_of()
    pairs = [ordered(a, b, kinds) for a, b in crossref.same_trials(store.all_links(), kinds)]
    sides = read_sides(store, {t for pair in pairs for t in pair}, kinds)
    found = {
        (a, b, d.kind): d
        for a, b in pairs
        if a in sides and b in sides
        for d in crossref.disagreements(sides[a], sides[b])
    }
    known = {(d.trial_id, d.other_id, d.kind): d for d in store.open_disagreements()}
    changes = []
    for key in sorted(found.keys() - known.keys()):
        change = apply_severity(opened(key, found[key]), rules)
        store.open_disagreement(*key, change.new_value, change, moment(now, run_id, key, kinds))
        changes.append((key[0], change))
    for key in sorted(known.keys() - found.keys()):
        change = apply_severity(ended(known[key], sides), rules)
        now_values = values_now(known[key], sides)
        store.resolve_disagreement(known[key], now_values, change, moment(now, run_id, key, kinds))
        changes.append((key[0], change))
    return changes


def ordered(a: str, b: str, kinds: Mapping[str, str]) -> tuple[str, str]:
    """The pair with the trial of the registry listed first in the table first."""
    order = registries.kinds()

    def rank(trial_id: str) -> tuple[int, str]:
        kind = kinds.get(trial_id, "")
        return (order.index(kind) if kind in order else len(order), trial_id)

    return (a, b) if rank(a) <= rank(b) else (b, a)


def read_sides(store: Store, trial_ids: set[str], kinds: Mapping[str, str]) -> dict[str, Side]:
    """Each trial's newest record, with its registry's name and words."""
    sides = {}
    for trial_id, latest in store.latest(sorted(trial_ids)).items():
        kind = kinds.get(trial_id) or registries.kind_of(trial_id)
        registry = registries.get(kind) if kind in registries.REGISTRIES else registries.default()
        sides[trial_id] = Side(trial_id, registry.title, latest.parsed(), registry.vocabulary)
    return sides


def moment(now: str, run_id: int | None, key: Key, kinds: Mapping[str, str]) -> Moment:
    return Moment(now, run_id, kinds.get(key[0], ""))


def opened(key: Key, found: Disagreement) -> Change:
    a, b, kind = key
    values = {a: found.values[0], b: found.values[1]}
    return Change(
        "record", f"record.registries.{kind}", SEVERITY[kind], None, values, found.summary
    )


def values_now(found: OpenDisagreement, sides: Mapping[str, Side]) -> dict[str, object] | None:
    a, b = sides.get(found.trial_id), sides.get(found.other_id)
    if a is None or b is None:
        return None
    read = crossref.READERS[found.kind]
    return {found.trial_id: read(a), found.other_id: read(b)}


def ended(found: OpenDisagreement, sides: Mapping[str, Side]) -> Change:
    """The change of a disagreement that is no more (or whose records no longer link)."""
    a, b = sides.get(found.trial_id), sides.get(found.other_id)
    summary = crossref.resolved(found.kind, a, b)
    field = f"record.registries.{found.kind}"
    return Change(
        "record", field, RESOLVED_SEVERITY, found.values, values_now(found, sides), summary
    )


# ---------------------------------------------------------------- registrations elsewhere


def also_registered(store: Store, trial_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per trial, its registrations elsewhere: the ids its record names in other registries,
    and the stored trials of other registries that are the same trial (either names the
    other); each with its registry's kind and name, and whether trialmon watches it."""
    kinds, partners = _partners(store, trial_ids)
    found: dict[str, list[dict[str, Any]]] = {}
    for trial_id, links in store.links_of(trial_ids).items():
        named = {k.linked_id: k.kind for k in links if k.kind != crossref.ALIAS}
        found[trial_id] = registrations(named, kinds)
    for trial_id in trial_ids:
        named = {o: kinds.get(o, "") for o in partners.get(trial_id, ())}
        mine = {r["id"]: r["registry"] for r in found.get(trial_id, [])}
        if named.keys() - mine.keys():
            found[trial_id] = registrations({**mine, **named}, kinds)
    return found


def _partners(store: Store, trial_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The registries of the stored trials (of those the trials' records name, when all are
    of one registry) and each trial's stored partners in other registries."""
    if store.one_registry():  # no partners; whether a named id is stored is all that is read
        named = {k.linked_id for links in store.links_of(trial_ids).values() for k in links}
        return store.registries_of(sorted(named)), {}
    kinds = store.registries_of()
    partners: dict[str, set[str]] = {}
    for a, b in crossref.same_trials(store.all_links(), kinds):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return kinds, partners


def registrations(named: dict[str, str], known: dict[str, str]) -> list[dict[str, Any]]:
    """``[{id, registry, title, watched}]`` in the registration table's order, then others."""
    order = (*registries.kinds(), *(f.kind for f in crossref.OTHER_FORMS))
    rank = {kind: i for i, kind in enumerate(order)}
    return [
        {"id": i, "registry": k, "title": registries.id_title(k), "watched": i in known}
        for i, k in sorted(named.items(), key=lambda p: (rank.get(p[1], len(order)), p[0]))
    ]


def also_text(store: Store, trial_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per trial, its registrations elsewhere as words: ``<id> (<registry's name>)``."""
    return {
        trial_id: tuple(f"{e['id']} ({e['title']})" for e in entries)
        for trial_id, entries in also_registered(store, trial_ids).items()
        if entries
    }
