"""The log channel: a text digest or one JSON object per change per line, to stderr or a file.

In ``json`` format each change is one object with ``trial_id, registry, category, severity,
field, old_value, new_value, summary, detected_at, run_id``; a notice (a study failing or recovered)
is one object with ``event`` set to ``failing`` or ``recovered``, and a delivery the outbox gave
up on is one object with ``event`` set to ``delivery_failed``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from monitor import registries
from monitor.configkit import Table, WatchConfig
from monitor.errors import DeliveryError
from monitor.models import SEVERITIES
from monitor.notify.channel import ChannelBase, ChannelSpec
from monitor.notify.digest import Digest, render_log_text, render_text

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
        file=t.get("file", str, d.file),
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
            self._emit(orjson.dumps({**fields, "message": text}).decode())
        else:
            self._emit(f"trialmon: {text}")
        return True

    def _emit(self, text: str) -> None:
        try:
            self._write(text + "\n")
        except OSError as e:
            raise DeliveryError(f"log channel cannot write: {e}") from e

    def _write(self, text: str) -> None:
        if self.config.file:
            path = Path(self.config.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(text)
            return
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()


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
    return "\n".join(orjson.dumps(line).decode() for line in lines)


def build(config: LogNotifyConfig, watch: WatchConfig) -> LogNotifier:
    return LogNotifier(config)


SPEC = ChannelSpec(KIND, parse, build)
