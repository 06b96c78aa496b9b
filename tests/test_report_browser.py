"""The HTML report rendered by headless Chromium: the chart and timeline exist in the DOM.

The browser is Debian's ``chromium`` package. When it is missing and we are root with apt-get,
the session fixture installs it (``apt-get update && apt-get install -y chromium``); set
``TRIALMON_NO_BROWSER_INSTALL=1`` to forbid that. The test is skipped, with the reason, only when
no browser can be had. The page is opened from a file with networking disabled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.report import build_report
from monitor.store import Store
from tests.history_data import SEED, TERMINATED, known_history

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def apt_install_chromium() -> str:
    """Why no browser could be installed, or "" when it was."""
    if os.environ.get("TRIALMON_NO_BROWSER_INSTALL"):
        return "TRIALMON_NO_BROWSER_INSTALL is set"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no chromium on PATH, and not root with apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def browser() -> str:
    found = find_browser()
    if found is None:
        reason = apt_install_chromium()
        found = find_browser()
        if found is None:
            pytest.skip(f"no headless browser: {reason or 'chromium not found after install'}")
    return found


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Path]:
    with closing(known_history(Store.memory())) as store:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        html = build_report(store, [SEED, TERMINATED], generated_at=when)
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    yield path


def run_browser(browser: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Counts of elements by tag and by class in the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name in (dict(attrs).get("class") or "").split():
            self.classes[name] = self.classes.get(name, 0) + 1


def dom(html: str) -> Dom:
    parsed = Dom()
    parsed.feed(html)
    return parsed


def test_rendered_dom_has_chart_and_timeline(browser: str, page: Path, tmp_path: Path) -> None:
    rendered = dom(run_browser(browser, tmp_path, "--dump-dom", page.as_uri()))
    assert rendered.classes["slippage"] == 2  # one chart per study
    assert rendered.tags["polyline"] == 6  # start, primary completion, completion × 2
    assert rendered.classes["point"] == 11  # one per planned date and revision: 6 + 5
    assert rendered.classes["series-completion"] == 2
    assert rendered.classes["timeline"] == 2 and rendered.classes["period"] == 4
    assert rendered.classes["segment"] == 4
    assert rendered.classes["change"] == 14
    assert rendered.classes["severity-critical"] == 3
    assert "script" not in rendered.tags


def test_screenshot_is_drawn(browser: str, page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_browser(
        browser, tmp_path, "--hide-scrollbars", "--window-size=1000,1800",
        f"--screenshot={shot}", page.as_uri(),
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page is a few kilobytes


def test_install_can_be_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALMON_NO_BROWSER_INSTALL", "1")
    assert apt_install_chromium() == "TRIALMON_NO_BROWSER_INSTALL is set"
