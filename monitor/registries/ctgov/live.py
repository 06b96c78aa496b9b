"""The live ClinicalTrials.gov source: batched, incremental and polite.

One cycle, in requests (all through one :class:`~monitor.http.Http`, so one rate limiter; the
requests themselves are :mod:`.api`'s):

1. ``GET /api/v2/version``. The same ``dataTimestamp`` as the last complete cycle, and nothing
   new to look at, ends the cycle here: one request (``trialmon run --force`` skips this).
2. Which watched studies moved since the last release seen, the cheaper of two ways
   (:mod:`monitor.liveplan`): **by id**, the watermarks of every watched id
   (``filter.ids=...&fields=NCTId,NCTIdAlias,LastUpdatePostDate``, ~540 ids per request), or
   **by updates**, the watermarks of every study the registry updated since the day of the last
   release seen (``filter.advanced=AREA[LastUpdatePostDate]RANGE[day,MAX]``, 1,000 a page),
   whatever the watch list. The first page of the updates carries ``totalCount``, which says
   whether to page on or to ask by id. A full pass by id runs on the first cycle, every
   ``full_pass_every`` cycles and whenever the watch list fits in one request: only it sees a
   study that is no longer returned or that became another's alias without an update. Newly
   watched ids are always asked by id.
3. Whole records, by ``filter.ids``, only for studies whose ``LastUpdatePostDate`` moved since
   the stored snapshot (or that have none), in batches whose answers stay under the size an
   answer may have (sized by the records' bytes seen so far).
4. Each saved search: on its first pass and on the days between full passes, its pages of whole
   records (narrowed to studies updated since the last release it saw, minus a day), a page at
   a time; every ``full_pass_every`` cycles its watermarks, then the records that moved (and
   the members it no longer finds).
5. A watched id a pass by id did not return: ``GET /api/v2/studies/{id}``. 404 confirms the
   study is gone (one critical ``record`` change, once); 301 names the id it now lives under.

Errors are values: a failed request becomes a :class:`StudyError` for the studies it concerned
and the cycle goes on. The source's own progress (the data release seen, the passes of the
watch list and of each saved search) is saved by a :class:`Checkpoint` processed after every
record before it; what it learns with an event (a study gone or moved, a search's new member)
is written with the event's change (``RecordEvent.writes``). Its state's layout is in
:mod:`.state`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from monitor import liveplan
from monitor.configkit import QueryWatch
from monitor.english import count
from monitor.errors import (
    FetchError,
    NotFoundError,
    PermanentFetchError,
    TooLargeError,
    TransientFetchError,
)
from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StateWrite, StudyError
from monitor.registries.base import LiveContext
from monitor.registries.ctgov.api import (
    STUDIES_PATH,
    WATERMARK_FIELDS,
    Api,
    Mark,
    id_batches,
    page_marks,
    params_hash,
    study_id,
    to_mark,
    with_updated_since,
)
from monitor.registries.ctgov.ids import KIND
from monitor.registries.ctgov.state import (
    DATA_TIMESTAMP,
    QUERIES,
    RELEASE,
    STUDIES,
    WATCH_PASSES,
    members_scope,
    study_state,
)
from monitor.times import iso

__all__ = ["CtgovSource", "Mark", "id_batches", "study_id", "to_mark", "with_updated_since"]

log = logging.getLogger(__name__)

URL_PREFIX = re.compile(r"^(?:https?://[^/\s]+)?(/[^?\s:]*)(?:\?\S*)?: ")
LISTED = 3  # ids named in the one line a failed request of many studies gets
NOT_FOUND = "not found in the registry: check the id"
OVERLAP_DAYS = 1  # the day of the last release seen is listed again (see liveplan.updates_since)


# ---------------------------------------------------------------- plain helpers


def reason(error: FetchError) -> str:
    """``GET /api/v2/studies: HTTP 500 ...``: the error without host and query string (a batch
    URL names hundreds of ids; repeated per study it drowned stderr and the digest)."""
    text = str(error)
    match = URL_PREFIX.match(text)
    return f"GET {match.group(1)}: {text[match.end() :]}" if match else text


def some_ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:LISTED])
    return shown if len(ids) <= LISTED else f"{shown} … {ids[-1]}"


def release_day(stamp: str | None) -> date | None:
    """The day of a ``dataTimestamp`` (``2026-09-05T09:00:06``), if it reads as one."""
    try:
        return date.fromisoformat(stamp[:10]) if stamp else None
    except ValueError:
        return None


# ---------------------------------------------------------------- one cycle


@dataclass
class Watched:
    """A watched id, the id the registry answers it under, and what the store knows of it."""

    nct_id: str
    current: str
    gone: bool


@dataclass
class Plan:
    """What the watermarks decided: records to fetch (registry id -> stored id), events."""

    fetch: dict[str, str] = field(default_factory=dict)
    events: list[RecordEvent] = field(default_factory=list)
    probe: list[Watched] = field(default_factory=list)
    handled: set[str] = field(default_factory=set)
    fetched: set[str] = field(default_factory=set)
    query_news: list[tuple[QueryWatch, list[str]]] = field(default_factory=list)
    saves: list[Callable[[], None]] = field(default_factory=list)
    since_full: int | None = None  # the watch list's cycles since its last full pass, to save


class CtgovSource:
    """Items of one cycle over the watched studies and saved searches (see the module doc)."""

    def __init__(self, ctx: LiveContext) -> None:
        self.api = Api(ctx.http, ctx.config.page_size)
        self.state = ctx.state
        self.markers = ctx.markers
        self.studies = ctx.studies
        self.queries = ctx.queries
        self.full_pass_every = ctx.config.full_pass_every
        self.now = ctx.now
        self.force = ctx.force
        self.failed = False
        self.release_seen: str | None = None  # the release a query's window starts from

    @property
    def stamp(self) -> str:
        return iso(self.now)

    def items(self) -> Iterator[Item]:
        """The records, events and errors of one cycle, ending with a checkpoint."""
        try:
            release = self.release()
        except TransientFetchError as e:
            yield from self.unreachable(e)
            return
        if release is not None and self.nothing_new(release):
            log.info("no data release since the last cycle (%s); nothing fetched", release)
            yield from self.all_unchanged()
            return
        yield from self.cycle(release)

    def release(self) -> str | None:
        try:
            return self.api.data_timestamp()
        except PermanentFetchError as e:
            log.warning("cannot tell the registry's data release, checking everything: %s", e)
            return None

    def unreachable(self, error: FetchError) -> Iterator[Item]:
        message = f"registry unreachable: {reason(error)}"
        log.warning("%s", message)  # once, not once per study
        for nct in self.studies:
            yield StudyError(nct, message, logged=True)
        for query in self.queries:
            yield StudyError(None, f'saved search "{query.name}": {message}', logged=True)

    def nothing_new(self, release: str) -> bool:
        """The last complete cycle saw this release and every watch has been looked at."""
        if self.force or self.state.get(RELEASE, DATA_TIMESTAMP) != release:
            return False
        known = self.markers(list(self.studies))
        gone = {w.nct_id for w in self.watched() if w.gone}
        if any(nct not in known and nct not in gone for nct in self.studies):
            return False
        return all(self.query_mode(q)[0] != "baseline" for q in self.queries)

    def all_unchanged(self) -> Iterator[Item]:
        ids = {w.nct_id for w in self.watched() if not w.gone}
        for query in self.queries:
            ids |= self.members(query)
        for nct in sorted(ids):
            yield RecordEvent(nct, "unchanged")

    def members(self, query: QueryWatch) -> set[str]:
        return set(self.state.scope(members_scope(query.name)))

    def watched(self) -> list[Watched]:
        state = self.state.scope(STUDIES)
        return [
            Watched(
                nct,
                (state.get(nct) or {}).get("current_id") or nct,
                bool((state.get(nct) or {}).get("gone_since")),
            )
            for nct in self.studies
        ]

    def cycle(self, release: str | None) -> Iterator[Item]:
        self.release_seen = self.state.get(RELEASE, DATA_TIMESTAMP)
        plan = Plan()
        yield from self.plan_watched(plan)
        for query in self.queries:
            yield from self.plan_query(plan, query, release)
        yield from self.fetch_records(plan)
        yield from plan.events
        yield from self.probe_missing(plan)
        yield from self.query_events(plan)
        yield Checkpoint(lambda: self.save(plan, release))

    def save(self, plan: Plan, release: str | None) -> None:
        for save in plan.saves:
            save()
        if release is not None and not self.failed:
            self.state.put(RELEASE, DATA_TIMESTAMP, release)
            if plan.since_full is not None:
                self.state.put(RELEASE, WATCH_PASSES, {"cycles_since_full": plan.since_full})

    def error(self, nct: str | None, message: str, transient: bool = True) -> StudyError:
        self.failed = True
        return StudyError(nct, message, transient=transient)

    def fetch_error(self, nct: str | None, error: FetchError) -> StudyError:
        prefix = f"{nct}: " if nct else ""
        return self.error(nct, f"{prefix}{reason(error)}", isinstance(error, TransientFetchError))

    def batch_errors(self, ncts: Sequence[str], error: FetchError) -> Iterator[StudyError]:
        """One request for many studies failed: said once, then an error per study."""
        message = f"registry request failed: {reason(error)}"
        if len(ncts) > 1:
            log.warning("registry request failed for %s (%s): %s",
                        count(len(ncts), "study"), some_ids(ncts), reason(error))  # fmt: skip
        transient = isinstance(error, TransientFetchError)
        for nct in ncts:
            failure = self.error(nct, message if len(ncts) > 1 else f"{nct}: {message}", transient)
            yield replace(failure, logged=len(ncts) > 1)

    # ------------------------------------------------------------ watermarks by id

    def fetch_marks(self, ids: Sequence[str]) -> tuple[list[Mark], dict[str, FetchError]]:
        """Watermarks of ``ids``, and the error of each id whose batch failed."""
        marks: list[Mark] = []
        failures: dict[str, FetchError] = {}
        params: dict[str, str | int] = {"fields": WATERMARK_FIELDS, "pageSize": self.api.page_size}
        for batch in self.api.batches(ids, params):
            self._marks_of(batch, marks, failures)
        return marks, failures

    def _marks_of(
        self, batch: list[str], marks: list[Mark], failures: dict[str, FetchError]
    ) -> None:
        """A failed batch is split in two when the registry refused it (400: one bad id)."""
        try:
            marks.extend(self.api.marks({"filter.ids": ",".join(batch)}))
        except FetchError as e:
            if len(batch) > 1 and isinstance(e, PermanentFetchError) and "HTTP 400" in str(e):
                half = len(batch) // 2
                self._marks_of(batch[:half], marks, failures)
                self._marks_of(batch[half:], marks, failures)
                return
            failures.update((n, e) for n in batch)

    # ------------------------------------------------------------ the watch list

    def plan_watched(self, plan: Plan) -> Iterator[Item]:
        """The watched studies that moved: by id, or by the registry's updates (cheaper)."""
        watched = self.watched()
        stored = self.markers([w.nct_id for w in watched])
        updates = self.updates_way(watched, stored)
        if updates is None:
            plan.since_full = 0
            yield from self.by_id(plan, watched, stored)
            return
        since_full, marks = updates
        plan.since_full = since_full + 1
        new = [w for w in watched if w.nct_id not in stored and not w.gone]
        yield from self.by_id(plan, new, stored)  # never stored: asked by id, probed if absent
        yield from self.by_updates(plan, [w for w in watched if w not in new], stored, marks)

    def updates_way(
        self, watched: list[Watched], stored: Mapping[str, str | None]
    ) -> tuple[int, dict[str, Mark]] | None:
        """The cycles since the last full pass and the updates' watermarks by id (aliases
        too), when listing the updates is due and cheaper than asking by id; else None."""
        passes = self.state.get(RELEASE, WATCH_PASSES) or {}
        since_full = passes.get("cycles_since_full")
        day = release_day(self.release_seen)
        known = sum(1 for w in watched if w.nct_id in stored or w.gone)
        per = self.ids_per_request(watched)
        if liveplan.full_pass_due(since_full, self.full_pass_every) or day is None:
            return None
        if not liveplan.ask_updates_first(known, per):
            return None
        marks = self.listed_updates(liveplan.updates_since(day, OVERLAP_DAYS), known, per)
        return None if marks is None else (int(since_full or 0), marks)

    def ids_per_request(self, watched: list[Watched]) -> int:
        """Watched ids one watermark request holds (its URL under 8 KB)."""
        params: dict[str, str | int] = {"fields": WATERMARK_FIELDS, "pageSize": self.api.page_size}
        example = [w.current for w in watched[: self.api.page_size]]
        room = self.api.url_room(params)
        return max(1, len(next(id_batches(example, room, self.api.page_size), [])))

    def listed_updates(self, since: str, known: int, per: int) -> dict[str, Mark] | None:
        """Every study updated since ``since``, by id and alias, if its first page's total
        says paging on is cheaper than asking by id (None: ask by id; so on a failure too)."""
        params: dict[str, str | int] = {
            "filter.advanced": f"AREA[LastUpdatePostDate]RANGE[{since},MAX]",
            "fields": WATERMARK_FIELDS,
            "pageSize": self.api.page_size,
            "countTotal": "true",
        }
        try:
            first = self.api.page(params)
            total = first.total if first.total is not None else len(first.studies)
            costs = liveplan.way_after_first_page(total, self.api.page_size, known, per)
            if costs.cheaper == "ids":
                log.info("%d registry updates since %s: asking by id", total, since)
                return None
            found = [m for page in self.api.pages(params, first) for m in page_marks(page)]
        except FetchError as e:
            log.warning("cannot list the registry's updates (%s): asking by id", reason(e))
            return None
        log.info("%d registry updates since %s", total, since)
        marks: dict[str, Mark] = {m.nct_id: m for m in found}
        for m in found:
            marks.update((alias, m) for alias in m.aliases if alias not in marks)
        return marks

    def by_updates(
        self,
        plan: Plan,
        watched: list[Watched],
        stored: Mapping[str, str | None],
        marks: Mapping[str, Mark],
    ) -> Iterator[Item]:
        """Watched studies among the updates are followed; the others did not move (absent
        from the updates is not missing: only a pass by id probes)."""
        for w in watched:
            mark = marks.get(w.current)
            if mark is None:
                plan.handled.add(w.current)
                if not w.gone:
                    yield RecordEvent(w.nct_id, "unchanged")
                continue
            plan.handled.add(mark.nct_id)
            yield from self.follow(plan, w, mark, stored.get(w.nct_id))

    def by_id(
        self, plan: Plan, watched: list[Watched], stored: Mapping[str, str | None]
    ) -> Iterator[Item]:
        """The watermarks of ``watched`` by id (one not returned is probed later); those never
        stored are asked their whole records at once, as a watermark would only say to."""
        unknown = [w for w in watched if w.nct_id not in stored and not w.gone]
        yield from self.first_records(plan, unknown)
        known = [w for w in watched if w.nct_id in stored or w.gone]
        if not known:
            return
        found, failures = self.fetch_marks(sorted({w.current for w in known}))
        marks: dict[str, Mark] = {m.nct_id: m for m in found}
        for m in found:
            marks.update((alias, m) for alias in m.aliases if alias not in marks)
        yield from self.failed_marks(known, failures)
        for w in known:
            mark = marks.get(w.current)
            if w.current in failures:
                continue
            elif mark is None:
                plan.probe.append(w)
            else:
                plan.handled.add(mark.nct_id)
                yield from self.follow(plan, w, mark, stored.get(w.nct_id))

    def first_records(self, plan: Plan, watched: list[Watched]) -> Iterator[Item]:
        """The whole records of watched studies never stored, by id; one not returned is
        probed later (a mistyped id, or an alias only a 301 tells)."""
        by_current = {w.current: w for w in watched}
        for batch in self.api.record_batches(sorted(by_current)):
            yield from self.first_batch(plan, batch, by_current)

    def first_batch(
        self, plan: Plan, batch: list[str], by_current: Mapping[str, Watched]
    ) -> Iterator[Item]:
        try:
            studies = self.batch_records(batch)
        except FetchError as e:
            if isinstance(e, TooLargeError):
                self.api.too_large(len(batch))
            if len(batch) > 1 and self.halved(e):
                half = len(batch) // 2
                yield from self.first_batch(plan, batch[:half], by_current)
                yield from self.first_batch(plan, batch[half:], by_current)
            elif isinstance(e, TooLargeError):
                yield self.fetch_error(by_current[batch[0]].nct_id, e)
            else:
                yield from self.batch_errors([by_current[n].nct_id for n in batch], e)
            return
        wanted = set(batch)
        for study, mark in ((s, to_mark(s)) for s in studies):
            key = (
                next((n for n in (mark.nct_id, *mark.aliases) if n in wanted), None)
                if mark
                else None
            )
            if mark is None or key is None:
                if mark is None:
                    yield self.error(None, f"{STUDIES_PATH}: a record of the wrong shape", False)
                continue
            wanted.discard(key)
            w = by_current[key]
            plan.handled.add(mark.nct_id)
            plan.fetched.add(mark.nct_id)
            if mark.nct_id != w.current:
                writes = self.study_writes(w.nct_id, mark.nct_id, gone=False)
                plan.events.append(
                    RecordEvent(w.nct_id, "alias", detail=mark.nct_id, writes=writes)
                )
            yield RawRecord(w.nct_id, study, KIND, f"{STUDIES_PATH}/{mark.nct_id}", registry=KIND)
        plan.probe.extend(by_current[n] for n in sorted(wanted))

    @staticmethod
    def halved(error: FetchError) -> bool:
        """Worth asking again in halves: an answer too large, or a refused id (HTTP 400)."""
        refused = isinstance(error, PermanentFetchError) and "HTTP 400" in str(error)
        return isinstance(error, TooLargeError) or refused

    def failed_marks(
        self, watched: Sequence[Watched], failures: Mapping[str, FetchError]
    ) -> Iterator[StudyError]:
        """The errors of failed watermark requests: said once per request."""
        by_request: dict[int, tuple[FetchError, list[str]]] = {}
        for w in watched:
            if w.current in failures:
                error = failures[w.current]
                by_request.setdefault(id(error), (error, []))[1].append(w.nct_id)
        for error, ncts in by_request.values():
            yield from self.batch_errors(ncts, error)

    def follow(self, plan: Plan, w: Watched, mark: Mark, stored: str | None) -> Iterator[Item]:
        writes = self.study_writes(w.nct_id, mark.nct_id, gone=False)
        if mark.nct_id != w.current:
            plan.events.append(RecordEvent(w.nct_id, "alias", detail=mark.nct_id, writes=writes))
        if w.gone:
            plan.events.append(RecordEvent(w.nct_id, "returned", writes=writes))
        if stored is None or stored != mark.posted:
            plan.fetch.setdefault(mark.nct_id, w.nct_id)
        else:
            yield RecordEvent(w.nct_id, "unchanged")

    def study_writes(self, nct_id: str, current: str, *, gone: bool) -> tuple[StateWrite, ...]:
        """What the state learns of a watched study: the id it answers under, gone or not."""
        moved = current if current != nct_id else None
        value = study_state(moved, iso(self.now) if gone else None)
        return (StateWrite(KIND, STUDIES, nct_id, value),)

    # ------------------------------------------------------------ saved searches

    def query_mode(self, query: QueryWatch) -> tuple[str, dict[str, Any] | None]:
        """ "baseline" (first pass or new params), "full" or "incremental", and the state."""
        state = self.state.get(QUERIES, query.name)
        if state is None or state["params_hash"] != params_hash(query.params):
            return "baseline", state
        if (state["cycles_since_full"] or 0) + 1 >= self.full_pass_every:
            return "full", state
        return "incremental", state

    def query_params(self, query: QueryWatch, mode: str, state: dict[str, Any] | None) -> dict:
        """The search's own parameters; between full passes narrowed to the studies updated
        since the release its last success saw, that day included (or two days before its
        last success, for a state saved before releases were kept with it)."""
        if mode != "incremental" or state is None:
            return dict(query.params)
        day = release_day(state.get("release"))
        if day is not None:
            return with_updated_since(query.params, liveplan.updates_since(day, OVERLAP_DAYS))
        last = datetime.strptime(state["last_success"][:10], "%Y-%m-%d")
        since = (last - timedelta(days=2)).strftime("%Y-%m-%d")
        return with_updated_since(query.params, since)

    def plan_query(self, plan: Plan, query: QueryWatch, release: str | None) -> Iterator[Item]:
        mode, state = self.query_mode(query)
        params = self.query_params(query, mode, state)
        found: list[str] = []
        try:
            if mode == "full":
                marks = self.api.marks(params)
                found = [m.nct_id for m in marks]
                yield from self.query_marks(plan, marks)
            else:
                yield from self.query_records(plan, params, found)
        except FetchError as e:
            transient = isinstance(e, TransientFetchError)
            yield self.error(None, f'saved search "{query.name}": {reason(e)}', transient)
            return
        yield from self.membership(plan, query, mode, found)
        plan.saves.append(lambda: self.save_query(query, mode, state, found, plan, release))

    def query_marks(self, plan: Plan, marks: list[Mark]) -> Iterator[Item]:
        """A full pass: the studies whose watermark moved are fetched, the others unchanged."""
        stored = self.markers([m.nct_id for m in marks])
        for mark in marks:
            if mark.nct_id in plan.handled:
                continue  # a watched study, or found by an earlier search
            plan.handled.add(mark.nct_id)
            if stored.get(mark.nct_id) is None or stored[mark.nct_id] != mark.posted:
                plan.fetch.setdefault(mark.nct_id, mark.nct_id)
            else:
                yield RecordEvent(mark.nct_id, "unchanged")

    def query_records(self, plan: Plan, params: dict, found: list[str]) -> Iterator[Item]:
        """A first pass or the updates since the last: the search's whole records, a page at
        a time (most of them are to be stored; asking watermarks first would double the
        requests); each study whose stored last-update date it matches is unchanged."""
        for studies in self.api.records(params):
            marks = [(s, to_mark(s)) for s in studies]
            stored = self.markers([m.nct_id for _, m in marks if m is not None])
            for study, mark in marks:
                if mark is None:
                    yield self.error(None, f"{STUDIES_PATH}: a study without a valid NCTId", False)
                    continue
                found.append(mark.nct_id)
                if mark.nct_id in plan.handled:
                    continue
                plan.handled.add(mark.nct_id)
                if stored.get(mark.nct_id) is not None and stored[mark.nct_id] == mark.posted:
                    yield RecordEvent(mark.nct_id, "unchanged")
                    continue
                plan.fetched.add(mark.nct_id)
                origin = f"{STUDIES_PATH}/{mark.nct_id}"
                yield RawRecord(mark.nct_id, study, KIND, origin, registry=KIND)

    def membership(
        self, plan: Plan, query: QueryWatch, mode: str, found: list[str]
    ) -> Iterator[Item]:
        # Every study a search finds for the first time is news (CONTRACT.md), on its first pass
        # too: the digest then lists what the new search matches, once.
        members = self.members(query)
        plan.query_news.append((query, [n for n in found if n not in members]))
        if mode == "full":  # not on a baseline: new parameters are the user's own doing
            for nct in sorted(members - set(found)):
                leave = (StateWrite(KIND, members_scope(query.name), nct, None),)
                yield RecordEvent(nct, "left_query", query=query.name, writes=leave)

    def query_events(self, plan: Plan) -> Iterator[Item]:
        """New members, once their records are stored (a failed fetch waits for next time)."""
        for query, news in plan.query_news:
            for nct in news:
                if nct in plan.fetched or nct not in plan.fetch:
                    join = (StateWrite(KIND, members_scope(query.name), nct, self.stamp),)
                    yield RecordEvent(nct, "new_in_query", query=query.name, writes=join)

    def save_query(
        self,
        query: QueryWatch,
        mode: str,
        state: dict[str, Any] | None,
        found: list[str],
        plan: Plan,
        release: str | None,
    ) -> None:
        if any(plan.fetch.get(n) == n and n not in plan.fetched for n in found):
            return  # some record of it failed: keep the window so it is looked at again
        full = mode != "incremental"
        since_full = 0 if full else (state or {}).get("cycles_since_full", 0) + 1
        row = {
            "name": query.name,
            "params_hash": params_hash(query.params),
            "last_success": self.stamp,
            "last_full_pass": self.stamp if full else (state or {}).get("last_full_pass"),
            "cycles_since_full": since_full,
            "release": release or (state or {}).get("release"),
        }
        self.state.put(QUERIES, query.name, row)
        if mode == "baseline":  # its members are what it found (the baseline)
            self.state.replace(members_scope(query.name), dict.fromkeys(found, self.stamp))

    # ------------------------------------------------------------ full records

    def fetch_records(self, plan: Plan) -> Iterator[Item]:
        for batch in self.api.record_batches(sorted(plan.fetch)):
            yield from self._records_of(plan, batch)

    def _records_of(self, plan: Plan, batch: list[str]) -> Iterator[Item]:
        """The records of one batch (all its pages read first: an answer that breaks off
        stores nothing of it); an answer over the size limit is asked again in halves (and
        later batches are smaller), down to the one study whose record is too large (that
        study's error)."""
        try:
            studies = self.batch_records(batch)
        except TooLargeError as e:
            self.api.too_large(len(batch))
            if len(batch) > 1:
                half = len(batch) // 2
                yield from self._records_of(plan, batch[:half])
                yield from self._records_of(plan, batch[half:])
            else:
                yield self.fetch_error(plan.fetch[batch[0]], e)
            return
        except FetchError as e:
            yield from self.batch_errors([plan.fetch[n] for n in batch], e)
            return
        wanted = set(batch)
        for study in studies:
            yield from self._record(plan, study, wanted)
        for nct in sorted(wanted):
            message = f"{plan.fetch[nct]}: not in the registry's answer for its full record"
            yield self.error(plan.fetch[nct], message)

    def batch_records(self, batch: list[str]) -> list[Any]:
        query: dict[str, str | int] = {"filter.ids": ",".join(batch)}
        query["pageSize"] = self.api.page_size
        studies: list[Any] = []
        for page in self.api.pages(query):
            self.api.learn(page)
            studies += page.studies
        return studies

    def _record(self, plan: Plan, study: Any, wanted: set[str]) -> Iterator[Item]:
        nct = study_id(study)
        mark = to_mark(study) if nct else None
        if nct is None or mark is None:
            yield self.error(
                None, f"{STUDIES_PATH}: a record of the wrong shape (no valid nctId)", False
            )
            return
        key = next((n for n in (nct, *mark.aliases) if n in wanted), None)
        if key is None:
            return
        wanted.discard(key)
        plan.fetched.add(key)
        origin = f"{STUDIES_PATH}/{nct}"
        yield RawRecord(plan.fetch[key], study, KIND, origin, registry=KIND)

    # ------------------------------------------------------------ missing studies

    def probe_missing(self, plan: Plan) -> Iterator[Item]:
        """Watched ids a pass by id did not return: gone (404) or moved (301)?"""
        for w in plan.probe:
            if w.gone:
                continue  # already reported once; it comes back through the watermarks
            yield from self.probe(w)

    def probe(self, w: Watched, hops: int = 3) -> Iterator[Item]:
        try:
            moved, study = self.api.study(w.current)
        except NotFoundError:
            if w.nct_id not in self.markers([w.nct_id]):  # never stored: a mistyped id, not news
                yield self.error(w.nct_id, f"{w.nct_id}: {NOT_FOUND}", transient=False)
                return
            log.info("%s: the registry answers 404; the study is gone", w.nct_id)
            writes = self.study_writes(w.nct_id, w.current, gone=True)
            yield RecordEvent(w.nct_id, "gone", writes=writes)
            return
        except FetchError as e:
            yield self.fetch_error(w.nct_id, e)
            return
        if moved is not None and hops > 0:
            writes = self.study_writes(w.nct_id, moved, gone=w.gone)
            yield RecordEvent(w.nct_id, "alias", detail=moved, writes=writes)
            yield from self.probe(Watched(w.nct_id, moved, w.gone), hops - 1)
        elif study_id(study) is None:
            yield self.error(w.nct_id, f"{w.nct_id}: a record of the wrong shape", False)
        else:
            origin = f"{STUDIES_PATH}/{w.current}"
            yield RawRecord(w.nct_id, study, KIND, origin, registry=KIND)
