"""The status ISRCTN shows, derived as the registry derives it. Pure: ``today`` is passed in.

The default XML has no status field. The website computes one from the recruitment overrides
and the dates (dl_isrctn's ``processor.rs`` and ctrdata's ``f_statusRecruitment.R`` read it the
same way), so trialmon does too, on every cycle: the status moves with the calendar, without an
edit or a new version, and such a move is reported once, marked ``derived``.

Order of the rules: a status override (``Stopped``; otherwise usually ``Suspended``) wins; then
the start override ``Anticipated`` (not yet recruiting); then the dates: the overall end passed
-> ``Completed``; recruitment not started -> ``Not yet recruiting``; recruitment ended ->
``No longer recruiting``; recruitment started -> ``Recruiting``; no usable date -> ``Unknown``.
The words are the website's ("Recruitment status" while the study runs, "Completed" after).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from monitor.normalize import StatusWord, Vocabulary

NOT_YET = "Not yet recruiting"
RECRUITING = "Recruiting"
NO_LONGER = "No longer recruiting"
COMPLETED = "Completed"
STOPPED = "Stopped"
SUSPENDED = "Suspended"
UNKNOWN = "Unknown"


#: Every status word trialmon may store for an ISRCTN trial, with its meaning.
VOCABULARY = Vocabulary(
    statuses={
        NOT_YET: StatusWord("pending"),
        RECRUITING: StatusWord("recruiting"),
        NO_LONGER: StatusWord("active"),
        COMPLETED: StatusWord("completed"),
        STOPPED: StatusWord("stopped", critical=True),
        SUSPENDED: StatusWord("stopped", critical=True),
        UNKNOWN: StatusWord("unknown"),
    },
    labels={
        "identification.trial_id": "ISRCTN number",
        "dates.completion": "Overall end date",
    },
)


@dataclass(frozen=True)
class Calendar:
    """What the derived status depends on: the overrides and three ISO days (or None)."""

    status_override: str | None = None
    start_override: str | None = None
    recruitment_start: str | None = None
    recruitment_end: str | None = None
    overall_end: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Calendar:
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{k: v if isinstance(v, str) else None for k, v in known.items()})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def derive(calendar: Calendar, today: date) -> str:
    """The status words ISRCTN shows for ``calendar`` on ``today`` (see the module docstring)."""
    if calendar.status_override:
        return calendar.status_override
    if calendar.start_override == "Anticipated":
        return NOT_YET
    if calendar.start_override:
        return calendar.start_override
    return _by_dates(calendar, today)


def _by_dates(calendar: Calendar, today: date) -> str:
    end, start = _day(calendar.overall_end), _day(calendar.recruitment_start)
    recruitment_end = _day(calendar.recruitment_end)
    if end is not None and end <= today:
        return COMPLETED
    if start is None:
        return UNKNOWN
    if start > today:
        return NOT_YET
    if recruitment_end is not None and recruitment_end <= today:
        return NO_LONGER
    return RECRUITING
