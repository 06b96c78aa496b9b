"""Concurrency: readers while a cycle writes, two `trialmon run` at once, daemon and cron.

The same SYNTHETIC corpus as the crash tests (tests/corpus.py: 200 studies built from the
real records in tests/data), a baseline cycle, then a cycle with ~180 changes written while:

- a reader queries the database through its own sqlite3 connection (as ``sqlite-utils query``
  does, and ``sqlite-utils query`` itself) while the writer is stopped after a study's commit or
  inside its transaction, and another reader in a loop all along: never an error, never a
  snapshot without its changes or a study not pointing at its newest snapshot;
- a second ``trialmon run`` starts at the same moment: one of them is refused by the run lock
  (exit 0, "skipped") or they follow each other; either way every change is recorded once;
- ``trialmon daemon`` runs cycles every second while cron-style ``trialmon run`` start too.
"""

from __future__ import annotations

import os
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
PAUSE_EVERY = 25  # the writer stops at every 25th study


def sqlite_utils_query(db: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sqlite_utils", "query", str(db)]
    sql = "select trial_id, count(*) from changes group by trial_id"
    return subprocess.run([*command, sql], capture_output=True, text=True, timeout=60, check=False)


def read_new(conn: sqlite3.Connection, baseline: int) -> dict[int, int]:
    """The snapshots newer than ``baseline`` with their number of changes, in one statement."""
    found = {}
    for snapshot_id, changes, latest in conn.execute(READ, [baseline]).fetchall():
        assert latest is not None and latest >= snapshot_id, f"study not pointing at {snapshot_id}"
        found[snapshot_id] = changes
    return found


def partial(seen: dict[int, int], final: dict[int, int]) -> dict[int, tuple[int, int]]:
    return {i: (n, final[i]) for i, n in seen.items() if n != final[i]}


class FreeReader(threading.Thread):
    """Reads in a loop through its own connection, at whatever moments the scheduler allows."""

    def __init__(self, db: Path, baseline: int) -> None:
        super().__init__(daemon=True)
        self.db, self.baseline = db, baseline
        self.seen: dict[int, int] = {}
        self.reads = 0
        self.errors: list[BaseException] = []
        self.done = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            while not self.done.is_set():
                self.seen.update(read_new(conn, self.baseline))
                self.reads += 1
        except BaseException as e:  # handed to the test, which fails with it
            self.errors.append(e)
        finally:
            conn.close()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=60)


def stopped(proc: subprocess.Popen[str]) -> bool:
    """Wait until the writer stops itself at its pause point (True) or exits (False)."""
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        return True
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
    return False


@pytest.mark.parametrize(("point", "committed"), [("between-studies", 0), ("mid-transaction", -1)])
def test_a_reader_never_sees_a_partial_study(
    base: Base, tmp_path: Path, procs: list[subprocess.Popen[str]], point: str, committed: int
) -> None:
    """The writer stops itself at every 25th study, after its commit or inside its transaction.

    A reader then sees exactly the studies committed so far, each with all its changes and
    not the one whose transaction is open, through its own connection and through
    ``sqlite-utils query``; another reader reads freely all along. Where the reads fall is
    chosen by the test, not by the scheduler: a loaded machine cannot make them miss the cycle
    (the cause of an earlier flake: reads blocked in sqlite-utils during the whole write).
    """
    ws = base.fresh(tmp_path)
    reader = sqlite3.connect(ws.db, timeout=5)
    baseline = reader.execute("select max(id) from snapshots").fetchone()[0]
    free = FreeReader(ws.db, baseline)
    free.start()
    pauses: list[dict[int, int]] = []
    command = ws.command(1, "tests.crashrun", f"pause:{point}", str(PAUSE_EVERY))
    writer = start(procs, command)
    while stopped(writer):
        pauses.append(read_new(reader, baseline))
        result = sqlite_utils_query(ws.db)
        assert result.returncode == 0, result.stderr
        writer.send_signal(signal.SIGCONT)
    free.stop()
    code, err = finish(writer)
    assert code == 0, err
    assert not free.errors, free.errors
    final = read_new(reader, baseline)
    reader.close()
    assert len(pauses) >= 3, (len(pauses), len(final))
    for number, seen in enumerate(pauses, start=1):
        assert len(seen) == number * PAUSE_EVERY + committed, (number, sorted(seen))
        assert not partial(seen, final), f"snapshots seen without all their changes: {seen}"
    assert not partial(free.seen, final), "a free read saw a snapshot without all its changes"
    print(f"\n{len(pauses)} pauses at {point}; {free.reads} free reads; {len(final)} new")
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
    # The cron runs alone can make three cycles on a loaded machine, before the daemon has
    # even installed its SIGTERM handler (which SIGTERM would then kill): wait for it too.
    while finished_runs(ws.db) < before + 3 or "daemon started" not in log.read_text():
        assert daemon.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the daemon ran no cycle in 30 s"
        time.sleep(0.05)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
    assert_same(ws, base.after)


# ---------------------------------------------------------------- a fresh database, many openers


def together(procs: list[subprocess.Popen[str]], commands: list[list[str]], cwd: Path) -> None:
    """Start ``python -m tests.atonce`` processes and let them go at one moment."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    try:
        for args in commands:
            command = [sys.executable, "-m", "tests.atonce", str(ready_w), str(go_r), *args]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=cwd,
                    env=env,
                    pass_fds=(ready_w, go_r),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        os.close(ready_w)
        ready_w = -1
        for _ in commands:
            assert os.read(ready_r, 1) == b"r", "a process ended before the barrier"
        os.write(go_w, b"g" * len(commands))
    finally:
        for fd in (ready_r, ready_w, go_r, go_w):
            if fd >= 0:
                os.close(fd)


def migrations_applied(db: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(db)) as conn:
        sql = "select name, count(*) from _sqlite_migrations group by migration_set, name"
        return conn.execute(sql).fetchall()


OPENERS = 8


@pytest.mark.parametrize("round_", range(3))
def test_openers_of_a_fresh_database_create_its_schema_once(
    tmp_path: Path, procs: list[subprocess.Popen[str]], round_: int
) -> None:
    """Eight processes open one missing database at the same moment, as ``run``, ``daemon``
    and the query commands do. Before the schema was created in one exclusive transaction,
    most of them failed: "table "studies" already exists", "UNIQUE constraint failed:
    _sqlite_migrations", "no such column"."""
    db = tmp_path / "new" / "history.db"
    together(procs, [["open", str(db)]] * OPENERS, tmp_path)
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _ in results), [err for code, err in results if code]
    applied = migrations_applied(db)
    assert applied and all(times == 1 for _, times in applied), applied


def test_run_daemon_and_queries_on_an_empty_folder(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    """``trialmon run & trialmon daemon & trialmon changes & ...`` in an empty folder: every
    command does its work (or, for a reader, finds no database yet); none fails on the schema.
    """
    (tmp_path / "config.toml").write_text(
        f'database = "db/history.db"\nsource = "{ROOT / "seeds"}"\n'
        f'[schedule]\nevery = "1h"\n[notify.log]\nfile = "{tmp_path / "notify.log"}"\n'
    )
    readers = [["changes"], ["studies"], ["history", "NCT06009107"], ["status"]]
    commands = [["run"], ["daemon", "--wait"], *readers]
    together(procs, [["trialmon", *c] for c in commands], tmp_path)
    run, daemon, *queries = procs
    assert daemon.stderr is not None
    for line in daemon.stderr:  # the daemon is up once it says so; it fails before if at all
        if "daemon started" in line:
            break
    else:
        pytest.fail(f"the daemon did not start: {finish(daemon)}")
    daemon.send_signal(signal.SIGTERM)
    assert finish(daemon)[0] == 0
    code, err = finish(run)
    assert code == 0 and "Traceback" not in err, err
    for args, proc in zip(readers, queries, strict=True):
        code, err = finish(proc)
        absent = ("no database at" in err) or ("is not in the database" in err)
        assert (code == 0 or absent) and "Traceback" not in err, (args, err)
    applied = migrations_applied(tmp_path / "db" / "history.db")
    assert applied and all(times == 1 for _, times in applied), applied
