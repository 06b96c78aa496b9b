"""What a registry is: the plugin interface every registry package fills in.

A registry (``monitor/registries/<kind>/``) brings everything that is its own, as one
:class:`Registry` value its package exports as ``REGISTRY``:

* its trial ids (:class:`TrialIds`: the pattern that picks the registry for a watched id),
* its config section (``[<kind>]``: base_url, requests_per_minute, timeout, and its extras)
  and the parameters of its saved searches (``[[watch.queries]] registry = "<kind>"``),
* its live source (:data:`LiveFactory`: watched ids, saved searches, incremental detection),
  its offline file shapes (:class:`Offline`) and its record history if it has one
  (:class:`RecordHistory`),
* its normalizer into the canonical record (``docs/canonical-record.md``), with the status
  vocabulary :mod:`monitor.classify` receives as data,
* the links to a trial's page and history page, and how to move its older bookkeeping into
  the store's keyed state.

Nothing outside the package names the registry: the registration table
(:mod:`monitor.registries`) lists the packages, and the config, the CLI, the offline reader,
the backfill and the digest ask the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from monitor.configkit import LiveConfig, QueryWatch, Table
from monitor.filekey import ByteShape
from monitor.models import Item, RawRecord
from monitor.normalize import Vocabulary
from monitor.store.state import RegistryState, StateUpgrade
from monitor.times import day_start

if TYPE_CHECKING:  # the HTTP layer (httpx) is imported by a live cycle, not by the table
    from monitor.http import Http

# ---------------------------------------------------------------- ids and links


@dataclass(frozen=True)
class TrialIds:
    """How a registry numbers its trials.

    ``pattern`` matches a whole id once upper-cased and stripped (``NCT06009107``); ``claims``
    matches text that means to be such an id even when malformed (``NCT123``), so a message
    can say which form was expected.
    """

    pattern: re.Pattern[str]
    claims: re.Pattern[str]
    noun: str  # "an NCT id"
    hint: str  # "NCT followed by 8 digits"

    def normalize(self, text: str) -> str | None:
        """The id in its stored form, or None when ``text`` is not one of this registry."""
        value = text.strip().upper()
        return value if self.pattern.fullmatch(value) else None


@dataclass(frozen=True)
class Links:
    """A trial's pages on the registry's site (``{id}`` is replaced by the trial id)."""

    trial: str
    history: str | None = None  # its record history, when the site shows one

    def trial_page(self, trial_id: str) -> str:
        return self.trial.format(id=trial_id)

    def history_page(self, trial_id: str) -> str:
        """The page that shows what changed: the history tab, else the trial's page."""
        return (self.history or self.trial).format(id=trial_id)


# ---------------------------------------------------------------- offline files


@dataclass(frozen=True)
class FoundStudy:
    """One study found in an offline file, as the registry's raw record."""

    trial_id: str
    data: dict[str, Any]
    version: int | None = None


@dataclass
class FileRead:
    """What one file holds: its studies, and the problems that kept some of them out."""

    studies: list[FoundStudy] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # each names where in the file


class Offline(Protocol):
    """The file shapes a registry reads from an offline directory (``--source DIR``).

    The reader (:mod:`monitor.sources.files`) lists the files, parses a ``.json`` file once
    and offers the document to each registry in turn; another suffix is offered as bytes.
    A registry answers None for a shape that is not its own. The source key of a record read
    through :attr:`byte_shape` is the hash of its bytes without the daily stamp
    (``filekey.key_of``); it must cover everything its normalizer reads.
    """

    suffixes: tuple[str, ...]  # e.g. (".json", ".txt")
    shapes: str  # what it reads, for the message about a file nobody reads
    #: Where its JSON records keep their id and daily stamp, as bytes (:mod:`monitor.filekey`):
    #: a record whose key did not move is not parsed, a page is split into its records
    #: (:mod:`monitor.pagesplit`). None: its files are always parsed.
    byte_shape: ByteShape | None
    key_prefix: str  # of its keys: the record format's hash version, so formats never mix

    def from_json(self, doc: dict[str, Any], path: str) -> FileRead | None:
        """The studies of a parsed JSON object, or None when it is not this registry's."""

    def from_file(self, suffix: str, raw: bytes, path: str) -> FileRead | None:
        """The studies of a file of another suffix, or None when it is not this registry's."""


# ---------------------------------------------------------------- record history


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a trial's version list in the registry's record history."""

    version: int
    date: str  # yyyy-MM-dd
    status: str | None = None

    @property
    def captured_at(self) -> str:
        """The version's date as an ISO UTC time, the form of ``snapshots.captured_at``."""
        return day_start(self.date)


class JsonGetter(Protocol):
    """What a history needs of the HTTP layer: the parsed JSON body of a GET."""

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any: ...


class RecordHistory(Protocol):
    """A registry that keeps every version of a record (``trialmon backfill``)."""

    def versions(self, http: JsonGetter, trial_id: str) -> list[VersionInfo]:
        """The trial's versions by date, then number; ``[]`` when it has no history."""

    def version(self, http: JsonGetter, trial_id: str, info: VersionInfo) -> RawRecord:
        """One version as a raw record dated by the version (``captured_at``)."""


# ---------------------------------------------------------------- the live source


@dataclass(frozen=True)
class LiveContext:
    """Everything one cycle's live source of one registry gets from the composition root."""

    http: Http  # one rate limiter and retry policy for this registry
    config: Any  # the registry's own section (a LiveConfig)
    studies: tuple[str, ...]  # the watched ids of this registry
    queries: tuple[QueryWatch, ...]  # the saved searches of this registry
    state: RegistryState  # its keyed bookkeeping, written through the store's transactions
    markers: Callable[[Sequence[str]], Mapping[str, str | None]]  # stored last-update markers
    now: datetime
    force: bool = False  # check everything even when the registry says nothing is new


class LiveSource(Protocol):
    def items(self) -> Iterator[Item]:
        """One cycle's records, events, errors and checkpoints."""


LiveFactory = Callable[[LiveContext], LiveSource]


# ---------------------------------------------------------------- the registry


def _no_history() -> RecordHistory | None:
    return None


@dataclass(frozen=True)
class Registry:
    """One registry, as its package hands it to the registration table."""

    kind: str  # its key: config section, ``registry`` column, source of its live snapshots
    title: str  # its name for people, in messages
    ids: TrialIds
    config: Callable[[Table], LiveConfig]  # reads its section (defaults for a missing one)
    query_params: Callable[[dict[str, Any], str], Mapping[str, Any]]  # checks a search's params
    normalize: Callable[[dict[str, Any], date], dict[str, Any]]  # raw -> canonical (pure)
    source_hash: Callable[[dict[str, Any], date], str | None]  # of what normalize reads
    vocabulary: Vocabulary
    links: Links
    offline: Offline
    live: LiveFactory  # imports its HTTP code when called, not when the table is read
    history: Callable[[], RecordHistory | None] = _no_history
    state_upgrades: tuple[StateUpgrade, ...] = ()
