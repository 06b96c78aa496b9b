"""The run lock: one monitoring cycle at a time per database, across processes.

The lock is an ``flock`` on a file next to the database (``history.db.lock``), so the
operating system releases it when its holder exits, even by SIGKILL: a lock file left by a
killed process is simply taken over. The holder writes its pid, host, command and start
time into the file, for the message of the process that finds the lock held, and empties
it when it lets go. ``trialmon daemon`` also holds a second lock (``history.db.daemon.lock``)
for its whole life, so that two daemons never run on one database and ``trialmon status``
can tell whether a daemon is alive.

Whether a lock is held is asked of the lock itself (:func:`probe`: a shared ``flock``, taken and
let go at once), never judged from the pid in the file: a killed holder's pid may belong to
another process by now. A cycle that starts during that moment waits for the probe to let go
(:data:`PROBE_GRACE`) instead of being refused, so asking never makes a cycle skip.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import orjson

from monitor import private
from monitor.errors import LockHeldError, StoreError
from monitor.times import iso

log = logging.getLogger(__name__)
PROBE_GRACE = 1.0  # seconds a newcomer waits out a lock held by a probe (held microseconds)
PAUSE = 0.005
pause = time.sleep  # tests replace it
BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


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
        if not self.pid:
            return "pid unknown"  # holds the lock, has not written its name (yet)
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


def probe(path: Path) -> bool | None:
    """Whether someone holds the lock on ``path``: a shared lock taken and let go at once.

    ``None`` when the file cannot be opened for reading (another user's 0600 lock): the
    caller then has only the file's word. A missing file is free; nothing is created.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as e:
        return True if e.errno in BUSY else None
    finally:
        os.close(fd)  # also lets go of the shared lock
    return False


def current_holder(path: Path) -> Holder | None:
    """Who holds the lock now: the lock says whether, the file says who.

    A held lock whose file names nobody (its holder is starting) is ``Holder(0, "")``. Only
    when the lock cannot be asked (no permission) is the pid in the file trusted.
    """
    held = probe(path)
    holder = read_holder(path)
    if held is None:
        return holder if holder is not None and holder.is_alive() else None
    if not held:
        return None
    return holder or Holder(0, "")


class RunLock:
    """An exclusive, non-blocking lock on ``path``; use as a context manager."""

    def __init__(self, path: Path, command: str = "run", what: str = "cycle") -> None:
        self.path = path
        self.command = command
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`LockHeldError` naming the holder.

        While the lock is busy but its file names no live holder (a ``status`` probe, or a
        holder that has not written its name yet), try again for up to ``PROBE_GRACE``.
        """
        fd = self._open()
        deadline = time.monotonic() + PROBE_GRACE
        while not self._try(fd):
            if self._live_holder() or time.monotonic() > deadline:
                os.close(fd)
                raise LockHeldError(self._held_message())
            pause(PAUSE)
        self._fd = fd
        self._note_stale()
        self._write_holder()
        return self

    def _try(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in BUSY:
                os.close(fd)
                raise StoreError(f"run lock {str(self.path)!r} is unusable: {e}") from e
            return False
        return True

    def _live_holder(self) -> bool:
        holder = read_holder(self.path)
        return holder is not None and holder.is_alive()

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
            return os.open(self.path, os.O_RDWR | os.O_CREAT, private.MODE)
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
