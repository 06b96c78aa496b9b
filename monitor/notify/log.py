"""The log channel: a text digest or one JSON object per change per line, to stderr or a file.

In ``json`` format each change is one object with ``trial_id, registry, category, severity,
field, old_value, new_value, summary, detected_at, run_id``; a notice (a study failing or recovered)
is one object with ``event`` set to ``failing`` or ``recovered``, and a delivery the outbox gave
up on is one object with ``event`` set to ``delivery_failed``.

A file receives each digest whole and once (:func:`append_whole`): written with one locked
``O_APPEND`` write and synced (``fsync``) before the outbox marks it sent; a write that fails
part way (a full disk) is cut back off before the error is raised, so the retry starts clean;
and a partial copy of the digest that a killed process left at the end is removed before the
digest is written again. Only a file can promise this: stderr gets a digest at least once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from monitor import private, registries
from monitor.configkit import Table, WatchConfig
from monitor.errors import DeliveryError
from monitor.models import SEVERITIES
from monitor.notify.channel import ChannelBase, ChannelSpec
from monitor.notify.digest import Digest, render_log_text, render_text
from monitor.textsafe import json_safe, printable

log = logging.getLogger(__name__)

KIND = "log"


@dataclass(frozen=True)
class LogNotifyConfig:
    enabled: bool = True
    format: str = "text"
    min_severity: str = "minor"
    file: str | None = None


def parse(t: Table) -> LogNotifyConfig:
    """``[notify.log]``."""
    d = LogNotifyConfig()
    cfg = LogNotifyConfig(
        enabled=t.get("enabled", bool, d.enabled),
        format=t.choice("format", ("text", "json"), d.format),
        min_severity=t.choice("min_severity", SEVERITIES, d.min_severity),
        file=t.path("file", d.file),  # from the config file's folder when relative
    )
    t.done()
    return cfg


class LogNotifier(ChannelBase):
    channel = KIND

    def __init__(self, config: LogNotifyConfig, stream: TextIO | None = None) -> None:
        self.config = config
        self.min_severity = config.min_severity
        self.stream = stream

    def describe(self, digest: Digest) -> str:
        return f"to {self.config.file or 'stderr'}"

    def render(self, digest: Digest) -> str:
        return render_log_text(digest) if self.config.format == "text" else json_lines(digest)

    def send(self, digest: Digest) -> None:
        self._emit(self.render(digest))

    def delivered(self, digest: Digest) -> bool:
        """Whether the log file already ends with this digest (a crash cut its send short).

        Only a file can tell: the digest a crash interrupted is the last thing appended to it.
        """
        if not self.config.file:
            return False
        expected = (self.render(digest) + "\n").encode()
        try:
            with Path(self.config.file).open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - len(expected)))
                return f.read() == expected
        except OSError:
            return False

    def notice(self, text: str, **fields: Any) -> bool:
        """A one-line operational notice (e.g. a delivery given up) on this channel."""
        if self.config.format == "json":
            self._emit(json_safe(orjson.dumps({**fields, "message": text}).decode()))
        else:
            self._emit(f"trialmon: {printable(text)}")
        return True

    def _emit(self, text: str) -> None:
        try:
            self._write(text + "\n")
        except OSError as e:
            raise DeliveryError(f"log channel cannot write: {e}") from e

    def _write(self, text: str) -> None:
        if self.config.file:
            append_whole(Path(self.config.file), text.encode("utf-8"))
            return
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()


# ---------------------------------------------------------------- a file, whole and once


def append_whole(path: Path, data: bytes) -> None:
    """Append ``data`` (lines ending with a line feed) to ``path`` whole or not at all.

    Under an exclusive ``flock`` (a ``notify --test`` beside a cycle): a partial copy of
    ``data`` at the end of the file is removed first; then ``data`` is written and synced,
    and if any of that fails the file is cut back to where it ended, and the error raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, private.MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        end = _drop_partial_copy(fd, data)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            _cut(fd, end)
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]  # a short write, then the error on the next one


def _cut(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as e:  # the next attempt removes the partial copy (_drop_partial_copy)
        log.warning("log file: could not remove a partly written digest: %s", e)


def _drop_partial_copy(fd: int, data: bytes) -> int:
    """Remove a partial copy of ``data`` from the end of the file; returns the file's size.

    A partial copy is a proper, non-empty beginning of ``data`` that starts a line and runs
    to the end of the file: what a process killed while writing ``data`` leaves. A digest's
    first line names its counts (text) or its run (JSON), so an earlier digest is never one.
    """
    size = os.fstat(fd).st_size
    longest = min(size, len(data) - 1)
    if longest <= 0:
        return size
    start = size - longest
    before = os.pread(fd, 1, start - 1) if start else b"\n"
    tail = os.pread(fd, longest, start)
    for offset in _line_starts(tail, before == b"\n"):
        if data.startswith(tail[offset:]):
            log.info("log file: removing %d bytes of a digest cut short", longest - offset)
            os.ftruncate(fd, start + offset)
            return start + offset
    return size


def _line_starts(tail: bytes, first: bool) -> Iterator[int]:
    if first:
        yield 0
    at = tail.find(b"\n")
    while 0 <= at < len(tail) - 1:
        yield at + 1
        at = tail.find(b"\n", at + 1)


def json_lines(digest: Digest) -> str:
    """One JSON object per change (and per notice), per line."""
    lines = []
    if digest.test:
        lines.append({"event": "test", "message": render_text(digest), "run_id": 0})
    for study in digest.studies:
        for c in study.changes:
            obj = {
                "trial_id": study.trial_id,
                "registry": study.registry or registries.kind_of(study.trial_id),
                "category": c.category,
                "severity": c.severity,
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "summary": c.summary,
                "detected_at": c.detected_at,
                "run_id": digest.run_id,
            }
            lines.append(obj)
    for n in digest.notices:
        lines.append(
            {
                "trial_id": n.trial_id,
                "event": n.event,
                "failures": n.failures,
                "summary": n.line(),
                "detected_at": digest.created_at,
                "run_id": digest.run_id,
            }
        )
    return "\n".join(json_safe(orjson.dumps(line).decode()) for line in lines)


def build(config: LogNotifyConfig, watch: WatchConfig) -> LogNotifier:
    return LogNotifier(config)


SPEC = ChannelSpec(KIND, parse, build)
