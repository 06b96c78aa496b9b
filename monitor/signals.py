"""Stopping at a study boundary: SIGTERM and SIGINT set an event instead of killing the process.

Its own module so that ``trialmon run`` need not import the scheduler (apscheduler) for it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("monitor.schedule")  # the logger these messages always had


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """While inside, SIGTERM and SIGINT set ``stop`` instead of killing the process."""

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.info("%s again: still stopping at the next study boundary", name)
        else:
            log.info("%s received: stopping at the next study boundary", name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
