"""What a cycle's database check costs: ``PRAGMA quick_check`` in the page cache and from disk.

    python benchmarks/quick_check.py DB OUT.json

Writes the wall and CPU seconds of the check with the file in the page cache (as the cycle
before left it) and after evicting it (``posix_fadvise(DONTNEED)``: as a daily cycle may find
it), and the file's size. The check reads every page back, so the cache is warm again after.
A cycle runs it when the file is not as the last clean cycle left it, and every 7th cycle
(``monitor/store/health.py``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path


def timed(db: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("PRAGMA quick_check").fetchall()
    finally:
        conn.close()
    if found != [("ok",)]:
        sys.exit(f"quick_check: {found[:3]}")
    return time.perf_counter() - start, time.process_time() - cpu


def evict(db: Path) -> None:
    for file in (db, db.with_name(db.name + "-wal")):
        if file.exists():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main(db: str, out: str) -> int:
    path = Path(db)
    timed(path)  # the cache as a cycle that just wrote leaves it
    warm, warm_cpu = timed(path)
    evict(path)
    cold, cold_cpu = timed(path)
    data = {"warm": warm, "warm_cpu": warm_cpu, "cold": cold, "cold_cpu": cold_cpu}
    data["bytes"] = path.stat().st_size
    Path(out).write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
