"""Shared fixtures: paths to test data, a fresh store, and the loopback fake of the registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import Store
from tests.browser import apt_install_chromium, find_browser
from tests.fakeapi import FakeApi, FakeClock

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def trialmon(
    *args: str, cwd: Path | None = None, timeout: float = 60, columns: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``trialmon ARGS`` as a user runs it, in a process (``columns`` wide when given)."""
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    cmd = [sys.executable, "-m", "monitor", *args]
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


@pytest.fixture(autouse=True)
def user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts) gets its own empty user config and data
    folders: nothing reads or writes the real ``~/.config/trialmon`` or ``~/.local/share``."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("TRIALMON_CONFIG", raising=False)
    return home


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.memory()
    yield store
    store.close()


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A fake ClinicalTrials.gov API on 127.0.0.1 (OS-chosen port), stopped after the test."""
    with FakeApi() as api:
        yield api


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock for a rate limiter and its backoff (``sleep`` only moves it)."""
    return FakeClock()


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still alive at the end are killed and reaped."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # reaps it and closes its pipes


@pytest.fixture(scope="session")
def browser() -> str:
    """A headless Chromium (installed with apt-get when missing and allowed, see browser.py)."""
    found = find_browser()
    if found is None:
        reason = apt_install_chromium()
        found = find_browser()
        if found is None:
            pytest.skip(f"no headless browser: {reason or 'chromium not found after install'}")
    return found
