"""End to end, offline: the seed replay through the real CLI, as `make demo` runs it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from .conftest import DATA, ROOT, trialmon

SEEDS = ROOT / "seeds"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text('[watch]\nstudies = ["NCT06009107"]\n')
    return tmp_path


def test_seed_replay_reports_withdrawal_and_date_shifts(workdir: Path) -> None:
    first = trialmon("run", "--source", str(SEEDS / "earlier"), cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "1 new" in first.stdout
    second = trialmon("run", "--source", str(SEEDS), cwd=workdir)
    assert second.returncode == 0, second.stderr
    assert "1 changed" in second.stdout
    report = second.stderr
    assert "Overall status: NOT_YET_RECRUITING → WITHDRAWN" in report
    assert "Start date: 2024-12-31 → 2025-06-30 (+181 days)" in report
    assert "Completion date: 2026-12-31 → 2027-12-30 (+364 days)" in report
    with closing(sqlite3.connect(workdir / "snapshots/history.db")) as db:
        rows = db.execute("select category, severity from changes order by id").fetchall()
    assert ("status", "critical") in rows


def test_same_records_twice_store_nothing_new(workdir: Path) -> None:
    for _ in range(2):
        result = trialmon("run", "--source", str(SEEDS), cwd=workdir)
        assert result.returncode == 0, result.stderr
    assert "1 unchanged" in result.stdout
    with closing(sqlite3.connect(workdir / "snapshots/history.db")) as db:
        assert db.execute("select count(*) from snapshots").fetchone()[0] == 1
        assert db.execute("select count(*) from changes").fetchone()[0] == 0


def test_malformed_file_is_named_and_others_go_on(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    shutil.copy(SEEDS / "NCT06009107.txt", records)
    (records / "broken.json").write_text('{"protocolSection": {"identificationModule": ')
    result = trialmon("run", "--source", str(records), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "broken.json" in result.stderr
    # a file that names no study is no study: counted apart, the counts of studies add up
    assert (
        "Checked 1 study: 1 new, 0 changed, 0 unchanged, 0 failed; 1 other error" in result.stdout
    )


def test_history_and_changes_after_replay(workdir: Path) -> None:
    trialmon("run", "--source", str(SEEDS / "earlier"), cwd=workdir)
    trialmon("run", "--source", str(SEEDS), cwd=workdir)
    history = trialmon("history", "NCT06009107", "--format", "json", cwd=workdir)
    data = json.loads(history.stdout)
    assert [len(v["changes"]) > 0 for v in data["versions"]] == [False, True]
    changes = trialmon("changes", "--category", "status", "--format", "json", cwd=workdir)
    assert [c["new_value"] for c in json.loads(changes.stdout)] == ["WITHDRAWN"]
    diff = trialmon("diff", "NCT06009107", cwd=workdir)
    assert "WITHDRAWN" in diff.stdout


def test_api_json_and_text_page_of_one_version_are_the_same_record(workdir: Path) -> None:
    """The synthetic API JSON of the seed's version normalizes like the seed page itself."""
    records = workdir / "api"
    records.mkdir()
    shutil.copy(DATA / "NCT06009107_api_synthetic.json", records)
    trialmon("run", "--source", str(records), cwd=workdir)
    result = trialmon("run", "--source", str(SEEDS), cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "1 unchanged" in result.stdout, result.stderr
