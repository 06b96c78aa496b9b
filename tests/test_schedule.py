"""Scheduler wiring: triggers read as users write them, one cycle at a time, a clean stop."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import ScheduleConfig, parse_config
from monitor.errors import ConfigError
from monitor.schedule import (
    CRON_MISFIRE_GRACE,
    JOB_ID,
    add_cycle_job,
    build_trigger,
    cron_trigger,
    crontab_weekdays,
    describe,
    make_scheduler,
    misfire_grace,
    run_daemon,
    stop_on_signals,
)

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY_NOON = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
EVERY_SECOND = ScheduleConfig(every_seconds=1)


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),  # APScheduler alone would read Tuesday to Saturday
        ("0", "sun"),
        ("7", "sun"),
        ("6,0", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("fri-sun", "sun,fri,sat"),
        ("5-7", "sun,fri,sat"),
    ],
)
def test_crontab_weekdays_are_read_as_cron_reads_them(field: str, days: str) -> None:
    assert crontab_weekdays(field) == days


@pytest.mark.parametrize("field", ["8", "5-1", "mo", "*/0", "1-"])
def test_unusable_weekdays_are_refused(field: str) -> None:
    with pytest.raises(ValueError):
        crontab_weekdays(field)


def test_weekday_cron_fires_monday_morning_in_its_time_zone() -> None:
    trigger = cron_trigger("0 7 * * 1-5", BERLIN)
    fire = trigger.get_next_fire_time(None, SATURDAY_NOON)
    assert fire == datetime(2026, 1, 5, 7, 0, tzinfo=BERLIN)
    assert fire.astimezone(UTC).hour == 6


def test_day_of_month_or_weekday_as_in_cron() -> None:
    trigger = cron_trigger("0 7 10 * 1", UTC)  # the 10th, or any Monday
    first = trigger.get_next_fire_time(None, SATURDAY_NOON)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert (first.day, second.day) == (5, 10)  # Monday the 5th, then Saturday the 10th


def test_config_refuses_a_bad_weekday_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[schedule\] cron: '0 7 \* \* 9'"):
        parse_config({"schedule": {"cron": "0 7 * * 9"}})


def test_interval_trigger_carries_jitter_and_time_zone() -> None:
    config = ScheduleConfig(every_seconds=6 * 3600, timezone="Europe/Berlin", jitter=120)
    trigger = build_trigger(config)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(hours=6)
    assert trigger.jitter == 120
    assert trigger.timezone == BERLIN
    assert describe(config) == "every 6h (Europe/Berlin), jitter 120s"


def test_cron_schedule_description_and_grace() -> None:
    config = ScheduleConfig(every_seconds=None, cron="0 7 * * *", timezone="UTC")
    assert describe(config) == 'cron "0 7 * * *" (UTC)'
    assert misfire_grace(config) == CRON_MISFIRE_GRACE
    assert misfire_grace(ScheduleConfig(every_seconds=5400)) == 5400


def test_jobs_never_overlap_and_coalesce() -> None:
    config = ScheduleConfig(every_seconds=60)
    job = add_cycle_job(make_scheduler(config), config, lambda: None, wait=False)
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 60)
    assert job.next_run_time <= datetime.now(UTC)  # the first cycle at start
    waiting = add_cycle_job(make_scheduler(config), config, lambda: None, wait=True)
    assert not hasattr(waiting, "next_run_time")  # computed from the trigger at start


def test_first_cycle_at_start_then_stop_returns() -> None:
    stop = threading.Event()
    calls: list[float] = []
    heard: list[datetime | None] = []

    def cycle() -> None:
        calls.append(time.monotonic())
        stop.set()

    started = time.monotonic()
    run_daemon(EVERY_SECOND, cycle, stop, on_next=heard.append)
    assert len(calls) == 1
    assert calls[0] - started < 0.9  # at start, not after the first interval
    assert isinstance(heard[0], datetime)  # the next start, heard when the scheduler started
    assert heard[-1] is None  # cleared when the daemon stops


def test_wait_skips_the_cycle_at_start() -> None:
    stop = threading.Event()
    calls: list[int] = []

    def on_next(when: datetime | None) -> None:
        if when is not None:
            assert when > datetime.now(UTC) + timedelta(seconds=0.5)
            stop.set()

    run_daemon(EVERY_SECOND, lambda: calls.append(1), stop, wait=True, on_next=on_next)
    assert calls == []


def test_stop_waits_for_the_running_cycle_to_finish() -> None:
    stop = threading.Event()
    finished = threading.Event()

    def cycle() -> None:
        stop.set()  # as a SIGTERM mid-cycle would
        time.sleep(0.3)  # the study being processed when the stop came
        finished.set()

    run_daemon(EVERY_SECOND, cycle, stop)
    assert finished.is_set()


def test_a_failing_cycle_is_logged_and_the_daemon_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = threading.Event()
    calls: list[int] = []

    def cycle() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        stop.set()

    with caplog.at_level(logging.INFO, logger="monitor.schedule"):
        run_daemon(EVERY_SECOND, cycle, stop)
    assert len(calls) == 2
    assert "cycle failed: RuntimeError: boom" in caplog.text
    assert "next cycle at" in caplog.text
    assert JOB_ID == "cycle"


class Heard(logging.Handler):
    """Sets ``event`` when a record containing ``needle`` is logged (no polling, no sleep)."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.event.set()


def test_a_start_due_while_a_cycle_runs_is_skipped_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The scheduler's own path: a start due while the cycle still runs is refused by
    ``max_instances`` and reported through the listener (it raised AttributeError before)."""
    stop = threading.Event()
    heard = Heard("is skipped")
    logging.getLogger("monitor.schedule").addHandler(heard)

    def cycle() -> None:  # runs until the next start (1 s later) has been skipped
        heard.event.wait(timeout=20)
        stop.set()

    try:
        with caplog.at_level(logging.INFO):
            run_daemon(EVERY_SECOND, cycle, stop)
    finally:
        logging.getLogger("monitor.schedule").removeHandler(heard)
    assert heard.event.is_set()
    skipped = [r for r in caplog.records if "is skipped" in r.getMessage()]
    assert re.fullmatch(
        r"a cycle is still running: the one due at \d{4}-\d\d-\d\dT[\d:]{8}\+00:00 is skipped",
        skipped[0].getMessage(),
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_signals_set_the_stop_event_while_installed() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(threading.Event()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) == before
