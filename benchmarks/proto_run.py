"""PROTOTYPE: one ``trialmon run --source DIR`` cycle with the prototype reader (proto_reader.py).

    python benchmarks/proto_run.py --config CONFIG run --source DIR [--workers N] [--no-freeze]

Everything but the reader is trialmon's own: the config, the store, the pipeline, the outbox,
the summary line. ``--workers`` (default: the cores) sets the first pass's processes (1: in
this process); the cyclic GC's start-up objects are frozen (``gc.freeze``) unless
``--no-freeze``; ``--detect-workers`` (default: the cores; 0: in this process) run the changed
records' normalize -> compare -> classify (``proto_detect.py``). The peak RSS of the workers is
printed on stderr (the harness measures this process's own with ``wait4``).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import proto_detect  # noqa: E402
from proto_reader import iter_records  # noqa: E402

from monitor.cli import build_notifiers, build_outbox, open_store, summary_line  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.firstpass import usable_cores  # noqa: E402
from monitor.pipeline import Cycle, Item, missing_watched, run_cycle  # noqa: E402
from monitor.times import now_utc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("command", choices=["run"])
    p.add_argument("--source", required=True)
    p.add_argument("--workers", type=int)
    p.add_argument("--no-freeze", action="store_true")
    p.add_argument("--detect-workers", type=int, help="0: normalize/diff here (default: cores)")
    args = p.parse_args(argv)
    detect_workers = usable_cores() if args.detect_workers is None else args.detect_workers
    pool = proto_detect.install(detect_workers) if detect_workers > 0 else None
    if not args.no_freeze:
        gc.freeze()  # what start-up allocated is never garbage: keep it out of every collection
    config = load_config(args.config)
    notifiers = build_notifiers(config)
    store = open_store(config)
    try:
        watched = config.watch.studies
        items: Iterator[Item] = iter_records(
            Path(args.source), watched, store.source_hashes, args.workers
        )
        if watched:
            items = missing_watched(items, watched, args.source)
        cycle = Cycle(
            store, config.changes, now_utc(), "files", build_outbox(config, store, notifiers)
        )
        report = run_cycle(cycle, items)
    finally:
        store.close()
        if pool:
            pool.shutdown()
    print(summary_line(report))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"proto_run: peak RSS of a worker {workers:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
