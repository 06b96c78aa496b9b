"""The live CTIS source: one cycle over watched trials and saved searches, few requests.

CTIS has no version number and no history, so updates are read from search rows:

1. Watched trials: one registry-wide search (``searchCriteria: {}``) newest first by last
   publication, read from page 1 until a whole page is older than the last success minus
   ``overlap_days`` (:func:`.rows.read_since`). A watched trial whose row fingerprint moved is
   retrieved; one absent from that window did not change. A row of the same trial with a
   higher resubmission counter is followed (an ``alias`` event; the older number stays the
   watched id). A trial seen for the first time (after a look at its next resubmission
   numbers), and every trial every ``full_pass_every`` cycles, is retrieved directly.
2. Each saved search (the portal's ``searchCriteria``): all its rows on its first pass and
   every ``full_pass_every`` cycles (then members that left it are told), otherwise only the
   rows published since its last success minus the overlap. Rows that moved are retrieved. A
   trial listed under several resubmission numbers is one trial, filed under the number it was
   first stored by (its newer numbers are aliases, as a watched trial's are).
3. ``GET /retrieve`` answers ``{}`` for a number CTIS does not know; a watched trial is
   ``gone`` only when a search by its number confirms it (a refused or failed search does not).

Errors are values: a failed request becomes a :class:`StudyError` for the trials it concerned
and the cycle goes on. The source's state (fingerprints, windows, members; :mod:`.state`) is
written only by its last item, a checkpoint, after every record before it was processed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.errors import FetchError, TransientFetchError
from monitor.http import Http
from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StudyError
from monitor.registries.base import LiveContext
from monitor.registries.ctis import ids
from monitor.registries.ctis.api import WINDOW, CtisApi
from monitor.registries.ctis.config import CtisConfig
from monitor.registries.ctis.ids import KIND
from monitor.registries.ctis.normalize import source_key
from monitor.registries.ctis.rows import Scan, WindowExceeded, fingerprint, read_all, read_since
from monitor.registries.ctis.state import CtisState, Watched
from monitor.registries.passes import FULL, INCREMENTAL, KeyedState, Passes, SearchPass, news_events

log = logging.getLogger(__name__)
UNKNOWN = (
    "EU CTIS has no such trial (its record is empty and a search of the number finds nothing): "
    "check the number in [watch] studies"
)


@dataclass(frozen=True)
class Query:
    """A saved search: its name and the portal's ``searchCriteria``."""

    name: str
    criteria: Mapping[str, Any]


@dataclass(frozen=True)
class Settings:
    """The ``[ctis]`` knobs the source reads (the HTTP ones live with the client)."""

    page_size: int = 100
    overlap_days: int = 2
    full_pass_every: int = 7
    window: int = WINDOW  # rows CTIS serves of one search in one order
    max_rows: int = 2 * WINDOW
    force: bool = False  # retrieve every watched trial, whatever the rows say

    @classmethod
    def of(cls, config: CtisConfig, force: bool = False) -> Settings:
        return cls(
            page_size=config.page_size,
            overlap_days=config.overlap_days,
            full_pass_every=config.full_pass_every,
            max_rows=config.max_rows,
            force=force,
        )


@dataclass
class Plan:
    """What the search rows decided, and what to save once every record is processed."""

    fetch: dict[str, str] = field(default_factory=dict)  # ct number -> id it is filed under
    following: dict[str, Watched] = field(default_factory=dict)  # watched ones among them
    direct: list[Watched] = field(default_factory=list)  # watched trials retrieved directly
    first: set[str] = field(default_factory=set)  # ... of them seen for the first time
    fps: dict[str, str] = field(default_factory=dict)  # ct number -> row fingerprint
    handled: set[str] = field(default_factory=set)
    fetched: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    watched: dict[str, Watched] = field(default_factory=dict)  # new state of watched ids
    news: list[tuple[str, list[str]]] = field(default_factory=list)
    saves: list[Callable[[], None]] = field(default_factory=list)


class CtisSource:
    """Items of one cycle (see the module docstring)."""

    def __init__(
        self,
        api: CtisApi,
        state: KeyedState,
        watched: Sequence[str],
        queries: Sequence[Query],
        *,
        now: datetime,
        settings: Settings | None = None,
    ) -> None:
        self.api = api
        self.state = CtisState(state)
        self.watch = [ids.normalize_id(w) for w in watched]
        self.queries = list(queries)
        self.settings = settings or Settings()
        s = self.settings
        self.passes = Passes(now, s.overlap_days, s.full_pass_every, s.force)
        self.window_read = False

    def items(self) -> Iterator[Item]:
        plan = Plan()
        yield from self.plan_watched(plan)
        for query in self.queries:
            yield from self.plan_query(plan, query)
        yield from self.retrieve_watched(plan)
        yield from self.retrieve_rows(plan)
        yield from news_events(plan.news, plan.failed)
        yield Checkpoint(lambda: self.save(plan))

    # ------------------------------------------------------------ watched trials

    def current(self) -> list[Watched]:
        return [self.state.watched(w) or Watched(w, w) for w in self.watch]

    def plan_watched(self, plan: Plan) -> Iterator[Item]:
        watched = self.current()
        if not watched:
            return
        try:
            scan = self.update_window()
        except TransientFetchError as e:
            for w in watched:  # nothing decided; the window is read again next cycle
                yield StudyError(w.trial_id, f"{w.trial_id}: CTIS updates unreachable: {e}")
            return
        full = scan is None or self.passes.watched_full(self.state.cycles_since_full())
        for w in watched:
            new = self.state.watched(w.trial_id) is None
            if full or new:
                plan.direct.append(w)
                if new:
                    plan.first.add(w.trial_id)
                plan.handled.add(w.current)
                if scan is not None and w.current in scan.rows:
                    plan.fps[w.current] = fingerprint(scan.rows[w.current])
            else:
                yield from self.follow(plan, w, scan.rows if scan else {})
        self.window_read = scan is not None or len(plan.direct) == len(watched)

    def update_window(self) -> Scan | None:
        """The registry-wide window of updates; None when every watched trial is retrieved."""
        since = self.passes.since(self.state.last_success())
        try:
            return read_since(self.api, {}, since, self.settings.window)
        except WindowExceeded as e:
            log.info("CTIS: %s; retrieving every watched trial", e)
        except TransientFetchError:
            raise
        except FetchError as e:
            log.warning("CTIS: the search of updates failed (%s); retrieving every trial", e)
        return None

    def follow(self, plan: Plan, w: Watched, rows: Mapping[str, dict[str, Any]]) -> Iterator[Item]:
        """A watched trial's row in the window: retrieve it if it moved or was resubmitted."""
        newer = ids.newest(w.current, rows)
        if newer != w.current:
            yield RecordEvent(w.trial_id, "alias", detail=newer)
        row = rows.get(newer)
        plan.handled.add(newer)
        if row is not None and (newer != w.current or w.gone or self.moved(newer, row)):
            plan.fetch[newer] = w.trial_id
            plan.following[newer] = w
            plan.fps[newer] = fingerprint(row)
        elif not w.gone:
            yield RecordEvent(w.trial_id, "unchanged")

    def moved(self, ct_number: str, row: Mapping[str, Any]) -> bool:
        return self.state.fingerprint(ct_number) != fingerprint(row)

    def retrieve_watched(self, plan: Plan) -> Iterator[Item]:
        """Watched trials retrieved directly; a new one at its newest resubmission.

        (A resubmission published later is a new row in the window of updates.)
        """
        for w in plan.direct:
            if w.trial_id in plan.first:
                yield from self.retrieve_newest(plan, w)
            else:
                yield from self.retrieve_one(plan, w.current, w.trial_id, w)

    def retrieve_newest(self, plan: Plan, w: Watched) -> Iterator[Item]:
        """Look at the next resubmission numbers (up to 3), then keep the newest record."""
        number, record = w.current, None
        for _ in range(3):
            following = ids.next_resubmission(number)
            try:
                found = self.api.retrieve(following) if following else None
            except FetchError as e:
                plan.failed.add(w.current)
                yield StudyError(
                    w.trial_id, f"{w.trial_id}: {e}", isinstance(e, TransientFetchError)
                )
                return
            if found is None or following is None:
                break
            yield RecordEvent(w.trial_id, "alias", detail=following)
            number, record = following, found
        if record is None:
            yield from self.retrieve_one(plan, number, w.trial_id, w)
        else:
            yield from self.accept(plan, number, w.trial_id, record, w)

    # ------------------------------------------------------------ saved searches

    def read_query(self, query: Query, search: SearchPass) -> tuple[SearchPass, Scan]:
        if search.mode == INCREMENTAL:
            try:
                since = self.passes.since(search.last_success)
                return search, read_since(self.api, query.criteria, since, self.settings.window)
            except WindowExceeded as e:
                log.info('saved search "%s": %s; reading all of it', query.name, e)
                search = search.read_all()
        scan = read_all(self.api, query.criteria, self.settings.max_rows, self.settings.window)
        return search, scan

    def plan_query(self, plan: Plan, query: Query) -> Iterator[Item]:
        search = self.passes.search(query.name, query.criteria, self.state.query(query.name))
        try:
            search, scan = self.read_query(query, search)
        except FetchError as e:
            transient = isinstance(e, TransientFetchError)
            yield StudyError(None, f'saved search "{query.name}": {e}', transient)
            return
        members = search.members
        found = self.filed(scan.rows, members)
        for trial_id, (number, row) in sorted(found.items()):
            yield from self.plan_row(plan, trial_id, number, row)
        plan.news.append((query.name, sorted(set(found) - members)))
        if search.mode == INCREMENTAL:  # a member not published since the last success is as it was
            for number in sorted(members - set(found) - plan.handled):
                plan.handled.add(number)
                yield RecordEvent(number, "unchanged")
        yield from self.left(query, search.mode, scan, members, set(found))
        plan.saves.append(lambda: self.save_query(plan, search, found))

    def filed(
        self, rows: Mapping[str, dict[str, Any]], members: set[str]
    ) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """Each trial of a search's rows once: the id it is filed under -> its newest number
        and that number's row (None when the rows list only an older number of it).

        A trial listed under several resubmission numbers is filed under the number it was
        first stored by (a member of the search, or a watched id), else under its newest; its
        other numbers are aliases, as a watched trial's are.
        """
        newest: dict[str, str] = {}
        for number in rows:
            best = newest.get(ids.base(number))
            if best is None or ids.counter(number) > ids.counter(best):
                newest[ids.base(number)] = number
        first = {ids.base(n): n for n in sorted([*members, *self.watch], reverse=True)}
        found: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for base, number in newest.items():
            trial_id = first.get(base, number)
            known = self.state.watched(trial_id)
            if known is not None and ids.counter(known.current) > ids.counter(number):
                found[trial_id] = (known.current, None)
            else:
                found[trial_id] = (number, rows[number])
        return found

    def plan_row(
        self, plan: Plan, trial_id: str, number: str, row: dict[str, Any] | None
    ) -> Iterator[Item]:
        """A search's trial: retrieved if its row moved or it was resubmitted."""
        if number in plan.handled:
            if row is not None:
                plan.fps.setdefault(number, fingerprint(row))  # saved if its record arrives
            return
        plan.handled.add(number)
        known = self.state.watched(trial_id)
        resubmitted = number != trial_id and (known is None or known.current != number)
        if resubmitted:
            yield RecordEvent(trial_id, "alias", detail=number)
        if row is not None and (resubmitted or self.moved(number, row)):
            plan.fetch[number] = trial_id
            plan.fps[number] = fingerprint(row)
            if number != trial_id:
                plan.following[number] = known or Watched(trial_id, trial_id)
        else:
            yield RecordEvent(trial_id, "unchanged")

    def left(
        self, query: Query, mode: str, scan: Scan, members: set[str], found: set[str]
    ) -> Iterator[Item]:
        if mode != FULL:
            return
        if len(scan.rows) < min(scan.total, self.settings.max_rows):
            log.warning(
                'saved search "%s": read %s of %s rows', query.name, len(scan.rows), scan.total
            )
            return  # an incomplete read says nothing about who left
        for number in sorted(members - found):
            yield RecordEvent(number, "left_query", query=query.name)

    def save_query(self, plan: Plan, search: SearchPass, found: Mapping[str, object]) -> None:
        entry = search.entry_after(found, plan.failed, self.passes.stamp)
        self.state.set_query(search.name, entry)

    # ------------------------------------------------------------ records

    def retrieve_rows(self, plan: Plan) -> Iterator[Item]:
        for number, trial_id in sorted(plan.fetch.items()):
            yield from self.retrieve_one(plan, number, trial_id, plan.following.get(number))

    def retrieve_one(
        self, plan: Plan, number: str, trial_id: str, watched: Watched | None = None
    ) -> Iterator[Item]:
        try:
            record = self.api.retrieve(number)
        except FetchError as e:
            plan.failed.update({number, trial_id})
            yield StudyError(trial_id, f"{trial_id}: {e}", isinstance(e, TransientFetchError))
            return
        if record is None:
            yield from self.unknown(plan, number, trial_id, watched)
        else:
            yield from self.accept(plan, number, trial_id, record, watched)

    def accept(
        self,
        plan: Plan,
        number: str,
        trial_id: str,
        record: dict[str, Any],
        watched: Watched | None,
    ) -> Iterator[Item]:
        plan.fetched.add(number)
        if watched is not None:
            if watched.gone:
                yield RecordEvent(trial_id, "returned")
            plan.watched[trial_id] = Watched(trial_id, number, False)
        origin, key = self.api.url(number), source_key(record)
        yield RawRecord(trial_id, record, KIND, origin, source_key=key, registry=KIND)

    def unknown(
        self, plan: Plan, number: str, trial_id: str, watched: Watched | None
    ) -> Iterator[Item]:
        """CTIS answered ``{}``: gone only if a search by the number confirms it."""
        try:
            found = self.api.lookup(number)
        except FetchError as e:
            plan.failed.add(number)
            yield StudyError(
                trial_id, f"{trial_id}: CTIS answered an empty record; cannot confirm: {e}"
            )
            return
        if found.total > 0:
            plan.failed.add(number)
            message = (
                f"{trial_id}: CTIS answered an empty record for {number} that its search lists"
            )
            yield StudyError(trial_id, message)
        elif watched is not None and watched.trial_id in plan.first:
            # never seen: a wrong number, not a trial that went; said again each cycle, and
            # holding back nothing (not a failure of this cycle's reading)
            yield StudyError(trial_id, f"{trial_id}: {UNKNOWN}", transient=False)
        elif watched is not None and not watched.gone:
            plan.watched[trial_id] = Watched(trial_id, number, True)
            yield RecordEvent(trial_id, "gone")
        elif watched is None:
            plan.failed.add(number)
            yield StudyError(trial_id, f"{trial_id}: CTIS knows no trial {number}", transient=False)

    # ------------------------------------------------------------ saving

    def save(self, plan: Plan) -> None:
        done = (plan.fetched | (plan.handled - set(plan.fetch))) - plan.failed
        self.state.set_fingerprints((n, fp) for n, fp in plan.fps.items() if n in done)
        self.state.set_watched(plan.watched.values())
        for save in plan.saves:
            save()
        if self.window_read and not plan.failed & {w.current for w in self.current()}:
            self.save_window(plan)

    def save_window(self, plan: Plan) -> None:
        full = len(plan.direct) == len(self.watch)
        cycles = 0 if full else (self.state.cycles_since_full() or 0) + 1
        self.state.set_updates(self.passes.stamp, cycles)


def build(
    http: Http,
    state: KeyedState,
    watched: Sequence[str],
    queries: Sequence[Query],
    *,
    now: datetime,
    settings: Settings | None = None,
) -> CtisSource:
    """The live source over the registry's polite HTTP layer ``http``."""
    settings = settings or Settings()
    return CtisSource(
        CtisApi(http, settings.page_size), state, watched, queries, now=now, settings=settings
    )


def live(ctx: LiveContext) -> CtisSource:
    """The source of one cycle, as the registry table builds it (``Registry.live``)."""
    queries = [Query(q.name, q.params) for q in ctx.queries]
    settings = Settings.of(ctx.config, force=ctx.force)
    return build(ctx.http, ctx.state, ctx.studies, queries, now=ctx.now, settings=settings)
