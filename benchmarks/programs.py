"""The measured programs: each runs once per release as a child process and gives one Row.

- ``Trialmon``: ``python -m monitor run`` exactly as a user runs it, with its own config and
  database, on an offline directory (``--source DIR``) or the loopback API (``source =
  "ctgov"``). For the API the fake counts the requests of the cycle.
- ``Script``: another program (the prototypes, a peer) run the same way, for a Row.
- ``ParseLimit``: ``parse_limit.py`` on the release's page files.
- ``QuickCheck``: ``quick_check.py`` on a trialmon database (the cycle's check of the file).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from measure import check, run_child
from rows import Row, db_size, load_average, summary, versions

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIFTED_RATE = 600_000  # requests per minute: the cycle measures trialmon, not the limiter
PROFILES: list[Path] = []  # run.py --profile DIR: every trialmon run under cProfile, kept there

OFFLINE = """\
database = "{db}"
source = "{source}"

[watch]
studies = []

[notify.log]
enabled = true
format = "text"
min_severity = "minor"
"""

LIVE = """\
database = "{db}"
source = "ctgov"

[ctgov]
base_url = "{url}"
requests_per_minute = {rate}

[watch]
studies = [{ids}]
{queries}
[notify.log]
enabled = {log}
format = "text"
min_severity = "minor"
"""

EVERY_STUDY = """
[[watch.queries]]
name = "every study"
params = {{ "filter.advanced" = "AREA[LastUpdatePostDate]RANGE[MIN,MAX]" }}
"""


def offline_config(db: Path, source: Path) -> str:
    return OFFLINE.format(db=db, source=source)


def live_config(db: Path, url: str, ids: list[str], every_study: bool = False) -> str:
    return LIVE.format(
        db=db,
        url=url,
        rate=LIFTED_RATE,
        ids=", ".join(f'"{n}"' for n in ids),
        queries=EVERY_STUDY.format() if every_study else "",
        log="false" if every_study else "true",  # a first pass over a registry: 100,000 lines
    )


@dataclass
class Trialmon:
    """``trialmon run`` with its own config and database, in ``root/name``."""

    name: str
    root: Path
    config_text: Callable[[Path], str]  # the database path -> the config
    argv: list[str] = field(default_factory=list)
    requests: Callable[[], int] | None = None  # requests the cycle made (API shapes)
    before: Callable[[], None] | None = None  # e.g. reset the fake's request log
    command: list[str] = field(default_factory=lambda: ["-m", "monitor"])

    def __post_init__(self) -> None:
        self.folder = self.root / slug(self.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = self.folder / "trialmon.db"
        self.config = self.folder / "trialmon.toml"
        self.config.write_text(self.config_text(self.db))
        self.log = self.folder / "trialmon.log"

    def argv_of(self, shape: str, cycle: int) -> list[str]:
        program = [*self.command, "--config", str(self.config), "run", *self.argv]
        if not PROFILES:
            return [sys.executable, *program]
        out = PROFILES[0] / f"{shape}-{slug(self.name)}-cycle{cycle}.prof"
        return [sys.executable, str(HERE / "profile_cycle.py"), str(out), "--", *program]

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        argv = self.argv_of(shape, cycle)
        if self.before:
            self.before()
        load = load_average()
        measured = run_child(argv, self.log, cwd=REPO)
        if measured.returncode < 0:
            check(measured, self.name, self.log)  # the launcher itself failed: stop
        requests = self.requests() if self.requests else None
        note = summary(self.db) if self.db.exists() else "no database"
        if measured.returncode:
            note = f"exit {measured.returncode} ({last_line(self.log)}); {note}"
        if requests is not None:
            note += f"; {requests / 50:.1f} min at 50 requests/min"
        return Row(
            shape,
            cycle,
            self.name,
            studies,
            measured.seconds,
            measured.cpu_seconds,
            measured.peak_rss_mb,
            db_bytes=db_size(self.db) if self.db.exists() else None,
            versions=versions(self.db) if self.db.exists() else None,
            requests=requests,
            load=load,
            note=note,
        )


def last_line(log: Path) -> str:
    """The last line a failed program wrote (its error message), shortened."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def run_script(
    script: str, args: list[str], name: str, log: Path
) -> tuple[dict[str, Any], float | None, float]:
    """A measuring script of this folder as a child process: what it wrote as JSON, the load
    average when it started, and its peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        load = load_average()
        measured = check(
            run_child([sys.executable, str(HERE / script), *args, str(out)], log), name, log
        )
        return json.loads(out.read_text()), load, measured.peak_rss_mb


@dataclass
class ParseLimit:
    """One ``orjson.loads`` per page file, one core, GC off (``parse_limit.py``)."""

    pages: Path
    log: Path
    name: str = "parse limit (orjson, GC off)"

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        data, load, rss = run_script("parse_limit.py", [str(self.pages)], self.name, self.log)
        note = (
            f"loads only: {data['loads_seconds']:.2f} s wall, {data['loads_cpu_seconds']:.2f} s "
            f"CPU over {data['pages']} pages ({data['bytes'] / 2**20:.0f} MB); read+loads+free "
            f"{data['loop_seconds']:.2f} s"
        )
        cpu = data["loads_cpu_seconds"]
        seconds = data["loads_seconds"]
        return Row(shape, cycle, self.name, studies, seconds, cpu, rss, load=load, note=note)


@dataclass
class QuickCheck:
    """``PRAGMA quick_check`` of ``db`` in the page cache and from disk (``quick_check.py``)."""

    db: Path
    log: Path
    name: str = "PRAGMA quick_check"

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        data, load, rss = run_script("quick_check.py", [str(self.db)], self.name, self.log)
        note = (
            f"of {self.db.parent.name}'s database ({data['bytes'] / 2**20:.0f} MB): "
            f"{data['warm']:.2f} s in the page cache, {data['cold']:.2f} s from disk "
            f"({data['cold_cpu']:.2f} s CPU)"
        )
        seconds, cpu = data["warm"], data["warm_cpu"]
        return Row(shape, cycle, self.name, studies, seconds, cpu, rss, load=load, note=note)
