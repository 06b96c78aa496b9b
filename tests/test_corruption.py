"""A database damaged inside the file: refused before a write, said plainly by every command,
recoverable the way the message says; and a backup taken while a cycle writes is whole.

The SYNTHETIC corpus of the crash tests (tests/corpus.py: 200 studies built from real
records) after one cycle, its WAL checkpointed into the file, then three pages in the middle
of the file overwritten with random bytes (seeded), as a failing disk or a stray write would.
Before the store checked the file, ``trialmon run`` exited 0 on it and ``history`` of the
study whose pages were hit ended in "internal error: DatabaseError: database disk image is
malformed".
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.store import health

from .corpus import write_cycles
from .test_concurrency import finish, start, stopped
from .test_crash import Workspace, copy_state, workspace

STUDIES = 200
PAGES = (190, 191, 192)  # of the 386 pages of the file: its middle
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The corpus after its first cycle."""
    root = tmp_path_factory.mktemp("corruption")
    ws = workspace(root / "sound", write_cycles(root / "records", 2, STUDIES))
    ws.complete(0)
    return ws


def copy(sound: Workspace, root: Path) -> Workspace:
    """A copy of ``sound``'s database kept by a workspace of its own, all in its main file."""
    ws = workspace(root, sound.cycles)
    copy_state(sound, ws)
    conn = sqlite3.connect(ws.db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return ws


def damage(sound: Workspace, root: Path) -> Workspace:
    ws = copy(sound, root)
    page_size = 4096
    rng = random.Random(18)
    with ws.db.open("r+b") as file:
        assert file.seek(0, 2) >= (max(PAGES) + 1) * page_size
        for page in PAGES:
            file.seek((page - 1) * page_size)
            file.write(rng.randbytes(page_size))
    return ws


@pytest.fixture
def damaged(sound: Workspace, tmp_path: Path) -> Workspace:
    return damage(sound, tmp_path / "damaged")


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()


def hit_studies(path: Path) -> list[str]:
    """The studies whose history reads a damaged page (as `trialmon history` reads it)."""
    conn = sqlite3.connect(path)
    hit = []
    try:
        for (trial_id,) in conn.execute("select trial_id from studies").fetchall():
            try:
                conn.execute("select * from snapshots where trial_id = ?", [trial_id]).fetchall()
            except sqlite3.DatabaseError:
                hit.append(trial_id)
    finally:
        conn.close()
    return hit


def files_of(ws: Workspace) -> tuple[bytes, bytes]:
    """The database file and what its WAL holds (nothing when it is missing or empty)."""
    wal = ws.db.with_name(ws.db.name + "-wal")
    return ws.db.read_bytes(), wal.read_bytes() if wal.exists() else b""


def said_plainly(text: str, ws: Workspace) -> bool:
    return (
        f"database '{ws.db}' is damaged" in text
        and ".recover" in text
        and "Traceback" not in text
        and "internal error" not in text
    )


def trialmon(ws: Workspace, *args: str) -> Result:
    config = str(ws.root / "config.toml")
    return CliRunner().invoke(cli, ["--config", config, *args])


def test_a_cycle_refuses_a_damaged_database_and_writes_nothing(damaged: Workspace) -> None:
    assert integrity(damaged.db) != "ok"
    before = files_of(damaged)
    result = damaged.run(1, "monitor")
    assert result.returncode == 1, result.stderr
    assert said_plainly(result.stderr, damaged), result.stderr
    assert "will not write to it" in result.stderr and "PRAGMA quick_check" in result.stderr
    assert files_of(damaged) == before


def test_query_commands_say_it_plainly(damaged: Workspace, tmp_path: Path) -> None:
    hit = hit_studies(damaged.db)
    assert hit, f"pages {PAGES} no longer hold snapshots: choose others"
    for args in (
        ("history", hit[0]),
        ("diff", hit[0]),
        ("report", hit[0], "--html", str(tmp_path / "r.html")),
    ):
        result = trialmon(damaged, *args)
        assert result.exit_code == 1, (args, result.output)
        assert said_plainly(result.stderr, damaged), (args, result.stderr)
    for args in (("changes",), ("studies",), ("status",)):  # pages they do not read: fine
        result = trialmon(damaged, *args)
        assert result.exit_code == 0 or said_plainly(result.stderr, damaged), result.output


def recover(db: Path, new: Path) -> None:
    """The message's way back: ``.recover``, or ``.dump`` where this sqlite3 has no
    ``.recover`` (Debian 12's 3.40.1: "SQL logic error")."""
    for command in (".recover", ".dump"):
        new.unlink(missing_ok=True)
        copy = subprocess.run(["sqlite3", str(db), command], capture_output=True, check=False)
        if copy.returncode == 0:
            subprocess.run(["sqlite3", str(new)], input=copy.stdout, check=True)
            return
    pytest.fail("neither .recover nor .dump could read the database")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 command line tool")
def test_the_way_back_the_message_gives_works(damaged: Workspace) -> None:
    hit = hit_studies(damaged.db)
    new = damaged.db.with_name(damaged.db.name + ".recovered")
    recover(damaged.db, new)
    assert integrity(new) == "ok"
    for suffix in ("-wal", "-shm"):
        damaged.db.with_name(damaged.db.name + suffix).unlink(missing_ok=True)
    new.replace(damaged.db)
    result = damaged.run(1, "monitor")
    assert result.returncode == 0, result.stderr
    assert trialmon(damaged, "history", hit[0]).exit_code == 0


def test_a_backup_taken_while_a_cycle_writes_is_whole(
    sound: Workspace, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    """What the README's Backups section says, while a cycle stands inside a study's
    transaction: ``sqlite3 .backup`` and ``VACUUM INTO`` give a sound copy of what was
    committed, which trialmon opens as it is."""
    ws = copy(sound, tmp_path / "live")
    writer = start(procs, ws.command(1, "tests.crashrun", "pause:mid-transaction", "25"))
    assert stopped(writer), "the cycle ended before its pause"
    conn = sqlite3.connect(ws.db)
    try:
        committed = conn.execute("select count(*) from snapshots").fetchone()[0]
        conn.execute("VACUUM INTO ?", [str(tmp_path / "vacuumed.db")])
    finally:
        conn.close()
    backups = [tmp_path / "vacuumed.db"]
    if shutil.which("sqlite3"):
        backup = tmp_path / "backup.db"
        subprocess.run(["sqlite3", str(ws.db), f".backup '{backup}'"], check=True)
        backups.append(backup)
    writer.send_signal(signal.SIGCONT)
    while stopped(writer):  # its later pauses
        writer.send_signal(signal.SIGCONT)
    assert finish(writer)[0] == 0
    for taken in backups:
        assert integrity(taken) == "ok"
        conn = sqlite3.connect(taken)
        try:
            assert conn.execute("select count(*) from snapshots").fetchone()[0] == committed
        finally:
            conn.close()
        result = CliRunner().invoke(cli, ["--db", str(taken), "studies", "--format", "json"])
        assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- when a cycle checks


def seal_unchecked(ws: Workspace, unchecked: int) -> None:
    seal = health.seal_path(ws.db)
    data = orjson.loads(seal.read_bytes())
    seal.write_bytes(orjson.dumps({**data, "unchecked": unchecked}))


def test_a_file_as_the_last_cycle_left_it_is_checked_every_seventh_cycle(
    sound: Workspace, tmp_path: Path
) -> None:
    """The check reads every page (seconds from disk for a large database): a cycle skips it
    when the file is exactly as the last clean cycle left it, except every CHECK_EVERY-th."""
    ws = copy(sound, tmp_path / "sealed")
    assert health.check_due(ws.db) is None  # no seal: checked
    ws.complete(1)
    assert health.check_due(ws.db) == 1
    ws.complete(1)
    assert health.check_due(ws.db) == 2
    seal_unchecked(ws, health.CHECK_EVERY - 1)
    assert health.check_due(ws.db) is None
    ws.complete(1)
    assert health.check_due(ws.db) == 1


def test_a_killed_cycle_or_another_writer_makes_the_next_cycle_check(
    sound: Workspace, tmp_path: Path
) -> None:
    ws = copy(sound, tmp_path / "killed")
    ws.complete(0)
    assert health.check_due(ws.db) == 1
    ws.kill_at(1, "between-studies", 3)
    assert health.check_due(ws.db) is None
    ws.complete(1)
    conn = sqlite3.connect(ws.db)
    try:
        conn.execute("create table other_program (x)")
        conn.commit()
    finally:
        conn.close()
    assert health.check_due(ws.db) is None


def test_damage_that_changes_no_file_time_is_refused_on_the_seventh_cycle(
    sound: Workspace, tmp_path: Path
) -> None:
    """A failing disk changes bytes, not the file's time: the cycle that checks refuses it."""
    ws = copy(sound, tmp_path / "quiet")
    ws.complete(1)
    st = ws.db.stat()
    rng = random.Random(18)
    with ws.db.open("r+b") as file:
        for page in PAGES:
            file.seek((page - 1) * 4096)
            file.write(rng.randbytes(4096))
    os.utime(ws.db, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert health.check_due(ws.db) == 1  # as the last cycle left it, as far as it can tell
    seal_unchecked(ws, health.CHECK_EVERY - 1)
    before = files_of(ws)
    result = ws.run(1, "monitor")
    assert result.returncode == 1, result.stderr
    assert said_plainly(result.stderr, ws) and "PRAGMA quick_check" in result.stderr
    assert files_of(ws) == before
