"""Shared fixtures: paths to test data, a fresh store, and the loopback fake of the registry."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import Store
from tests.browser import apt_install_chromium, find_browser
from tests.fakeapi import FakeApi

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def store() -> Store:
    return Store.memory()


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A fake ClinicalTrials.gov API on 127.0.0.1 (OS-chosen port), stopped after the test."""
    with FakeApi() as api:
        yield api


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
