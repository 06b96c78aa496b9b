"""Crontab expressions read as cron reads them, for APScheduler 3.x triggers.

A leaf module: the config check (``[schedule] cron``) and the daemon both read an expression
here, so ``monitor.config`` never imports the scheduler wiring of ``monitor.schedule``.
"""

from __future__ import annotations

from datetime import tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expr: str, timezone: tzinfo, jitter: int | None = None) -> BaseTrigger:
    """A crontab expression read as cron reads it.

    Two differences of APScheduler 3.x are undone: it numbers weekdays from Monday = 0 (so
    ``1-5`` would mean Tuesday to Saturday), hence the day-of-week field is translated to day
    names; and it requires both day of month and day of week to match where cron takes
    either, hence a trigger that fires on either when both are restricted.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    days = crontab_weekdays(weekday)

    def make(day: str, days: str, jitter: int | None) -> CronTrigger:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=days,
            timezone=timezone,
            jitter=jitter,
        )

    if day != "*" and days != "*":
        return OrTrigger([make(day, "*", None), make("*", days, None)], jitter=jitter)
    return make(day, days, jitter)


def crontab_weekdays(field: str) -> str:
    """Crontab's day-of-week field (numbers, names, ranges, steps) as a list of day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for term in field.split(","):
        days.update(_weekday_term(term))
    return ",".join(DAYS[d] for d in sorted(days))


def _weekday_term(term: str) -> set[int]:
    span, _, step_text = term.partition("/")
    step = int(step_text) if step_text else 1
    if span == "*":
        first, last = 0, 6
    else:
        start, dash, end = span.partition("-")
        first = _weekday(start)
        last = _weekday(end) if dash else (7 if step_text else first)
        if last == 0 and first > 0:
            last = 7  # fri-sun
    if step < 1 or last < first:
        raise ValueError(f"day of week {term!r} is not a usable range")
    return {d % 7 for d in range(first, last + 1, step)}


def _weekday(text: str) -> int:
    name = text.strip().lower()
    if name in DAYS:
        return DAYS.index(name)
    if name.isdigit() and int(name) <= 7:
        return int(name)
    raise ValueError(f"day of week {text!r} is not 0-7 or a day name")
