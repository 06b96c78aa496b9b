"""The live ClinicalTrials.gov source: batched, incremental and polite.

One cycle, in requests (all through one :class:`~monitor.http.Http`, so one rate limiter):

1. ``GET /api/v2/version``. The same ``dataTimestamp`` as the last complete cycle, and nothing
   new to look at, ends the cycle here: one request (``trialmon run --force`` skips this).
2. Watermarks: ``GET /api/v2/studies?filter.ids=...&fields=NCTId,NCTIdAlias,LastUpdatePostDate``
   for the watched ids, in batches whose URL stays under 8 KB, and each saved search the same
   way: incrementally (``filter.advanced=AREA[LastUpdatePostDate]RANGE[last success - 2 days,
   MAX]``), fully on its first pass and every ``full_pass_every`` cycles.
3. Full records, again by ``filter.ids``, only for studies whose ``LastUpdatePostDate`` moved
   since the stored snapshot (or that have none).
4. A watched id missing from the watermarks: ``GET /api/v2/studies/{id}``. 404 confirms the
   study is gone (one critical ``record`` change, once); 301 names the id it now lives under.

Errors are values: a failed request becomes a :class:`StudyError` for the studies it concerned
and the cycle goes on. The source's own progress (the data release seen, each saved search's
last success) is saved by a :class:`Checkpoint` processed after every record before it; what it
learns with an event (a study gone or moved, a search's new member) is written with the
event's change (``RecordEvent.writes``). Its state's layout is in :mod:`.state`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson

from monitor.configkit import QueryWatch
from monitor.english import count
from monitor.errors import (
    FetchError,
    NotFoundError,
    PermanentFetchError,
    TooLargeError,
    TransientFetchError,
)
from monitor.http import Http, json_body
from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StateWrite, StudyError
from monitor.registries.base import LiveContext
from monitor.registries.ctgov.ids import KIND, NCT_IN_TEXT
from monitor.registries.ctgov.state import (
    DATA_TIMESTAMP,
    QUERIES,
    RELEASE,
    STUDIES,
    members_scope,
    study_state,
)
from monitor.times import iso

log = logging.getLogger(__name__)

STUDIES_PATH = "/api/v2/studies"
VERSION = "/api/v2/version"
WATERMARK_FIELDS = "NCTId,NCTIdAlias,LastUpdatePostDate"
MAX_URL = 8000  # bytes; the API refuses longer URLs
TOKEN_RESERVE = 256  # room left in each URL for a nextPageToken
MAX_EMPTY_PAGES = 20
URL_PREFIX = re.compile(r"^(?:https?://[^/\s]+)?(/[^?\s:]*)(?:\?\S*)?: ")
LISTED = 3  # ids named in the one line a failed request of many studies gets
NOT_FOUND = "not found in the registry: check the id"


# ---------------------------------------------------------------- plain helpers


@dataclass(frozen=True)
class Mark:
    """What a cheap watermark request says of one study."""

    nct_id: str
    posted: str | None
    aliases: tuple[str, ...] = ()


def study_id(study: Any) -> str | None:
    """The ``nctId`` of an API v2 study, or None when the record has the wrong shape."""
    try:
        nct = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return nct.upper() if isinstance(nct, str) and NCT_IN_TEXT.fullmatch(nct) else None


def to_mark(study: Any) -> Mark | None:
    """A :class:`Mark` from a study requested with the watermark ``fields``."""
    nct = study_id(study)
    if nct is None:
        return None
    ident = study["protocolSection"]["identificationModule"]
    status = study["protocolSection"].get("statusModule") or {}
    posted = (status.get("lastUpdatePostDateStruct") or {}).get("date")
    aliases = tuple(a.upper() for a in ident.get("nctIdAliases") or () if isinstance(a, str))
    return Mark(nct, posted if isinstance(posted, str) else None, aliases)


def reason(error: FetchError) -> str:
    """``GET /api/v2/studies: HTTP 500 ...``: the error without host and query string (a batch
    URL names hundreds of ids; repeated per study it drowned stderr and the digest)."""
    text = str(error)
    match = URL_PREFIX.match(text)
    return f"GET {match.group(1)}: {text[match.end() :]}" if match else text


def some_ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:LISTED])
    return shown if len(ids) <= LISTED else f"{shown} … {ids[-1]}"


def params_hash(params: Mapping[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(dict(params), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def with_updated_since(params: Mapping[str, str], since: str) -> dict[str, str]:
    """The query's own parameters, narrowed to studies updated on or after ``since``."""
    area = f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"
    own = params.get("filter.advanced")
    return {**params, "filter.advanced": f"({own}) AND {area}" if own else area}


def id_batches(ids: Sequence[str], room: int, most: int) -> Iterator[list[str]]:
    """Split ids so each batch's ``filter.ids`` value fits in ``room`` URL bytes."""
    batch: list[str] = []
    used = 0
    for nct in ids:
        cost = len(quote(nct, safe="")) + len("%2C")
        if batch and (used + cost > room or len(batch) >= most):
            yield batch
            batch, used = [], 0
        batch.append(nct)
        used += cost
    if batch:
        yield batch


# ---------------------------------------------------------------- requests


class Api:
    """The few ClinicalTrials.gov requests trialmon makes, on top of :class:`Http`."""

    def __init__(self, http: Http, page_size: int) -> None:
        self.http = http
        self.page_size = page_size

    def data_timestamp(self) -> str:
        body = self.http.get_json(VERSION)
        stamp = body.get("dataTimestamp") if isinstance(body, dict) else None
        if not isinstance(stamp, str):
            raise PermanentFetchError(f"{VERSION}: no dataTimestamp in {str(body)[:100]!r}")
        return stamp

    def pages(self, params: Mapping[str, str | int]) -> Iterator[list[Any]]:
        """Every page of a ``/api/v2/studies`` search; other parameters stay unchanged."""
        token: str | None = None
        seen: set[str] = set()
        empty = 0
        while True:
            query = {**params, "pageToken": token} if token else dict(params)
            studies, token = self._page(query)
            empty = 0 if studies else empty + 1
            yield studies
            if not token:
                return
            if token in seen or empty > MAX_EMPTY_PAGES:
                why = "repeated a page token" if token in seen else "sent only empty pages"
                raise PermanentFetchError(f"{STUDIES_PATH}: the registry {why} ({token[:40]!r})")
            seen.add(token)

    def _page(self, query: Mapping[str, str | int]) -> tuple[list[Any], str | None]:
        body = self.http.get_json(STUDIES_PATH, query)
        studies = body.get("studies", []) if isinstance(body, dict) else None
        token = body.get("nextPageToken") if isinstance(body, dict) else None
        if not isinstance(studies, list) or not (token is None or isinstance(token, str)):
            raise PermanentFetchError(f"{STUDIES_PATH}: not a page of studies: {str(body)[:100]!r}")
        return studies, token

    def search(self, params: Mapping[str, str | int]) -> list[Any]:
        return [study for page in self.pages(params) for study in page]

    def marks(self, params: Mapping[str, str]) -> list[Mark]:
        """Watermarks of every study a search finds."""
        found = self.search({**params, "fields": WATERMARK_FIELDS, "pageSize": self.page_size})
        marks = [to_mark(s) for s in found]
        if any(m is None for m in marks):
            message = f"{STUDIES_PATH}: a study without a valid NCTId in the answer"
            raise PermanentFetchError(message)
        return [m for m in marks if m is not None]

    def batches(self, ids: Sequence[str], params: Mapping[str, str | int]) -> list[list[str]]:
        """Id batches for ``filter.ids`` with ``params``, each URL under 8 KB."""
        probe = {**params, "filter.ids": "", "pageToken": "x" * TOKEN_RESERVE}
        room = MAX_URL - len(str(self.http.url(STUDIES_PATH, probe)))
        return list(id_batches(ids, room, self.page_size))

    def study(self, nct_id: str) -> tuple[str | None, Any]:
        """``GET /api/v2/studies/{id}``: (the id it moved to, None) on 301, else (None, study)."""
        response = self.http.get(f"{STUDIES_PATH}/{nct_id}")
        if response.is_redirect:
            moved = NCT_IN_TEXT.search(response.headers.get("location", ""))
            if moved is None:
                raise PermanentFetchError(f"{response.request.url}: redirected to no NCT id")
            return moved.group(0).upper(), None
        return None, json_body(response)


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
        plan = Plan()
        yield from self.plan_watched(plan)
        for query in self.queries:
            yield from self.plan_query(plan, query)
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

    # ------------------------------------------------------------ watermarks

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

    def plan_watched(self, plan: Plan) -> Iterator[Item]:
        watched = self.watched()
        found, failures = self.fetch_marks(sorted({w.current for w in watched}))
        marks: dict[str, Mark] = {m.nct_id: m for m in found}
        for m in found:
            marks.update((alias, m) for alias in m.aliases if alias not in marks)
        stored = self.markers([w.nct_id for w in watched])
        yield from self.failed_marks(watched, failures)
        for w in watched:
            mark = marks.get(w.current)
            if w.current in failures:
                continue
            elif mark is None:
                plan.probe.append(w)
            else:
                plan.handled.add(mark.nct_id)
                yield from self.follow(plan, w, mark, stored.get(w.nct_id))

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
        if mode != "incremental" or state is None:
            return dict(query.params)
        last = datetime.strptime(state["last_success"][:10], "%Y-%m-%d")
        since = (last - timedelta(days=2)).strftime("%Y-%m-%d")
        return with_updated_since(query.params, since)

    def plan_query(self, plan: Plan, query: QueryWatch) -> Iterator[Item]:
        mode, state = self.query_mode(query)
        try:
            marks = self.api.marks(self.query_params(query, mode, state))
        except FetchError as e:
            transient = isinstance(e, TransientFetchError)
            yield self.error(None, f'saved search "{query.name}": {reason(e)}', transient)
            return
        found = [m.nct_id for m in marks]
        stored = self.markers(found)
        for mark in marks:
            if mark.nct_id in plan.handled:
                continue  # a watched study, or found by an earlier search
            plan.handled.add(mark.nct_id)
            if stored.get(mark.nct_id) is None or stored[mark.nct_id] != mark.posted:
                plan.fetch.setdefault(mark.nct_id, mark.nct_id)
            else:
                yield RecordEvent(mark.nct_id, "unchanged")
        yield from self.membership(plan, query, mode, found)
        plan.saves.append(lambda: self.save_query(query, mode, state, found, plan))

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
        }
        self.state.put(QUERIES, query.name, row)
        if mode == "baseline":  # its members are what it found (the baseline)
            self.state.replace(members_scope(query.name), dict.fromkeys(found, self.stamp))

    # ------------------------------------------------------------ full records

    def fetch_records(self, plan: Plan) -> Iterator[Item]:
        ids = sorted(plan.fetch)
        for batch in self.api.batches(ids, {"pageSize": self.api.page_size}):
            yield from self._records_of(plan, batch)

    def _records_of(self, plan: Plan, batch: list[str]) -> Iterator[Item]:
        """The records of one batch; an answer over the size limit is asked again in halves,
        down to the one study whose record is too large (that study's error)."""
        try:
            studies = self.api.search(
                {"filter.ids": ",".join(batch), "pageSize": self.api.page_size}
            )
        except TooLargeError as e:
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
        """Watched ids the watermarks did not return: gone (404) or moved (301)?"""
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
