"""The HTML report as a person reads it: no administrative flood, a bounded change list per
version, a version column that never wraps, and a chart where every date can be seen.

The study is the SYNTHETIC reopening of tests/realedits.py (230 sites given a status ...),
with a 2020 start date and equal primary-completion and completion dates, stored through the
pipeline's own steps (tests/history_data.save).
"""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import chart, report
from monitor.store import Store
from tests.browser import measure, pixels, rgb, screenshot
from tests.history_data import save
from tests.realedits import as_study, sites_reopen_en_masse

NCT = "NCT99000001"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
LIMIT = 30


def dated(study: dict[str, Any], posted: str, completion: str) -> dict[str, Any]:
    status = study["protocolSection"]["statusModule"]
    status["startDateStruct"] = {"date": "2020-06", "type": "ACTUAL"}
    for name in ("primaryCompletionDateStruct", "completionDateStruct"):
        status[name] = {"date": completion, "type": "ESTIMATED"}
    status["lastUpdatePostDateStruct"] = {"date": posted, "type": "ACTUAL"}
    status["lastUpdateSubmitDate"] = posted
    return study


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.memory()
    before, after = sites_reopen_en_masse()
    save(store, dated(as_study(before, NCT), "2026-05-01", "2026-12-31"), "2026-05-01T00:00:00Z")
    save(store, dated(as_study(after, NCT), "2026-11-30", "2027-06-30"), "2026-11-30T00:00:00Z")
    yield store
    store.close()


def page(store: Store, min_severity: str = "minor") -> str:
    return report.build_report(store, [NCT], generated_at=NOW, min_severity=min_severity)


def rows(html: str) -> list[str]:
    return re.findall(r"<tr class='change [^']*'>", html)


def test_administrative_changes_are_hidden_unless_asked(store: Store) -> None:
    html = page(store)
    assert "Last update posted" not in html
    assert "2 administrative changes not shown (--min-severity info shows them)" in html
    assert "Last update posted" in page(store, "info")
    assert "<span class='days'>1 day</span>" in html  # RECRUITING since the day before


def test_a_version_of_464_rows_shows_a_few_lines_with_the_full_list_folded(store: Store) -> None:
    html = page(store)
    assert 1 < len(rows(html)) < LIMIT
    html = html_text.unescape(html)
    assert "Locations: 230 sites' status set (176 RECRUITING, 54 NOT_YET_RECRUITING)" in html
    folded = re.findall(r"<details><summary>.*?</summary><ul>(.*?)</ul></details>", html)
    assert sum(part.count("<li>") for part in folded) == 230 + 6 + 9 + 218  # every row, folded


def test_the_lowest_axis_label_is_at_or_below_a_2020_start(store: Store) -> None:
    svg = chart.slippage_svg(report.series(report.collect(store, NCT)), "t")
    labels = [(float(y), text) for y, text in re.findall(r'class="tick tick-y"[^>]* y="([\d.]+)"'
                                                         r'[^>]*>([^<]+)<', svg)]  # fmt: skip
    start_y = max(float(y) for y in re.findall(r'class="point point-start"[^>]*cy="([\d.]+)"', svg))
    lowest_y, lowest = max(labels)
    assert lowest == "2020" and lowest_y + 4 >= start_y  # the label's baseline sits 4 px low


def test_equal_completion_dates_are_drawn_apart(store: Store) -> None:
    svg = chart.slippage_svg(report.series(report.collect(store, NCT)), "t")
    primary = re.search(r'<g class="series series-primary_completion">.*?</g>', svg, re.S)
    completion = re.search(r'<g class="series series-completion">.*?</g>', svg, re.S)
    assert primary and completion
    assert completion.start() < primary.start()  # the wider line first, the dashed one on top
    assert "stroke-dasharray" in primary.group(0)


def test_the_version_column_never_wraps(browser: str, store: Store, tmp_path: Path) -> None:
    for width in (1000, 600):
        cells = measure(
            browser, tmp_path, page(store, "info"),
            "[...document.querySelectorAll('table.changes tr.change time')].map(t => "
            "[t.getClientRects().length, t.textContent])",
            width=width,
        )  # fmt: skip
        assert cells
        for lines, text in cells:  # an inline element has one box per line it spans
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", text) and lines == 1, (width, text, lines)


def test_both_equal_lines_can_be_seen(browser: str, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(page(store), encoding="utf-8")
    drawn = pixels(screenshot(browser, tmp_path, path, 1000, 1100))
    for name in ("primary_completion", "completion", "start"):
        assert drawn[rgb(chart.SERIES_COLORS[name])] > 300, name
