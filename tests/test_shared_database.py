"""Two configs on one database: refused, with the way out; nothing lost silently.

Config A watches studies 1-25 and config B studies 26-50, each with its own log file, both
with ``database = "shared.db"``, against the loopback fake of ClinicalTrials.gov (SYNTHETIC
studies made from a REAL record, tests/data/study_NCT02576665_terminated.json). Before one
database served one config, B's cycles after A's reported "0 changed" on every release (the
release A had seen was taken for B's), and a run of A killed mid-cycle was recovered by B's
next run, which sent A's digest to B's log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import DATA, ROOT
from tests.fakeapi import FakeApi, studies_range, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
IDS = list(studies_range(1, 50))
A_IDS, B_IDS = IDS[:25], IDS[25:]
KILLED = -9


def write_config(path: Path, api: FakeApi, ids: list[str], log: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'database = "{path.parent.parent / "shared.db"}"\nsource = "ctgov"\n'
        f'[ctgov]\nbase_url = "{api.url}"\nrequests_per_minute = 100000\n'
        f"[watch]\nstudies = {json.dumps(ids)}\n"
        f'[notify.log]\nformat = "json"\nfile = "{path.parent.parent / log}"\n',
        encoding="utf-8",
    )
    return path


def setup(api: FakeApi, root: Path) -> tuple[Path, Path]:
    api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in IDS))
    api.data_timestamp = "2026-09-01T09:00:06"
    a = write_config(root / "team" / "config.toml", api, A_IDS, "team.log")
    b = write_config(root / "mine" / "config.toml", api, B_IDS, "mine.log")
    return a, b


def trialmon(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def release(api: FakeApi, day: str, *changed: str) -> None:
    """A new data release in which ``changed`` moved to ACTIVE_NOT_RECRUITING."""
    for nct in changed:
        api.update(nct, day, lambda s: s["protocolSection"]["statusModule"].update(
            overallStatus="ACTIVE_NOT_RECRUITING"))  # fmt: skip
    api.data_timestamp = f"{day}T09:00:06"


def logged(path: Path) -> list[str]:
    """The trial ids of the changes in a log file of JSON lines."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line["trial_id"] for line in lines if line.get("trial_id")]


def database_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in root.glob("shared.db*") if p.suffix != ".lock"}


def refused(result: Result, keeper: Path) -> bool:
    return (
        result.exit_code == 2
        and f"is kept by the config {keeper.resolve()}" in result.stderr
        and "a database of its own" in result.stderr
        and "--take-over" in result.stderr
    )


def test_a_second_config_never_loses_a_change(fake_api: FakeApi, tmp_path: Path) -> None:
    """B is refused (exit 2, naming A's config and the ways out) or reports its changes;
    it never says "0 changed" for a release in which one of its studies changed."""
    a, b = setup(fake_api, tmp_path)
    assert trialmon(a, "run").exit_code == 0
    first = trialmon(b, "run")
    assert first.exit_code == 0 or refused(first, a), first.output
    release(fake_api, "2026-09-02", A_IDS[9], B_IDS[14])
    assert "1 changed" in trialmon(a, "run").output
    second = trialmon(b, "run")
    assert refused(second, a) or "1 changed" in second.output, second.output
    assert logged(tmp_path / "mine.log") == [] or B_IDS[14] in logged(tmp_path / "mine.log")


def test_a_refusal_writes_nothing_and_its_way_out_works(fake_api: FakeApi, tmp_path: Path) -> None:
    a, b = setup(fake_api, tmp_path)
    assert trialmon(a, "run").exit_code == 0
    before = database_files(tmp_path)
    assert refused(trialmon(b, "run"), a)
    assert refused(trialmon(b, "daemon"), a)  # at start, before any cycle
    assert database_files(tmp_path) == before
    own = tmp_path / "mine.db"  # the way out: a database of its own
    assert trialmon(b, "--db", str(own), "run").exit_code == 0
    release(fake_api, "2026-09-02", A_IDS[9], B_IDS[14])
    assert "1 changed" in trialmon(a, "run").output
    assert "1 changed" in trialmon(b, "--db", str(own), "run").output
    assert logged(tmp_path / "team.log") == [A_IDS[9]]
    assert logged(tmp_path / "mine.log") == [B_IDS[14]]


def test_a_killed_run_is_recovered_by_its_own_config_only(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    """A is killed after storing its first changed study; B's next run is refused; A's next
    run queues and sends the killed run's digest to A's log, once."""
    a, b = setup(fake_api, tmp_path)
    assert trialmon(a, "run").exit_code == 0
    release(fake_api, "2026-09-02", A_IDS[3], A_IDS[9])
    command = [sys.executable, "-m", "tests.crashrun", "between-studies", "1"]
    killed = subprocess.run(
        [*command, "--config", str(a), "run"], cwd=ROOT, capture_output=True, text=True
    )
    assert killed.returncode == KILLED, killed.stderr
    other = trialmon(b, "run")
    assert not set(logged(tmp_path / "mine.log")) & set(A_IDS), "A's digest sent to B's log"
    assert refused(other, a), other.output
    assert trialmon(a, "run").exit_code == 0
    assert sorted(logged(tmp_path / "team.log")) == [A_IDS[3], A_IDS[9]]


def test_a_config_that_moved_takes_its_database_over(
    fake_api: FakeApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = setup(fake_api, tmp_path)
    assert trialmon(a, "run").exit_code == 0
    moved = tmp_path / "moved" / "config.toml"
    moved.parent.mkdir()
    shutil.copy(a, moved)
    assert refused(trialmon(moved, "run"), a)
    release(fake_api, "2026-09-02", A_IDS[0])
    taken = trialmon(moved, "run", "--take-over")
    assert taken.exit_code == 0 and "1 changed" in taken.output, taken.output
    said = [r.getMessage() for r in caplog.records if "took the database" in r.getMessage()]
    assert len(said) == 1 and str(a.resolve()) in said[0], said
    assert trialmon(moved, "run").exit_code == 0  # its database now
    assert refused(trialmon(a, "run"), moved)
