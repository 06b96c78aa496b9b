"""APScheduler 3.x wiring for ``trialmon daemon``: triggers, one cycle at a time, clean stop.

Only wiring lives here; what a cycle does is a callable the CLI passes in. A stop request
(SIGTERM/SIGINT) sets an event: the running cycle sees it at its next study boundary through
``Cycle.should_stop``, the scheduler is shut down from a helper thread (never from inside the
signal handler), and :func:`run_daemon` returns once the cycle has committed and returned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import ScheduleConfig
from monitor.cron import cron_trigger as cron_trigger  # re-exported: its home is monitor.cron
from monitor.cron import crontab_weekdays as crontab_weekdays
from monitor.signals import stop_on_signals as stop_on_signals  # its home before

log = logging.getLogger(__name__)

JOB_ID = "cycle"
CRON_MISFIRE_GRACE = 3600  # a cron cycle up to an hour late (host asleep, busy) still runs
NEXT_EVENTS = (
    EVENT_SCHEDULER_STARTED
    | EVENT_JOB_EXECUTED
    | EVENT_JOB_ERROR
    | EVENT_JOB_MISSED
    | EVENT_JOB_MAX_INSTANCES
)


# ---------------------------------------------------------------- triggers


def build_trigger(config: ScheduleConfig) -> BaseTrigger:
    tz = ZoneInfo(config.timezone)
    jitter = config.jitter or None
    if config.cron:
        return cron_trigger(config.cron, tz, jitter)
    assert config.every_seconds is not None
    return IntervalTrigger(seconds=config.every_seconds, timezone=tz, jitter=jitter)


def describe(config: ScheduleConfig) -> str:
    """``every 6h (UTC)`` or ``cron "0 7 * * 1-5" (Europe/Berlin), jitter 60s``."""
    if config.cron:
        what = f'cron "{config.cron}"'
    else:
        assert config.every_seconds is not None
        what = f"every {duration_text(config.every_seconds)}"
    jitter = f", jitter {config.jitter}s" if config.jitter else ""
    return f"{what} ({config.timezone}){jitter}"


def duration_text(seconds: int) -> str:
    """3600 -> ``1h``, 5400 -> ``1h30m``, 90061 -> ``1d1h1m1s``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def misfire_grace(config: ScheduleConfig) -> int:
    """How late a cycle may start and still run; later ones fold into the next (coalesce)."""
    if config.cron:
        return CRON_MISFIRE_GRACE
    assert config.every_seconds is not None
    return max(1, config.every_seconds)


# ---------------------------------------------------------------- the daemon


def run_daemon(
    config: ScheduleConfig,
    cycle: Callable[[], Any],
    stop: threading.Event,
    *,
    wait: bool = False,
    on_next: Callable[[datetime | None], None] = lambda when: None,
) -> None:
    """Run ``cycle`` on the schedule until ``stop`` is set; return once no cycle runs.

    ``wait`` (or ``run_at_start = false``) skips the cycle at start. ``on_next`` hears the
    next scheduled start after each cycle (None once the daemon stops).
    """
    busy = threading.Lock()
    scheduler = make_scheduler(config)
    add_cycle_job(scheduler, config, guarded(cycle, busy, stop), wait=wait)
    scheduler.add_listener(_on_event(scheduler, stop, on_next), NEXT_EVENTS)
    scheduler.start()  # blocks until the stopper thread shuts it down
    with busy:  # a cycle still running finishes its study, commits and returns
        pass
    _tell(on_next, None)


def make_scheduler(config: ScheduleConfig) -> BlockingScheduler:
    return BlockingScheduler(
        timezone=ZoneInfo(config.timezone),
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )


def add_cycle_job(
    scheduler: BlockingScheduler, config: ScheduleConfig, func: Callable[[], Any], *, wait: bool
) -> Job:
    """The one job: never two at once, missed starts folded into one, first run at start."""
    first = {} if wait or not config.run_at_start else {"next_run_time": datetime.now(UTC)}
    return scheduler.add_job(
        func,
        build_trigger(config),
        id=JOB_ID,
        name="trialmon cycle",
        max_instances=1,  # never two cycles at once in this process
        coalesce=True,  # cycles missed while busy or asleep run once, not in a burst
        misfire_grace_time=misfire_grace(config),
        **first,
    )


def guarded(
    cycle: Callable[[], Any], busy: threading.Lock, stop: threading.Event
) -> Callable[[], None]:
    """The job: one cycle under ``busy``; an error is logged and the daemon goes on."""

    def job() -> None:
        with busy:
            if stop.is_set():
                return
            try:
                cycle()
            except Exception as e:  # the daemon must outlive a bad cycle
                log.error(
                    "cycle failed: %s: %s",
                    type(e).__name__,
                    e,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )

    return job


def _on_event(
    scheduler: BlockingScheduler,
    stop: threading.Event,
    on_next: Callable[[datetime | None], None],
) -> Callable[[SchedulerEvent], None]:
    def listener(event: SchedulerEvent) -> None:
        if event.code == EVENT_SCHEDULER_STARTED:
            threading.Thread(
                target=_stopper, args=(scheduler, stop), name="trialmon-stopper", daemon=True
            ).start()
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning(
                "a cycle is still running: the one due at %s is skipped",
                _times(event.scheduled_run_times),
            )
        if stop.is_set():
            return
        job = scheduler.get_job(JOB_ID)
        when = job.next_run_time if job else None
        log.info("next cycle at %s", when.isoformat(timespec="seconds") if when else "never")
        _tell(on_next, when)

    return listener


def _times(times: list[datetime]) -> str:
    return ", ".join(t.isoformat(timespec="seconds") for t in times) or "now"


def _stopper(scheduler: BlockingScheduler, stop: threading.Event) -> None:
    stop.wait()
    with suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=False)


def _tell(on_next: Callable[[datetime | None], None], when: datetime | None) -> None:
    try:
        on_next(when)
    except Exception as e:  # recording the next start is a courtesy, never fatal
        log.warning("could not record the next cycle time: %s", e)
