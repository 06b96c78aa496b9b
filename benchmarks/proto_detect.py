"""PROTOTYPE: the changed records' normalize -> compare -> classify on every core.

``pipeline.next_snapshot`` is pure (no I/O, no clock: ``now`` is passed in), so a batch's
records that need it can be handed to worker processes, and the main process only reads the
store before and writes it after, in the batch's order, as ``pipeline.process_batch`` does.
:func:`install` swaps ``pipeline.process_batch`` for one that does so (a prototype's patch:
phase 2 makes it a parameter of the cycle). What a worker raises comes back as a value and is
raised where ``next_snapshot`` would have raised it, so errors are handled as before.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from monitor import pipeline
from monitor.configkit import ChangesConfig
from monitor.models import RawRecord, RunReport
from monitor.store import Latest, NewSnapshot

Job = tuple[RawRecord, Latest | None, ChangesConfig, datetime, str | None]
NEXT_SNAPSHOT = pipeline.next_snapshot  # the real one: workers forked after install() call it


def detect(job: Job) -> NewSnapshot | Exception | None:
    try:
        return NEXT_SNAPSHOT(*job)
    except Exception as e:  # raised again in the main process, where the pipeline handles it
        return e


def install(workers: int) -> ProcessPoolExecutor:
    method = "fork" if threading.active_count() == 1 else "spawn"
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
    ready: dict[int, NewSnapshot | Exception | None] = {}

    def next_snapshot(raw: RawRecord, *args: Any, **kwargs: Any) -> NewSnapshot | None:
        result = ready.pop(id(raw))
        if isinstance(result, Exception):
            raise result
        return result

    def process_batch(cycle: pipeline.Cycle, batch: Sequence[Any], report: RunReport) -> None:
        records = [i for i in batch if isinstance(i, RawRecord)]
        verdicts, latest = pipeline.sources_seen(cycle.store, records, cycle.now.date())
        seen = list(verdicts)
        jobs: list[Job] = [
            (r, latest.get(r.trial_id), cycle.rules, cycle.now, key)
            for r, (key, was_seen) in zip(records, seen, strict=True)
            if not was_seen
        ]
        for job, result in zip(jobs, pool.map(detect, jobs), strict=True):
            ready[id(job[0])] = result
        unchanged: list[str] = []
        remember: list[tuple[str, str]] = []
        verdict_iter = iter(seen)
        for item in batch:
            outcome = pipeline.process_item(cycle, item, verdict_iter, latest, report, remember)
            if outcome == "unchanged" and item.trial_id:
                unchanged.append(item.trial_id)
        cycle.store.touch(unchanged, pipeline.iso(cycle.now))
        cycle.store.remember_sources(remember)

    pipeline.next_snapshot = next_snapshot
    pipeline.process_batch = process_batch
    return pool
