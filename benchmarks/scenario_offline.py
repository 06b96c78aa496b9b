"""The offline shapes on one corpus: one-study files and API page files, with the peers.

Per release, in order: the corpus moves on (``--changed`` of the studies change, every
``versionHolder`` is rewritten), the page files (and git-history's array) are rewritten from
it, then each program runs on the same release: trialmon on the one-study directory, trialmon
on the page directory, the parse limit on the pages, the prototypes, git-history, the naive
DeepDiff.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pages import write_pages
from peers import GitHistory, Naive
from programs import ParseLimit, QuickCheck, Trialmon, offline_config
from realcorpus import RealCorpus
from rows import Row, load_average, say

OFFLINE_PARTS = (
    "files",
    "quick-check",
    "pages",
    "pages-small",
    "parse-limit",
    "git-history",
    "naive",
)


class Program(Protocol):
    name: str

    def run(self, shape: str, cycle: int, studies: int) -> Row: ...


def git_history_binary() -> Path | None:
    import sys

    beside = Path(sys.executable).parent / "git-history"
    found = shutil.which("git-history")
    if beside.exists():
        return beside
    return Path(found) if found and shutil.which("git") else None


def make_corpus(root: Path, n: int, args: argparse.Namespace, day: date, api: bool = False) -> Any:
    if getattr(args, "corpus", "real") == "synthetic":
        from corpus import Corpus

        return Corpus(root, n, seed=args.seed, day=day)
    return RealCorpus(
        root, n, seed=args.seed, day=day, api_only=api, sorted_share=args.sorted_share
    )


@dataclass
class GitHistoryProgram:
    """git-history on the release's one array file (committed first, not timed)."""

    git: GitHistory
    binary: Path
    name: str = "git-history file"

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        committed = self.git.commit(cycle)
        load = load_average()
        measured = self.git.build(self.binary)
        return Row(
            shape,
            cycle,
            self.name,
            studies,
            measured.seconds,
            measured.cpu_seconds,
            measured.peak_rss_mb,
            db_bytes=self.git.size(),
            versions=self.git.versions(),
            load=load,
            note=f"git add+commit of the release took {committed:.1f} s more",
        )


@dataclass
class NaiveProgram:
    """DeepDiff on raw pairs of a sample (taken before the release is written)."""

    naive: Naive
    name: str = "naive DeepDiff on raw pairs"
    sample: dict[int, bytes] = field(default_factory=dict)

    def before(self, cycle: int) -> None:
        self.sample = self.naive.before(cycle)

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        load = load_average()
        seconds, cpu, count, differing = self.naive.after(self.sample)
        note = f"sample of {count}, {differing} differing; in-process"
        return Row(shape, cycle, self.name, count, seconds, cpu, load=load, note=note)


class OfflineScenario:
    """One corpus of ``n`` studies and the offline programs on each of its releases."""

    name = "offline"

    def __init__(self, root: Path, args: argparse.Namespace, parts: set[str], day: date) -> None:
        self.root, self.args, self.parts = root, args, parts
        self.corpus = make_corpus(root / "records", args.n, args, day)
        self.pages = root / "pages"
        self.small_pages = root / "pages-small"
        self.programs: list[Program] = []
        self.git: GitHistory | None = None
        self.naive: NaiveProgram | None = None
        self._build_programs()

    def _build_programs(self) -> None:
        root, parts = self.root, self.parts
        files, pages = self.corpus.directory, self.pages
        if "files" in parts:
            config = lambda db: offline_config(db, files)  # noqa: E731
            ones = Trialmon("trialmon files", root, config, ["--source", str(files)])
            self.programs.append(ones)
            if "quick-check" in parts:  # what the check of the file costs such a cycle
                self.programs.append(QuickCheck(ones.db, root / "quick-check.log"))
        if "pages" in parts:
            config = lambda db: offline_config(db, pages)  # noqa: E731
            self.programs.append(Trialmon("trialmon pages", root, config, ["--source", str(pages)]))
        if "pages-small" in parts:  # under the 10 MB a file may have (monitor/limits.py)
            small, name = self.small_pages, f"trialmon pages ({self.args.small_per_page}/page)"
            config = lambda db: offline_config(db, small)  # noqa: E731
            self.programs.append(Trialmon(name, root, config, ["--source", str(small)]))
        if "parse-limit" in parts:
            self.programs.append(ParseLimit(pages, root / "parse-limit.log"))
        self._peers()

    def _peers(self) -> None:
        if "git-history" in self.parts:
            binary = git_history_binary()
            if binary is None:
                say("git-history skipped: not installed (pip install -e '.[bench]')")
            else:
                self.git = GitHistory(self.root / "git-history", self.root / "git-history.log")
                self.programs.append(GitHistoryProgram(self.git, binary))
        if "naive" in self.parts:
            self.naive = NaiveProgram(Naive(self.corpus, self.args.naive_sample))
            self.programs.append(self.naive)

    @property
    def needs_pages(self) -> bool:
        return bool(self.parts & {"pages", "pages-small", "parse-limit", "git-history"})

    def setup(self) -> None:
        start = time.perf_counter()
        written = self.corpus.generate()
        n = self.corpus.n
        say(
            f"generated {n} studies, {written / n / 1024:.1f} KB each on average, one file each "
            f"({time.perf_counter() - start:.1f} s)"
        )
        if hasattr(self.corpus, "describe"):
            say(f"  records: {self.corpus.describe()}")
        self.write_pages()

    def write_pages(self) -> None:
        if not self.needs_pages:
            return
        start = time.perf_counter()
        array = self.git.file if self.git else None
        write_pages(self.corpus, self.pages, self.args.per_page, array)
        if "pages-small" in self.parts:
            write_pages(self.corpus, self.small_pages, self.args.small_per_page)
        say(f"  page files written ({time.perf_counter() - start:.1f} s)")

    def release(self, number: int) -> None:
        if self.naive:
            self.naive.before(number)
        start = time.perf_counter()
        changed = self.corpus.cycle(number, self.args.changed)
        took = time.perf_counter() - start
        say(f"release {number}: {len(changed)} studies changed ({took:.1f} s to write)")
        self.write_pages()

    def run(self) -> list[Row]:
        from rows import HEADER, show

        self.setup()
        say(HEADER)
        rows: list[Row] = []
        for number in range(1, self.args.cycles + 1):
            if number > 1:
                self.release(number)
            for program in self.programs:
                if number == 1 and isinstance(program, NaiveProgram):
                    continue
                rows.append(program.run(self.name, number, self.corpus.n))
                show(rows[-1])
        return rows
