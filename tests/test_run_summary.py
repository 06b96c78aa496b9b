"""The run summary says how many changes were notified, and why the others were not."""

from __future__ import annotations

import shutil
from pathlib import Path

from monitor.cli import summary_line
from monitor.models import Change, RunReport

from .conftest import ROOT, trialmon

AT = "2026-11-26T20:03:14Z"


def change(severity: str) -> Change:
    return Change("x", "x.y", severity, None, None, f"a {severity} change")


def report(*severities: str) -> RunReport:
    changes = [("NCT06009107", change(s)) for s in severities]
    return RunReport(run_id=2, started_at=AT, status="ok", changed=1, changes=changes)


def test_one_channel_says_what_it_left_out() -> None:
    line = summary_line(report("major", "minor", "info", "info"), {"log": "minor"})
    assert line.endswith("; 4 changes recorded: 2 notified, 2 not (administrative) (run 2, ok).")


def test_each_channel_with_its_own_threshold() -> None:
    line = summary_line(report("major", "minor", "info"), {"log": "minor", "email": "major"})
    assert (
        "3 changes recorded: 2 notified by log, 1 not (administrative); 1 notified by email, "
        "2 not (1 administrative, 1 below min_severity major)"
    ) in line


def test_everything_notified_says_so() -> None:
    line = summary_line(report("critical", "minor"), {"log": "minor", "apprise": "minor"})
    assert "2 changes recorded: 2 notified (run 2, ok)." in line


def test_no_channel() -> None:
    line = summary_line(report("major"), {})
    assert "1 change recorded, not notified: no notification channel is enabled" in line


def test_nothing_changed() -> None:
    assert "; 0 changes recorded (run 2, ok)." in summary_line(report(), {"log": "minor"})


def test_the_demo_run_says_why_a_change_was_not_notified(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    for source in ("seeds/earlier", "seeds"):
        done = trialmon("run", "--source", source, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    # NCT06009107 (4 changes, 1 administrative) and the EU CTIS trial (8, 1 administrative)
    assert "12 changes recorded: 10 notified, 2 not (administrative)" in done.stdout
