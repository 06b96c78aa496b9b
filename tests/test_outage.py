"""A registry outage as a new user meets it: `trialmon run` against the loopback fake API.

Studies are SYNTHETIC: copies of the REAL record tests/data/study_NCT02576665_terminated.json
with other ids. Eight studies and a saved search are watched; /api/v2/studies answers 500.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from monitor.status import _cycle_lines

from .conftest import DATA
from .conftest import trialmon as run_trialmon
from .fakeapi import FakeApi, Fault, studies_range, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
WATCHED = list(studies_range(1, 8))


def trialmon(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(root / "config.toml")
    return run_trialmon("--config", config, *args, timeout=120, columns=200)


def configure(root: Path, api: FakeApi, watched: list[str]) -> None:
    (root / "config.toml").write_text(
        f'database = "{root / "history.db"}"\nsource = "ctgov"\n'
        f'[ctgov]\nbase_url = "{api.url}"\nrequests_per_minute = 100000\ntimeout = 5\n'
        "max_attempts = 1\n"
        f"[watch]\nstudies = {json.dumps(watched)}\n"
        '[[watch.queries]]\nname = "solid tumors"\nparams = { "query.cond" = "tumor" }\n'
        f'[notify.log]\nenabled = true\nfile = "{root / "trialmon.log"}"\n'
        'min_severity = "minor"\n',
        encoding="utf-8",
    )


def studies_fail(seen: Any) -> Fault | None:
    return Fault(500, "Internal Server Error") if seen.path == "/api/v2/studies" else None


@pytest.fixture
def outage(fake_api: FakeApi, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    """A baseline cycle, three cycles of outage, then the registry answers again."""
    fake_api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in WATCHED))
    configure(tmp_path, fake_api, WATCHED)
    runs = [trialmon(tmp_path, "run")]
    fake_api.fault = studies_fail
    for day in (5, 6, 7):
        fake_api.data_timestamp = f"2026-09-0{day}T09:00:06"
        runs.append(trialmon(tmp_path, "run"))
    fake_api.fault = None
    fake_api.data_timestamp = "2026-09-08T09:00:06"
    runs.append(trialmon(tmp_path, "run"))
    return runs


def test_one_line_per_failed_request_not_the_batch_url_per_study(
    outage: list[subprocess.CompletedProcess[str]],
) -> None:
    down = outage[1]
    assert down.returncode == 1  # nothing could be checked
    lines = down.stderr.splitlines()
    assert "filter.ids" not in down.stderr and "127.0.0.1" not in down.stderr
    failed = [line for line in lines if "HTTP 500" in line]
    assert len(failed) == 3, lines  # the watermark request, the saved search, the last word
    assert failed[0].startswith("trialmon: registry request failed for 8 studies (NCT00000001")
    assert failed[1].startswith('trialmon: saved search "solid tumors": GET /api/v2/studies: ')


def test_the_counts_add_up(outage: list[subprocess.CompletedProcess[str]]) -> None:
    first, down, *_, back = outage
    assert first.stdout.startswith("Checked 8 studies: 8 new, 0 changed, 0 unchanged, 0 failed")
    assert down.stdout.startswith(
        "Checked 8 studies: 0 new, 0 changed, 0 unchanged, 8 failed; 1 other error; "
    )
    assert back.stdout.startswith("Checked 8 studies: 0 new, 0 changed, 8 unchanged, 0 failed")


def test_the_runs_table_and_status_add_up(
    outage: list[subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    db = sqlite3.connect(tmp_path / "history.db")
    try:
        run = db.execute(
            "select studies_checked, studies_new, studies_changed, studies_unchanged, errors "
            "from runs where id = 2"
        ).fetchone()
    finally:
        db.close()
    assert run == (8, 0, 0, 0, 9)  # 8 studies failed, and the saved search
    row = dict(zip(("studies_checked", "studies_new", "studies_changed", "studies_unchanged",
                    "errors"), run, strict=True))  # fmt: skip
    row |= {"id": 2, "started_at": "a", "finished_at": "b", "status": "partial"}
    row |= {"source": "ctgov", "changes_found": 0}
    [_, counts] = _cycle_lines(row)
    assert (
        counts == "  8 checked: 0 new, 0 changed, 0 unchanged, 8 failed; 1 other error; 0 changes"
    )


def test_the_digest_of_an_outage_and_of_its_end(
    outage: list[subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    log = (tmp_path / "trialmon.log").read_text(encoding="utf-8")
    down, back = log.split("trialmon run 5: ")[0], log.split("trialmon run 5: ")[1]
    assert "trialmon run 4: 8 studies cannot be checked" in down
    [reason] = [line for line in down.splitlines() if "failing for 3 cycles in a row" in line]
    assert reason.startswith("  NCT00000001, NCT00000002,") and "GET /api/v2/studies" in reason
    assert "filter.ids" not in log
    assert back.startswith("8 studies can be checked again")
    assert "Studies that can be checked again:" in back and "cannot" not in back
