"""One measured row (a program on one release of one shape), the table it prints in, the machine."""

from __future__ import annotations

import os
import platform
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    """One program on one release of one shape."""

    shape: str
    cycle: int
    part: str
    studies: int
    seconds: float
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None
    db_bytes: int | None = None
    versions: int | None = None
    requests: int | None = None
    load: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.studies / self.seconds if self.seconds else float("inf")

    @property
    def cpu_rate(self) -> float | None:
        if self.cpu_seconds is None:
            return None
        return self.studies / self.cpu_seconds if self.cpu_seconds else float("inf")

    @property
    def kb_per_version(self) -> float | None:
        if not self.db_bytes or not self.versions:
            return None
        return self.db_bytes / self.versions / 1024


def say(message: str) -> None:
    print(message, flush=True)


HEADER = (
    f"{'cycle':>5}  {'program':<36} {'studies':>7} {'wall s':>7} {'CPU s':>7} {'studies/s':>9} "
    f"{'/CPU-s':>7} {'RSS MB':>6} {'DB MB':>6} {'KB/vers':>7} {'reqs':>5} {'load':>5}"
)


def _cell(value: float | int | None, width: int, digits: int = 0) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def show(row: Row) -> None:
    db = row.db_bytes / 2**20 if row.db_bytes else None
    say(
        f"{row.cycle:>5}  {row.part:<36} {row.studies:>7} {_cell(row.seconds, 7, 2)} "
        f"{_cell(row.cpu_seconds, 7, 2)} {_cell(row.rate, 9)} {_cell(row.cpu_rate, 7)} "
        f"{_cell(row.peak_rss_mb, 6)} {_cell(db, 6, 1)} {_cell(row.kb_per_version, 7, 1)} "
        f"{_cell(row.requests, 5)} {_cell(row.load, 5, 2)}   {row.note}"
    )


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def machine() -> dict[str, str]:
    model = memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def versions(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from snapshots").fetchone()[0])


def summary(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "select studies_new, studies_changed, studies_unchanged, changes_found, errors "
            "from runs order by id desc limit 1"
        ).fetchone()
    if row is None:
        return "no run recorded"
    return "{} new, {} changed, {} unchanged, {} changes, {} errors".format(*row)
