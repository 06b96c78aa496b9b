"""Run the trialmon CLI in this process and SIGKILL it at a chosen point (crash tests only).

    python -m tests.crashrun POINT N [trialmon arguments...]

kills the process with SIGKILL the N-th time execution reaches POINT. The points are placed
by wrapping trialmon's own functions here, in the test tree, so the product carries no
fault-injection hook: a kill point is exact and repeatable (a kill timed from outside lands
wherever the scheduler puts it; those are tested too, by killing ``python -m monitor``).

    python -m tests.crashrun pause:POINT N [trialmon arguments...]

instead stops the process with SIGSTOP every N-th time it reaches POINT, for a test that looks
at the database at that exact moment (``os.waitpid(pid, os.WUNTRACED)``) and then sends SIGCONT.

The steps that run on every core (the offline reader's first pass, the changed records'
normalize -> compare -> classify) do so here whatever the
size of the corpus (:func:`on_every_core`): a killed cycle leaves its workers to end on their
own, and the run after it must not care.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from monitor import cli, detection, firstpass, pipeline
from monitor.notify import log
from monitor.notify.log import LogNotifier
from monitor.notify.outbox import Outbox
from monitor.sources import files
from monitor.store import Store


def die() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def pause() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP)  # the test looks at the database, then sends SIGCONT


def every(step: int) -> Callable[[], bool]:
    calls = 0

    def reached() -> bool:
        nonlocal calls
        calls += 1
        return calls % step == 0

    return reached


def counting(target: int) -> Callable[[], bool]:
    calls = 0

    def reached() -> bool:
        nonlocal calls
        calls += 1
        return calls == target

    return reached


def before(
    owner: Any, name: str, reached: Callable[[], bool], action: Callable[[], None] = die
) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if reached():
            action()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def after(
    owner: Any, name: str, reached: Callable[[], bool], action: Callable[[], None] = die
) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if reached():
            action()
        return result

    setattr(owner, name, wrapper)


def halfway(
    owner: Any, name: str, reached: Callable[[], bool], action: Callable[[], None] = die
) -> None:
    """Around ``name(fd, data)``: write the first half of ``data``, then die there."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(fd: int, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if reached():
            original(fd, data[: len(data) // 2], *args, **kwargs)
            action()
        return original(fd, data, *args, **kwargs)

    setattr(owner, name, wrapper)


# point -> (where, function owner, function name)
POINTS: dict[str, tuple[Callable[..., None], Any, str]] = {
    "recovering": (after, Store, "mark_interrupted_runs"),  # runs of a crash closed, not queued
    "reading": (before, files, "_index_file"),  # first pass: a file's answer taken in
    "parsing": (before, files, "_one_record"),  # second pass: a moved file to be read (deferred)
    "loaded": (before, pipeline, "process_loaded"),  # ... read and detected on a worker, unwritten
    "mid-transaction": (before, Store, "_insert_changes"),  # snapshot inserted, not committed
    "between-studies": (after, Store, "save_snapshot"),  # a study committed, next not begun
    "touching": (before, Store, "touch"),  # unchanged studies about to be marked checked
    "run-finished": (after, Store, "finish_run"),  # run closed, digest not yet queued
    "queued": (after, Outbox, "enqueue"),  # digest queued, not yet sent
    "sending": (before, LogNotifier, "_write"),  # about to write the digest
    "sent": (after, LogNotifier, "_write"),  # digest written, not yet marked sent
    "mid-write": (halfway, log, "_write_all"),  # half of the digest written to the log file
}


def on_every_core() -> None:
    """The parallel steps run in worker processes even on the tests' small corpus, so the
    kill points (all in the main process) cover them."""
    firstpass.MIN_PARALLEL_BYTES = 0
    firstpass.FILES_PER_TASK = 16
    detection.FORKED_THRESHOLD = detection.SPAWNED_THRESHOLD = 1


def main(argv: list[str]) -> None:
    on_every_core()
    point, target, *args = argv
    if point.startswith("pause:"):
        where, owner, name = POINTS[point.removeprefix("pause:")]
        where(owner, name, every(int(target)), pause)
    else:
        where, owner, name = POINTS[point]
        where(owner, name, counting(int(target)))
    sys.argv = ["trialmon", *args]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
