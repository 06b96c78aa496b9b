"""The clock going backwards between cycles: history stays in the order it was stored.

Three offline cycles over one study (the REAL seed page of NCT06009107 before and after its
withdrawal, then a SYNTHETIC third version whose completion date moves again), with the clock
of the machine at 2026-06-01, then jumped to 2031-05-01 (a wrong clock), then set back to
2026-06-02. Every command and view must show the versions in the order they were stored, and
the cycle after the jump back says that the clock went back.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from monitor import cli as cli_module
from monitor.cli import cli
from tests.conftest import ROOT

SEED = ROOT / "seeds"
CLOCKS = [
    datetime(2026, 6, 1, 9, tzinfo=UTC),
    datetime(2031, 5, 1, 9, tzinfo=UTC),  # the clock jumps forward ...
    datetime(2026, 6, 2, 9, tzinfo=UTC),  # ... and is set right again: backwards
]


def third_version(text: str) -> str:
    """SYNTHETIC: the withdrawn version with its completion date moved six months again."""
    edited = text.replace("2027-12-30", "2028-06-30").replace("2025-08-08", "2025-09-01")
    assert edited.count("2028-06-30") == 1
    return edited


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config of the database after the three cycles, each at its clock."""
    return three_cycles(tmp_path, monkeypatch)


def three_cycles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    texts = [
        (SEED / "earlier" / "NCT06009107.txt").read_text(encoding="utf-8"),
        (SEED / "NCT06009107.txt").read_text(encoding="utf-8"),
    ]
    texts.append(third_version(texts[1]))
    config = tmp_path / "config.toml"
    config.write_text(
        'database = "history.db"\n[watch]\nstudies = ["NCT06009107"]\n'
        f'[notify.log]\nfile = "{tmp_path / "notify.log"}"\n'
    )
    for number, (text, clock) in enumerate(zip(texts, CLOCKS, strict=True)):
        folder = tmp_path / f"cycle{number}"
        folder.mkdir()
        (folder / "NCT06009107.txt").write_text(text, encoding="utf-8")
        monkeypatch.setattr(cli_module, "now_utc", lambda clock=clock: clock)
        result = trialmon(config, "run", "--source", str(folder))
        assert result.exit_code == 0, result.output
    return config


def trialmon(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def query(config: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(config.parent / "history.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_history_lists_versions_in_the_order_they_were_stored(stored: Path) -> None:
    data = orjson.loads(trialmon(stored, "history", "NCT06009107", "--format", "json").output)
    assert [v["snapshot_id"] for v in data["versions"]] == [1, 2, 3]
    text = trialmon(stored, "history", "NCT06009107").output
    assert text.index("#2 ") < text.index("#3 "), text


def test_diff_compares_the_last_two_versions_stored(stored: Path) -> None:
    result = trialmon(stored, "diff", "NCT06009107", "--format", "json")
    found = orjson.loads(result.output)
    assert {(c["from_snapshot_id"], c["to_snapshot_id"]) for c in found} == {(2, 3)}
    summaries = [c["summary"] for c in found]
    assert "Completion date: 2027-12-30 → 2028-06-30 (+183 days)" in summaries, summaries


def test_changes_are_listed_newest_stored_first(stored: Path) -> None:
    rows = orjson.loads(trialmon(stored, "changes", "--format", "json").output)
    runs = [row["run_id"] for row in rows]
    assert runs == sorted(runs, reverse=True) and runs[0] == 3, runs


def test_the_views_follow_the_order_stored(stored: Path) -> None:
    latest = query(stored, "select distinct to_snapshot_id from latest_changes")
    assert latest == [(3,)]
    shifts = query(stored, "select to_snapshot_id, new_date from date_shifts where kind = 'shift'")
    assert [row[0] for row in shifts] == sorted(row[0] for row in shifts)
    assert shifts[-1] == (3, "2028-06-30")


def test_the_report_lists_the_newest_version_first(stored: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert trialmon(stored, "report", "NCT06009107", "--html", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    table = html[html.index("<table class='changes'>") :]
    assert table.index("2028-06-30") < table.index("WITHDRAWN"), "newest version first"


def test_a_cycle_says_when_the_clock_went_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitor")
    three_cycles(tmp_path, monkeypatch)
    warnings = [r.getMessage() for r in caplog.records if "clock" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "2026-06-02T09:00:00Z" in warnings[0] and "2031-05-01T09:00:00Z" in warnings[0]


def test_the_feed_lists_the_newest_stored_cycle_first(stored: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "feed.xml"
    result = trialmon(stored, "feed", "--output", str(out), "--since", "2000-01-01")
    assert result.exit_code == 0, result.output
    atom = "{http://www.w3.org/2005/Atom}"
    titles = [e.findtext(f"{atom}title") or "" for e in ET.parse(out).iter(f"{atom}entry")]
    assert len(titles) == 2 and "2028-06-30" in titles[0] and "WITHDRAWN" in titles[1], titles
