"""Everything the ISRCTN package takes from trialmon's core, in one place.

The items a source yields (``RawRecord``, ``RecordEvent``, ``StudyError``, ``Checkpoint``) are
built only here; the text cleaning, the generic cleaning and the version prefix of hashes are
the core's, shared by every registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.models import Checkpoint, Item, RawRecord, RecordEvent, StudyError
from monitor.normalize import clean_text, finish, generic, version_hash
from monitor.registries.isrctn.ids import KIND

__all__ = [
    "KIND",
    "Item",
    "checkpoint",
    "clean_text",
    "error",
    "event",
    "finish",
    "generic",
    "item_id",
    "raw_record",
    "version_hash",
]


def raw_record(trial_id: str, data: dict[str, Any], origin: str, key: str | None) -> RawRecord:
    """A live record of ``trial_id`` (the id it is watched under)."""
    return RawRecord(trial_id, data, KIND, origin, source_key=key, registry=KIND)


def event(
    trial_id: str, kind: str, *, query: str | None = None, detail: str | None = None
) -> RecordEvent:
    return RecordEvent(trial_id, kind, query=query, detail=detail)


def error(trial_id: str | None, message: str, transient: bool = True) -> StudyError:
    return StudyError(trial_id, message, transient=transient)


def checkpoint(action: Callable[[], None]) -> Checkpoint:
    return Checkpoint(action)


def item_id(item: Item) -> str | None:
    """The trial an item is about (None for a checkpoint or a search-wide error)."""
    return item.trial_id
