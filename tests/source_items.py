"""A live source's cycles as the core runs them, and its items sorted for assertions.

Registry-neutral: a test of a registry's live source subclasses :class:`SourceRunner` with how
to build its source over the runner's state, and reads the items with :func:`records`,
:func:`events` and :func:`errors`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StudyError
from monitor.registries.base import LiveSource
from monitor.registries.passes import DictState


class LoggingFake(Protocol):
    """A loopback fake that counts the requests it received since its log was cleared."""

    def clear_log(self) -> None: ...

    def count(self) -> int: ...


class SourceRunner:
    """Cycles of a source over one state mapping, each ``days`` after the previous one."""

    def __init__(self, fake: LoggingFake, now: datetime) -> None:
        self.fake = fake
        self.state: dict[str, Any] = {}
        self.now = now

    def source(self, state: DictState, watched: list[str], queries: list[Any]) -> LiveSource:
        raise NotImplementedError

    def cycle(
        self, watched: list[str], queries: list[Any], *, days: int = 1
    ) -> tuple[list[Item], int]:
        """One cycle: its items (its checkpoints run) and the requests it made."""
        self.fake.clear_log()
        items = run(self.source(DictState(self.state), watched, queries))
        self.now += timedelta(days=days)
        return items, self.fake.count()


def run(source: LiveSource) -> list[Item]:
    """Every item of one cycle, then its checkpoints run (once every item before them is taken)."""
    items = list(source.items())
    for item in items:
        if isinstance(item, Checkpoint):
            item.action()
    return items


def records(items: list[Item]) -> dict[str, RawRecord]:
    return {i.trial_id or "": i for i in items if isinstance(i, RawRecord)}


def events(items: list[Item], kind: str) -> list[tuple[str | None, str | None]]:
    return [
        (i.trial_id, i.query or i.detail)
        for i in items
        if isinstance(i, RecordEvent) and i.kind == kind
    ]


def errors(items: list[Item]) -> list[StudyError]:
    return [i for i in items if isinstance(i, StudyError)]
