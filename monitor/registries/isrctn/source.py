"""The live ISRCTN source: one cycle over watched trials and saved searches.

ISRCTN keeps a ``version`` and a ``lastUpdated`` on every trial and takes ``lastEdited GE``
in a query, so a cycle asks only for what was edited:

1. Watched trials, in batches of ``batch`` numbers (``q=(ISRCTN... OR ...)``): a trial seen
   for the first time, and all of them every ``full_pass_every`` cycles, are asked for
   directly; otherwise the batch's query narrowed to ``lastEdited GE`` the last success minus
   ``overlap_days`` is counted (``limit=0``) and its trials asked for only when the count is
   not 0. A trial whose ``version``/``lastUpdated`` moved is a record; the others are unchanged.
2. Each saved search (its ``q``): counted, then all its trials on its first pass and every
   ``full_pass_every`` cycles (members that left it are then told), otherwise the same
   count-then-ask narrowed to the edits since its last success.
3. ISRCTN's status is derived from the overrides and the dates (:mod:`.status`), so it moves
   with the calendar: a known trial whose derived status differs today from the one last
   taken is asked for again (by number), and its record reports the move, once.

A watched number the registry does not answer is ``gone`` only when a count of its own query
confirms it. Errors are values; the state is written by the last item, a checkpoint.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from monitor.errors import FetchError, TransientFetchError
from monitor.http import Http
from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StudyError
from monitor.registries.base import LiveContext
from monitor.registries.isrctn import ids, xml
from monitor.registries.isrctn.api import IsrctnApi, by_ids, edited_since
from monitor.registries.isrctn.config import IsrctnConfig
from monitor.registries.isrctn.ids import KIND
from monitor.registries.isrctn.normalize import calendar_of, source_key
from monitor.registries.isrctn.state import IsrctnState, Seen
from monitor.registries.isrctn.status import derive
from monitor.registries.passes import FULL, INCREMENTAL, KeyedState, Passes, SearchPass, news_events

log = logging.getLogger(__name__)
CONFIRM_LIMIT = 10  # trials asked for when one number is looked up alone
UNKNOWN = (
    "ISRCTN has no such trial (a query of its number finds none): check the number in "
    "[watch] studies"
)


@dataclass(frozen=True)
class Query:
    """A saved search: its name and its ``q`` (the registry's query language)."""

    name: str
    q: str


@dataclass(frozen=True)
class Settings:
    """The ``[isrctn]`` knobs the source reads (the HTTP ones live with the client)."""

    overlap_days: int = 2
    full_pass_every: int = 7
    batch: int = 50  # watched numbers per query
    force: bool = False  # ask for every watched trial, whatever was edited

    @classmethod
    def of(cls, config: IsrctnConfig, force: bool = False) -> Settings:
        return cls(config.overlap_days, config.full_pass_every, config.batch, force)


@dataclass
class Plan:
    """What this cycle learned, and what to save once every record is processed."""

    records: dict[str, tuple[ET.Element, str]] = field(default_factory=dict)  # id -> trial, id
    handled: set[str] = field(default_factory=set)
    again: dict[str, str] = field(default_factory=dict)  # calendar moves: id -> filed under
    failed: set[str] = field(default_factory=set)
    seen: dict[str, Seen] = field(default_factory=dict)
    gone: dict[str, bool] = field(default_factory=dict)
    news: list[tuple[str, list[str]]] = field(default_factory=list)
    saves: list[Callable[[], None]] = field(default_factory=list)
    watched_ok: bool = True
    watched_full: bool = False


def version_of(trial: ET.Element) -> tuple[int | None, str | None]:
    element = trial.find("trial")
    if element is None:
        return None, None
    version = element.get("version", "")
    return (int(version) if version.isdigit() else None), element.get("lastUpdated")


def batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class IsrctnSource:
    """Items of one cycle (see the module docstring)."""

    def __init__(
        self,
        api: IsrctnApi,
        state: KeyedState,
        watched: Sequence[str],
        queries: Sequence[Query],
        *,
        now: datetime,
        settings: Settings | None = None,
    ) -> None:
        self.api = api
        self.state = IsrctnState(state)
        self.watch = [ids.normalize_id(w) for w in watched]
        self.queries = list(queries)
        self.today: date = now.date()
        self.settings = settings or Settings()
        s = self.settings
        self.passes = Passes(now, s.overlap_days, s.full_pass_every, s.force)

    def items(self) -> Iterator[Item]:
        plan = Plan()
        yield from self.plan_watched(plan)
        for query in self.queries:
            yield from self.plan_query(plan, query)
        yield from self.calendar_moves(plan)
        yield from self.records(plan)
        yield from news_events(plan.news, plan.failed)
        yield Checkpoint(lambda: self.save(plan))

    # ------------------------------------------------------------ watched trials

    def plan_watched(self, plan: Plan) -> Iterator[Item]:
        full = self.passes.watched_full(self.state.cycles_since_full())
        direct = [
            w for w in self.watch if full or (self.state.seen(w) is None and not self.state.gone(w))
        ]
        known = [w for w in self.watch if w not in direct and not self.state.gone(w)]
        plan.handled.update(self.watch)
        plan.watched_full = len(direct) == len(self.watch)
        for batch in batches(direct, self.settings.batch):
            yield from self.ask_directly(plan, batch)
        since = self.passes.since(self.state.last_success())
        for batch in batches(known, self.settings.batch):
            yield from self.ask_edited(plan, batch, since)

    def ask_directly(self, plan: Plan, batch: list[str]) -> Iterator[Item]:
        try:
            answer = self.api.all_of(by_ids(batch))
        except FetchError as e:
            yield from self.batch_failed(plan, batch, e)
            return
        found = {xml.trial_id(t): t for t in answer.trials}
        alone = len(batch) == 1  # the batch's query was its own already
        for trial_id in batch:
            if trial_id in found:
                plan.records[trial_id] = (found[trial_id], trial_id)
            else:
                yield from self.missing(plan, trial_id, confirmed=alone)

    def ask_edited(self, plan: Plan, batch: list[str], since: str) -> Iterator[Item]:
        q = edited_since(by_ids(batch), since)
        try:
            total = self.api.count(q)
            answer = self.api.all_of(q, total) if total else None
        except FetchError as e:
            yield from self.batch_failed(plan, batch, e)
            return
        found = {xml.trial_id(t): t for t in (answer.trials if answer else [])}
        for trial_id in batch:
            trial = found.get(trial_id)
            if trial is not None and self.moved(trial_id, trial):
                plan.records[trial_id] = (trial, trial_id)
            elif not self.calendar_moved(trial_id):  # else asked again by calendar_moves
                yield RecordEvent(trial_id, "unchanged")

    def batch_failed(self, plan: Plan, batch: list[str], e: FetchError) -> Iterator[Item]:
        plan.watched_ok = False
        plan.failed.update(batch)
        for trial_id in batch:
            yield StudyError(trial_id, f"{trial_id}: {e}", isinstance(e, TransientFetchError))

    def moved(self, trial_id: str, trial: ET.Element) -> bool:
        seen = self.state.seen(trial_id)
        return seen is None or (seen.version, seen.last_updated) != version_of(trial)

    def missing(self, plan: Plan, trial_id: str, confirmed: bool = False) -> Iterator[Item]:
        """Not in the answer to its number: gone once a query of its number alone agrees."""
        try:
            answer = None if confirmed else self.api.ask(trial_id, CONFIRM_LIMIT)
        except FetchError as e:
            plan.failed.add(trial_id)
            yield StudyError(trial_id, f"{trial_id}: not in the answer, and cannot confirm: {e}")
            return
        found = {xml.trial_id(t): t for t in (answer.trials if answer else [])}
        if trial_id in found:
            plan.records[trial_id] = (found[trial_id], trial_id)
        elif self.state.seen(trial_id) is None and not self.state.gone(trial_id):
            plan.failed.add(trial_id)  # never seen: a wrong number, not a trial that went
            yield StudyError(trial_id, f"{trial_id}: {UNKNOWN}", transient=False)
        elif not self.state.gone(trial_id):
            plan.gone[trial_id] = True
            yield RecordEvent(trial_id, "gone")

    # ------------------------------------------------------------ saved searches

    def read_query(self, query: Query, search: SearchPass) -> list[ET.Element]:
        q = query.q
        if search.mode == INCREMENTAL:
            q = edited_since(q, self.passes.since(search.last_success))
        total = self.api.count(q)
        return self.api.all_of(q, total).trials if total else []

    def plan_query(self, plan: Plan, query: Query) -> Iterator[Item]:
        search = self.passes.search(query.name, query.q, self.state.query(query.name))
        try:
            trials = self.read_query(query, search)
        except FetchError as e:
            yield StudyError(
                None, f'saved search "{query.name}": {e}', isinstance(e, TransientFetchError)
            )
            return
        found: list[str] = []
        for trial in trials:
            trial_id = xml.trial_id(trial)
            if trial_id is None:
                continue
            found.append(trial_id)
            yield from self.member(plan, trial_id, trial)
        if search.mode != INCREMENTAL and not found:
            log.warning(
                'saved search "%s" finds no trial: check its q (ISRCTN answers 0 to a query '
                "it cannot read)",
                query.name,
            )
        members = search.members
        plan.news.append((query.name, sorted(set(found) - members)))
        if search.mode == INCREMENTAL:  # a member not edited since the last success is as it was
            for trial_id in sorted(members - set(found) - plan.handled):
                plan.handled.add(trial_id)
                if not self.calendar_moved(trial_id):
                    yield RecordEvent(trial_id, "unchanged")
        if search.mode == FULL:
            for trial_id in sorted(members - set(found)):
                yield RecordEvent(trial_id, "left_query", query=query.name)
        plan.saves.append(lambda: self.save_query(plan, search, found))

    def member(self, plan: Plan, trial_id: str, trial: ET.Element) -> Iterator[Item]:
        if trial_id in plan.handled:
            return
        plan.handled.add(trial_id)
        if self.moved(trial_id, trial):
            plan.records[trial_id] = (trial, trial_id)
        elif not self.calendar_moved(trial_id):
            yield RecordEvent(trial_id, "unchanged")

    def save_query(self, plan: Plan, search: SearchPass, found: list[str]) -> None:
        entry = search.entry_after(found, plan.failed, self.passes.stamp)
        self.state.set_query(search.name, entry)

    # ------------------------------------------------------------ the calendar

    def tracked(self) -> list[str]:
        """Every trial trialmon follows here: watched ones and members of saved searches."""
        found = set(self.watch)
        for query in self.queries:
            found.update((self.state.query(query.name) or {}).get("members") or [])
        return sorted(t for t in found if not self.state.gone(t))

    def calendar_moved(self, trial_id: str) -> bool:
        """The status derived today from the dates last taken is not the one last taken."""
        seen = self.state.seen(trial_id)
        return seen is not None and derive(seen.calendar, self.today) != seen.status

    def calendar_moves(self, plan: Plan) -> Iterator[Item]:
        """Known trials whose derived status moved since last taken: asked for again (no
        other request notices them: nobody edited them)."""
        moved = [
            trial_id
            for trial_id in self.tracked()
            if trial_id not in plan.records
            and trial_id not in plan.failed
            and self.calendar_moved(trial_id)
        ]
        for batch in batches(moved, self.settings.batch):
            yield from self.ask_again(plan, batch)

    def ask_again(self, plan: Plan, batch: list[str]) -> Iterator[Item]:
        try:
            answer = self.api.all_of(by_ids(batch))
        except FetchError as e:
            plan.failed.update(batch)
            for trial_id in batch:
                yield StudyError(trial_id, f"{trial_id}: {e}", isinstance(e, TransientFetchError))
            return
        found = {xml.trial_id(t): t for t in answer.trials}
        for trial_id in batch:
            if trial_id in found:
                plan.records[trial_id] = (found[trial_id], trial_id)
            else:  # not in the answer: gone once a query of its number alone agrees
                yield from self.missing(plan, trial_id, confirmed=len(batch) == 1)

    # ------------------------------------------------------------ records

    def records(self, plan: Plan) -> Iterator[Item]:
        for trial_id, (trial, filed) in sorted(plan.records.items()):
            data = xml.record_of(trial)
            calendar = calendar_of(data)
            version, updated = version_of(trial)
            plan.seen[trial_id] = Seen(version, updated, calendar, derive(calendar, self.today))
            if self.state.gone(trial_id):
                plan.gone[trial_id] = False
                yield RecordEvent(filed, "returned")
            origin, key = self.api.url(trial_id), source_key(data, self.today)
            yield RawRecord(filed, data, KIND, origin, source_key=key, registry=KIND)

    # ------------------------------------------------------------ saving

    def save(self, plan: Plan) -> None:
        self.state.set_seen(plan.seen)
        self.state.set_gone(plan.gone)
        for save in plan.saves:
            save()
        if plan.watched_ok and self.watch:
            cycles = 0 if plan.watched_full else (self.state.cycles_since_full() or 0) + 1
            self.state.set_updates(self.passes.stamp, cycles)


def build(
    http: Http,
    state: KeyedState,
    watched: Sequence[str],
    queries: Sequence[Query],
    *,
    now: datetime,
    settings: Settings | None = None,
) -> IsrctnSource:
    """The live source over the polite HTTP layer ``http`` (its own rate limiter)."""
    return IsrctnSource(IsrctnApi(http), state, watched, queries, now=now, settings=settings)


def live(ctx: LiveContext) -> IsrctnSource:
    """The source of one cycle, as the registry table builds it (``Registry.live``)."""
    queries = [Query(q.name, str(q.params["q"])) for q in ctx.queries]
    settings = Settings.of(ctx.config, force=ctx.force)
    return build(ctx.http, ctx.state, ctx.studies, queries, now=ctx.now, settings=settings)
