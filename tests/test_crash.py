"""Crash consistency: SIGKILL a cycle at many points, run again, and lose nothing.

A SYNTHETIC corpus of 200 studies over three cycles (tests/corpus.py, built from the real
records in tests/data) is run once without interruption: that is the reference. Each case then
starts from the reference state before one cycle, kills the process at one point of that cycle
(tests/crashrun.py places exact kill points; one case kills ``python -m monitor`` from outside,
timed by watching the database), runs the cycle again to completion and compares:

- ``PRAGMA integrity_check`` is ok, no run is left ``running``, no digest left ``pending``;
- the snapshots are the reference's: same (trial_id, content_hash) multiset, none duplicated or
  missing, and every study points at its newest snapshot;
- every change is recorded exactly once: same (trial_id, category, field, old, new) multiset,
  each linked to the snapshot before it;
- every digest is delivered exactly once: the log channel's file holds the same changes
  (one JSON line each) as the reference's, and one digest per delivery marked sent.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .corpus import write_cycles

STUDIES = 200
CYCLES = 3
KILLED = -signal.SIGKILL
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Workspace:
    root: Path
    cycles: list[Path]

    @property
    def db(self) -> Path:
        return self.root / "history.db"

    @property
    def log(self) -> Path:
        return self.root / "notify.log"

    def command(self, cycle: int, *prefix: str) -> list[str]:
        config = str(self.root / "config.toml")
        run = ["--config", config, "run", "--source", str(self.cycles[cycle])]
        return [sys.executable, "-m", *prefix, *run]

    def run(self, cycle: int, *prefix: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(cycle, *prefix),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def complete(self, cycle: int) -> None:
        result = self.run(cycle, "monitor")
        assert result.returncode == 0, result.stderr

    def kill_at(self, cycle: int, point: str, nth: int) -> None:
        result = self.run(cycle, "tests.crashrun", point, str(nth))
        assert result.returncode == KILLED, f"not killed at {point} #{nth}: {result.stderr}"


def workspace(root: Path, cycles: list[Path]) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    config = f'database = "history.db"\n[notify.log]\nformat = "json"\nfile = "{root}/notify.log"\n'
    (root / "config.toml").write_text(config)
    return Workspace(root, cycles)


def copy_state(src: Workspace, dst: Workspace) -> None:
    """The database and log of ``src`` as ``dst``'s own: the copy forgets which config kept
    it (one database serves one config), so ``dst``'s config keeps it at its first cycle."""
    with closing(sqlite3.connect(src.db)) as a, closing(sqlite3.connect(dst.db)) as b:
        a.backup(b)
        b.execute("delete from meta where key = 'owner.config'")
        b.commit()
    if src.log.exists():
        shutil.copy(src.log, dst.log)


# ---------------------------------------------------------------- what is compared


def rows(db: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return db.execute(sql).fetchall()


def state(ws: Workspace) -> dict[str, Any]:
    db = sqlite3.connect(ws.db)
    try:
        lines = ws.log.read_text().splitlines() if ws.log.exists() else []
        logged = [json.loads(line) for line in lines]
        return {
            "snapshots": Counter(rows(db, "select trial_id, content_hash from snapshots")),
            "changes": Counter(
                rows(db, "select trial_id, category, field, old_value, new_value from changes")
            ),
            "logged": Counter(
                (
                    c["trial_id"],
                    c["category"],
                    c["field"],
                    *map(json.dumps, (c["old_value"], c["new_value"])),
                )
                for c in logged
            ),
            "digests_logged": len({c["run_id"] for c in logged}),
        }
    finally:
        db.close()


def check_invariants(ws: Workspace) -> None:
    db = sqlite3.connect(ws.db)
    try:
        assert rows(db, "pragma integrity_check") == [("ok",)]
        assert rows(db, "select id from runs where status = 'running'") == []
        assert rows(db, "select id from deliveries where status != 'sent'") == []
        stale = (
            "select trial_id from studies t where latest_snapshot_id != "
            "(select max(id) from snapshots s where s.trial_id = t.trial_id)"
        )
        assert rows(db, stale) == []
        unlinked = (
            "select c.id from changes c where c.from_snapshot_id is not "
            "(select max(s.id) from snapshots s where s.trial_id = c.trial_id "
            "and s.id < c.to_snapshot_id)"
        )
        assert rows(db, unlinked) == []
        sent = rows(db, "select count(distinct run_id) from deliveries where status = 'sent'")
        assert state(ws)["digests_logged"] == sent[0][0]
    finally:
        db.close()


def assert_same(ws: Workspace, reference: dict[str, Any]) -> None:
    check_invariants(ws)
    found = state(ws)
    for key in ("snapshots", "changes", "logged"):
        missing = reference[key] - found[key]
        extra = found[key] - reference[key]
        assert not missing and not extra, f"{key}: missing {missing}, extra {extra}"


# ---------------------------------------------------------------- the reference run


@dataclass(frozen=True)
class Reference:
    before: list[Workspace]  # before[c]: the state before cycle c
    after: list[dict[str, Any]]  # after[c]: the compared state after cycle c
    cycles: list[Path]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("crash")
    cycles = write_cycles(base / "records", CYCLES, STUDIES)
    ws = workspace(base / "reference", cycles)
    before, after = [], []
    for c in range(CYCLES):
        saved = workspace(base / f"before{c}", cycles)
        if c:
            copy_state(ws, saved)
        before.append(saved)
        ws.complete(c)
        check_invariants(ws)
        after.append(state(ws))
    assert sum(after[-1]["changes"].values()) > 150  # the corpus really changes
    return Reference(before, after, cycles)


def start_before(reference: Reference, cycle: int, tmp_path: Path) -> Workspace:
    ws = workspace(tmp_path, reference.cycles)
    if cycle:
        copy_state(reference.before[cycle], ws)
    return ws


# ---------------------------------------------------------------- kills


KILLS = [
    # (cycle, point, nth): cycle 0 is the baseline, cycle 1 the first with changes
    (0, "mid-transaction", 120),
    (1, "reading", 50),  # first pass over the files: nothing written yet
    (1, "parsing", 40),  # second pass: records being parsed (unchanged files are not)
    (1, "loaded", 30),  # second pass: records read on the workers, being written
    (1, "mid-transaction", 1),
    (1, "mid-transaction", 45),
    (1, "between-studies", 80),
    (1, "touching", 1),
    (1, "run-finished", 1),
    (1, "queued", 1),
    (1, "sending", 1),
    (1, "mid-write", 1),  # half of the digest in the log file, a line cut in two
    (1, "sent", 1),
]


@pytest.mark.parametrize(("cycle", "point", "nth"), KILLS, ids=lambda v: str(v))
def test_kill_then_rerun_loses_and_duplicates_nothing(
    reference: Reference, tmp_path: Path, cycle: int, point: str, nth: int
) -> None:
    ws = start_before(reference, cycle, tmp_path)
    ws.kill_at(cycle, point, nth)
    ws.complete(cycle)
    assert_same(ws, reference.after[cycle])


def test_killed_twice_then_later_cycles_build_on_it(reference: Reference, tmp_path: Path) -> None:
    ws = start_before(reference, 1, tmp_path)
    ws.kill_at(1, "mid-transaction", 30)
    ws.kill_at(1, "recovering", 1)  # the next run dies recovering the first one
    ws.kill_at(1, "sending", 1)  # and the next delivering the first run's digest
    ws.complete(1)
    assert_same(ws, reference.after[1])
    ws.complete(2)
    assert_same(ws, reference.after[2])


def snapshots_of_last_run(db_path: Path) -> int:
    try:
        with closing(sqlite3.connect(db_path, timeout=5)) as db:
            sql = "select count(*) from snapshots where run_id = (select max(id) from runs)"
            return int(db.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_from_outside_mid_cycle(reference: Reference, tmp_path: Path) -> None:
    """The real ``python -m monitor``, killed by another process while it writes."""
    ws = start_before(reference, 1, tmp_path)
    process = subprocess.Popen(ws.command(1, "monitor"), cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while snapshots_of_last_run(ws.db) < 20 and process.poll() is None:
        assert time.monotonic() < deadline, "the cycle wrote nothing in 30 s"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    ws.complete(1)
    assert_same(ws, reference.after[1])
