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

from corpus import Corpus  # noqa: E402
from measure import check, run_child  # noqa: E402
from peers import GitHistory, Naive  # noqa: E402

PARTS = ("offline", "git-history", "naive")
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
    peak_rss_mb: float | None = None
    db_bytes: int | None = None
    versions: int | None = None
    requests: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.studies / self.seconds if self.seconds else float("inf")

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
        measured = check(run_child(argv, self.log), "trialmon run", self.log)
        return Row(
            cycle,
            "trialmon (offline DIR)",
            n,
            measured.seconds,
            measured.peak_rss_mb,
            db_bytes=sum(p.stat().st_size for p in self.db.parent.glob("trialmon.db*")),
            versions=self.versions(),
            note=self.summary(),
        )

    def versions(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("select count(*) from snapshots").fetchone()[0])

    def summary(self) -> str:
        with sqlite3.connect(self.db) as conn:
            row = conn.execute(
                "select studies_new, studies_changed, studies_unchanged, changes_found, errors "
                "from runs order by id desc limit 1"
            ).fetchone()
        return "{} new, {} changed, {} unchanged, {} changes, {} errors".format(*row)


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
        for number in range(1, args.cycles + 1):
            results.rows += programs.cycle(number, args.changed)
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
        if self.git and self.git_binary:
            rows.append(self.git_history(number))
            show(rows[-1])
        if self.naive and sample:
            seconds, count, differing = self.naive.after(sample)
            note = f"sample of {count}, {differing} differing; per-study rate"
            rows.append(Row(number, "naive DeepDiff on raw pairs", count, seconds, note=note))
            show(rows[-1])
        return rows

    def git_history(self, number: int) -> Row:
        assert self.git and self.git_binary
        committed = self.git.commit(self.corpus, number)
        measured = self.git.build(self.git_binary)
        return Row(
            number,
            "git-history file",
            self.corpus.n,
            measured.seconds,
            measured.peak_rss_mb,
            db_bytes=self.git.size(),
            versions=self.git.versions(),
            note=f"git add+commit of the release took {committed:.1f} s more",
        )


# ------------------------------------------------------------------------ output


def say(message: str) -> None:
    print(message, flush=True)


HEADER = (
    f"{'cycle':>5}  {'program':<28} {'studies':>8} {'seconds':>8} {'studies/s':>10} "
    f"{'peak RSS':>9} {'DB MB':>7} {'KB/vers':>8}"
)


def show(row: Row) -> None:
    rss = f"{row.peak_rss_mb:7.0f}MB" if row.peak_rss_mb is not None else f"{'-':>9}"
    db = f"{row.db_bytes / 2**20:7.1f}" if row.db_bytes else f"{'-':>7}"
    kb = f"{row.kb_per_version:8.1f}" if row.kb_per_version else f"{'-':>8}"
    say(
        f"{row.cycle:>5}  {row.part:<28} {row.studies:>8} {row.seconds:8.2f} {row.rate:10.0f} "
        f"{rss} {db} {kb}   {row.note}"
    )


def ratios(results: Results) -> list[str]:
    """Peers against trialmon on the same releases (cycles after the first)."""
    lines = []
    by = {(r.cycle, r.part.split(" ")[0]): r for r in results.rows}
    for cycle in sorted({r.cycle for r in results.rows if r.cycle > 1}):
        ours = by.get((cycle, "trialmon"))
        if ours is None:
            continue
        for peer in ("git-history", "naive"):
            theirs = by.get((cycle, peer))
            if theirs:
                lines.append(
                    f"cycle {cycle}: trialmon {ours.rate:,.0f} studies/s vs {peer} "
                    f"{theirs.rate:,.0f} studies/s: {ours.rate / theirs.rate:,.1f}x"
                )
    return lines


def targets(results: Results) -> list[str]:
    ours = [r for r in results.rows if r.part.startswith("trialmon")]
    if not ours:
        return []
    later = [r for r in ours if r.cycle > 1] or ours
    slowest = min(later, key=lambda r: r.rate)
    final = ours[-1]
    return [
        f"cycle >= 2 through the offline source: {slowest.rate:,.0f} studies/s at the slowest "
        f"(target >= 2,000 at N=20,000)",
        f"peak RSS of a cycle: {max(r.peak_rss_mb or 0 for r in ours):.0f} MB "
        f"(target < 300 MB at N=100,000)",
        f"database: {final.kb_per_version or 0:.1f} KB per study-version over {final.versions} "
        f"versions (target <= 25 KB)",
    ]


def report(results: Results) -> None:
    say("")
    for line in ratios(results) + targets(results):
        say(line)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=20_000, help="studies in the corpus (20000)")
    p.add_argument("-k", "--cycles", type=int, default=3, help="releases, the first a baseline")
    p.add_argument("--changed", type=float, default=0.02, help="fraction changed per release")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to run")
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
