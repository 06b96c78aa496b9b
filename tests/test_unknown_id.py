"""A mistyped but well-formed id the registry never knew is a failing watch, never a change.

Run against the loopback fake API; the known study is SYNTHETIC, a copy of the REAL record
tests/data/study_NCT02576665_terminated.json under another id.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from .conftest import DATA
from .conftest import trialmon as run_trialmon
from .fakeapi import FakeApi, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
KNOWN, TYPO = "NCT00000001", "NCT99999999"
CHECK = "not found in the registry: check the id"


def trialmon(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(root / "config.toml")
    return run_trialmon("--config", config, *args, timeout=120, columns=200)


def setup(root: Path, api: FakeApi) -> None:
    api.add(synthetic_study(TEMPLATE, KNOWN, status="RECRUITING"))
    (root / "config.toml").write_text(
        f'database = "{root / "history.db"}"\nsource = "ctgov"\n'
        f'[ctgov]\nbase_url = "{api.url}"\nrequests_per_minute = 100000\ntimeout = 5\n'
        f'[watch]\nstudies = ["{KNOWN}", "{TYPO}"]\n'
        f'[notify.log]\nenabled = true\nfile = "{root / "trialmon.log"}"\n',
        encoding="utf-8",
    )


def changes_of(root: Path, nct: str) -> list[tuple[str, str]]:
    db = sqlite3.connect(root / "history.db")
    try:
        sql = "select severity, summary from changes where trial_id = ?"
        return [tuple(r) for r in db.execute(sql, [nct]).fetchall()]
    finally:
        db.close()


def test_a_mistyped_id_is_a_failing_watch(fake_api: FakeApi, tmp_path: Path) -> None:
    setup(tmp_path, fake_api)
    first = trialmon(tmp_path, "run")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Checked 2 studies: 1 new, 0 changed, 0 unchanged, 1 failed")
    assert f"trialmon: {TYPO}: {CHECK}" in first.stderr.splitlines()

    fake_api.data_timestamp = "2026-09-05T09:00:06"
    second = trialmon(tmp_path, "run")
    assert second.stdout.startswith("Checked 2 studies: 0 new, 0 changed, 1 unchanged, 1 failed")
    assert changes_of(tmp_path, TYPO) == []  # never a critical "no longer returned" change
    assert not (tmp_path / "trialmon.log").exists()  # nothing to notify

    failing = trialmon(tmp_path, "studies", "--failing")
    [line] = failing.stdout.splitlines()
    assert line.startswith(TYPO) and f"FAILING 2× {CHECK}" in line
    status = trialmon(tmp_path, "status")
    assert f"Failing studies: 1\n  {TYPO}: failed 2 times in a row: {CHECK}" in status.stdout
    rows = json.loads(trialmon(tmp_path, "status", "--format", "json").stdout)["failing"]
    assert [(r["trial_id"], r["consecutive_failures"]) for r in rows] == [(TYPO, 2)]

    history = trialmon(tmp_path, "history", TYPO)
    assert history.returncode == 2
    assert f"{TYPO} has never been stored: {TYPO}: {CHECK} (2 checks failed)" in history.stderr


def test_once_the_registry_knows_the_id_it_is_a_study_like_any_other(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    setup(tmp_path, fake_api)
    trialmon(tmp_path, "run")
    fake_api.add(synthetic_study(TEMPLATE, TYPO, status="NOT_YET_RECRUITING"))
    fake_api.data_timestamp = "2026-09-05T09:00:06"
    later = trialmon(tmp_path, "run")
    assert later.stdout.startswith("Checked 2 studies: 1 new, 0 changed, 1 unchanged, 0 failed")
    assert trialmon(tmp_path, "studies", "--failing").stdout == ""
    assert "Failing studies: none" in trialmon(tmp_path, "status").stdout


def test_a_study_once_stored_and_then_gone_is_still_a_critical_change(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    setup(tmp_path, fake_api)
    trialmon(tmp_path, "run")
    del fake_api.studies[KNOWN]
    fake_api.data_timestamp = "2026-09-05T09:00:06"
    trialmon(tmp_path, "run")
    assert changes_of(tmp_path, KNOWN) == [("critical", "Study no longer returned by the registry")]


def test_a_study_failing_three_cycles_is_reported_once(fake_api: FakeApi, tmp_path: Path) -> None:
    setup(tmp_path, fake_api)
    for day in range(4, 8):
        fake_api.data_timestamp = f"2026-09-0{day}T09:00:06"
        trialmon(tmp_path, "run")
    log = (tmp_path / "trialmon.log").read_text(encoding="utf-8")
    assert log.count(f"{TYPO}: failing for 3 cycles in a row: {TYPO}: {CHECK}") == 1
    assert "1 study cannot be checked" in log
