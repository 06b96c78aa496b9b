"""Concurrency: readers while a cycle writes, two `trialmon run` at once, daemon and cron.

The same SYNTHETIC corpus as the crash tests (tests/corpus.py: 200 studies built from the
real records in tests/data), a baseline cycle, then a cycle with ~180 changes written while:

- a reader queries the database in a loop through its own sqlite3 connection (as
  ``sqlite-utils query`` does, and ``sqlite-utils query`` itself a few times): never an error,
  never a snapshot without its changes or a study not pointing at its newest snapshot;
- a second ``trialmon run`` starts at the same moment: one of them is refused by the run lock
  (exit 0, "skipped") or they follow each other; either way every change is recorded once;
- ``trialmon daemon`` runs cycles every second while cron-style ``trialmon run`` start too.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .corpus import write_cycles
from .test_crash import Workspace, assert_same, copy_state, state, workspace

STUDIES = 200
pytestmark = pytest.mark.slow


class Base:
    """A baseline database (cycle 0 done) and the reference state after cycle 1."""

    def __init__(self, root: Path) -> None:
        self.cycles = write_cycles(root / "records", 2, STUDIES)
        self.before = workspace(root / "before", self.cycles)
        self.before.complete(0)
        reference = workspace(root / "reference", self.cycles)
        copy_state(self.before, reference)
        reference.complete(1)
        self.after: dict[str, Any] = state(reference)

    def fresh(self, root: Path) -> Workspace:
        ws = workspace(root, self.cycles)
        copy_state(self.before, ws)
        return ws


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return Base(tmp_path_factory.mktemp("concurrency"))


def start(
    procs: list[subprocess.Popen[str]], command: list[str], log: Path | None = None
) -> subprocess.Popen[str]:
    """Start a process; its stderr goes to a pipe (read with finish) or to ``log``."""
    if log:
        with log.open("w") as err:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    else:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
    procs.append(proc)
    return proc


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err or ""


# ---------------------------------------------------------------- a reader while a cycle writes

READ = (
    "select s.id, (select count(*) from changes c where c.to_snapshot_id = s.id), "
    "(select t.latest_snapshot_id from studies t where t.trial_id = s.trial_id) "
    "from snapshots s where s.id > ?"
)


def sqlite_utils_query(db: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sqlite_utils", "query", str(db)]
    sql = "select trial_id, count(*) from changes group by trial_id"
    return subprocess.run([*command, sql], capture_output=True, text=True, timeout=60, check=False)


def tools_while(
    writer: subprocess.Popen[str], db: Path, done: list[subprocess.CompletedProcess[str]]
) -> None:
    """``sqlite-utils query`` again and again while the writer runs (at least once)."""
    done.append(sqlite_utils_query(db))
    while writer.poll() is None:
        done.append(sqlite_utils_query(db))


def test_a_reader_never_sees_a_partial_study(
    base: Base, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    ws = base.fresh(tmp_path)
    # WAL readers do not wait for the writer; the timeout only covers the brief lock SQLite takes
    # when the WAL restarts, which a loaded machine can stretch past a fraction of a second.
    reader = sqlite3.connect(ws.db, timeout=5)
    baseline = reader.execute("select max(id) from snapshots").fetchone()[0]
    seen: dict[int, int] = {}
    reads = 0
    writer = start(procs, ws.command(1, "monitor"))
    # sqlite-utils queries run beside the reader, never in its way: a query that blocked the
    # loop for a second could cover the whole write (seen under load on Python 3.13).
    tools: list[subprocess.CompletedProcess[str]] = []
    tool = threading.Thread(target=lambda: tools_while(writer, ws.db, tools))
    tool.start()
    while writer.poll() is None:
        for snapshot_id, changes, latest in reader.execute(READ, [baseline]).fetchall():
            assert latest is not None and latest >= snapshot_id, "study not pointing at it"
            seen[snapshot_id] = changes
        reads += 1
    tool.join(timeout=120)
    code, err = finish(writer)
    assert code == 0, err
    assert tools and all(r.returncode == 0 for r in tools), [r.stderr for r in tools]
    final = dict((i, n) for i, n, _ in reader.execute(READ, [baseline]).fetchall())
    reader.close()
    partial = {i: (n, final[i]) for i, n in seen.items() if n != final[i]}
    assert not partial, f"snapshots seen without all their changes: {partial}"
    assert len(seen) > 0 and reads >= 10, (len(seen), reads)
    print(
        f"\n{reads} reads and {len(tools)} sqlite-utils queries during the cycle; {len(seen)} new"
    )
    assert_same(ws, base.after)


# ---------------------------------------------------------------- two runs, daemon and cron


def test_two_runs_at_once_record_every_change_once(
    base: Base, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    ws = base.fresh(tmp_path)
    both = [start(procs, ws.command(1, "monitor")) for _ in range(2)]
    results = [finish(p) for p in both]
    assert [code for code, _ in results] == [0, 0], results
    skipped = [err for _, err in results if "skipped, nothing done" in err]
    assert len(skipped) <= 1
    print(f"\ntwo runs at once: {len(skipped)} refused by the run lock")
    assert_same(ws, base.after)


def finished_runs(db: Path) -> int:
    try:
        with closing(sqlite3.connect(db, timeout=1)) as conn:
            sql = "select count(*) from runs where status in ('ok', 'partial')"
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


def test_daemon_and_cron_runs_together(
    base: Base, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    ws = base.fresh(tmp_path)
    config = ws.root / "config.toml"
    top = f'source = "{ws.cycles[1]}"\n'  # before the first [table]
    config.write_text(top + config.read_text() + '[schedule]\nevery = "1s"\n')
    before = finished_runs(ws.db)
    log = ws.root / "daemon.err"
    command = [sys.executable, "-m", "monitor", "-v", "--config", str(config), "daemon"]
    daemon = start(procs, command, log)
    cron = [*command[:4], *ws.command(1, "monitor")[3:]]  # -v: a traceback if it fails
    crons = [start(procs, cron) for _ in range(3)]
    for proc in crons:
        code, err = finish(proc)
        assert code == 0, err
    deadline = time.monotonic() + 30
    while finished_runs(ws.db) < before + 3:
        assert daemon.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the daemon ran no cycle in 30 s"
        time.sleep(0.05)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    assert_same(ws, base.after)
