"""The one home of trialmon's time format: ISO 8601 UTC to the second, ``2026-11-26T20:03:14Z``.

Every time trialmon stores or prints (``captured_at``, ``detected_at``, run and lock times) is
written by :func:`iso`; a registry's calendar date becomes a time by :func:`day_start`.
"""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second: ``2026-11-26T20:03:14Z`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(ISO_FORMAT)


def day_start(day: str) -> str:
    """A registry's ``yyyy-MM-dd`` date as the time it began (UTC): ``2019-07-16T00:00:00Z``."""
    return f"{day}T00:00:00Z"


def now_utc() -> datetime:
    """The current time, to the second (the composition root reads the clock; the core never)."""
    return datetime.now(UTC).replace(microsecond=0)
