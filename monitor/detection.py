"""The changed records' normalize -> compare -> classify on every core: a pipeline Detector.

:func:`monitor.pipeline.next_snapshot` is pure (no I/O, no clock: ``now`` is passed in), so
the records a batch must detect are sent to worker processes (:mod:`monitor.workers`) while
this process goes on reading the next batch and writing the one before, in order: one
transaction per study and every crash point as before. A worker's result, or what it raised
(as a ``pipeline.Failed``), comes back with the job's record.

Workers cost their start (a fork: ~10 ms; a spawn, beside other threads as in the daemon: each
imports trialmon, ~0.3 s) and each job its pickling (~0.1 ms against ~1.5-3 ms of detection).
So the pool starts only once the cycle has met enough records to detect (``threshold``,
measured in ``benchmarks/README.md``); until then, and in a cycle that never gets there, they
are detected here, as they are written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from monitor import workers
from monitor.pipeline import Detected, Job, detect_all

FORKED_THRESHOLD = 8  # records to detect before forked workers pay for themselves (~10 ms)
SPAWNED_THRESHOLD = 400  # ... spawned ones (each imports trialmon)
log = logging.getLogger(__name__)

CHUNKS_PER_WORKER = 2  # a batch's jobs in this many tasks per worker: balanced, few round trips


class PoolDetector:
    """Detection on ``processes`` workers (default: the cores), started when worth it."""

    def __init__(self, processes: int | None = None, threshold: int | None = None) -> None:
        self.processes = processes if processes is not None else workers.usable_cores()
        self.threshold = threshold
        self.seen = 0  # records to detect met so far this cycle
        self.pool: ProcessPoolExecutor | None = None

    def start(self, jobs: list[Job]) -> Callable[[], list[Detected]]:
        self.seen += len(jobs)
        if self.pool is None and (self.processes < 2 or self.seen < self.enough()):
            return lambda: detect_all(jobs)
        if self.pool is None:
            self.pool = workers.pool(self.processes)
        parts = self.parts(jobs)
        futures = [self.pool.submit(detect_all, part) for part in parts]
        return lambda: _gathered(futures, parts)

    def enough(self) -> int:
        if self.threshold is not None:
            return self.threshold
        forked = workers.context().get_start_method() == "fork"
        return FORKED_THRESHOLD if forked else SPAWNED_THRESHOLD

    def parts(self, jobs: list[Job]) -> list[list[Job]]:
        count = max(1, min(len(jobs), self.processes * CHUNKS_PER_WORKER))
        size = -(-len(jobs) // count)
        return [jobs[at : at + size] for at in range(0, len(jobs), size)]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None


def _gathered(futures: Sequence[Future[list[Detected]]], parts: list[list[Job]]) -> list[Detected]:
    """The workers' results in order; a part whose worker died (killed, out of memory) is
    detected here instead."""
    results: list[Detected] = []
    for future, part in zip(futures, parts, strict=True):
        try:
            results += future.result()
        except BrokenProcessPool:
            log.warning("a worker process ended early; detecting its %d records here", len(part))
            results += detect_all(part)
    return results
