"""The HTML report: what it derives from the history, escaping, and the SVG chart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from monitor import chart, report
from monitor.errors import UsageError
from monitor.store import Store
from tests.history_data import FAILING, SEED, TERMINATED, known_history, save_canonical

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[Store]:
    store = known_history(Store.memory())
    yield store
    store.close()


class Tags(HTMLParser):
    """Every start tag with its attributes, to check a page is well formed enough to parse."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_periods_collapse_versions_with_one_status(store: Store) -> None:
    got = report.periods(report.collect(store, SEED), "2026-01-01")
    assert [(p.status, p.since, p.until, p.days, p.current) for p in got] == [
        ("NOT_YET_RECRUITING", "2024-05-02", "2025-08-08", 463, False),
        ("WITHDRAWN", "2025-08-08", "2026-01-01", 146, True),
    ]


def test_series_keeps_only_revisions(store: Store) -> None:
    got = report.series(report.collect(store, SEED))
    assert [p.planned for p in got["completion"]] == ["2026-12-31", "2027-12-30"]
    assert [p.version_date for p in got["start"]] == ["2024-05-02", "2025-01-10"]


@pytest.mark.parametrize(
    ("old", "new", "days"),
    [
        ("2026-12-31", "2027-12-30", 364),
        ("2025-06", "2025-06-30", 0),
        ("2025-06", "2026-06-30", 365),
        ("2020", "2021-03", 366),
        ("2027-01-10", "2026-12-31", -10),
        (None, "2026-01", None),
    ],
)
def test_days_between_is_precision_aware(old: str | None, new: str | None, days: int) -> None:
    assert report.days_between(old, new) == days


def test_parse_day_pads_coarse_dates() -> None:
    assert chart.parse_day("2025").isoformat() == "2025-01-01"
    assert chart.parse_day("2025-06").isoformat() == "2025-06-01"


def test_page_is_self_contained_and_escaped(store: Store) -> None:
    html = report.build_report(store, [SEED], generated_at=NOW)
    assert "<script" not in html.lower() and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "default-src 'none'" in html
    assert "&lt;CAR-T&gt; &amp; &quot;friends&quot;" in html


def test_hostile_record_text_stays_text(store: Store) -> None:
    evil = '<script>alert(1)</script>" onload="x'
    canonical = {
        "identification": {"trial_id": "NCT00000042", "brief_title": evil},
        "status": {"overall_status": "<img src=x>"},
        "dates": {"start": {"date": "2020-01", "type": "ACTUAL"}},
        "sponsor": {"lead": {"name": evil}},
    }
    save_canonical(store, "NCT00000042", canonical, "2024-01-01T00:00:00Z")
    html = report.build_report(store, ["NCT00000042"], generated_at=NOW)
    assert "<script" not in html and "<img" not in html
    assert "status-OTHER" in html
    names = [t for t, _ in tags(html)]
    assert "script" not in names and "img" not in names


def test_chart_has_a_line_and_points_per_date(store: Store) -> None:
    html = report.build_report(store, [SEED], generated_at=NOW)
    found = tags(html)
    classes = [attrs.get("class") for _, attrs in found]
    assert classes.count("plan") == 3
    assert sum(1 for c in classes if c and c.startswith("point ")) == 6
    assert "diagonal" in classes


def test_chart_without_dates_says_so() -> None:
    assert "No planned dates" in chart.slippage_svg({"start": []}, "t")


def test_ticks_fall_back_to_quarters_on_a_short_range() -> None:
    low, high = chart.parse_day("2025-02-01").toordinal(), chart.parse_day("2025-11-01")
    got = chart.ticks(low, high.toordinal())
    assert [d.isoformat() for d in got] == ["2025-04-01", "2025-07-01", "2025-10-01"]


def test_portfolio_has_an_overview(store: Store) -> None:
    html = report.build_report(store, [SEED, TERMINATED, FAILING], generated_at=NOW)
    assert "trialmon portfolio report" in html
    assert html.count("<section class='study'") == 3
    assert "href='#study-NCT02576665'" in html
    assert "2× HTTP 503 from registry" in html


def test_unknown_study_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="NCT00000000"):
        report.collect(store, "NCT00000000")
