"""Running `trialmon run` in-process against loopback fakes, with time in the test's hands.

:class:`LiveCli` writes a config, runs the command line with Click's runner, and holds the two
clocks a live cycle reads: the day (``monitor.cli.now_utc``, moved one day per cycle) and the
monotonic clock of the HTTP layer's rate limiter and backoff (``monitor.http.SystemClock``: a
:class:`tests.fakeapi.FakeClock`, so a backoff is recorded in ``clock.slept``, never slept).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.fakeapi import FakeClock


def loopback_section(kind: str, url: str) -> str:
    """A registry's config section pointing at its loopback fake, asked as fast as it answers."""
    return f'[{kind}]\nbase_url = "{url}"\nrequests_per_minute = 100000\ntimeout = 10\n\n'


@dataclass
class LiveCli:
    """A config file, the day of the next cycle and the shared fake monotonic clock."""

    path: Path
    now: datetime
    clock: FakeClock = field(default_factory=FakeClock)

    def write(self, text: str, log_file: str | None = None) -> None:
        """The config: ``text``, and the log channel writing text digests to ``log_file``."""
        log = f'enabled = true\nfile = "{log_file}"\n' if log_file else "enabled = false\n"
        self.path.write_text(
            f'database = "history.db"\n{text}\n[notify.log]\n{log}', encoding="utf-8"
        )

    def run(self, *args: str, days: int = 1) -> Result:
        """``trialmon run``; the next one is ``days`` later."""
        result = self.trialmon("run", *args)
        self.now += timedelta(days=days)
        return result

    def trialmon(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.path), *args], catch_exceptions=False)

    def changes(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.trialmon("changes", "--format", "json").output)
        return rows

    def summaries(self, run_id: int) -> set[tuple[str, str, str]]:
        """(trial id, severity, summary) of one run's changes."""
        return {
            (r["trial_id"], r["severity"], r["summary"])
            for r in self.changes()
            if r["run_id"] == run_id
        }


@pytest.fixture
def live_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[LiveCli]:
    """The harness; a test module sets ``START`` (its first day) as a module global."""
    harness = LiveCli(tmp_path / "config.toml", request.module.START)
    monkeypatch.setattr("monitor.cli.now_utc", lambda: harness.now)
    monkeypatch.setattr("monitor.http.SystemClock", lambda: harness.clock)
    yield harness
