"""Whether the database file is sound, and what to do when it is not.

A cycle asks SQLite's ``PRAGMA quick_check`` before it writes (every page of the file read
once: half a second per GB in the page cache, 12 s from disk; see the README's guarantees)
and refuses a damaged database: a write into a damaged b-tree can spread the damage, and a
cycle that goes on quietly lets the user find it months later in a query. A query command
that meets a damaged page says the same in plain words. Both name the way back: SQLite's
``.recover`` (or ``.dump``), or a backup.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from monitor.errors import StoreError

# What SQLite says of a file that is damaged (SQLITE_CORRUPT, SQLITE_NOTADB).
DAMAGE_WORDS = ("malformed", "not a database", "corrupt")
SHOWN_PROBLEMS = 3


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
