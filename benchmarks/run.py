"""trialmon at registry scale: a synthetic corpus, K releases, trialmon and its peers on each.

    .venv/bin/python benchmarks/run.py                  # N=20,000, 3 releases, 2% changed
    .venv/bin/python benchmarks/run.py -n 100000 --parts offline
    .venv/bin/python benchmarks/run.py --smoke          # a tiny run (CI)

Every measured program runs as a child process: wall time and its own peak RSS (``wait4``).
trialmon runs as a user runs it (``python -m monitor run --source DIR``), start-up included.
Nothing here fails on speed: targets are printed as met or not.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api import LoopbackApi  # noqa: E402
from corpus import Corpus  # noqa: E402
from measure import check, run_child  # noqa: E402
from peers import GitHistory, Naive  # noqa: E402

PARTS = ("offline", "api", "git-history", "naive")
CONFIG = """\
database = "{db}"
source = "{source}"

[watch]
studies = []

[notify.log]
enabled = true
format = "text"
min_severity = "minor"
"""


@dataclass
class Row:
    """One program on one release."""

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


@dataclass
class Results:
    args: dict[str, Any]
    machine: dict[str, str]
    corpus: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)


# ------------------------------------------------------------------------ the programs


class Trialmon:
    """trialmon run --source DIR, as a child process, against its own database."""

    def __init__(self, root: Path, source: Path) -> None:
        self.db = root / "trialmon.db"
        self.config = root / "trialmon.toml"
        self.config.write_text(CONFIG.format(db=self.db, source=source))
        self.log = root / "trialmon.log"
        self.source = source

    def run(self, cycle: int, n: int) -> Row:
        argv = [sys.executable, "-m", "monitor", "--config", str(self.config), "run"]
        argv += ["--source", str(self.source)]
        load = load_average()
        measured = check(run_child(argv, self.log), "trialmon run", self.log)
        return Row(
            cycle,
            "trialmon (offline DIR)",
            n,
            measured.seconds,
            measured.cpu_seconds,
            measured.peak_rss_mb,
            db_bytes=sum(p.stat().st_size for p in self.db.parent.glob("trialmon.db*")),
            versions=versions(self.db),
            load=load,
            note=summary(self.db),
        )


def versions(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from snapshots").fetchone()[0])


def summary(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "select studies_new, studies_changed, studies_unchanged, changes_found, errors "
            "from runs order by id desc limit 1"
        ).fetchone()
    return "{} new, {} changed, {} unchanged, {} changes, {} errors".format(*row)


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def git_history_binary() -> Path | None:
    beside = Path(sys.executable).parent / "git-history"
    found = shutil.which("git-history")
    if beside.exists():
        return beside
    return Path(found) if found and shutil.which("git") else None


# ------------------------------------------------------------------------ the run


def machine() -> dict[str, str]:
    import os
    import platform

    model = "unknown"
    memory = "unknown"
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


def run(args: argparse.Namespace) -> Results:
    parts = set(args.parts)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="trialmon-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    results = Results(args=vars(args), machine=machine())
    say(" ".join(f"{k}={v}" for k, v in results.machine.items()))
    say(f"N={args.n} releases={args.cycles} changed={args.changed:.1%} working in {root}")
    try:
        corpus = Corpus(root / "records", args.n, seed=args.seed)
        start = time.perf_counter()
        written = corpus.generate()
        results.corpus = {"studies": args.n, "bytes_per_study": round(written / args.n)}
        say(
            f"generated {args.n} synthetic studies, {written / args.n / 1024:.1f} KB each on "
            f"average ({time.perf_counter() - start:.1f} s)"
        )
        programs = Programs(root, corpus, parts, args)
        say(HEADER)
        try:
            for number in range(1, args.cycles + 1):
                results.rows += programs.cycle(number, args.changed)
        finally:
            programs.close()
        return results
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


class Programs:
    """What runs on each release, in order."""

    def __init__(
        self, root: Path, corpus: Corpus, parts: set[str], args: argparse.Namespace
    ) -> None:
        self.corpus = corpus
        self.trialmon = Trialmon(root, corpus.directory) if "offline" in parts else None
        binary = git_history_binary() if "git-history" in parts else None
        if "git-history" in parts and binary is None:
            say("git-history skipped: not installed (pip install -e '.[bench]')")
        self.git_binary = binary
        self.git = GitHistory(root / "git-history", root / "git-history.log") if binary else None
        self.naive = Naive(corpus, args.naive_sample) if "naive" in parts else None
        self.api = LoopbackApi(root, corpus) if "api" in parts else None

    def close(self) -> None:
        if self.api:
            self.api.stop()

    def cycle(self, number: int, fraction: float) -> list[Row]:
        rows: list[Row] = []
        sample = self.naive.before(number) if self.naive and number > 1 else None
        if number > 1:
            start = time.perf_counter()
            changed = self.corpus.cycle(number, fraction)
            say(
                f"release {number}: {len(changed)} studies changed "
                f"({time.perf_counter() - start:.1f} s to write)"
            )
        if self.trialmon:
            rows.append(self.trialmon.run(number, self.corpus.n))
            show(rows[-1])
        if self.api:
            rows.append(self.loopback(number))
            show(rows[-1])
        if self.git and self.git_binary:
            rows.append(self.git_history(number))
            show(rows[-1])
        if self.naive and sample:
            load = load_average()
            seconds, cpu, count, differing = self.naive.after(sample)
            note = f"sample of {count}, {differing} differing; in-process"
            row = Row(number, "naive DeepDiff on raw pairs", count, seconds, cpu, load=load)
            row.note = note
            rows.append(row)
            show(rows[-1])
        return rows

    def git_history(self, number: int) -> Row:
        assert self.git and self.git_binary
        committed = self.git.commit(self.corpus, number)
        load = load_average()
        measured = self.git.build(self.git_binary)
        return Row(
            number,
            "git-history file",
            self.corpus.n,
            measured.seconds,
            measured.cpu_seconds,
            measured.peak_rss_mb,
            db_bytes=self.git.size(),
            versions=self.git.versions(),
            load=load,
            note=f"git add+commit of the release took {committed:.1f} s more",
        )

    def loopback(self, number: int) -> Row:
        assert self.api
        load = load_average()
        measured, requests = self.api.run()
        minutes = requests / 50
        return Row(
            number,
            "trialmon (loopback API)",
            self.corpus.n,
            measured.seconds,
            measured.cpu_seconds,
            measured.peak_rss_mb,
            db_bytes=self.api.size(),
            versions=versions(self.api.db),
            requests=requests,
            load=load,
            note=f"{summary(self.api.db)}; {minutes:.1f} min at 50 requests/min",
        )


# ------------------------------------------------------------------------ output


def say(message: str) -> None:
    print(message, flush=True)


HEADER = (
    f"{'cycle':>5}  {'program':<27} {'studies':>7} {'wall s':>7} {'CPU s':>7} {'studies/s':>9} "
    f"{'/CPU-s':>7} {'RSS MB':>6} {'DB MB':>6} {'KB/vers':>7} {'reqs':>5} {'load':>5}"
)


def _cell(value: float | int | None, width: int, digits: int = 0) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def show(row: Row) -> None:
    db = row.db_bytes / 2**20 if row.db_bytes else None
    say(
        f"{row.cycle:>5}  {row.part:<27} {row.studies:>7} {_cell(row.seconds, 7, 2)} "
        f"{_cell(row.cpu_seconds, 7, 2)} {_cell(row.rate, 9)} {_cell(row.cpu_rate, 7)} "
        f"{_cell(row.peak_rss_mb, 6)} {_cell(db, 6, 1)} {_cell(row.kb_per_version, 7, 1)} "
        f"{_cell(row.requests, 5)} {_cell(row.load, 5, 2)}   {row.note}"
    )


def ratios(results: Results) -> list[str]:
    """Peers against trialmon (offline) on the same releases, after the first."""
    lines = []
    by = {(r.cycle, r.part): r for r in results.rows}
    for cycle in sorted({r.cycle for r in results.rows if r.cycle > 1}):
        ours = by.get((cycle, "trialmon (offline DIR)"))
        if ours is None:
            continue
        for part in ("git-history file", "naive DeepDiff on raw pairs", "trialmon (loopback API)"):
            theirs = by.get((cycle, part))
            if theirs is None:
                continue
            line = (
                f"cycle {cycle}: trialmon (offline) vs {part}: {ours.rate / theirs.rate:,.1f}x "
                f"the studies per wall second"
            )
            if ours.cpu_rate and theirs.cpu_rate:
                line += f", {ours.cpu_rate / theirs.cpu_rate:,.1f}x per CPU second"
            lines.append(line)
    return lines


def targets(results: Results) -> list[str]:
    offline = [r for r in results.rows if r.part == "trialmon (offline DIR)"]
    ours = [r for r in results.rows if r.part.startswith("trialmon")]
    lines = []
    if later := [r for r in offline if r.cycle > 1]:
        slowest = min(later, key=lambda r: r.rate)
        lines.append(
            f"cycles >= 2 through the offline source, the slowest: {slowest.rate:,.0f} studies "
            f"per wall second, {slowest.cpu_rate or 0:,.0f} per CPU second "
            f"(target >= 2,000 at N=20,000)"
        )
    for part in sorted({r.part for r in ours}):
        peak = max(r.peak_rss_mb or 0 for r in ours if r.part == part)
        lines.append(f"peak RSS of a cycle, {part}: {peak:.0f} MB (target < 300 MB at N=100,000)")
    if offline:
        final = offline[-1]
        lines.append(
            f"database: {final.kb_per_version or 0:.1f} KB per study-version over "
            f"{final.versions} versions (target <= 25 KB)"
        )
    return lines


def report(results: Results) -> None:
    say("")
    for line in ratios(results) + targets(results):
        say(line)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=20_000, help="studies in the corpus (20000)")
    p.add_argument("-k", "--cycles", type=int, default=3, help="releases, the first a baseline")
    p.add_argument("--changed", type=float, default=0.02, help="fraction changed per release")
    p.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to run (all)"
    )
    p.add_argument("--naive-sample", type=int, default=300, help="pairs the naive peer diffs")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--workdir", help="where to build the corpus (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    p.add_argument("--smoke", action="store_true", help="a tiny configuration, for CI")
    args = p.parse_args(argv)
    if args.smoke:
        args.n, args.cycles, args.changed, args.naive_sample = 40, 3, 0.1, 10
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    report(results)
    if args.json_out:
        data = asdict(results)
        Path(args.json_out).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
