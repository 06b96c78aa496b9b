"""The log channel: a text digest or one JSON object per change per line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import orjson

from monitor.config import LogNotifyConfig
from monitor.errors import DeliveryError
from monitor.notify.digest import Digest, render_text


class LogNotifier:
    channel = "log"

    def __init__(self, config: LogNotifyConfig, stream: TextIO | None = None) -> None:
        self.config = config
        self.min_severity = config.min_severity
        self.stream = stream

    def send(self, digest: Digest) -> None:
        text = render_text(digest) if self.config.format == "text" else json_lines(digest)
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
    """One JSON object per change, per line."""
    lines = []
    for study in digest.studies:
        for c in study.changes:
            obj = {
                "nct_id": study.nct_id,
                "category": c.category,
                "severity": c.severity,
                "field": c.field,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "summary": c.summary,
                "detected_at": c.detected_at,
                "run_id": digest.run_id,
            }
            lines.append(orjson.dumps(obj).decode())
    return "\n".join(lines)
