"""The few ClinicalTrials.gov API v2 requests trialmon makes, and what it reads from them.

:class:`Api` sits on the registry's polite :class:`~monitor.http.Http` (one rate limiter):
the data release (``GET /api/v2/version``), pages of ``GET /api/v2/studies`` followed with
every other parameter unchanged (a page token is bound to them), watermarks (``fields=NCTId,
NCTIdAlias,LastUpdatePostDate``: a study's id, aliases and last-update date), whole records by
``filter.ids`` in batches whose URL stays under 8 KB and whose answer stays under the size an
answer may have (``limits.MAX_RECORD_BYTES``, sized by the records' bytes seen so far), and one
study by id (its 301 when the id became another's alias).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from monitor.errors import PermanentFetchError
from monitor.http import Http, json_body
from monitor.limits import MAX_RECORD_BYTES
from monitor.registries.ctgov.ids import NCT_IN_TEXT

STUDIES_PATH = "/api/v2/studies"
VERSION = "/api/v2/version"
WATERMARK_FIELDS = "NCTId,NCTIdAlias,LastUpdatePostDate"
MAX_URL = 8000  # bytes; the API refuses longer URLs
TOKEN_RESERVE = 256  # room left in each URL for a nextPageToken
MAX_EMPTY_PAGES = 20
RECORD_GUESS = 40_000  # bytes of a whole record in an answer, until answers tell
ANSWER_SHARE = 0.8  # of the size an answer may have, filled on average by whole records


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


@dataclass(frozen=True)
class Page:
    """One answer of ``GET /api/v2/studies``: its studies, the next page's token, the total
    (asked with ``countTotal=true``, on the first page) and its size in bytes."""

    studies: list[Any]
    token: str | None
    total: int | None
    size: int


class Api:
    """The requests trialmon makes, on top of :class:`Http` (see the module's docstring)."""

    def __init__(self, http: Http, page_size: int) -> None:
        self.http = http
        self.page_size = page_size
        self.record_bytes = RECORD_GUESS  # the mean size of a whole record in answers so far
        self._seen: tuple[int, int] = (0, 0)  # (bytes, records) of whole-record answers

    def data_timestamp(self) -> str:
        body = self.http.get_json(VERSION)
        stamp = body.get("dataTimestamp") if isinstance(body, dict) else None
        if not isinstance(stamp, str):
            raise PermanentFetchError(f"{VERSION}: no dataTimestamp in {str(body)[:100]!r}")
        return stamp

    # ------------------------------------------------------------ pages

    def page(self, query: Mapping[str, str | int]) -> Page:
        """One page of a search (``query`` with its ``pageToken`` if not the first)."""
        response = self.http.get(STUDIES_PATH, query)
        body = json_body(response)
        studies = body.get("studies", []) if isinstance(body, dict) else None
        token = body.get("nextPageToken") if isinstance(body, dict) else None
        total = body.get("totalCount") if isinstance(body, dict) else None
        if not isinstance(studies, list) or not (token is None or isinstance(token, str)):
            raise PermanentFetchError(f"{STUDIES_PATH}: not a page of studies: {str(body)[:100]!r}")
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        return Page(studies, token, total, len(response.content))

    def pages(self, params: Mapping[str, str | int], first: Page | None = None) -> Iterator[Page]:
        """Every page of a search (from ``first`` if it was asked already); the other
        parameters stay unchanged, as the page token is bound to them."""
        seen: set[str] = set()
        empty = 0
        page = first or self.page(params)
        while True:
            empty = 0 if page.studies else empty + 1
            yield page
            token = page.token
            if not token:
                return
            if token in seen or empty > MAX_EMPTY_PAGES:
                why = "repeated a page token" if token in seen else "sent only empty pages"
                raise PermanentFetchError(f"{STUDIES_PATH}: the registry {why} ({token[:40]!r})")
            seen.add(token)
            page = self.page({**params, "pageToken": token})

    def marks(self, params: Mapping[str, str]) -> list[Mark]:
        """Watermarks of every study a search finds."""
        query: dict[str, str | int] = {**params, "fields": WATERMARK_FIELDS}
        query["pageSize"] = self.page_size
        return [m for page in self.pages(query) for m in page_marks(page)]

    # ------------------------------------------------------------ whole records

    def records(self, params: Mapping[str, str | int]) -> Iterator[list[Any]]:
        """The whole records a search finds, a page at a time, each page sized to stay under
        the size an answer may have (:meth:`records_per_answer`)."""
        query = {**params, "pageSize": self.records_per_answer()}
        for page in self.pages(query):
            self.learn(page)
            yield page.studies

    def learn(self, page: Page) -> None:
        """What an answer of whole records says of their size."""
        size, records = self._seen
        self._seen = (size + page.size, records + len(page.studies))
        if self._seen[1]:
            self.record_bytes = max(1, self._seen[0] // self._seen[1])

    def too_large(self, asked: int) -> None:
        """An answer of ``asked`` records was over the limit: their mean is at least that."""
        self.record_bytes = max(self.record_bytes, MAX_RECORD_BYTES // max(1, asked))

    def records_per_answer(self) -> int:
        """Whole records per answer: the page size, fewer when records are large."""
        return max(
            1, min(self.page_size, int(MAX_RECORD_BYTES * ANSWER_SHARE) // self.record_bytes)
        )

    def batches(self, ids: Sequence[str], params: Mapping[str, str | int]) -> list[list[str]]:
        """Id batches for ``filter.ids`` with ``params``, each URL under 8 KB."""
        return list(id_batches(ids, self.url_room(params), self.page_size))

    def url_room(self, params: Mapping[str, str | int]) -> int:
        probe = {**params, "filter.ids": "", "pageToken": "x" * TOKEN_RESERVE}
        return MAX_URL - len(str(self.http.url(STUDIES_PATH, probe)))

    def record_batches(self, ids: Sequence[str]) -> Iterator[list[str]]:
        """Batches of ids whose whole records are asked together: each URL under 8 KB and
        each answer, by the records' mean size so far, under the size an answer may have."""
        room = self.url_room({"pageSize": self.page_size})
        at = 0
        while at < len(ids):
            most = self.records_per_answer()
            batch = next(id_batches(ids[at : at + most], room, most))
            at += len(batch)
            yield batch

    def study(self, nct_id: str) -> tuple[str | None, Any]:
        """``GET /api/v2/studies/{id}``: (the id it moved to, None) on 301, else (None, study)."""
        response = self.http.get(f"{STUDIES_PATH}/{nct_id}")
        if response.is_redirect:
            moved = NCT_IN_TEXT.search(response.headers.get("location", ""))
            if moved is None:
                raise PermanentFetchError(f"{response.request.url}: redirected to no NCT id")
            return moved.group(0).upper(), None
        return None, json_body(response)


def page_marks(page: Page) -> list[Mark]:
    """The watermarks of a page asked with the watermark ``fields``."""
    marks = [to_mark(s) for s in page.studies]
    if any(m is None for m in marks):
        raise PermanentFetchError(f"{STUDIES_PATH}: a study without a valid NCTId in the answer")
    return [m for m in marks if m is not None]
