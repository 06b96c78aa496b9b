"""Counts in proper English wherever a person reads them: `1 change in 1 study`, `1 version`."""

from __future__ import annotations

from pathlib import Path

from monitor.cli import summary_line
from monitor.config import Config, QueryWatch, WatchConfig
from monitor.english import count
from monitor.models import Change, RunReport, StudyError
from monitor.notify.digest import Digest, DigestChange, StudyDigest
from monitor.render import changes_table, studies_lines
from monitor.status import render_text, status

AT = "2026-11-26T20:03:14Z"
NCT = "NCT06009107"


def test_count_says_one_and_many() -> None:
    assert [count(n, "study") for n in (0, 1, 2)] == ["0 studies", "1 study", "2 studies"]
    assert [count(n, "change") for n in (1, 3)] == ["1 change", "3 changes"]
    assert count(1, "query") == "1 query" and count(2, "query") == "2 queries"
    assert count(1, "attempt") == "1 attempt" and count(1, "time") == "1 time"


def test_subject_of_one_change_in_one_study() -> None:
    change = DigestChange("status", "status.overall_status", "major", "x", "A", "B", AT)
    digest = Digest(1, AT, (StudyDigest(NCT, "t", (change,)),))
    assert digest.subject() == "[trialmon] 1 change in 1 study (0 critical)"


def test_run_summary_of_one_study() -> None:
    change = Change("status", "status.overall_status", "major", "A", "B", "Overall status: A → B")
    report = RunReport(3, AT, status="ok", changed=1, changes=[(NCT, change)])
    line = summary_line(report)
    assert line.startswith("Checked 1 study: 0 new, 1 changed, 0 unchanged, 0 failed; ")
    assert "1 change recorded" in line


def test_one_failed_study_is_one_study_checked() -> None:
    report = RunReport(run_id=3, started_at=AT, status="partial")
    report.errors += [StudyError(NCT, "no record"), StudyError(NCT, "again")]
    line = summary_line(report)
    assert line.startswith("Checked 1 study: 0 new, 0 changed, 0 unchanged, 1 failed; ")


def test_studies_lines_say_1_version_1_change() -> None:
    row = {
        "trial_id": NCT,
        "overall_status": "WITHDRAWN",
        "last_checked": AT,
        "last_changed": AT,
        "snapshots": 1,
        "changes": 1,
        "consecutive_failures": 0,
        "title": "t",
    }
    [line] = studies_lines([row])
    assert "1 version, 1 change" in line


def test_changes_table_title_of_one_change() -> None:
    row = {
        "detected_at": AT,
        "trial_id": NCT,
        "severity": "major",
        "category": "status",
        "summary": "Overall status: A → B",
    }
    assert changes_table([row]).title == "1 change, newest first"


def test_status_of_one_watched_study_and_one_query(tmp_path: Path) -> None:
    watch = WatchConfig(studies=(NCT,), queries=(QueryWatch("q", {"query.cond": "x"}),))
    config = Config(database=tmp_path / "none.db", watch=watch)
    text = render_text(status(config, None))
    assert f"Watched: 1 study ({NCT}), 1 query" in text
    assert "0 studies in the database" in text
