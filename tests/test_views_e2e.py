"""End to end through the CLI: the seed replay of `make demo`, then every view of its history.

Data: seeds/earlier/NCT06009107.txt (SYNTHETIC earlier version) and seeds/NCT06009107.txt (REAL
registry page), see seeds/README.md.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"
NCT = "NCT06009107"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("e2e")
    config = tmp / "config.toml"
    config.write_text(f'[watch]\nstudies = ["{NCT}"]\n\n[notify.log]\nenabled = false\n')
    db = tmp / "history.db"
    for source in (SEEDS / "earlier", SEEDS):
        result = CliRunner().invoke(
            cli, ["--config", str(config), "--db", str(db), "run", "--source", str(source)]
        )
        assert result.exit_code == 0, result.stderr
    return config, db


def trialmon(replayed: tuple[Path, Path], *args: str) -> str:
    config, db = replayed
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_history_shows_the_withdrawal(replayed: tuple[Path, Path]) -> None:
    data = json.loads(trialmon(replayed, "history", NCT, "--format", "json"))
    assert data["overall_status"] == "WITHDRAWN" and len(data["versions"]) == 2
    summaries = [c["summary"] for c in data["versions"][1]["changes"]]
    assert "Overall status: NOT_YET_RECRUITING → WITHDRAWN" in summaries


def test_diff_reclassifies_the_last_two_snapshots(replayed: tuple[Path, Path]) -> None:
    found = json.loads(trialmon(replayed, "diff", NCT, "--format", "json"))
    stored = json.loads(trialmon(replayed, "changes", "--format", "json"))
    assert sorted(c["summary"] for c in found) == sorted(c["summary"] for c in stored)
    assert "Completion date: 2026-12-31 → 2027-12-30 (+364 days)" in trialmon(replayed, "diff", NCT)


def test_changes_csv_and_json_agree(replayed: tuple[Path, Path]) -> None:
    as_json = json.loads(trialmon(replayed, "changes", "--format", "json"))
    as_csv = list(csv.DictReader(io.StringIO(trialmon(replayed, "changes", "--format", "csv"))))
    assert [int(r["id"]) for r in as_csv] == [c["id"] for c in as_json]
    assert [json.loads(r["new_value"]) for r in as_csv] == [c["new_value"] for c in as_json]


def test_studies_lists_the_seed(replayed: tuple[Path, Path]) -> None:
    (row,) = json.loads(trialmon(replayed, "studies", "--format", "json"))
    assert (row["trial_id"], row["overall_status"], row["snapshots"]) == (NCT, "WITHDRAWN", 2)
    assert row["consecutive_failures"] == 0


def test_views_answer_the_readme_questions(replayed: tuple[Path, Path]) -> None:
    with closing(sqlite3.connect(replayed[1])) as db:
        db.row_factory = sqlite3.Row
        moved = db.execute(
            "select trial_id, to_status from status_history where to_status in "
            "('WITHDRAWN', 'TERMINATED')"
        ).fetchall()
        shifts: dict[str, Any] = {
            r["date_field"]: r["shift_days"] for r in db.execute("select * from date_shifts")
        }
    assert [tuple(r) for r in moved] == [(NCT, "WITHDRAWN")]
    assert shifts == {"start": 181, "completion": 364}


def test_report_of_the_seed(replayed: tuple[Path, Path], tmp_path: Path) -> None:
    page = tmp_path / "seed.html"
    trialmon(replayed, "report", NCT, "--html", str(page))
    html = page.read_text()
    assert "Overall status: NOT_YET_RECRUITING → WITHDRAWN" in html
    assert html.count('class="plan"') >= 2
