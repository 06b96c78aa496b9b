"""End to end: one trial watched in two registries, through `trialmon run` against the loopback
fakes of ClinicalTrials.gov and EU CTIS at once (``source`` unset: every registry is asked).

The EU CTIS record is the REAL one of 2024-513060-26-00: ended early in every member state,
naming NCT04032847. The ClinicalTrials.gov record of NCT04032847 is SYNTHETIC: the real
tests/data/study_NCT02576665_terminated.json given that id, status RECRUITING, the completion
date and enrollment of the CTIS record (so only the statuses disagree).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests import registry_synthetic as synthetic
from tests.conftest import DATA
from tests.fake_ctis import FakeCtis
from tests.fakeapi import FakeApi, synthetic_study
from tests.live_cli import LiveCli, live_cli, loopback_section

__all__ = ["live_cli"]
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
NCT = "NCT04032847"
EU_CT = "2024-513060-26-00"
DISAGREE = "Registries disagree: ClinicalTrials.gov RECRUITING, EU CTIS Ended (early termination)"
AGREE = "Registries agree again: ClinicalTrials.gov TERMINATED, EU CTIS Ended (early termination)"


def ctgov_record(status: str, posted: str) -> dict[str, Any]:
    template = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
    study = synthetic_study(template, NCT, posted=posted, status=status)
    module = study["protocolSection"]
    module["statusModule"]["completionDateStruct"] = {"date": "2024-09-17", "type": "ACTUAL"}
    module["designModule"]["enrollmentInfo"] = {"count": 50, "type": "ESTIMATED"}
    return study


@pytest.fixture
def fakes() -> Iterator[tuple[FakeApi, FakeCtis]]:
    with FakeApi() as ctgov, FakeCtis() as ctis:
        ctgov.add(ctgov_record("RECRUITING", "2026-09-01"))
        ctis.add_record(synthetic.real_ctis(), published="19/02/2025")
        yield ctgov, ctis


@pytest.fixture
def cli(live_cli: LiveCli, fakes: tuple[FakeApi, FakeCtis]) -> LiveCli:
    ctgov, ctis = fakes
    live_cli.write(
        loopback_section("ctgov", ctgov.url)
        + loopback_section("ctis", ctis.url)
        + f'[watch]\nstudies = ["{NCT}", "{EU_CT}"]\n',
        log_file=str(live_cli.path.parent / "digests.log"),
    )
    return live_cli


def across(cli: LiveCli) -> list[tuple[int, str, str, str]]:
    return sorted(
        (r["run_id"], r["trial_id"], r["severity"], r["summary"])
        for r in cli.changes()
        if r["field"].startswith("record.registries")
    )


def test_a_disagreement_is_reported_once_and_its_resolution_once(
    cli: LiveCli, fakes: tuple[FakeApi, FakeCtis]
) -> None:
    first = cli.run()
    assert first.exit_code == 0, first.output
    assert "Checked 2 studies: 2 new" in first.output
    assert "1 change recorded" in first.output
    assert across(cli) == [(1, NCT, "major", DISAGREE)]

    assert "0 changes recorded" in cli.run().output  # still disagreeing: not news again
    assert across(cli) == [(1, NCT, "major", DISAGREE)]

    ctgov, _ = fakes
    ctgov.update(
        NCT,
        "2026-10-06",
        lambda s: s["protocolSection"]["statusModule"].update(overallStatus="TERMINATED"),
    )
    ctgov.data_timestamp = "2026-10-06T09:00:00"
    third = cli.run()
    assert "0 new, 1 changed" in third.output
    assert across(cli) == [(1, NCT, "major", DISAGREE), (3, NCT, "minor", AGREE)]
    statuses = [r["summary"] for r in cli.changes() if r["field"] == "status.overall_status"]
    assert statuses == ["Overall status: RECRUITING → TERMINATED"]

    assert "0 changes recorded" in cli.run().output
    assert len(across(cli)) == 2

    digests = (cli.path.parent / "digests.log").read_text(encoding="utf-8")
    assert f"  also registered as {EU_CT} (EU CTIS)\n  [major] {DISAGREE}" in digests
    assert f"  [minor] {AGREE}" in digests


def test_studies_and_history_show_the_other_registrations(cli: LiveCli) -> None:
    assert cli.run().exit_code == 0
    studies = json.loads(cli.trialmon("studies", "--format", "json").output)
    also = {s["trial_id"]: s["also_registered_as"] for s in studies}
    assert also[EU_CT] == [
        {"id": NCT, "registry": "ctgov", "title": "ClinicalTrials.gov", "watched": True},
        {"id": "2018-001005-85", "registry": "eudract", "title": "EudraCT", "watched": False},
    ]
    assert also[NCT] == [
        {"id": EU_CT, "registry": "ctis", "title": "EU CTIS", "watched": True},
    ]
    text = cli.trialmon("history", EU_CT).output
    assert "Also registered as: NCT04032847 (ClinicalTrials.gov), 2018-001005-85 (EudraCT)" in text


def test_a_one_registry_source_names_what_it_leaves_unchecked(
    cli: LiveCli, fakes: tuple[FakeApi, FakeCtis], caplog: pytest.LogCaptureFixture
) -> None:
    """``source = "ctgov"`` (as the contract's example config) still checks its registry alone;
    the watched EU CTIS trial is not asked, and the cycle says so by name."""
    _, ctis = fakes
    cli.path.write_text('source = "ctgov"\n' + cli.path.read_text(encoding="utf-8"))
    result = cli.run()
    assert "Checked 1 study: 1 new" in result.output
    assert ctis.count() == 0
    assert (
        f'not checked in this cycle: 1 watched EU CTIS trial ({EU_CT}); source "ctgov" asks '
        'only ClinicalTrials.gov (source = "live" asks every registry with something watched)'
    ) in caplog.text
    caplog.clear()
    both = cli.run("--source", "live")
    assert "Checked 2 studies: 1 new" in both.output and ctis.count() > 0
    assert "not checked" not in caplog.text
