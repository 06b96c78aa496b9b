"""The peers measured on the same releases: git-history, and DeepDiff on every raw pair.

* git-history (the PyPI package ``git-history``) builds its version history of the same
  records from a git repository holding one JSON file (every study, one array) with one commit
  per release. It is told the id (``nct_id``, added by ``--convert``) and to ignore
  ``derivedSection`` (the registry's daily ``versionHolder``), as trialmon does. It runs once
  per release on the new commit only, keeping its state in its own database, like trialmon.
* The naive baseline reads both releases of a study and runs DeepDiff on the raw pair
  (``ignore_order=True``, ``derivedSection`` excluded): no normalization, no hash to skip the
  unchanged ones. It is timed on a random sample of studies and reported per study.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from deepdiff import DeepDiff
from measure import Measured, check, run_child

CONVERT = (
    "[dict(s, nct_id=s['protocolSection']['identificationModule']['nctId']) "
    "for s in json.loads(content)]"
)


@dataclass
class GitHistory:
    """A git repository of ``studies.json`` and git-history's database built from it."""

    root: Path
    log: Path

    def __post_init__(self) -> None:
        self.repo = self.root / "repo"
        self.file = self.repo / "studies.json"
        self.db = self.root / "git-history.db"
        self.repo.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet", "--initial-branch=main")

    def _git(self, *args: str) -> None:
        env = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run(["git", *env, *args], cwd=self.repo, check=True, capture_output=True)

    def commit(self, number: int) -> float:
        """Commit the release's ``studies.json`` (written by ``pages.write_pages``); seconds."""
        start = time.perf_counter()
        self._git("add", "studies.json")
        self._git("commit", "--quiet", "-m", f"release {number}")
        return time.perf_counter() - start

    def build(self, binary: Path) -> Measured:
        argv = [str(binary), "file", str(self.db), str(self.file), "--repo", str(self.repo)]
        argv += ["--id", "nct_id", "--ignore", "derivedSection", "--convert", CONVERT]
        argv += ["--wal", "--silent"]
        return check(run_child(argv, self.log), "git-history", self.log)

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("git-history.db*"))

    def versions(self) -> int:
        import sqlite3

        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("select count(*) from item_version").fetchone()[0])

    def repo_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.repo / ".git").rglob("*") if p.is_file())

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Naive:
    """DeepDiff on raw pairs of a random sample of studies, one release to the next."""

    corpus: Any  # a corpus with path(index) and n
    sample: int
    seed: int = 3

    def before(self, number: int) -> dict[int, bytes]:
        """The sample's files of the release about to be replaced."""
        rng = random.Random(f"naive:{self.seed}:{number}")
        picked = rng.sample(range(self.corpus.n), min(self.sample, self.corpus.n))
        return {i: self.corpus.path(i).read_bytes() for i in picked}

    def after(self, old: dict[int, bytes]) -> tuple[float, float, int, int]:
        """Wall and CPU seconds for the sample, studies compared, studies with a difference."""
        differing = 0
        start, cpu = time.perf_counter(), time.process_time()
        for index, before in old.items():
            diff = DeepDiff(
                orjson.loads(before),
                orjson.loads(self.corpus.path(index).read_bytes()),
                ignore_order=True,
                exclude_paths=["root['derivedSection']"],
            )
            differing += bool(diff)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return seconds, cpu, len(old), differing
