"""The run lock: one monitoring cycle at a time per database, across processes.

The lock is an ``flock`` on a file next to the database (``history.db.lock``), so the
operating system releases it when its holder exits, even by SIGKILL: a lock file left by a
killed process is simply taken over. The holder writes its pid, host, command and start
time into the file, for the message of the process that finds the lock held, and empties
it when it lets go. ``trialmon daemon`` also holds a second lock (``history.db.daemon.lock``)
for its whole life, so that two daemons never run on one database and ``trialmon status``
can tell whether a daemon is alive.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import orjson

from monitor.errors import LockHeldError, StoreError
from monitor.times import iso

log = logging.getLogger(__name__)


def run_lock_path(database: Path) -> Path:
    """``snapshots/history.db`` -> ``snapshots/history.db.lock``."""
    return database.with_name(database.name + ".lock")


def daemon_lock_path(database: Path) -> Path:
    """``snapshots/history.db`` -> ``snapshots/history.db.daemon.lock``."""
    return database.with_name(database.name + ".daemon.lock")


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock, as written in the lock file."""

    pid: int
    started_at: str
    command: str = ""
    host: str = ""

    def describe(self) -> str:
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid}{what}, since {self.started_at}"

    def is_alive(self) -> bool:
        """Whether the holder's process still exists (only answerable on its own host)."""
        if self.host and self.host != socket.gethostname():
            return True
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    return True


def read_holder(path: Path) -> Holder | None:
    """The holder written in a lock file, or None if the file is missing, empty or garbled."""
    try:
        data = orjson.loads(path.read_bytes())
        return Holder(
            int(data["pid"]), str(data["started_at"]), data.get("command", ""), data.get("host", "")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def current_holder(path: Path) -> Holder | None:
    """Who holds the lock now, judged from the file without touching the lock itself.

    A holder empties the file when it lets go, so a filled file whose process is gone was
    left by a killed process: the lock is free.
    """
    holder = read_holder(path)
    return holder if holder is not None and holder.is_alive() else None


class RunLock:
    """An exclusive, non-blocking lock on ``path``; use as a context manager."""

    def __init__(self, path: Path, command: str = "run", what: str = "cycle") -> None:
        self.path = path
        self.command = command
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`LockHeldError` naming the holder."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(f"run lock {str(self.path)!r} is unusable: {e}") from e
            raise LockHeldError(self._held_message()) from None
        self._fd = fd
        self._note_stale()
        self._write_holder()
        return self

    def release(self) -> None:
        """Empty the file and let go (the file stays: deleting it would race a newcomer)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(f"run lock {str(self.path)!r} cannot be opened: {e}") from e

    def _held_message(self) -> str:
        holder = read_holder(self.path)
        who = holder.describe() if holder else "another process"
        return f"another trialmon {self.what} is running ({who}; lock {self.path})"

    def _note_stale(self) -> None:
        holder = read_holder(self.path)
        if holder is not None:
            log.info(
                "took over the lock %s left by %s, which ended without releasing it",
                self.path,
                holder.describe(),
            )

    def _write_holder(self) -> None:
        assert self._fd is not None
        started = iso(datetime.now(UTC))
        data = {
            "pid": os.getpid(),
            "started_at": started,
            "command": self.command,
            "host": socket.gethostname(),
        }
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, orjson.dumps(data) + b"\n", 0)
