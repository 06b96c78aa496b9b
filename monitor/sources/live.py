"""The live source of a cycle: each registry's own source, over its own polite HTTP client.

A cycle asks the registries that have something watched (``source = "live"``), or the one
named (``source = "<kind>"``). Each gets one ``httpx.Client`` for its ``base_url``, one rate
limiter for its ``requests_per_minute`` (:func:`monitor.http.polite`), its watched ids and
saved searches, and its keyed state in the store (:class:`monitor.registries.base.LiveContext`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx

from monitor import registries
from monitor.config import LIVE, Config
from monitor.configkit import QueryWatch
from monitor.http import Clock, Http, build_client, polite
from monitor.models import Item
from monitor.registries.base import LiveContext, LiveSource, Registry
from monitor.store import Store


def kinds(config: Config, source: str) -> tuple[str, ...] | None:
    """The registries a cycle over ``source`` asks (None: ``source`` is a directory)."""
    if source in registries.REGISTRIES:
        return (source,)
    if source != LIVE:
        return None
    studies = registries.by_registry(config.watch.studies)
    return tuple(k for k in registries.kinds() if k in studies or queries_of(config, k))


def uncovered(config: Config, chosen: tuple[str, ...]) -> list[str]:
    """What the config watches in registries a cycle over ``chosen`` does not ask, in words
    (the cycle then warns: a watched id is never skipped silently)."""
    studies = registries.by_registry(config.watch.studies)
    notes = []
    for kind in registries.kinds():
        if kind in chosen:
            continue
        title = registries.get(kind).title
        ids, searches = studies.get(kind, ()), queries_of(config, kind)
        if ids:
            shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
            notes.append(f"{counted(len(ids), f'watched {title} trial')} ({shown})")
        if searches:
            names = ", ".join(f'"{q.name}"' for q in searches)
            notes.append(f"{counted(len(searches), f'saved {title} search', 'es')} ({names})")
    return notes


def counted(n: int, noun: str, plural: str = "s") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{plural}"


def queries_of(config: Config, kind: str) -> tuple[QueryWatch, ...]:
    default = registries.default().kind
    return tuple(q for q in config.watch.queries if (q.registry or default) == kind)


def context(
    registry: Registry, config: Config, http: Http, store: Store, *, now: datetime, force: bool
) -> LiveContext:
    """What one registry's live source gets for one cycle."""
    studies = registries.by_registry(config.watch.studies).get(registry.kind, ())
    return LiveContext(
        http=http,
        config=config.registries[registry.kind],
        studies=studies,
        queries=queries_of(config, registry.kind),
        state=store.state(registry.kind),
        markers=store.last_update_posted,
        now=now,
        force=force,
    )


def build(
    registry: Registry,
    config: Config,
    client: httpx.Client,
    store: Store,
    *,
    now: datetime,
    force: bool = False,
    clock: Clock | None = None,
) -> LiveSource:
    """The live source of one registry over ``client``, with its one rate limiter."""
    http = polite(client, config.registries[registry.kind], clock)
    return registry.live(context(registry, config, http, store, now=now, force=force))


def items(
    config: Config, chosen: tuple[str, ...], store: Store, *, now: datetime, force: bool
) -> Iterator[Item]:
    """The items of every chosen registry, one after the other; each registry's client lives
    as long as its iteration."""
    for kind in chosen:
        section = config.registries[kind]
        with build_client(section.base_url, section.timeout) as client:
            source = build(registries.get(kind), config, client, store, now=now, force=force)
            yield from source.items()
