"""Progress for long commands: a rich bar on a terminal, nothing at all otherwise.

Usage (the ``advance`` callable fits ``pipeline.Cycle.on_progress``)::

    with progress("Checking studies", total=len(ids)) as advance:
        for batch in batches:
            ...
            advance(len(batch))

    for item in track(items, "Backfilling", total=n):
        ...

The bar goes to stderr (stdout stays clean for ``--format json``) and disappears when done.
A cron job, a pipe or a test sees no output from this module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
Advance = Callable[[int], None]


def _quiet(steps: int) -> None:
    """The ``advance`` of a progress that shows nothing."""


def stderr_console() -> Console:
    from rich.console import Console  # rich costs ~30 ms to import: only when it can draw

    return Console(stderr=True)


def _no_terminal() -> bool:
    """stderr cannot show a bar (cron, a pipe, a test), and rich is not told to draw anyway."""
    forced = os.environ.get("FORCE_TERMINAL") or os.environ.get("TTY_COMPATIBLE")
    return not forced and not sys.stderr.isatty()


@contextmanager
def progress(
    description: str, total: int | None = None, *, console: Console | None = None
) -> Iterator[Advance]:
    """Yield ``advance(steps)``; draw a bar only when ``console`` (default stderr) is a terminal."""
    if console is None and _no_terminal():
        yield _quiet
        return
    console = console or stderr_console()
    if not console.is_terminal:
        yield _quiet
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda steps: bar.advance(task, steps)


def track(
    items: Iterable[T],
    description: str,
    total: int | None = None,
    *,
    console: Console | None = None,
) -> Iterator[T]:
    """Iterate over ``items``, advancing a bar by one per item on a terminal."""
    with progress(description, total, console=console) as advance:
        for item in items:
            yield item
            advance(1)
