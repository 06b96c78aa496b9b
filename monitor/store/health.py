"""Whether the database file is sound, and what to do when it is not.

A cycle asks SQLite's ``PRAGMA quick_check`` before it writes (every page of the file read
once: half a second per GB in the page cache, 12 s from disk; see the README's guarantees:
when the file is not as the last clean cycle left it, and every ``CHECK_EVERY``-th cycle)
and refuses a damaged database: a write into a damaged b-tree can spread the damage, and a
cycle that goes on quietly lets the user find it months later in a query. A query command
that meets a damaged page says the same in plain words. Both name the way back: SQLite's
``.recover`` (or ``.dump``), or a backup.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import orjson
from sqlite_utils import Database

from monitor import private
from monitor.errors import StoreError

# What SQLite says of a file that is damaged (SQLITE_CORRUPT, SQLITE_NOTADB).
DAMAGE_WORDS = ("malformed", "not a database", "corrupt")
SHOWN_PROBLEMS = 3
# A file exactly as the last cycle left it is checked on every CHECK_EVERY-th cycle only.
CHECK_EVERY = 7
SEAL_SUFFIX = ".checked"

log = logging.getLogger(__name__)


def is_damage(error: BaseException) -> bool:
    """Whether an error of SQLite says the file is damaged (not locked, full or read-only)."""
    text = str(error).lower()
    return isinstance(error, sqlite3.DatabaseError) and any(w in text for w in DAMAGE_WORDS)


def problems(db: Database) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong ([] when the file is sound)."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        if not is_damage(e):
            raise
        return [str(e)]
    return [str(row[0]) for row in rows if row[0] != "ok"]


def check(db: Database, path: Path | str) -> None:
    """Refuse a damaged database (before a command writes to it)."""
    found = problems(db)
    if found:
        shown = "; ".join(found[:SHOWN_PROBLEMS])
        more = f" and {len(found) - SHOWN_PROBLEMS} more" if len(found) > SHOWN_PROBLEMS else ""
        raise StoreError(damaged(path, f"PRAGMA quick_check: {shown}{more}"))


def damaged(path: Path | str, what: str) -> str:
    """The message for a damaged database: what SQLite found, that nothing is written, and
    the two ways back (copy what can be read into a new file, or a backup)."""
    db = str(path)
    new = f"{db}.recovered"
    return (
        f"database {db!r} is damaged ({what}); trialmon will not write to it. To recover, stop "
        f'trialmon (the daemon, cron) and copy what can be read: `sqlite3 {db} ".recover" | '
        f'sqlite3 {new}` (or ".dump" if that sqlite3 has no .recover); if `sqlite3 {new} '
        f'"PRAGMA integrity_check"` says ok, move {db}-wal and {db}-shm aside and {new} to '
        f"{db}. Or restore a backup (README: Backups)"
    )


# ---------------------------------------------------------------- when a cycle checks

# A cycle's check reads every page of the file: ~0.1 s for 20,000 studies (250 MB) in the page
# cache, ~2.4 s from disk, where the cycle itself takes ~2 s (benchmarks/README.md). So a cycle
# that ended cleanly leaves a seal beside the database: the identity, size and time of change
# of the file and its WAL as it left them. The next cycle checks whenever they differ (another
# program wrote, a cycle was killed, a file was restored or replaced), and on every
# CHECK_EVERY-th cycle whatever they say (damage that changes no file time: a failing disk).


def file_state(path: Path) -> list[list[int] | None]:
    """The database file's and its WAL's (device, inode, size, time of change in ns)."""
    state: list[list[int] | None] = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            st = os.stat(file)
        except FileNotFoundError:
            state.append(None)
            continue
        state.append([st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns])
    return state


def seal_path(path: Path) -> Path:
    return path.with_name(path.name + SEAL_SUFFIX)


def unchecked_cycles(path: Path) -> int | None:
    """Cycles since the last check if the file is as the last cycle left it, else None."""
    try:
        seal = orjson.loads(seal_path(path).read_bytes())
        skipped = seal["unchecked"]
        same = seal["files"] == file_state(path)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return skipped if same and isinstance(skipped, int) and skipped >= 0 else None


def check_due(path: Path) -> int | None:
    """None when a cycle must check the file now; else the cycles it went unchecked, this
    one included. Asked before the database is opened (opening may write)."""
    skipped = unchecked_cycles(path)
    if skipped is None or skipped + 1 >= CHECK_EVERY:
        return None
    return skipped + 1


def seal(path: Path, unchecked: int) -> None:
    """Remember the file as a cycle that ended cleanly leaves it (after its store closed)."""
    data = orjson.dumps({"files": file_state(path), "unchecked": unchecked})
    try:
        fd = os.open(seal_path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private.MODE)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    except OSError as e:  # no seal: the next cycle checks
        log.debug("cannot write %s: %s", seal_path(path), e)
