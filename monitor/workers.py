"""Worker processes, one per core, for the steps of a cycle that are pure CPU work.

Threads cannot share Python work (the GIL), so the offline reader's first pass and the changed
records' normalize -> compare -> classify run in processes. A pool lives for one cycle. Workers
are forked when this process runs no other thread (cheap: they share what is loaded) and
spawned otherwise (forking beside other threads can deadlock). A worker ends with the process
that started it, even one killed with SIGKILL: otherwise it would wait forever for work (its
siblings hold the queue's pipe open), keeping its memory and its copies of the caller's
stdout and stderr.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHAN_POLL = 0.5  # seconds between looks at the parent where prctl is not there


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool(count: int) -> ProcessPoolExecutor:
    """``count`` worker processes that end when this process ends."""
    return ProcessPoolExecutor(
        max_workers=count, mp_context=context(), initializer=end_with, initargs=(os.getpid(),)
    )


def context() -> BaseContext:
    """Fork when nothing else runs here (cheap); spawn beside other threads (safe)."""
    methods = multiprocessing.get_all_start_methods()
    alone = threading.active_count() == 1
    return multiprocessing.get_context("fork" if alone and "fork" in methods else "spawn")


def end_with(parent: int) -> None:
    """In a worker: be killed when ``parent`` dies (Linux), or look for it twice a second."""
    if sys.platform.startswith("linux") and _parent_death_signal():
        if os.getppid() != parent:  # it died before the signal was asked for
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _parent_death_signal() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL)
    os._exit(1)
