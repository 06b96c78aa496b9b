"""Files trialmon creates are private to its user: mode 0600, whatever the umask.

The database holds recipients' addresses and the log the changes of watched trials; the lock
files say who runs. SQLite gives a database's WAL and shared-memory files the mode of the
database file, so creating the database 0600 (before SQLite opens it) covers those too. A file
that exists already keeps its mode: a mode chosen on purpose (a group allowed to read the
database) is not undone.
"""

from __future__ import annotations

import os
from pathlib import Path

MODE = 0o600


def create(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its folder must exist)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    except FileExistsError:
        return
    os.close(fd)
