"""The registration table: every registry trialmon reads, by kind, in order.

Adding a registry is a package with a ``REGISTRY`` (see :mod:`monitor.registries.base`) and
one line in :data:`REGISTRIES`. The first one is the default registry of a saved search
without ``registry``. Everything else (config sections, id validation, source selection,
offline shapes, backfill, links in digests, the store's upgrades) asks this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from monitor import crossref
from monitor.errors import ConfigError
from monitor.registries import ctgov, ctis, isrctn
from monitor.registries.base import Offline, Registry
from monitor.store.migrations import Upgrades

REGISTRIES: dict[str, Registry] = {
    registry.kind: registry for registry in (ctgov.REGISTRY, ctis.REGISTRY, isrctn.REGISTRY)
}


def default() -> Registry:
    """The registry of a saved search that names none: the first of the table."""
    return next(iter(REGISTRIES.values()))


def get(kind: str) -> Registry:
    return REGISTRIES[kind]


def kinds() -> tuple[str, ...]:
    return tuple(REGISTRIES)


def of_id(trial_id: str) -> Registry | None:
    """The registry whose ids have the form of ``trial_id`` (None: no registry's)."""
    return next((r for r in REGISTRIES.values() if r.ids.normalize(trial_id)), None)


def kind_of(trial_id: str) -> str:
    """The kind of the registry of a trial id (the default registry when none claims it)."""
    registry = of_id(trial_id)
    return (registry or default()).kind


def trial_id(text: str, where: str) -> str:
    """A watched id in its stored form; ConfigError naming ``where`` when no registry has it."""
    for registry in REGISTRIES.values():
        found = registry.ids.normalize(text)
        if found is not None:
            return found
    claimed = [r for r in REGISTRIES.values() if r.ids.claims.match(text)]
    if len(claimed) == 1:
        ids = claimed[0].ids
        raise ConfigError(f"{where}: {text!r} is not {ids.noun} ({ids.hint})")
    forms = "; ".join(f"{r.ids.noun}: {r.ids.hint}" for r in REGISTRIES.values())
    raise ConfigError(f"{where}: {text!r} is not a trial id of any registry ({forms})")


def by_registry(trial_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Trial ids grouped by registry kind, each group in the given order."""
    groups: dict[str, list[str]] = {}
    for each in trial_ids:
        groups.setdefault(kind_of(each), []).append(each)
    return {kind: tuple(ids) for kind, ids in groups.items()}


def offline_shapes() -> list[tuple[str, Offline]]:
    """Every registry's offline file shapes, in the table's order."""
    return [(r.kind, r.offline) for r in REGISTRIES.values()]


@functools.cache
def id_forms() -> tuple[crossref.IdForm, ...]:
    """Every registry's id form (kind, title, pattern), for ids a record names elsewhere."""
    return tuple(crossref.IdForm(r.kind, r.title, r.ids.pattern) for r in REGISTRIES.values())


def links_of(record: dict[str, Any]) -> list[crossref.Link]:
    """The ids in other registries a canonical record names, and its own older ids."""
    return crossref.links(record, id_forms())


def id_title(kind: str) -> str:
    """The name of the registry of a linked id's kind (``EU CTIS``, ``EudraCT``)."""
    if kind in REGISTRIES:
        return REGISTRIES[kind].title
    return next((f.title for f in crossref.OTHER_FORMS if f.kind == kind), kind)


def upgrades() -> Upgrades:
    """What the store needs to upgrade a database made by an older trialmon."""
    return Upgrades(
        registry_of=kind_of,
        state={r.kind: r.state_upgrades for r in REGISTRIES.values()},
        links_of=links_of,
    )
