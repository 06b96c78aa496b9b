"""The HTML report rendered by headless Chromium: the chart and timeline exist in the DOM.

The browser comes from the ``browser`` fixture (tests/conftest.py, helpers in tests/browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.report import build_report
from monitor.store import Store
from tests.browser import apt_install_chromium, dom, run_browser
from tests.history_data import SEED, TERMINATED, known_history


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Path]:
    with closing(known_history(Store.memory())) as store:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        html = build_report(store, [SEED, TERMINATED], generated_at=when)
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    yield path


def test_rendered_dom_has_chart_and_timeline(browser: str, page: Path, tmp_path: Path) -> None:
    rendered = dom(run_browser(browser, tmp_path, "--dump-dom", page.as_uri()))
    assert rendered.classes["slippage"] == 2  # one chart per study
    assert rendered.tags["polyline"] == 6  # start, primary completion, completion × 2
    assert rendered.classes["point"] == 11  # one per planned date and revision: 6 + 5
    assert rendered.classes["series-completion"] == 2
    assert rendered.classes["timeline"] == 2 and rendered.classes["period"] == 4
    assert rendered.classes["segment"] == 4
    assert rendered.classes["change"] == 11  # 3 administrative changes are counted, not listed
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
