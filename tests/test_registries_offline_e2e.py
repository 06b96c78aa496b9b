"""End to end, offline: `trialmon run --source DIR` over EU CTIS retrieve JSON and ISRCTN XML.

A REAL record replayed as a SYNTHETIC edit of itself (tests/data/README.md labels each file)
reports status, dates with their day shift, enrollment with its percentage, endpoints and
criteria in the usual categories and severities; a copy with every array reordered reports
nothing. Runs the installed command line in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA, trialmon

CTIS = DATA / "ctis"
ISRCTN = DATA / "isrctn"
EU_CT = "2024-513060-26-00"
COPD = "ISRCTN41823570"


def replay(tmp_path: Path, *steps: list[Path]) -> list[dict[str, object]]:
    """Each step a directory of its files, run in turn; the changes of the last run."""
    (tmp_path / "config.toml").write_text("[notify.log]\nenabled = false\n")
    for n, files in enumerate(steps):
        folder = tmp_path / f"step{n}"
        folder.mkdir()
        for file in files:
            shutil.copy(file, folder / file.name.replace("synthetic_", ""))
        result = trialmon("run", "--source", str(folder), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    out = trialmon("changes", "--format", "json", cwd=tmp_path)
    rows: list[dict[str, object]] = json.loads(out.stdout)
    return [r for r in rows if r["run_id"] == len(steps)]


def found(rows: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    return {(r["category"], r["severity"], r["summary"]) for r in rows}


def test_a_ctis_edit_reports_where_it_was_made(tmp_path: Path) -> None:
    rows = replay(
        tmp_path,
        [CTIS / "retrieve_2024-513060-26-00.json"],
        [CTIS / "synthetic_2024-513060-26-00_edited.json"],
    )
    assert {r["trial_id"] for r in rows} == {EU_CT}
    assert found(rows) >= {
        ("dates", "major", "Global end of trial: 2024-09-18 → 2024-12-19 (+92 days)"),
        ("enrollment", "major", "Enrollment: 50 (ESTIMATED) → 46 (ESTIMATED) (-8%)"),
        ("enrollment", "minor", "Planned subjects in Spain: 8 → 4 (-50%)"),
        ("outcomes", "minor", 'Secondary outcome added: "Quality of life measured with the '
         'EORTC QLQ-C30."'),
    }  # fmt: skip
    categories = {(r["category"], r["severity"]) for r in rows}
    assert ("outcomes", "major") in categories  # the primary endpoint reworded
    assert ("eligibility", "major") in categories  # inclusion reworded, exclusion removed
    assert {r["category"] for r in rows} <= {"dates", "enrollment", "outcomes", "eligibility"}


def test_a_ctis_trial_ending_early_is_critical(tmp_path: Path) -> None:
    rows = replay(
        tmp_path,
        [CTIS / "synthetic_2024-513060-26-00_recruiting.json"],
        [CTIS / "retrieve_2024-513060-26-00.json"],
    )
    assert found(rows) >= {
        ("status", "critical", "Overall status: Ongoing, recruiting → Ended (early termination)"),
        ("dates", "major", "Completion date: 2027-07-31 (ESTIMATED) → 2024-09-17 (ACTUAL) "
         "(-1047 days)"),
    }  # fmt: skip
    report = tmp_path / "report.html"
    assert trialmon("report", EU_CT, "--html", str(report), cwd=tmp_path).returncode == 0
    html = report.read_text(encoding="utf-8")  # each period coloured by its state in CTIS
    assert "class='status state-stopped status-OTHER'>Ended (early termination)<" in html
    assert "class='status state-recruiting status-OTHER'>Ongoing, recruiting<" in html


def test_an_isrctn_edit_reports_where_it_was_made(tmp_path: Path) -> None:
    rows = replay(
        tmp_path,
        [ISRCTN / "query_colchicine.xml"],
        [ISRCTN / "synthetic_ISRCTN41823570_v37.xml"],
    )
    assert {r["trial_id"] for r in rows} == {COPD}
    derived = "derived from the record's dates and overrides"
    assert found(rows) >= {
        ("status", "critical", f"Overall status: Recruiting → Stopped ({derived})"),
        ("dates", "major", "Overall end date: 2029-08-01 → 2029-12-31 (+152 days)"),
        ("enrollment", "major", "Enrollment: 440 (ESTIMATED) → 300 (ESTIMATED) (-32%)"),
        ("outcomes", "minor", 'Secondary outcome removed: "Mortality"'),
    }


REORDERED = [
    (CTIS / "retrieve_2024-513060-26-00.json", CTIS / "synthetic_2024-513060-26-00_reordered.json"),
    (ISRCTN / "query_colchicine.xml", ISRCTN / "synthetic_ISRCTN41823570_reordered.xml"),
]


@pytest.mark.parametrize(("real", "reordered"), REORDERED)
def test_every_array_reordered_reports_nothing(tmp_path: Path, real: Path, reordered: Path) -> None:
    assert replay(tmp_path, [real], [reordered]) == []
